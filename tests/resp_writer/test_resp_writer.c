// SPDX-License-Identifier: BSD-3-Clause
// Byte-exact tests of the RESP encoder. The expected bytes were taken from
// redis-server 7.0.15 replies (ZSCORE, ZINCRBY, Lua {double=...},
// {map=...}, {verbatim_string=...}, true/false under HELLO 3 and RESP2),
// so these tests pin ringpub to the reference server, not to our reading of
// the RESP spec.

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "ringpub/resp_writer.h"

// Asserts that b contains exactly the NUL-terminated string want, then empties b.
static void expect_bytes(struct rp_buf *b, const char *want)
{
    size_t want_len = strlen(want);
    if (b->len != want_len || memcmp(b->data, want, want_len) != 0) {
        print_error("expected \"%s\" (%zu bytes), got \"%.*s\" (%zu bytes)\n", want, want_len,
                    (int)b->len, b->data ? b->data : "", b->len);
        fail();
    }
    rp_buf_clear(b);
}

static void test_simple_and_error_lines(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_simple(&b, "OK", 2), 0);
    expect_bytes(&b, "+OK\r\n");
    assert_int_equal(rp_resp_write_simple(&b, "", 0), 0);
    expect_bytes(&b, "+\r\n");
    assert_int_equal(rp_resp_write_error(&b, "ERR unknown command", 19), 0);
    expect_bytes(&b, "-ERR unknown command\r\n");

    rp_buf_free(&b);
}

// redis 7.0 replies to EVAL "return {err='x\r\ny'}" with "-x  y\r\n".
static void test_error_crlf_becomes_spaces(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_error(&b, "x\r\ny", 4), 0);
    expect_bytes(&b, "-x  y\r\n");
    assert_int_equal(rp_resp_write_simple(&b, "a\nb\rc", 5), 0);
    expect_bytes(&b, "+a b c\r\n");

    rp_buf_free(&b);
}

static void test_integer_edges(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_integer(&b, 0), 0);
    expect_bytes(&b, ":0\r\n");
    assert_int_equal(rp_resp_write_integer(&b, -1), 0);
    expect_bytes(&b, ":-1\r\n");
    assert_int_equal(rp_resp_write_integer(&b, 9), 0);
    expect_bytes(&b, ":9\r\n");
    assert_int_equal(rp_resp_write_integer(&b, 10), 0);
    expect_bytes(&b, ":10\r\n");
    assert_int_equal(rp_resp_write_integer(&b, 100), 0);
    expect_bytes(&b, ":100\r\n");
    assert_int_equal(rp_resp_write_integer(&b, INT64_MAX), 0);
    expect_bytes(&b, ":9223372036854775807\r\n");
    assert_int_equal(rp_resp_write_integer(&b, INT64_MIN), 0);
    expect_bytes(&b, ":-9223372036854775808\r\n");

    rp_buf_free(&b);
}

// Every power of ten and its neighbours crosses a digit-count boundary.
static void test_format_int_matches_printf(void **state)
{
    char got[RP_RESP_INT_BUFSIZE];
    char want[32];
    int64_t p = 1;

    // 10^0 .. 10^18; 10^19 does not fit in int64_t.
    for (int i = 0; i < 19; i++) {
        if (i > 0)
            p *= 10;
        const int64_t cases[] = {p - 1, p, p + 1, -(p - 1), -p, -(p + 1)};
        for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
            size_t len = rp_resp_format_int(cases[j], got);
            snprintf(want, sizeof(want), "%lld", (long long)cases[j]);
            assert_string_equal(got, want);
            assert_int_equal(len, strlen(want));
        }
    }

    assert_int_equal(rp_resp_format_int(INT64_MIN, got), 20);
    assert_string_equal(got, "-9223372036854775808");
}

static void test_bulk_and_array_headers(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_bulk(&b, "hello", 5), 0);
    expect_bytes(&b, "$5\r\nhello\r\n");
    assert_int_equal(rp_resp_write_bulk(&b, "", 0), 0);
    expect_bytes(&b, "$0\r\n\r\n");
    assert_int_equal(rp_resp_write_bulk(&b, "a\r\nb", 4), 0);
    expect_bytes(&b, "$4\r\na\r\nb\r\n");
    assert_int_equal(rp_resp_write_array_len(&b, 0), 0);
    expect_bytes(&b, "*0\r\n");
    assert_int_equal(rp_resp_write_array_len(&b, UINT64_MAX), 0);
    expect_bytes(&b, "*18446744073709551615\r\n");

    rp_buf_free(&b);
}

static void test_null_per_protocol(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_null(&b, 3, '$'), 0);
    expect_bytes(&b, "_\r\n");
    assert_int_equal(rp_resp_write_null(&b, 3, '*'), 0);
    expect_bytes(&b, "_\r\n");
    assert_int_equal(rp_resp_write_null(&b, 2, '$'), 0);
    expect_bytes(&b, "$-1\r\n");
    assert_int_equal(rp_resp_write_null(&b, 2, '*'), 0);
    expect_bytes(&b, "*-1\r\n");

    rp_buf_free(&b);
}

static void test_null_resp2_bad_kind_is_inval(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_null(&b, 2, '_'), RP_ERR_INVAL);
    assert_int_equal(b.len, 0);

    rp_buf_free(&b);
}

static void test_bool_per_protocol(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_bool(&b, 3, 1), 0);
    expect_bytes(&b, "#t\r\n");
    assert_int_equal(rp_resp_write_bool(&b, 3, 0), 0);
    expect_bytes(&b, "#f\r\n");
    assert_int_equal(rp_resp_write_bool(&b, 2, 1), 0);
    expect_bytes(&b, ":1\r\n");
    assert_int_equal(rp_resp_write_bool(&b, 2, 0), 0);
    expect_bytes(&b, ":0\r\n");
    assert_int_equal(rp_resp_write_bool(&b, 3, 42), 0);
    expect_bytes(&b, "#t\r\n");

    rp_buf_free(&b);
}

struct double_case {
    double value;
    const char *text;
};

// ZADD z <input> m then ZSCORE z m on redis-server 7.0.15 (skiplist encoding
// for -0, whose sign the listpack encoding drops), and Lua {double=...} for
// NaN, which no sorted-set command can store.
static const struct double_case redis_doubles[] = {
    {1.5, "1.5"},
    {0.1, "0.10000000000000001"},
    {0.3, "0.29999999999999999"},
    {1e300, "1.0000000000000001e+300"},
    {0.0, "0"},
    {-0.0, "-0"},
    {1e-7, "9.9999999999999995e-08"},
    {0.000001, "9.9999999999999995e-07"},
    {0.0001, "0.0001"},
    {123456789012345678.0, "1.2345678901234568e+17"},
    {12345678901234567890.0, "1.2345678901234567e+19"},
    {3.0, "3"},
    {-3.0, "-3"},
    {-1.5, "-1.5"},
    {100.0, "100"},
    {1e15, "1000000000000000"},
    {1e16, "10000000000000000"},
    {1e17, "1e+17"},
    {1e21, "1e+21"},
    {123456.789, "123456.789"},
    {2.5e-308, "2.4999999999999998e-308"},
    {4.9e-324, "4.9406564584124654e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308"},
    {INFINITY, "inf"},
    {-INFINITY, "-inf"},
};

static void test_double_text_matches_redis(void **state)
{
    char text[RP_RESP_DOUBLE_BUFSIZE];

    for (size_t i = 0; i < sizeof(redis_doubles) / sizeof(redis_doubles[0]); i++) {
        size_t len = rp_resp_format_double(redis_doubles[i].value, text, sizeof(text));
        assert_string_equal(text, redis_doubles[i].text);
        assert_int_equal(len, strlen(redis_doubles[i].text));
    }
}

// Lua {double=0/0} replies ",-nan" and {double=-(0/0)} ",nan" on x86-64.
static void test_double_nan_keeps_sign(void **state)
{
    char text[RP_RESP_DOUBLE_BUFSIZE];

    rp_resp_format_double(copysign(NAN, 1.0), text, sizeof(text));
    assert_string_equal(text, "nan");
    rp_resp_format_double(copysign(NAN, -1.0), text, sizeof(text));
    assert_string_equal(text, "-nan");
}

static void test_double_format_truncates_like_snprintf(void **state)
{
    char text[4] = "zzz";

    assert_int_equal(rp_resp_format_double(0.1, text, sizeof(text)), 19);
    assert_string_equal(text, "0.1");
    assert_int_equal(rp_resp_format_double(-INFINITY, text, 3), 4);
    assert_string_equal(text, "-i");
    assert_int_equal(rp_resp_format_double(1.5, text, 0), 3);
    assert_string_equal(text, "-i");
}

static void test_double_frames_per_protocol(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_double(&b, 3, 1.5), 0);
    expect_bytes(&b, ",1.5\r\n");
    assert_int_equal(rp_resp_write_double(&b, 2, 1.5), 0);
    expect_bytes(&b, "$3\r\n1.5\r\n");
    assert_int_equal(rp_resp_write_double(&b, 3, 0.1), 0);
    expect_bytes(&b, ",0.10000000000000001\r\n");
    assert_int_equal(rp_resp_write_double(&b, 2, 0.1), 0);
    expect_bytes(&b, "$19\r\n0.10000000000000001\r\n");
    assert_int_equal(rp_resp_write_double(&b, 3, -INFINITY), 0);
    expect_bytes(&b, ",-inf\r\n");
    assert_int_equal(rp_resp_write_double(&b, 2, INFINITY), 0);
    expect_bytes(&b, "$3\r\ninf\r\n");
    assert_int_equal(rp_resp_write_double(&b, 2, -0.0), 0);
    expect_bytes(&b, "$2\r\n-0\r\n");

    rp_buf_free(&b);
}

static void test_bignum_per_protocol(void **state)
{
    struct rp_buf b = RP_BUF_INIT;
    const char *digits = "123456789012345678901234567890";

    assert_int_equal(rp_resp_write_bignum(&b, 3, digits, 30), 0);
    expect_bytes(&b, "(123456789012345678901234567890\r\n");
    assert_int_equal(rp_resp_write_bignum(&b, 2, digits, 30), 0);
    expect_bytes(&b, "$30\r\n123456789012345678901234567890\r\n");

    rp_buf_free(&b);
}

static void test_bulk_error_per_protocol(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_bulk_error(&b, 3, "SYNTAX x\r\ny", 11), 0);
    expect_bytes(&b, "!11\r\nSYNTAX x\r\ny\r\n");
    assert_int_equal(rp_resp_write_bulk_error(&b, 2, "SYNTAX x\r\ny", 11), 0);
    expect_bytes(&b, "-SYNTAX x  y\r\n");

    rp_buf_free(&b);
}

// CLIENT INFO under HELLO 3 replies "=<n>\r\ntxt:...", where n counts "txt:".
static void test_verbatim_per_protocol(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_verbatim(&b, 3, "txt", "hi there", 8), 0);
    expect_bytes(&b, "=12\r\ntxt:hi there\r\n");
    assert_int_equal(rp_resp_write_verbatim(&b, 2, "txt", "hi there", 8), 0);
    expect_bytes(&b, "$8\r\nhi there\r\n");
    assert_int_equal(rp_resp_write_verbatim(&b, 3, "mkd", "", 0), 0);
    expect_bytes(&b, "=4\r\nmkd:\r\n");

    rp_buf_free(&b);
}

static void test_aggregate_headers_per_protocol(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_map_len(&b, 3, 1), 0);
    expect_bytes(&b, "%1\r\n");
    assert_int_equal(rp_resp_write_map_len(&b, 2, 1), 0);
    expect_bytes(&b, "*2\r\n");
    assert_int_equal(rp_resp_write_set_len(&b, 3, 4), 0);
    expect_bytes(&b, "~4\r\n");
    assert_int_equal(rp_resp_write_set_len(&b, 2, 4), 0);
    expect_bytes(&b, "*4\r\n");
    assert_int_equal(rp_resp_write_push_len(&b, 3, 3), 0);
    expect_bytes(&b, ">3\r\n");
    assert_int_equal(rp_resp_write_push_len(&b, 2, 3), 0);
    expect_bytes(&b, "*3\r\n");
    assert_int_equal(rp_resp_write_attribute_len(&b, 2), 0);
    expect_bytes(&b, "|2\r\n");

    rp_buf_free(&b);
}

static void test_map_resp2_overflow_is_inval(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_resp_write_map_len(&b, 2, UINT64_MAX / 2 + 1), RP_ERR_INVAL);
    assert_int_equal(b.len, 0);
    assert_int_equal(rp_resp_write_map_len(&b, 2, UINT64_MAX / 2), 0);
    expect_bytes(&b, "*18446744073709551614\r\n");

    rp_buf_free(&b);
}

// The RESP2 and RESP3 frames redis 7.0 sends to a SUBSCRIBE client.
static void test_message_frame_per_protocol(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    for (int proto = 2; proto <= 3; proto++) {
        assert_int_equal(rp_resp_write_push_len(&b, proto, 3), 0);
        assert_int_equal(rp_resp_write_bulk(&b, "message", 7), 0);
        assert_int_equal(rp_resp_write_bulk(&b, "news", 4), 0);
        assert_int_equal(rp_resp_write_bulk(&b, "hello", 5), 0);
        expect_bytes(&b, proto == 3 ? ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
                                    : "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    }

    rp_buf_free(&b);
}

// Allocation hooks that count calls and fail every call while alloc_fail is set.
static int alloc_calls;
static int alloc_fail;

static void *counting_malloc(size_t size)
{
    alloc_calls++;
    return alloc_fail ? NULL : malloc(size);
}

static void *counting_realloc(void *ptr, size_t size)
{
    alloc_calls++;
    return alloc_fail ? NULL : realloc(ptr, size);
}

static const struct rp_alloc_hooks counting_hooks = {counting_malloc, counting_realloc, free};

// Writes one frame of every type in protocol proto.
static void write_every_type(struct rp_buf *b, int proto)
{
    assert_int_equal(rp_resp_write_simple(b, "OK", 2), 0);
    assert_int_equal(rp_resp_write_error(b, "ERR x", 5), 0);
    assert_int_equal(rp_resp_write_integer(b, INT64_MIN), 0);
    assert_int_equal(rp_resp_write_bulk(b, "payload", 7), 0);
    assert_int_equal(rp_resp_write_array_len(b, 12), 0);
    assert_int_equal(rp_resp_write_null(b, proto, '$'), 0);
    assert_int_equal(rp_resp_write_bool(b, proto, 1), 0);
    assert_int_equal(rp_resp_write_double(b, proto, 0.1), 0);
    assert_int_equal(rp_resp_write_bignum(b, proto, "1234567890123456789012", 22), 0);
    assert_int_equal(rp_resp_write_bulk_error(b, proto, "ERR y", 5), 0);
    assert_int_equal(rp_resp_write_verbatim(b, proto, "txt", "text", 4), 0);
    assert_int_equal(rp_resp_write_map_len(b, proto, 1), 0);
    assert_int_equal(rp_resp_write_set_len(b, proto, 1), 0);
    assert_int_equal(rp_resp_write_push_len(b, proto, 1), 0);
    if (proto >= 3)
        assert_int_equal(rp_resp_write_attribute_len(b, 1), 0);
}

static void test_writers_allocate_only_to_grow(void **state)
{
    struct rp_buf b = RP_BUF_INIT;

    assert_int_equal(rp_buf_reserve(&b, 4096), 0);
    rp_set_alloc_hooks(&counting_hooks);
    alloc_calls = 0;
    alloc_fail = 0;

    for (int proto = 2; proto <= 3; proto++) {
        write_every_type(&b, proto);
        rp_buf_clear(&b);
    }
    int calls_with_room = alloc_calls;

    // An empty buffer must grow, and growth is the only allocation allowed:
    // one per doubling, so a few calls at most.
    rp_set_alloc_hooks(NULL);
    rp_buf_free(&b);
    rp_set_alloc_hooks(&counting_hooks);
    alloc_calls = 0;
    write_every_type(&b, 3);
    int calls_growing = alloc_calls;
    rp_set_alloc_hooks(NULL);

    assert_int_equal(calls_with_room, 0);
    assert_in_range(calls_growing, 1, 4);
    rp_buf_free(&b);
}

static void test_failed_write_leaves_buffer_unchanged(void **state)
{
    struct rp_buf b = RP_BUF_INIT;
    char big[200];
    memset(big, 'x', sizeof(big));

    assert_int_equal(rp_resp_write_simple(&b, "OK", 2), 0);
    size_t cap = b.cap;

    rp_set_alloc_hooks(&counting_hooks);
    alloc_fail = 1;
    int bulk_err = rp_resp_write_bulk(&b, big, sizeof(big));
    int verbatim_err = rp_resp_write_verbatim(&b, 3, "txt", big, sizeof(big));
    int error_err = rp_resp_write_error(&b, big, sizeof(big));
    alloc_fail = 0;
    rp_set_alloc_hooks(NULL);

    assert_int_equal(bulk_err, RP_ERR_NOMEM);
    assert_int_equal(verbatim_err, RP_ERR_NOMEM);
    assert_int_equal(error_err, RP_ERR_NOMEM);
    assert_int_equal(b.cap, cap);
    expect_bytes(&b, "+OK\r\n");
    rp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_and_error_lines),
        cmocka_unit_test(test_error_crlf_becomes_spaces),
        cmocka_unit_test(test_integer_edges),
        cmocka_unit_test(test_format_int_matches_printf),
        cmocka_unit_test(test_bulk_and_array_headers),
        cmocka_unit_test(test_null_per_protocol),
        cmocka_unit_test(test_null_resp2_bad_kind_is_inval),
        cmocka_unit_test(test_bool_per_protocol),
        cmocka_unit_test(test_double_text_matches_redis),
        cmocka_unit_test(test_double_nan_keeps_sign),
        cmocka_unit_test(test_double_format_truncates_like_snprintf),
        cmocka_unit_test(test_double_frames_per_protocol),
        cmocka_unit_test(test_bignum_per_protocol),
        cmocka_unit_test(test_bulk_error_per_protocol),
        cmocka_unit_test(test_verbatim_per_protocol),
        cmocka_unit_test(test_aggregate_headers_per_protocol),
        cmocka_unit_test(test_map_resp2_overflow_is_inval),
        cmocka_unit_test(test_message_frame_per_protocol),
        cmocka_unit_test(test_writers_allocate_only_to_grow),
        cmocka_unit_test(test_failed_write_leaves_buffer_unchanged),
    };
    return cmocka_run_group_tests_name("resp_writer", tests, NULL, NULL);
}
