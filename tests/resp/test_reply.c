// SPDX-License-Identifier: BSD-3-Clause
// Tests of the reply parser (resp/reply.c): every RESP2 and RESP3 type, the
// nesting and element limits, malformed input, out-of-memory paths.

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "ringpub/alloc.h"
#include "ringpub/resp.h"
#include "harness.h"

#define E(name) "error RP_ERR_PROTO_" #name

static struct rp_resp_limits run_limits;

static int is_aggregate(enum rp_resp_type type)
{
    return type == RP_RESP_ARRAY || type == RP_RESP_MAP || type == RP_RESP_SET ||
           type == RP_RESP_ATTRIBUTE || type == RP_RESP_PUSH;
}

static void append_node(struct text *t, const struct rp_resp_node *n)
{
    switch (n->type) {
    case RP_RESP_SIMPLE: text_add(t, "+", 1); text_add_quoted(t, n->str.ptr, n->str.len); break;
    case RP_RESP_ERROR: text_add(t, "-", 1); text_add_quoted(t, n->str.ptr, n->str.len); break;
    case RP_RESP_INTEGER: text_addf(t, ":%lld", (long long)n->v.integer); break;
    case RP_RESP_BULK: text_add(t, "$", 1); text_add_quoted(t, n->str.ptr, n->str.len); break;
    case RP_RESP_NULL: text_addf(t, "null%c", n->v.null_kind); break;
    case RP_RESP_BOOL: text_addf(t, "#%d", n->v.boolean); break;
    case RP_RESP_DOUBLE:
        text_add(t, ",", 1);
        text_add_quoted(t, n->str.ptr, n->str.len);
        text_addf(t, "=%.17g", n->v.dbl);
        break;
    case RP_RESP_BIGNUM: text_add(t, "(", 1); text_add_quoted(t, n->str.ptr, n->str.len); break;
    case RP_RESP_BULK_ERROR: text_add(t, "!", 1); text_add_quoted(t, n->str.ptr, n->str.len); break;
    case RP_RESP_VERBATIM:
        text_addf(t, "=%s", n->format);
        text_add_quoted(t, n->str.ptr, n->str.len);
        break;
    case RP_RESP_ARRAY: text_addf(t, "*%llu", (unsigned long long)n->v.count); break;
    case RP_RESP_MAP: text_addf(t, "%%%llu", (unsigned long long)n->v.count); break;
    case RP_RESP_SET: text_addf(t, "~%llu", (unsigned long long)n->v.count); break;
    case RP_RESP_ATTRIBUTE: text_addf(t, "|%llu", (unsigned long long)n->v.count); break;
    case RP_RESP_PUSH: text_addf(t, ">%llu", (unsigned long long)n->v.count); break;
    default: fail_msg("unknown node type %d", (int)n->type);
    }
}

// Checks that every aggregate's `next` spans exactly its children, not
// counting attributes, which annotate the value after them.
static void check_tree(const struct rp_resp_reply *r)
{
    assert_true(r->count > 0);
    assert_int_equal(r->nodes[0].next <= r->count, 1);
    for (size_t i = 0; i < r->count; i++) {
        const struct rp_resp_node *n = &r->nodes[i];
        assert_true(n->next > i && n->next <= r->count);
        if (!is_aggregate(n->type)) {
            assert_int_equal(n->next, i + 1);
            continue;
        }
        uint64_t expected = n->v.count;
        if (n->type == RP_RESP_MAP || n->type == RP_RESP_ATTRIBUTE)
            expected *= 2;
        uint64_t children = 0;
        for (size_t j = i + 1; j < n->next; j = r->nodes[j].next) {
            if (r->nodes[j].type != RP_RESP_ATTRIBUTE)
                children++;
        }
        assert_int_equal(children, expected);
    }
}

// Appends the tree in pre-order, aggregates' children in brackets.
static void append_reply(struct text *t, const struct rp_resp_reply *r)
{
    check_tree(r);
    size_t ends[64];
    size_t depth = 0;
    int first = 1;
    for (size_t i = 0; i < r->count; i++) {
        while (depth > 0 && i == ends[depth - 1]) {
            text_add(t, "]", 1);
            depth--;
        }
        if (!first && t->s[t->len - 1] != '[')
            text_add(t, " ", 1);
        first = 0;
        append_node(t, &r->nodes[i]);
        if (is_aggregate(r->nodes[i].type)) {
            text_add(t, "[", 1);
            assert_true(depth < 64);
            ends[depth++] = r->nodes[i].next;
            if (r->nodes[i].next == i + 1) {
                text_add(t, "]", 1);
                depth--;
            }
        }
    }
    while (depth-- > 0)
        text_add(t, "]", 1);
}

// Feeds input to a new parser under one schedule, as a client reads replies
// from a socket, and records each reply, the error, and "more" if input was
// left unparsed.
static char *run_reply(const char *input, size_t len, enum feed_mode mode, size_t split)
{
    rp_resp_reply_parser_t *p = rp_resp_reply_parser_create(&run_limits);
    assert_non_null(p);

    struct text t = {0};
    text_add(&t, "", 0);
    size_t off = 0;
    size_t received = 0;
    int first = 1;
    for (size_t turn = 0; turn < 2 * len + 8; turn++) {
        const char *buf = guard_place(input + off, received - off);
        struct rp_resp_reply reply;
        ssize_t n = rp_resp_reply_parse(p, buf, received - off, &reply);
        if (n > 0) {
            assert_true((size_t)n <= received - off);
            if (!first)
                text_add(&t, " | ", 3);
            first = 0;
            append_reply(&t, &reply);
            off += (size_t)n;
            continue;
        }
        if (n == RP_NEED_MORE) {
            if (received == len)
                break;
            received = feed_next(mode, received, len, split);
            continue;
        }
        if (!first)
            text_add(&t, " | ", 3);
        text_addf(&t, "error %s", rp_errname((int)n));
        off = len;
        break;
    }
    if (off < len)
        text_add(&t, first ? "more" : " | more", first ? 4 : 7);

    guard_release();
    rp_resp_reply_parser_free(p);
    return t.s;
}

static int setup(void **state)
{
    (void)state;
    rp_resp_limits_default(&run_limits);
    return 0;
}

#define CHECK(input, expected) check_all_modes(run_reply, input, sizeof(input) - 1, expected)

// ---- RESP2 ----------------------------------------------------------------

static void test_simple_and_error(void **state)
{
    (void)state;
    CHECK("+OK\r\n", "+<OK>");
    CHECK("+\r\n", "+<>");
    CHECK("-ERR unknown command 'x'\r\n", "-<ERR\\x20unknown\\x20command\\x20'x'>");
    CHECK("+a\rb\r\n", E(MISSING_CRLF));
    CHECK("+OK\n", "more");
}

static void test_integer(void **state)
{
    (void)state;
    CHECK(":0\r\n", ":0");
    CHECK(":-1\r\n", ":-1");
    CHECK(":9223372036854775807\r\n", ":9223372036854775807");
    CHECK(":-9223372036854775808\r\n", ":-9223372036854775808");
    CHECK(":9223372036854775808\r\n", E(BAD_INTEGER));
    CHECK(":\r\n", E(BAD_INTEGER));
    CHECK(":01\r\n", E(BAD_INTEGER));
    CHECK(":+1\r\n", E(BAD_INTEGER));
    CHECK(":1x\r\n", E(BAD_INTEGER));
    // 21 bytes without a '\r' can never be an int64: fail without waiting.
    CHECK(":123456789012345678901", E(BAD_INTEGER));
    CHECK(":12345678901234567890", "more");
}

static void test_bulk(void **state)
{
    (void)state;
    CHECK("$5\r\nhello\r\n", "$<hello>");
    CHECK("$0\r\n\r\n", "$<>");
    CHECK("$4\r\na\r\nb\r\n", "$<a\\x0d\\x0ab>");
    CHECK("$-1\r\n", "null$");
    CHECK("$-2\r\n", E(BULK_LEN));
    CHECK("$\r\n", E(BULK_LEN));
    CHECK("$x\r\n", E(BULK_LEN));
    CHECK("$5\r\nhelloXY", E(MISSING_CRLF));
    CHECK("$5\r\nhello\rX", E(MISSING_CRLF));
    CHECK("$5\r\nhello\r", "more");
    CHECK("$536870913\r\n", E(BULK_LEN));
    CHECK("$99999999999999999999\r\n", E(BULK_LEN));
}

static void test_array(void **state)
{
    (void)state;
    CHECK("*0\r\n", "*0[]");
    CHECK("*-1\r\n", "null*");
    CHECK("*-2\r\n", E(MBULK_LEN));
    CHECK("*2\r\n$3\r\nfoo\r\n:1\r\n", "*2[$<foo> :1]");
    CHECK("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", "*3[$<message> $<ch> $<hello>]");
    CHECK("*2\r\n*1\r\n:1\r\n*0\r\n", "*2[*1[:1] *0[]]");
    CHECK("*2\r\n$-1\r\n*-1\r\n", "*2[null$ null*]");
    CHECK("*1\r\n", "more");
}

static void test_pipelined_replies(void **state)
{
    (void)state;
    CHECK("+OK\r\n:1\r\n*1\r\n$1\r\na\r\n", "+<OK> | :1 | *1[$<a>]");
    CHECK("+OK\r\n:1", "+<OK> | more");
}

// ---- RESP3 ----------------------------------------------------------------

static void test_resp3_null_and_bool(void **state)
{
    (void)state;
    CHECK("_\r\n", "null_");
    CHECK("_x\r\n", E(MISSING_CRLF));
    CHECK("#t\r\n", "#1");
    CHECK("#f\r\n", "#0");
    CHECK("#x\r\n", E(BAD_BOOLEAN));
    CHECK("#tt\r\n", E(BAD_BOOLEAN));
    CHECK("#\r\n", E(BAD_BOOLEAN));
}

static void test_resp3_double(void **state)
{
    (void)state;
    CHECK(",1.5\r\n", ",<1.5>=1.5");
    CHECK(",10\r\n", ",<10>=10");
    CHECK(",-0\r\n", ",<-0>=-0");
    CHECK(",1e10\r\n", ",<1e10>=10000000000");
    CHECK(",1.5E-3\r\n", ",<1.5E-3>=0.0015");
    CHECK(",.5\r\n", ",<.5>=0.5");
    CHECK(",3.\r\n", ",<3.>=3");
    CHECK(",inf\r\n", ",<inf>=inf");
    CHECK(",-inf\r\n", ",<-inf>=-inf");
    CHECK(",nan\r\n", ",<nan>=nan");
    CHECK(",-nan\r\n", ",<-nan>=-nan");
    CHECK(",0.30000000000000004\r\n", ",<0.30000000000000004>=0.30000000000000004");
    CHECK(",\r\n", E(BAD_DOUBLE));
    CHECK(",abc\r\n", E(BAD_DOUBLE));
    CHECK(",1e\r\n", E(BAD_DOUBLE));
    CHECK(",.\r\n", E(BAD_DOUBLE));
    CHECK(", 1\r\n", E(BAD_DOUBLE));
    CHECK(",0x10\r\n", E(BAD_DOUBLE));
    CHECK(",1e400\r\n", E(BAD_DOUBLE));
    CHECK(",infinity\r\n", E(BAD_DOUBLE));
}

static void test_resp3_bignum(void **state)
{
    (void)state;
    CHECK("(3492890328409238509324850943850943825024385\r\n",
          "(<3492890328409238509324850943850943825024385>");
    CHECK("(-1\r\n", "(<-1>");
    CHECK("(\r\n", E(BAD_INTEGER));
    CHECK("(-\r\n", E(BAD_INTEGER));
    CHECK("(1a\r\n", E(BAD_INTEGER));
}

static void test_resp3_bulk_error_and_verbatim(void **state)
{
    (void)state;
    CHECK("!21\r\nSYNTAX invalid syntax\r\n", "!<SYNTAX\\x20invalid\\x20syntax>");
    CHECK("!-1\r\n", E(BULK_LEN));
    CHECK("=15\r\ntxt:Some string\r\n", "=txt<Some\\x20string>");
    CHECK("=4\r\nmkd:\r\n", "=mkd<>");
    CHECK("=3\r\ntxt\r\n", E(BAD_VERBATIM));
    CHECK("=4\r\ntxtx\r\n", E(BAD_VERBATIM));
    CHECK("=-1\r\n", E(BULK_LEN));
}

static void test_resp3_aggregates(void **state)
{
    (void)state;
    CHECK("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2[+<a> :1 +<b> :2]");
    CHECK("%0\r\n", "%0[]");
    CHECK("~2\r\n:1\r\n:2\r\n", "~2[:1 :2]");
    CHECK(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", ">3[$<message> $<ch> $<hi>]");
    CHECK("%1\r\n*1\r\n:1\r\n%1\r\n_\r\n#t\r\n", "%1[*1[:1] %1[null_ #1]]");
    CHECK("%-1\r\n", E(MBULK_LEN));
    CHECK("~-1\r\n", E(MBULK_LEN));
    CHECK(">-1\r\n", E(MBULK_LEN));
    CHECK("%1\r\n+a\r\n", "more");
}

static void test_resp3_attribute(void **state)
{
    (void)state;
    CHECK("|1\r\n+key\r\n+val\r\n:5\r\n", "|1[+<key> +<val>] :5");
    CHECK("|0\r\n:5\r\n", "|0[] :5");
    CHECK("*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n", "*2[|1[+<k> +<v>] :1 :2]");
    CHECK("|1\r\n+a\r\n|1\r\n+b\r\n+c\r\n+d\r\n:1\r\n", "|1[+<a> |1[+<b> +<c>] +<d>] :1");
    CHECK("|1\r\n+k\r\n+v\r\n|0\r\n*1\r\n:1\r\n", "|1[+<k> +<v>] |0[] *1[:1]");
    CHECK("|1\r\n+k\r\n+v\r\n", "more");
}

// ---- Malformed input and limits ------------------------------------------

static void test_bad_type_byte(void **state)
{
    (void)state;
    CHECK("?x\r\n", E(BAD_TYPE));
    CHECK("\r\n", E(BAD_TYPE));
    CHECK("x", E(BAD_TYPE));
    CHECK("*2\r\n:1\r\n@\r\n", E(BAD_TYPE));
}

static void test_line_without_lf(void **state)
{
    (void)state;
    CHECK("+OK\rX", E(MISSING_CRLF));
    CHECK(":1\rX", E(MISSING_CRLF));
    CHECK("*1\r:1\r\n", E(MISSING_CRLF));
}

static void test_depth_limit(void **state)
{
    (void)state;
    run_limits.max_depth = 3;
    CHECK("*1\r\n*1\r\n*1\r\n:1\r\n", "*1[*1[*1[:1]]]");
    CHECK("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", E(TOO_DEEP));
    CHECK("*1\r\n*1\r\n*1\r\n*0\r\n", "*1[*1[*1[*0[]]]]");
    CHECK("|1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", E(TOO_DEEP));
}

static void test_default_depth_limit_is_1000(void **state)
{
    (void)state;
    struct text in = {0};
    for (int i = 0; i < 1000; i++)
        text_add(&in, "*1\r\n", 4);
    text_add(&in, ":7\r\n", 4);

    rp_resp_reply_parser_t *p = rp_resp_reply_parser_create(NULL);
    assert_non_null(p);
    struct rp_resp_reply reply;
    assert_int_equal(rp_resp_reply_parse(p, in.s, in.len, &reply), (ssize_t)in.len);
    assert_int_equal(reply.count, 1001);
    assert_int_equal(reply.nodes[0].next, 1001);
    assert_int_equal(reply.nodes[999].next, 1001);
    assert_int_equal(reply.nodes[1000].v.integer, 7);

    text_free(&in);
    for (int i = 0; i < 1001; i++)
        text_add(&in, "*1\r\n", 4);
    text_add(&in, ":7\r\n", 4);
    assert_int_equal(rp_resp_reply_parse(p, in.s, in.len, &reply), RP_ERR_PROTO_TOO_DEEP);
    assert_int_equal(rp_resp_reply_parse(p, ":1\r\n", 4, &reply), RP_ERR_PROTO_TOO_DEEP);
    rp_resp_reply_parser_reset(p);
    assert_int_equal(rp_resp_reply_parse(p, ":1\r\n", 4, &reply), 4);

    rp_resp_reply_parser_free(p);
    text_free(&in);
}

static void test_element_limit(void **state)
{
    (void)state;
    run_limits.max_elements = 2;
    CHECK("*2\r\n:1\r\n:2\r\n", "*2[:1 :2]");
    CHECK("*3\r\n", E(TOO_MANY_ELEMENTS));
    CHECK("%3\r\n", E(TOO_MANY_ELEMENTS));
    CHECK("*99999999999999999999\r\n", E(MBULK_LEN));
}

static void test_four_billion_claim_allocates_little(void **state)
{
    (void)state;
    struct rp_resp_limits limits;
    rp_resp_limits_default(&limits);
    limits.max_elements = UINT64_MAX;

    struct text in = {0};
    text_add(&in, "*4000000000\r\n", 13);
    for (int i = 0; i < 5000; i++)
        text_add(&in, ":1\r\n", 4);

    failing_alloc_install(-1);
    rp_resp_reply_parser_t *p = rp_resp_reply_parser_create(&limits);
    assert_non_null(p);
    struct rp_resp_reply reply;
    assert_int_equal(rp_resp_reply_parse(p, in.s, in.len, &reply), RP_NEED_MORE);
    // 5001 nodes arrived; doubling may reserve up to twice that.
    assert_true(failing_alloc_max_size() <= 2 * 5001 * sizeof(struct rp_resp_node));
    rp_resp_reply_parser_free(p);
    failing_alloc_remove();
    text_free(&in);

    // The default limit rejects the claim outright.
    CHECK("*4000000000\r\n", E(TOO_MANY_ELEMENTS));
}

static void test_bulk_payload_is_never_read(void **state)
{
    (void)state;
    const size_t payload = 100u << 20;
    const char header[] = "*1\r\n$104857600\r\n";
    size_t head = sizeof(header) - 1;
    size_t page = 4096;
    size_t map_len = page + payload + page;
    char *map = mmap(NULL, map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map, page, PROT_READ | PROT_WRITE), 0);
    char *buf = map + page - head;
    memcpy(buf, header, head);

    rp_resp_reply_parser_t *p = rp_resp_reply_parser_create(NULL);
    assert_non_null(p);
    struct rp_resp_reply reply;
    // Only the CRLF after the payload is read, so every call before it
    // arrives must return from the known length alone.
    for (size_t have = head; have < head + payload + 2; have += 1u << 20)
        assert_int_equal(rp_resp_reply_parse(p, buf, have, &reply), RP_NEED_MORE);
    assert_int_equal(rp_resp_reply_parse(p, buf, head + payload + 1, &reply), RP_NEED_MORE);

    rp_resp_reply_parser_free(p);
    munmap(map, map_len);
}

static void test_out_of_memory_is_reported_and_retryable(void **state)
{
    (void)state;
    struct text in = {0};
    text_add(&in, "*200\r\n", 6);
    // 100 arrays of 2 nodes, then 100 attributes of 6 nodes with the
    // verbatim string they annotate.
    const char *array = "*1\r\n$1\r\nx\r\n";
    const char *annotated = "|1\r\n+k\r\n%1\r\n:1\r\n*1\r\n*0\r\n=5\r\ntxt:a\r\n";
    for (int i = 0; i < 100; i++)
        text_add(&in, array, strlen(array));
    for (int i = 0; i < 100; i++)
        text_add(&in, annotated, strlen(annotated));

    int saw_nomem = 0;
    for (long n = 0; n < 64; n++) {
        failing_alloc_install(n);
        rp_resp_reply_parser_t *p = rp_resp_reply_parser_create(NULL);
        if (p == NULL) {
            failing_alloc_remove();
            continue;
        }
        ssize_t r = RP_ERR_NOMEM;
        struct rp_resp_reply reply;
        for (int attempt = 0; attempt < 100 && r == RP_ERR_NOMEM; attempt++) {
            r = rp_resp_reply_parse(p, in.s, in.len, &reply);
            if (r == RP_ERR_NOMEM) {
                saw_nomem = 1;
                failing_alloc_remove();
            }
        }
        assert_int_equal(r, (ssize_t)in.len);
        check_tree(&reply);
        assert_int_equal(reply.nodes[0].v.count, 200);
        assert_int_equal(reply.count, 1 + 100 * 2 + 100 * 7);
        long used = failing_alloc_count();
        rp_resp_reply_parser_free(p);
        failing_alloc_remove();
        if (used <= n)
            break;
    }
    assert_true(saw_nomem);
    text_free(&in);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(rp_resp_type_name(RP_RESP_SIMPLE), "simple");
    assert_string_equal(rp_resp_type_name(RP_RESP_PUSH), "push");
    assert_string_equal(rp_resp_type_name(RP_RESP_VERBATIM), "verbatim");
    assert_string_equal(rp_resp_type_name((enum rp_resp_type)0), "unknown");
    assert_string_equal(rp_resp_type_name((enum rp_resp_type)99), "unknown");
}

int main(void)
{
    harness_set_corpus("reply");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_simple_and_error, setup),
        cmocka_unit_test_setup(test_integer, setup),
        cmocka_unit_test_setup(test_bulk, setup),
        cmocka_unit_test_setup(test_array, setup),
        cmocka_unit_test_setup(test_pipelined_replies, setup),
        cmocka_unit_test_setup(test_resp3_null_and_bool, setup),
        cmocka_unit_test_setup(test_resp3_double, setup),
        cmocka_unit_test_setup(test_resp3_bignum, setup),
        cmocka_unit_test_setup(test_resp3_bulk_error_and_verbatim, setup),
        cmocka_unit_test_setup(test_resp3_aggregates, setup),
        cmocka_unit_test_setup(test_resp3_attribute, setup),
        cmocka_unit_test_setup(test_bad_type_byte, setup),
        cmocka_unit_test_setup(test_line_without_lf, setup),
        cmocka_unit_test_setup(test_depth_limit, setup),
        cmocka_unit_test_setup(test_default_depth_limit_is_1000, setup),
        cmocka_unit_test_setup(test_element_limit, setup),
        cmocka_unit_test_setup(test_four_billion_claim_allocates_little, setup),
        cmocka_unit_test_setup(test_bulk_payload_is_never_read, setup),
        cmocka_unit_test_setup(test_out_of_memory_is_reported_and_retryable, setup),
        cmocka_unit_test_setup(test_type_names, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
