// SPDX-License-Identifier: BSD-3-Clause
// Tests of the request parser (resp/request.c, resp/inline.c).
//
// What redis-server 7.0.15 replies to raw request bytes, recorded by sending
// each input on a fresh connection. "closes" means it closed the connection
// after the reply; "waits" means no reply and the connection stays open.
//
//  input                                  redis 7.0.15
//  *18446744073709551616 / *2^63 / *2^63-1
//  / *4294967296 / *2147483648            -ERR Protocol error: invalid multibulk length, closes
//  *2147483647, *1048577                  waits for the elements
//  *-5, *-1, *0                           ignored (no reply), next request runs
//  *-0, *00, *01, *+1, "* 1", "*1 ", *, *a   invalid multibulk length, closes
//  $-1, $-2, $-0, $+4, $04, "$ 4", "$4 ", $  -ERR Protocol error: invalid bulk length, closes
//  $536870912 (proto-max-bulk-len)        waits; $536870913 and $99999999999999999999: invalid bulk length
//  $0 then CRLF                           one empty argument
//  payload followed by "xx" not CRLF      accepted: redis skips the 2 bytes unchecked
//  payload followed by "\n*"              accepted, and the rest is read as inline lines
//  "*1\rX$4\rXPING\r\n"                   PONG: the byte after each '\r' is skipped unchecked
//  :4 or x4 where $ is due                -ERR Protocol error: expected '$', got ':', closes
//  empty line or "\n" where $ is due      ... got ' ' (redis turns \r and \n into spaces)
//  \x01 \x7f \xff \t \v where $ is due    ... got '<that byte>'
//  NUL before the '\r' of a count line    waits: strchr() stops at the NUL, so only
//  or before the '\n' of an inline line   the too-big error below can end the wait
//  65537 bytes from '*' without '\r'      -ERR Protocol error: too big mbulk count string
//  65537 bytes from '$' line without '\r' -ERR Protocol error: too big bulk count string
//  65537 inline bytes without '\n'        -ERR Protocol error: too big inline request
//  65536 bytes in each of these           waits
//  "\r\n", "\n", "   \r\n"                ignored; "\t\r\n" too
//  inline: ' ' '\t' '\r' '\n' split and end arguments; '\v' '\f' are skipped between
//  arguments but do not end one ("ECHO a\vb" echoes "a\vb"); a closing quote followed
//  by anything but those six or the end: -ERR Protocol error: unbalanced quotes in
//  request, closes; \x4G and \x are "x4G" and "x"; 'a\nb' keeps the backslash
//  requirepass set, before AUTH: *11      -ERR Protocol error: unauthenticated multibulk length
//  requirepass set, before AUTH: $16385   -ERR Protocol error: unauthenticated bulk length
//
// The parser differs in one place, on purpose: a line longer than 64 KiB that
// arrives in one read is accepted by redis (inline) or fails as invalid
// (counts), but always fails as too big here, so that results do not depend
// on how the input was split.

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

#define E_MBULK "error RP_ERR_PROTO_MBULK_LEN: ERR Protocol error: invalid multibulk length"
#define E_BULK "error RP_ERR_PROTO_BULK_LEN: ERR Protocol error: invalid bulk length"
#define E_DOLLAR(c) "error RP_ERR_PROTO_EXPECTED_DOLLAR: ERR Protocol error: expected '$', got '" c "'"
#define E_INLINE_BIG "error RP_ERR_PROTO_INLINE_TOO_BIG: ERR Protocol error: too big inline request"
#define E_MBULK_BIG "error RP_ERR_PROTO_MBULK_TOO_BIG: ERR Protocol error: too big mbulk count string"
#define E_BULK_BIG "error RP_ERR_PROTO_BULK_TOO_BIG: ERR Protocol error: too big bulk count string"
#define E_QUOTES "error RP_ERR_PROTO_UNBALANCED_QUOTES: ERR Protocol error: unbalanced quotes in request"
#define E_UNAUTH_MBULK \
    "error RP_ERR_PROTO_UNAUTH_MBULK_LEN: ERR Protocol error: unauthenticated multibulk length"
#define E_UNAUTH_BULK "error RP_ERR_PROTO_UNAUTH_BULK_LEN: ERR Protocol error: unauthenticated bulk length"

// Settings for the parsers that run_request() creates.
static struct rp_resp_limits run_limits;
static int run_auth_required;

static void append_request(struct text *t, const struct rp_resp_request *req)
{
    if (req->inline_cmd)
        text_add(t, "inline ", 7);
    if (req->argc == 0)
        text_add(t, "empty", 5);
    for (size_t i = 0; i < req->argc; i++) {
        if (i > 0)
            text_add(t, " ", 1);
        text_add_quoted(t, req->argv[i].ptr, req->argv[i].len);
    }
}

// Feeds input to a new parser under one schedule, as a server would read it
// from a socket, and records each request, the error, and "more" if input
// was left unparsed.
static char *run_request(const char *input, size_t len, enum feed_mode mode, size_t split)
{
    rp_resp_request_parser_t *p = rp_resp_request_parser_create(&run_limits);
    assert_non_null(p);
    rp_resp_request_parser_set_auth_required(p, run_auth_required);

    struct text t = {0};
    text_add(&t, "", 0);
    size_t off = 0;
    size_t received = 0;
    int first = 1;
    // Each turn consumes input, receives input or stops.
    for (size_t turn = 0; turn < 2 * len + 8; turn++) {
        const char *buf = guard_place(input + off, received - off);
        struct rp_resp_request req;
        ssize_t n = rp_resp_request_parse(p, buf, received - off, &req);
        if (n > 0) {
            assert_true((size_t)n <= received - off);
            if (!first)
                text_add(&t, " | ", 3);
            first = 0;
            append_request(&t, &req);
            off += (size_t)n;
            continue;
        }
        if (n == RP_NEED_MORE) {
            if (received == len)
                break;
            received = feed_next(mode, received, len, split);
            continue;
        }

        char msg[256];
        rp_resp_request_error(p, msg, sizeof(msg));
        if (!first)
            text_add(&t, " | ", 3);
        text_addf(&t, "error %s: %s", rp_errname((int)n), msg);
        off = len;
        break;
    }
    if (off < len)
        text_add(&t, first ? "more" : " | more", first ? 4 : 7);

    guard_release();
    rp_resp_request_parser_free(p);
    return t.s;
}

static int setup(void **state)
{
    (void)state;
    rp_resp_limits_default(&run_limits);
    run_auth_required = 0;
    return 0;
}

#define CHECK(input, expected) check_all_modes(run_request, input, sizeof(input) - 1, expected)

static void check_bytes(const char *input, size_t len, const char *expected)
{
    check_all_modes(run_request, input, len, expected);
}

// ---- RESP arrays ---------------------------------------------------------

static void test_array_single_command(void **state)
{
    (void)state;
    CHECK("*1\r\n$4\r\nPING\r\n", "<PING>");
    CHECK("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n", "<PUBLISH> <ch> <hello>");
}

static void test_array_pipelined_in_one_buffer(void **state)
{
    (void)state;
    CHECK("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n",
          "<PING> | <ECHO> <a> | <PING>");
    CHECK("*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$4\r\nPING\r\n", "<PING> | inline <PING> | <PING>");
}

static void test_array_binary_payload_kept(void **state)
{
    (void)state;
    CHECK("*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\0\xff\n\r\n", "<ECHO> <a\\x0d\\x0a\\x00\\xff\\x0a>");
    CHECK("*1\r\n$0\r\n\r\n", "<>");
}

static void test_array_nonpositive_count_is_empty(void **state)
{
    (void)state;
    CHECK("*0\r\nPING\r\n", "empty | inline <PING>");
    CHECK("*-1\r\nPING\r\n", "empty | inline <PING>");
    CHECK("*-5\r\nPING\r\n", "empty | inline <PING>");
}

static void test_array_count_overflow_is_protocol_error(void **state)
{
    (void)state;
    CHECK("*18446744073709551616\r\n", E_MBULK);
    CHECK("*9223372036854775808\r\n", E_MBULK);
    CHECK("*9223372036854775807\r\n", E_MBULK);
    CHECK("*4294967296\r\n", E_MBULK);
    CHECK("*2147483648\r\n", E_MBULK);
    CHECK("*-9223372036854775809\r\n", E_MBULK);
}

static void test_array_bad_count_is_protocol_error(void **state)
{
    (void)state;
    CHECK("*-0\r\nPING\r\n", E_MBULK);
    CHECK("*00\r\nPING\r\n", E_MBULK);
    CHECK("*01\r\n$4\r\nPING\r\n", E_MBULK);
    CHECK("*+1\r\n$4\r\nPING\r\n", E_MBULK);
    CHECK("* 1\r\n$4\r\nPING\r\n", E_MBULK);
    CHECK("*1 \r\n$4\r\nPING\r\n", E_MBULK);
    CHECK("*\r\nPING\r\n", E_MBULK);
    CHECK("*a\r\n", E_MBULK);
    CHECK("*-\r\n", E_MBULK);
}

static void test_array_huge_claim_waits_for_elements(void **state)
{
    (void)state;
    CHECK("*2147483647\r\n$4\r\nPING\r\n", "more");
    CHECK("*1048577\r\n$4\r\nPING\r\n", "more");
}

static void test_array_four_billion_claim_allocates_little(void **state)
{
    (void)state;
    // INT_MAX is the largest count redis accepts; pretend the limit allows
    // 4 billion to check that memory follows the elements that arrive.
    struct rp_resp_limits limits;
    rp_resp_limits_default(&limits);
    limits.max_elements = UINT64_MAX;
    failing_alloc_install(-1);
    rp_resp_request_parser_t *p = rp_resp_request_parser_create(&limits);
    assert_non_null(p);

    struct text in = {0};
    text_add(&in, "*4000000000\r\n", 13);
    for (int i = 0; i < 5000; i++)
        text_add(&in, "$1\r\nx\r\n", 7);
    struct rp_resp_request req;
    assert_int_equal(rp_resp_request_parse(p, in.s, in.len, &req), RP_NEED_MORE);

    // 5000 elements arrived: argv may hold 5000 + 1024 entries, not 4e9.
    size_t per_entry = sizeof(struct rp_resp_str) + sizeof(size_t);
    assert_true(failing_alloc_max_size() <= (5000 + 1024) * per_entry);

    rp_resp_request_parser_free(p);
    failing_alloc_remove();
    text_free(&in);
}

static void test_bulk_len_bad_is_protocol_error(void **state)
{
    (void)state;
    CHECK("*1\r\n$-1\r\n", E_BULK);
    CHECK("*1\r\n$-2\r\n", E_BULK);
    CHECK("*1\r\n$-0\r\n", E_BULK);
    CHECK("*1\r\n$+4\r\nPING\r\n", E_BULK);
    CHECK("*1\r\n$04\r\nPING\r\n", E_BULK);
    CHECK("*1\r\n$ 4\r\nPING\r\n", E_BULK);
    CHECK("*1\r\n$4 \r\nPING\r\n", E_BULK);
    CHECK("*1\r\n$\r\nPING\r\n", E_BULK);
    CHECK("*1\r\n$99999999999999999999\r\n", E_BULK);
}

static void test_bulk_len_over_limit_is_protocol_error(void **state)
{
    (void)state;
    CHECK("*1\r\n$536870912\r\n", "more");
    CHECK("*1\r\n$536870913\r\n", E_BULK);

    run_limits.max_bulk_len = 3;
    CHECK("*2\r\n$3\r\nabc\r\n$4\r\nabcd\r\n", E_BULK);
}

static void test_bulk_trailing_bytes_not_checked(void **state)
{
    (void)state;
    CHECK("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", "<PING> | <PING>");
    CHECK("*1\r\n$4\r\nPING\n*1\r\n$4\r\nPING\r\n",
          "<PING> | inline <1> | inline <$4> | inline <PING>");
    CHECK("*1\r\n$4\r\nPINGx", "more");
    CHECK("*1\rX$4\rXPING\r\n", "<PING>");
}

static void test_bulk_missing_dollar_is_protocol_error(void **state)
{
    (void)state;
    CHECK("*1\r\n:4\r\nPING\r\n", E_DOLLAR(":"));
    CHECK("*1\r\nx4\r\nPING\r\n", E_DOLLAR("x"));
    CHECK("*1\r\n\r\n", E_DOLLAR(" "));
    CHECK("*1\r\n\n\r\n", E_DOLLAR(" "));
    CHECK("*1\r\n\x01\r\n", E_DOLLAR("\x01"));
    CHECK("*1\r\n\xff\r\n", E_DOLLAR("\xff"));
    CHECK("*1\r\n\t\r\n", E_DOLLAR("\t"));
    CHECK("*2\r\n$1\r\na\r\n*1\r\n", E_DOLLAR("*"));
    // redis looks at the first byte only once the line has its '\r' and one
    // more byte.
    CHECK("*1\r\nxyz", "more");
    CHECK("*1\r\nxyz\r", "more");
}

static void test_nul_hides_line_end(void **state)
{
    (void)state;
    check_bytes("*1\r\n\0\r\n*1\r\n$4\r\nPING\r\n", 21, "more");
    check_bytes("*\0" "1\r\n", 5, "more");
    check_bytes("*1\0\r\n", 5, "more");
    check_bytes("*1\r\n$\0" "4\r\n", 9, "more");
    check_bytes("PING\0garbage\r\n", 14, "more");
    check_bytes("PING\0\r\nPING\r\n", 12, "more");
}

static void test_nul_line_fails_when_too_big(void **state)
{
    (void)state;
    char *in = malloc(70000);
    assert_non_null(in);

    // "PING\0" and 65532 more bytes: 65537 bytes with no visible '\n'.
    memset(in, 'a', 70000);
    memcpy(in, "PING\0", 5);
    check_bytes(in, 65537, E_INLINE_BIG);
    in[65536] = '\n';
    check_bytes(in, 65537, E_INLINE_BIG);
    in[65535] = '\n';
    check_bytes(in, 65536, "more");

    memset(in, 0, 70000);
    memcpy(in, "*1\r\n$", 5);
    check_bytes(in, 4 + 65537, E_BULK_BIG);
    check_bytes(in, 4 + 65536, "more");

    free(in);
}

static void test_count_line_too_big(void **state)
{
    (void)state;
    char *in = malloc(70010);
    assert_non_null(in);

    in[0] = '*';
    memset(in + 1, '1', 70000);
    check_bytes(in, 65537, E_MBULK_BIG);
    check_bytes(in, 65536, "more");
    // A '\r' at offset 65536 is still inside the window.
    in[65536] = '\r';
    in[65537] = '\n';
    check_bytes(in, 65538, E_MBULK);
    // Beyond it, the line is too big whether or not the rest arrived.
    in[65536] = '1';
    memcpy(in + 70001, "\r\n", 2);
    check_bytes(in, 70003, E_MBULK_BIG);

    memcpy(in, "*1\r\n$", 5);
    memset(in + 5, '1', 65535);
    check_bytes(in, 4 + 65536, "more");
    memset(in + 4, 'x', 65537);
    check_bytes(in, 4 + 65537, E_BULK_BIG);
    check_bytes(in, 4 + 65536, "more");
    memset(in + 4, '$', 65537);
    check_bytes(in, 4 + 65536, "more");

    free(in);
}

static void test_unauthenticated_limits(void **state)
{
    (void)state;
    run_auth_required = 1;
    CHECK("*10\r\n", "more");
    CHECK("*11\r\n", E_UNAUTH_MBULK);
    CHECK("*1\r\n$16384\r\n", "more");
    CHECK("*1\r\n$16385\r\n", E_UNAUTH_BULK);
    // The general checks come first, as in redis.
    CHECK("*2147483648\r\n", E_MBULK);
    CHECK("*1\r\n$536870913\r\n", E_BULK);
    CHECK("*1\r\n$-1\r\n", E_BULK);
    CHECK("*0\r\n", "empty");
}

// ---- Inline commands -----------------------------------------------------

static void test_inline_line_endings(void **state)
{
    (void)state;
    CHECK("PING\r\n", "inline <PING>");
    CHECK("PING\n", "inline <PING>");
    CHECK("PING\r\r\n", "inline <PING>");
    CHECK("ECHO a\rb\r\n", "inline <ECHO> <a> <b>");
    CHECK("PING", "more");
    CHECK("PING\r", "more");
}

static void test_inline_blank_lines_are_empty(void **state)
{
    (void)state;
    CHECK("\r\n", "inline empty");
    CHECK("\n", "inline empty");
    CHECK("   \r\nPING\r\n", "inline empty | inline <PING>");
    CHECK("\t\r\nPING\r\n", "inline empty | inline <PING>");
    CHECK("\v\f \r\n", "inline empty");
}

static void test_inline_whitespace_classes(void **state)
{
    (void)state;
    CHECK("ECHO\ta\r\n", "inline <ECHO> <a>");
    CHECK("ECHO\va\r\n", "inline <ECHO\\x0ba>");
    CHECK("ECHO \va\r\n", "inline <ECHO> <a>");
    CHECK("ECHO \fa\r\n", "inline <ECHO> <a>");
    CHECK("ECHO a\vb\r\n", "inline <ECHO> <a\\x0bb>");
    CHECK("ECHO \"a\"\vx\r\n", "inline <ECHO> <a> <x>");
    CHECK("  SUBSCRIBE   a  b  \r\n", "inline <SUBSCRIBE> <a> <b>");
}

static void test_inline_double_quote_escapes(void **state)
{
    (void)state;
    CHECK("ECHO \"a\\nb\"\r\n", "inline <ECHO> <a\\x0ab>");
    CHECK("ECHO \"\\r\\t\\b\\a\\\\\\\"\\q\"\r\n", "inline <ECHO> <\\x0d\\x09\\x08\\x07\\x5c\"q>");
    CHECK("ECHO \"\\x41\\x4a\\x4G\\xg1\\x\"\r\n", "inline <ECHO> <AJx4Gxg1x>");
    CHECK("ECHO \"\\xff\\x00z\"\r\n", "inline <ECHO> <\\xff\\x00z>");
    CHECK("ECHO \"a'b\"\r\n", "inline <ECHO> <a'b>");
    CHECK("ECHO \"a\\x41\"\n", "inline <ECHO> <aA>");
    CHECK("ECHO \"hello world\"\r\n", "inline <ECHO> <hello\\x20world>");
}

static void test_inline_single_quote_escapes(void **state)
{
    (void)state;
    CHECK("ECHO 'a\\'b'\r\n", "inline <ECHO> <a'b>");
    CHECK("ECHO '\\'b'\r\n", "inline <ECHO> <'b>");
    CHECK("ECHO 'a\\nb'\r\n", "inline <ECHO> <a\\x5cnb>");
    CHECK("ECHO 'a\"b'\r\n", "inline <ECHO> <a\"b>");
}

static void test_inline_empty_quoted_argument(void **state)
{
    (void)state;
    CHECK("ECHO \"\"\r\n", "inline <ECHO> <>");
    CHECK("ECHO ''\r\n", "inline <ECHO> <>");
    CHECK("\"\" ''\n", "inline <> <>");
}

static void test_inline_quote_inside_argument(void **state)
{
    (void)state;
    CHECK("ECHO a\"b c\" d\r\n", "inline <ECHO> <ab\\x20c> <d>");
    CHECK("ECHO a'b c' d\r\n", "inline <ECHO> <ab\\x20c> <d>");
    CHECK("ECHO \"a\"\t\r\n", "inline <ECHO> <a>");
}

static void test_inline_unbalanced_quotes_is_protocol_error(void **state)
{
    (void)state;
    CHECK("ECHO \"ab\"c\r\n", E_QUOTES);
    CHECK("ECHO 'ab'c\r\n", E_QUOTES);
    CHECK("ECHO \"ab\r\n", E_QUOTES);
    CHECK("ECHO 'ab\r\n", E_QUOTES);
    CHECK("ECHO a\"b c\"d\r\n", E_QUOTES);
    CHECK("ECHO \"a\\\"\r\n", E_QUOTES);
    CHECK("ECHO \"a\\\r\n", E_QUOTES);
    CHECK("ECHO \"a\"\"b\"\r\n", E_QUOTES);
    CHECK("PING\r\nECHO \"x\r\nPING\r\n", "inline <PING> | " E_QUOTES);
}

static void test_inline_dollar_line_is_a_command(void **state)
{
    (void)state;
    CHECK("$4\r\nPING\r\n", "inline <$4> | inline <PING>");
}

static void test_inline_request_too_big(void **state)
{
    (void)state;
    char *in = malloc(70000);
    assert_non_null(in);
    memset(in, 'P', 70000);

    check_bytes(in, 65536, "more");
    check_bytes(in, 65537, E_INLINE_BIG);
    in[65536] = '\r';
    check_bytes(in, 65537, E_INLINE_BIG);
    // A line of exactly 65536 bytes is accepted.
    in[65536] = '\n';
    struct text expected = {0};
    text_add(&expected, "inline <", 8);
    text_add(&expected, in, 65536);
    text_add(&expected, ">", 1);
    check_bytes(in, 65537, expected.s);
    text_free(&expected);

    free(in);
}

static void test_inline_limit_follows_setting(void **state)
{
    (void)state;
    run_limits.max_inline_len = 4;
    CHECK("ABCD\n", "inline <ABCD>");
    CHECK("ABCDE", E_INLINE_BIG);
    CHECK("ABC\r\n", "inline <ABC>");
    CHECK("ABCD\r\n", E_INLINE_BIG);
}

// ---- Parser object -------------------------------------------------------

static void test_bulk_payload_is_never_read(void **state)
{
    (void)state;
    // A 100 MiB payload in PROT_NONE memory: the parser must find its end
    // from the length alone, on every call, without touching it.
    const size_t payload = 100u << 20;
    const char header[] = "*2\r\n$7\r\nPUBLISH\r\n$104857600\r\n";
    size_t head = sizeof(header) - 1;
    size_t page = 4096;
    size_t map_len = page + payload + page;
    char *map = mmap(NULL, map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map, page, PROT_READ | PROT_WRITE), 0);
    char *buf = map + page - head;
    memcpy(buf, header, head);

    rp_resp_request_parser_t *p = rp_resp_request_parser_create(NULL);
    assert_non_null(p);
    struct rp_resp_request req;
    for (size_t have = head; have < head + payload + 2; have += 1u << 20)
        assert_int_equal(rp_resp_request_parse(p, buf, have, &req), RP_NEED_MORE);
    assert_int_equal(rp_resp_request_parse(p, buf, head + payload + 1, &req), RP_NEED_MORE);
    assert_int_equal(rp_resp_request_parse(p, buf, head + payload + 2, &req), (ssize_t)(head + payload + 2));
    assert_int_equal(req.argc, 2);
    assert_ptr_equal(req.argv[1].ptr, buf + head);
    assert_int_equal(req.argv[1].len, payload);

    rp_resp_request_parser_free(p);
    munmap(map, map_len);
}

static void test_error_is_latched_until_reset(void **state)
{
    (void)state;
    rp_resp_request_parser_t *p = rp_resp_request_parser_create(NULL);
    assert_non_null(p);
    struct rp_resp_request req;

    assert_int_equal(rp_resp_request_parse(p, "*x\r\n", 4, &req), RP_ERR_PROTO_MBULK_LEN);
    assert_int_equal(rp_resp_request_parse(p, "PING\r\n", 6, &req), RP_ERR_PROTO_MBULK_LEN);
    assert_int_equal(req.argc, 0);

    rp_resp_request_parser_reset(p);
    assert_int_equal(rp_resp_request_parse(p, "PING\r\n", 6, &req), 6);
    assert_int_equal(req.argc, 1);
    char msg[8];
    assert_int_equal(rp_resp_request_error(p, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "");

    rp_resp_request_parser_free(p);
}

static void test_error_text_truncates(void **state)
{
    (void)state;
    rp_resp_request_parser_t *p = rp_resp_request_parser_create(NULL);
    assert_non_null(p);
    struct rp_resp_request req;
    assert_int_equal(rp_resp_request_parse(p, "*1\r\n:1\r\n", 8, &req), RP_ERR_PROTO_EXPECTED_DOLLAR);

    char msg[64];
    assert_int_equal(rp_resp_request_error(p, msg, sizeof(msg)), 41);
    assert_string_equal(msg, "ERR Protocol error: expected '$', got ':'");
    assert_int_equal(rp_resp_request_error(p, msg, 5), 4);
    assert_string_equal(msg, "ERR ");
    assert_int_equal(rp_resp_request_error(p, msg, 0), 0);

    rp_resp_request_parser_free(p);
}

static void test_set_limits_applies_to_next_frame(void **state)
{
    (void)state;
    rp_resp_request_parser_t *p = rp_resp_request_parser_create(NULL);
    assert_non_null(p);
    struct rp_resp_request req;
    const char in[] = "*1\r\n$5\r\nhello\r\n";

    assert_int_equal(rp_resp_request_parse(p, in, 9, &req), RP_NEED_MORE);
    struct rp_resp_limits small;
    rp_resp_limits_default(&small);
    small.max_bulk_len = 4;
    rp_resp_request_parser_set_limits(p, &small);
    assert_int_equal(rp_resp_request_parse(p, in, sizeof(in) - 1, &req), (ssize_t)(sizeof(in) - 1));
    assert_int_equal(rp_resp_request_parse(p, in, sizeof(in) - 1, &req), RP_ERR_PROTO_BULK_LEN);

    rp_resp_request_parser_reset(p);
    rp_resp_request_parser_set_limits(p, NULL);
    assert_int_equal(rp_resp_request_parse(p, in, sizeof(in) - 1, &req), (ssize_t)(sizeof(in) - 1));

    rp_resp_request_parser_free(p);
}

static void test_out_of_memory_is_reported_and_retryable(void **state)
{
    (void)state;
    struct text in = {0};
    text_add(&in, "*3000\r\n", 7);
    for (int i = 0; i < 3000; i++)
        text_add(&in, "$1\r\nx\r\n", 7);
    text_add(&in, "ECHO \"a\\nb\" c\r\n", 15);

    // Fail the n-th allocation for every n until a run needs no failure.
    int saw_nomem = 0;
    for (long n = 0; n < 64; n++) {
        failing_alloc_install(n);
        rp_resp_request_parser_t *p = rp_resp_request_parser_create(NULL);
        if (p == NULL) {
            failing_alloc_remove();
            continue;
        }

        size_t off = 0;
        int done = 0;
        for (int attempt = 0; attempt < 100 && !done; attempt++) {
            struct rp_resp_request req;
            ssize_t r = rp_resp_request_parse(p, in.s + off, in.len - off, &req);
            if (r == RP_ERR_NOMEM) {
                saw_nomem = 1;
                failing_alloc_remove();   // the retry gets memory
                continue;
            }
            assert_true(r > 0);
            if (off == 0) {
                assert_int_equal(req.argc, 3000);
                assert_memory_equal(req.argv[2999].ptr, "x", 1);
            } else {
                assert_int_equal(req.inline_cmd, 1);
                assert_int_equal(req.argc, 3);
                assert_memory_equal(req.argv[1].ptr, "a\nb", 3);
            }
            off += (size_t)r;
            done = off == in.len;
        }
        assert_true(done);
        long used = failing_alloc_count();
        rp_resp_request_parser_free(p);
        failing_alloc_remove();
        if (used <= n)
            break;
    }
    assert_true(saw_nomem);
    text_free(&in);
}

// ---- rp_resp_split_args ----------------------------------------------------

static void test_split_args_copies_and_terminates(void **state)
{
    (void)state;
    const char line[] = "bind \"127.0.0.1\" 'x y' \"a\\x41\"";
    struct rp_resp_str *argv;
    assert_int_equal(rp_resp_split_args(line, sizeof(line) - 1, &argv), 4);
    assert_string_equal(argv[0].ptr, "bind");
    assert_string_equal(argv[1].ptr, "127.0.0.1");
    assert_string_equal(argv[2].ptr, "x y");
    assert_int_equal(argv[3].len, 2);
    assert_string_equal(argv[3].ptr, "aA");
    rp_free(argv);
}

static void test_split_args_blank_and_errors(void **state)
{
    (void)state;
    struct rp_resp_str *argv = (struct rp_resp_str *)&argv;
    assert_int_equal(rp_resp_split_args(" \t ", 3, &argv), 0);
    assert_null(argv);
    assert_int_equal(rp_resp_split_args("a \"b", 4, &argv), RP_ERR_PROTO_UNBALANCED_QUOTES);
    assert_null(argv);
    // A NUL ends the line.
    assert_int_equal(rp_resp_split_args("a\0b", 3, &argv), 1);
    assert_string_equal(argv[0].ptr, "a");
    rp_free(argv);
    assert_int_equal(rp_resp_split_args("\"a\0\"", 4, &argv), RP_ERR_PROTO_UNBALANCED_QUOTES);
}

static void test_split_args_out_of_memory(void **state)
{
    (void)state;
    const char line[] = "one \"two\\n\" three";
    for (long n = 0; n < 8; n++) {
        failing_alloc_install(n);
        struct rp_resp_str *argv;
        ssize_t r = rp_resp_split_args(line, sizeof(line) - 1, &argv);
        long used = failing_alloc_count();
        failing_alloc_remove();
        if (r == RP_ERR_NOMEM) {
            assert_null(argv);
            continue;
        }
        assert_int_equal(r, 3);
        assert_string_equal(argv[1].ptr, "two\n");
        rp_free(argv);
        assert_true(used <= n);
        return;
    }
    fail_msg("rp_resp_split_args never succeeded");
}

int main(void)
{
    harness_set_corpus("request");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_array_single_command, setup),
        cmocka_unit_test_setup(test_array_pipelined_in_one_buffer, setup),
        cmocka_unit_test_setup(test_array_binary_payload_kept, setup),
        cmocka_unit_test_setup(test_array_nonpositive_count_is_empty, setup),
        cmocka_unit_test_setup(test_array_count_overflow_is_protocol_error, setup),
        cmocka_unit_test_setup(test_array_bad_count_is_protocol_error, setup),
        cmocka_unit_test_setup(test_array_huge_claim_waits_for_elements, setup),
        cmocka_unit_test_setup(test_array_four_billion_claim_allocates_little, setup),
        cmocka_unit_test_setup(test_bulk_len_bad_is_protocol_error, setup),
        cmocka_unit_test_setup(test_bulk_len_over_limit_is_protocol_error, setup),
        cmocka_unit_test_setup(test_bulk_trailing_bytes_not_checked, setup),
        cmocka_unit_test_setup(test_bulk_missing_dollar_is_protocol_error, setup),
        cmocka_unit_test_setup(test_nul_hides_line_end, setup),
        cmocka_unit_test_setup(test_nul_line_fails_when_too_big, setup),
        cmocka_unit_test_setup(test_count_line_too_big, setup),
        cmocka_unit_test_setup(test_unauthenticated_limits, setup),
        cmocka_unit_test_setup(test_inline_line_endings, setup),
        cmocka_unit_test_setup(test_inline_blank_lines_are_empty, setup),
        cmocka_unit_test_setup(test_inline_whitespace_classes, setup),
        cmocka_unit_test_setup(test_inline_double_quote_escapes, setup),
        cmocka_unit_test_setup(test_inline_single_quote_escapes, setup),
        cmocka_unit_test_setup(test_inline_empty_quoted_argument, setup),
        cmocka_unit_test_setup(test_inline_quote_inside_argument, setup),
        cmocka_unit_test_setup(test_inline_unbalanced_quotes_is_protocol_error, setup),
        cmocka_unit_test_setup(test_inline_dollar_line_is_a_command, setup),
        cmocka_unit_test_setup(test_inline_request_too_big, setup),
        cmocka_unit_test_setup(test_inline_limit_follows_setting, setup),
        cmocka_unit_test_setup(test_bulk_payload_is_never_read, setup),
        cmocka_unit_test_setup(test_error_is_latched_until_reset, setup),
        cmocka_unit_test_setup(test_error_text_truncates, setup),
        cmocka_unit_test_setup(test_set_limits_applies_to_next_frame, setup),
        cmocka_unit_test_setup(test_out_of_memory_is_reported_and_retryable, setup),
        cmocka_unit_test_setup(test_split_args_copies_and_terminates, setup),
        cmocka_unit_test_setup(test_split_args_blank_and_errors, setup),
        cmocka_unit_test_setup(test_split_args_out_of_memory, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
