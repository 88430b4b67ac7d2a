// SPDX-License-Identifier: BSD-3-Clause
// libFuzzer target for the reply parser (resp/reply.c).
//
// Each input is parsed as a stream of pipelined replies, with the default
// limits and with small ones that reach the limit paths. Each time it is fed
// whole, split in two at a point derived from the input, and (up to 256
// bytes) one byte at a time. Every call gets an exact-size copy of
// the bytes, so AddressSanitizer catches any read past the end. Each tree
// must be well formed (every `next` in range, aggregates spanning exactly
// their children), and the three feedings must produce identical
// transcripts, or the target aborts.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringpub/resp.h"

#include "feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_aggregate(enum rp_resp_type type)
{
    return type == RP_RESP_ARRAY || type == RP_RESP_MAP || type == RP_RESP_SET ||
           type == RP_RESP_ATTRIBUTE || type == RP_RESP_PUSH;
}

// Aborts unless the tree is well formed; records every node.
static void record_reply(struct transcript *t, const struct rp_resp_reply *r, size_t consumed,
                         const char *buf)
{
    if (r->count == 0)
        abort();
    record_u64(t, consumed);
    record_u64(t, r->count);
    for (size_t i = 0; i < r->count; i++) {
        const struct rp_resp_node *n = &r->nodes[i];
        if (n->next <= i || n->next > r->count)
            abort();
        record_u64(t, (uint64_t)n->type);
        record_u64(t, n->next);

        if (is_aggregate(n->type)) {
            uint64_t expected = n->v.count;
            if (n->type == RP_RESP_MAP || n->type == RP_RESP_ATTRIBUTE)
                expected *= 2;
            uint64_t children = 0;
            for (size_t j = i + 1; j < n->next; j = r->nodes[j].next) {
                if (r->nodes[j].type != RP_RESP_ATTRIBUTE)
                    children++;
            }
            if (children != expected)
                abort();
            record_u64(t, n->v.count);
        } else if (n->next != i + 1) {
            abort();
        }

        switch (n->type) {
        case RP_RESP_INTEGER: record_u64(t, (uint64_t)n->v.integer); break;
        case RP_RESP_BOOL: record_u64(t, (uint64_t)n->v.boolean); break;
        case RP_RESP_NULL: record_u64(t, (uint64_t)n->v.null_kind); break;
        case RP_RESP_VERBATIM: record(t, n->format, 4); break;
        case RP_RESP_DOUBLE: record(t, &n->v.dbl, sizeof(n->v.dbl)); break;
        default: break;
        }

        if (n->str.ptr != NULL) {
            // Strings must lie inside the bytes of this reply.
            if (n->str.ptr < buf || n->str.ptr + n->str.len > buf + consumed)
                abort();
            record_u64(t, (uint64_t)(n->str.ptr - buf));
            record_u64(t, n->str.len);
            record(t, n->str.ptr, n->str.len);
        }
    }
}

static void run(const uint8_t *data, size_t size, const struct rp_resp_limits *limits,
                enum feed feed, size_t split, struct transcript *t)
{
    rp_resp_reply_parser_t *p = rp_resp_reply_parser_create(limits);
    if (p == NULL)
        abort();

    size_t off = 0;
    size_t received = 0;
    for (size_t turn = 0; turn < 2 * size + 8; turn++) {
        size_t n = received - off;
        char *copy = malloc(n ? n : 1);
        if (copy == NULL)
            abort();
        memcpy(copy, data + off, n);

        struct rp_resp_reply reply;
        ssize_t r = rp_resp_reply_parse(p, copy, n, &reply);
        if (r > 0) {
            if ((size_t)r > n)
                abort();
            record_reply(t, &reply, (size_t)r, copy);
            off += (size_t)r;
        } else if (r == RP_NEED_MORE) {
            if (received == size) {
                free(copy);
                break;
            }
            received = next_received(feed, received, size, split);
        } else {
            record_u64(t, (uint64_t)(int64_t)r);
            free(copy);
            break;
        }
        free(copy);
    }
    record_u64(t, off);
    rp_resp_reply_parser_free(p);
}

static void compare(const struct transcript *a, const struct transcript *b, const char *what)
{
    if (a->len != b->len || memcmp(a->bytes, b->bytes, a->len) != 0) {
        fprintf(stderr, "reply parser: %s gave a different result than whole input\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rp_resp_limits limits[2];
    rp_resp_limits_default(&limits[0]);
    rp_resp_limits_default(&limits[1]);
    limits[1].max_bulk_len = 64;
    limits[1].max_elements = 16;
    limits[1].max_depth = 4;

    // The split point comes from the input so that it varies with it.
    uint64_t hash = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ data[i]) * 1099511628211ull;
    size_t split = size > 1 ? 1 + (size_t)(hash % (size - 1)) : 0;

    for (int config = 0; config < 2; config++) {
        struct transcript whole = {0}, parts = {0}, bytes = {0};

        run(data, size, &limits[config], FEED_WHOLE, 0, &whole);
        run(data, size, &limits[config], FEED_SPLIT, split, &parts);
        compare(&whole, &parts, "split input");
        if (size <= 256) {
            run(data, size, &limits[config], FEED_BYTES, 0, &bytes);
            compare(&whole, &bytes, "byte-by-byte input");
        }

        free(whole.bytes);
        free(parts.bytes);
        free(bytes.bytes);
    }
    return 0;
}
