// SPDX-License-Identifier: BSD-3-Clause
// libFuzzer target: reply parser -> RESP writer -> reply parser.
//
// Every reply the parser accepts from the input is re-encoded in RESP3 and
// parsed again, and the two trees must be equal. Re-encoding the second tree
// must give the same bytes, so the writer's output is a fixed point. A reply
// made only of RESP2 types is also re-encoded in RESP2: that must parse to
// the same tree, $-1 and *-1 kept apart, and where it is as long as the input
// it must be byte-identical. The writer's text is the shortest spelling of
// each RESP2 value (no leading zeros or '+'), so an input of the same length
// was canonical. The exception is a simple string or error with CR or LF,
// which the writers replace with spaces. Any violation aborts with a message
// naming the check and, for trees, the two nodes that differ.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringpub/buf.h"
#include "ringpub/resp.h"

#include "resp_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rp_resp_reply_parser_t *input_parser;
static rp_resp_reply_parser_t *check_parser;
static struct rp_buf resp3_bytes = RP_BUF_INIT;
static struct rp_buf again_bytes = RP_BUF_INIT;
static struct rp_buf resp2_bytes = RP_BUF_INIT;

static void fail_tree(const char *what, const struct rp_resp_reply *expected,
                      const struct rp_resp_reply *actual, size_t index)
{
    char want[160] = "(none)";
    char got[160] = "(none)";

    if (index < expected->count)
        tree_describe_node(&expected->nodes[index], want, sizeof(want));
    if (index < actual->count)
        tree_describe_node(&actual->nodes[index], got, sizeof(got));
    fprintf(stderr, "%s: node %zu of %zu/%zu differs\n  expected %s\n  actual   %s\n", what,
            index, expected->count, actual->count, want, got);
    abort();
}

static void fail(const char *what)
{
    fprintf(stderr, "%s\n", what);
    abort();
}

// Parses all of buf[0..len) as one reply with check_parser, which must succeed.
static void parse_whole(const struct rp_buf *buf, struct rp_resp_reply *out, const char *what)
{
    rp_resp_reply_parser_reset(check_parser);
    ssize_t n = rp_resp_reply_parse(check_parser, buf->data, buf->len, out);
    if (n != (ssize_t)buf->len) {
        fprintf(stderr, "%s: parse returned %zd for %zu encoded bytes: %.*s\n", what, n, buf->len,
                (int)(buf->len > 200 ? 200 : buf->len), buf->data);
        abort();
    }
}

// Returns 1 when a simple string or error contains CR or LF. The writers
// turn those into spaces, so such input has no byte-identical re-encoding.
static int has_line_break_text(const struct rp_resp_reply *reply)
{
    for (size_t i = 0; i < reply->count; i++) {
        const struct rp_resp_node *n = &reply->nodes[i];
        if (n->type != RP_RESP_SIMPLE && n->type != RP_RESP_ERROR)
            continue;
        if (memchr(n->str.ptr, '\r', n->str.len) || memchr(n->str.ptr, '\n', n->str.len))
            return 1;
    }
    return 0;
}

static void check_resp2(const uint8_t *input, size_t input_len, const struct rp_resp_reply *first)
{
    struct rp_resp_reply reparsed;

    rp_buf_clear(&resp2_bytes);
    if (tree_encode(&resp2_bytes, 2, first->nodes, first->count) != 0)
        fail("RESP2 encoding of a RESP2 tree failed");

    parse_whole(&resp2_bytes, &reparsed, "RESP2 re-encoding");
    size_t diff = tree_compare(first->nodes, first->count, reparsed.nodes, reparsed.count,
                               TREE_CMP_NULL_KIND);
    if (diff != TREE_EQUAL)
        fail_tree("RESP2 re-encoding parses to another tree", first, &reparsed, diff);

    if (resp2_bytes.len == input_len && !has_line_break_text(first) && memcmp(resp2_bytes.data, input, input_len) != 0)
        fail("canonical RESP2 input is not re-encoded byte for byte");
}

static void check_reply(const uint8_t *input, size_t input_len, const struct rp_resp_reply *first)
{
    struct rp_resp_reply reparsed;

    rp_buf_clear(&resp3_bytes);
    if (tree_encode(&resp3_bytes, 3, first->nodes, first->count) != 0)
        fail("RESP3 encoding of a parsed tree failed");

    parse_whole(&resp3_bytes, &reparsed, "RESP3 re-encoding");
    size_t diff = tree_compare(first->nodes, first->count, reparsed.nodes, reparsed.count, 0);
    if (diff != TREE_EQUAL)
        fail_tree("RESP3 re-encoding parses to another tree", first, &reparsed, diff);

    rp_buf_clear(&again_bytes);
    if (tree_encode(&again_bytes, 3, reparsed.nodes, reparsed.count) != 0)
        fail("RESP3 encoding of a re-parsed tree failed");
    if (again_bytes.len != resp3_bytes.len ||
        memcmp(again_bytes.data, resp3_bytes.data, resp3_bytes.len) != 0)
        fail("RESP3 re-encoding is not a fixed point");

    if (tree_is_resp2(first->nodes, first->count))
        check_resp2(input, input_len, first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (input_parser == NULL) {
        input_parser = rp_resp_reply_parser_create(NULL);
        check_parser = rp_resp_reply_parser_create(NULL);
        if (input_parser == NULL || check_parser == NULL)
            fail("cannot create reply parsers");
    }
    rp_resp_reply_parser_reset(input_parser);

    // Each pass consumes at least one byte, so the loop ends within size passes.
    size_t offset = 0;
    while (offset < size) {
        struct rp_resp_reply first;
        ssize_t n = rp_resp_reply_parse(input_parser, (const char *)data + offset, size - offset,
                                        &first);
        if (n <= 0)
            break;
        check_reply(data + offset, (size_t)n, &first);
        offset += (size_t)n;
    }
    return 0;
}
