// SPDX-License-Identifier: BSD-3-Clause
// libFuzzer target for the request parser (resp/request.c, resp/inline.c).
//
// Each input is parsed as a stream of pipelined requests, with the default
// limits and with small ones that reach the limit paths. Each time it is fed
// whole, split in two at a point derived from the input, and (up to 256
// bytes) one byte at a time. Every call gets an exact-size copy of
// the bytes, so AddressSanitizer catches any read past the end. The three
// feedings must produce identical transcripts of requests and errors, or
// the target aborts. The input is also split as one inline line with
// rp_resp_split_args(), whose output must be NUL-terminated copies.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/resp.h"

#include "feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const uint8_t *data, size_t size, const struct rp_resp_limits *limits, int auth,
                enum feed feed, size_t split, struct transcript *t)
{
    rp_resp_request_parser_t *p = rp_resp_request_parser_create(limits);
    if (p == NULL)
        abort();
    rp_resp_request_parser_set_auth_required(p, auth);

    size_t off = 0;
    size_t received = 0;
    for (size_t turn = 0; turn < 2 * size + 8; turn++) {
        size_t n = received - off;
        char *copy = malloc(n ? n : 1);
        if (copy == NULL)
            abort();
        memcpy(copy, data + off, n);

        struct rp_resp_request req;
        ssize_t r = rp_resp_request_parse(p, copy, n, &req);
        if (r > 0) {
            if ((size_t)r > n)
                abort();
            record_u64(t, (uint64_t)r);
            record_u64(t, req.argc);
            record_u64(t, (uint64_t)req.inline_cmd);
            for (size_t i = 0; i < req.argc; i++) {
                record_u64(t, req.argv[i].len);
                record(t, req.argv[i].ptr, req.argv[i].len);
            }
            off += (size_t)r;
        } else if (r == RP_NEED_MORE) {
            if (received == size) {
                free(copy);
                break;
            }
            received = next_received(feed, received, size, split);
        } else {
            char msg[128];
            size_t len = rp_resp_request_error(p, msg, sizeof(msg));
            record_u64(t, (uint64_t)(int64_t)r);
            record(t, msg, len);
            free(copy);
            break;
        }
        free(copy);
    }
    record_u64(t, off);
    rp_resp_request_parser_free(p);
}

static void compare(const struct transcript *a, const struct transcript *b, const char *what)
{
    if (a->len != b->len || memcmp(a->bytes, b->bytes, a->len) != 0) {
        fprintf(stderr, "request parser: %s gave a different result than whole input\n", what);
        abort();
    }
}

static void check_split_args(const uint8_t *data, size_t size)
{
    struct rp_resp_str *argv;
    ssize_t argc = rp_resp_split_args((const char *)data, size, &argv);
    if (argc < 0) {
        if (argv != NULL || (argc != RP_ERR_PROTO_UNBALANCED_QUOTES && argc != RP_ERR_NOMEM))
            abort();
        return;
    }

    size_t total = 0;
    for (ssize_t i = 0; i < argc; i++) {
        if (argv[i].ptr[argv[i].len] != '\0')
            abort();
        total += argv[i].len;
    }
    // Every argument byte comes from at least one input byte.
    if (total > size)
        abort();
    rp_free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_split_args(data, size);

    struct rp_resp_limits limits[2];
    rp_resp_limits_default(&limits[0]);
    rp_resp_limits_default(&limits[1]);
    limits[1].max_bulk_len = 64;
    limits[1].max_elements = 16;
    limits[1].max_inline_len = 48;

    // The split point comes from the input so that it varies with it.
    uint64_t hash = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ data[i]) * 1099511628211ull;
    size_t split = size > 1 ? 1 + (size_t)(hash % (size - 1)) : 0;

    for (int config = 0; config < 3; config++) {
        const struct rp_resp_limits *l = &limits[config == 0 ? 0 : 1];
        int auth = config == 2;
        struct transcript whole = {0}, parts = {0}, bytes = {0};

        run(data, size, l, auth, FEED_WHOLE, 0, &whole);
        run(data, size, l, auth, FEED_SPLIT, split, &parts);
        compare(&whole, &parts, "split input");
        if (size <= 256) {
            run(data, size, l, auth, FEED_BYTES, 0, &bytes);
            compare(&whole, &bytes, "byte-by-byte input");
        }

        free(whole.bytes);
        free(parts.bytes);
        free(bytes.bytes);
    }
    return 0;
}
