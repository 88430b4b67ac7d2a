// SPDX-License-Identifier: BSD-3-Clause
// The server-side request parser: RESP arrays of bulk strings and inline
// commands, resumable across chunks, with the acceptance rules and error
// replies of redis-server 7.0. The table at the top of
// tests/resp/test_request.c lists the cases checked against redis 7.0.15.

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/resp.h"
#include "resp/resp_internal.h"

// redis 7.0 limits for clients that must still AUTH (authRequired()).
#define UNAUTH_MAX_COUNT 10
#define UNAUTH_MAX_BULK_LEN 16384

// redis preallocates argv for at most this many elements, whatever the count.
#define ARGV_MAX_AHEAD 1024

enum req_state {
    REQ_START,      // no frame in progress
    REQ_COUNT,      // reading "*<count>\r\n"
    REQ_BULK_LEN,   // reading "$<len>\r\n"
    REQ_BULK_DATA,  // waiting for <len> bytes and the 2 after them
    REQ_INLINE,     // reading an inline line up to '\n'
};

struct rp_resp_request_parser {
    struct rp_resp_limits limits;        // from set_limits, copied at frame start
    int auth_required;                   // from set_auth_required, copied at frame start
    struct rp_resp_limits frame_limits;  // in force for the frame in progress
    int frame_auth_required;

    // Frame progress. Every position is an offset from the frame's first
    // byte, because the caller may move its bytes between calls.
    enum req_state state;
    size_t line;           // start of the line or payload being read
    size_t scan;           // where the search for the line end resumes
    size_t need;           // while len < need, return RP_NEED_MORE at once
    int line_blocked;      // a NUL came before the line end (see find_line_end)
    uint64_t remaining;    // array elements still to come
    uint64_t count;        // array elements claimed
    uint64_t bulk_len;

    // Arguments of the array being read: lengths in argv, offsets in offs;
    // argv[i].ptr is filled in from offs[i] once the frame is complete.
    struct rp_resp_str *argv;
    size_t *offs;
    size_t argc;
    size_t cap;

    struct resp_split split;   // inline arguments and their scratch bytes

    int err;                   // latched protocol error, 0 if none
    unsigned char err_byte;    // the byte found where '$' was expected
};

rp_resp_request_parser_t *rp_resp_request_parser_create(const struct rp_resp_limits *limits)
{
    rp_resp_request_parser_t *p = rp_calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    if (limits != NULL)
        p->limits = *limits;
    else
        rp_resp_limits_default(&p->limits);
    p->state = REQ_START;
    return p;
}

void rp_resp_request_parser_free(rp_resp_request_parser_t *p)
{
    if (p == NULL)
        return;
    rp_free(p->argv);
    rp_free(p->offs);
    resp_split_free(&p->split);
    rp_free(p);
}

void rp_resp_request_parser_set_limits(rp_resp_request_parser_t *p, const struct rp_resp_limits *limits)
{
    if (limits != NULL)
        p->limits = *limits;
    else
        rp_resp_limits_default(&p->limits);
}

void rp_resp_request_parser_set_auth_required(rp_resp_request_parser_t *p, int required)
{
    p->auth_required = required != 0;
}

void rp_resp_request_parser_reset(rp_resp_request_parser_t *p)
{
    p->state = REQ_START;
    p->need = 0;
    p->line_blocked = 0;
    p->argc = 0;
    p->err = 0;
}

static ssize_t fail(rp_resp_request_parser_t *p, int err)
{
    p->err = err;
    p->state = REQ_START;
    return err;
}

// Ends the frame that took `consumed` bytes.
static ssize_t finish(rp_resp_request_parser_t *p, size_t consumed)
{
    p->state = REQ_START;
    p->need = 0;
    return (ssize_t)consumed;
}

// Grows argv and offs to hold at least want entries. Returns 0 or RP_ERR_NOMEM.
static int reserve_args(rp_resp_request_parser_t *p, size_t want)
{
    if (want <= p->cap)
        return 0;

    struct rp_resp_str *argv = rp_reallocarray(p->argv, want, sizeof(*argv));
    if (argv == NULL)
        return RP_ERR_NOMEM;
    p->argv = argv;

    size_t *offs = rp_reallocarray(p->offs, want, sizeof(*offs));
    if (offs == NULL)
        return RP_ERR_NOMEM;   // argv is larger than cap, which is harmless
    p->offs = offs;
    p->cap = want;
    return 0;
}

// The argv capacity to use once argc elements have arrived out of count:
// double, but never more than ARGV_MAX_AHEAD past what arrived, nor past count.
static size_t next_capacity(size_t cap, size_t argc, uint64_t count)
{
    size_t want = cap ? cap * 2 : 8;
    if (want > argc + ARGV_MAX_AHEAD)
        want = argc + ARGV_MAX_AHEAD;
    if (want > count)
        want = (size_t)count;
    return want;
}

/*
 * Finds the end of the line that starts at p->line: the first `eol` byte.
 * In redis 7.0 a NUL before the end hides the end for good (it searches its
 * NUL-terminated buffer with strchr), so such a line can only fail as "too
 * big" once more than max_inline_len bytes are there. Only the first
 * max_inline_len + 1 bytes are searched, which keeps the result independent
 * of how the input was split.
 * Returns 1 with *end set, 0 when more bytes are needed, or too_big_err.
 */
static int find_line_end(rp_resp_request_parser_t *p, const char *buf, size_t len, char eol,
                         int too_big_err, size_t *end)
{
    size_t limit = p->frame_limits.max_inline_len;
    size_t avail = len - p->line;
    size_t window_end = p->line + (avail <= limit ? avail : limit + 1);

    if (!p->line_blocked) {
        size_t i = resp_find_eol_or_nul(buf, p->scan, window_end, eol);
        if (i < window_end && buf[i] == eol) {
            *end = i;
            return 1;
        }
        if (i < window_end)
            p->line_blocked = 1;
        else
            p->scan = window_end;
    }

    if (avail > limit)
        return too_big_err;
    if (p->line_blocked)
        p->need = limit < SIZE_MAX - p->line ? p->line + limit + 1 : SIZE_MAX;
    return 0;
}

/*
 * Like find_line_end() for "*<count>" and "$<len>" lines, which end at '\r'.
 * redis also waits for one byte after the '\r' and then skips it without
 * checking that it is '\n'.
 */
static int find_count_line_end(rp_resp_request_parser_t *p, const char *buf, size_t len,
                               int too_big_err, size_t *cr)
{
    int rc = find_line_end(p, buf, len, '\r', too_big_err, cr);
    if (rc == 1 && *cr + 1 >= len) {
        p->scan = *cr;
        return 0;
    }
    return rc;
}

static ssize_t parse_inline(rp_resp_request_parser_t *p, const char *buf, size_t len,
                            struct rp_resp_request *out)
{
    size_t nl;
    int rc = find_line_end(p, buf, len, '\n', RP_ERR_PROTO_INLINE_TOO_BIG, &nl);
    if (rc == 0)
        return RP_NEED_MORE;
    if (rc < 0)
        return fail(p, rc);

    // redis drops one '\r' before the '\n'; any other '\r' separates arguments.
    size_t line_len = nl;
    if (line_len > 0 && buf[line_len - 1] == '\r')
        line_len--;

    rc = resp_split_line(buf, line_len, &p->split);
    if (rc == RP_ERR_NOMEM)
        return rc;
    if (rc != 0)
        return fail(p, rc);

    out->argc = p->split.argc;
    out->argv = p->split.argv;
    out->inline_cmd = 1;
    return finish(p, nl + 1);
}

// Reads "*<count>\r\n". Returns 1 to go on with the elements, 0 for
// RP_NEED_MORE, a negative code, or (via *done) the size of an empty command.
static int parse_count(rp_resp_request_parser_t *p, const char *buf, size_t len, size_t *done)
{
    size_t cr;
    int rc = find_count_line_end(p, buf, len, RP_ERR_PROTO_MBULK_TOO_BIG, &cr);
    if (rc <= 0)
        return rc;

    int64_t count;
    if (!resp_parse_int64(buf + 1, cr - 1, &count) ||
        (count > 0 && (uint64_t)count > p->frame_limits.max_elements))
        return RP_ERR_PROTO_MBULK_LEN;
    if (count > UNAUTH_MAX_COUNT && p->frame_auth_required)
        return RP_ERR_PROTO_UNAUTH_MBULK_LEN;

    // redis treats "*0", "*-1", "*-5" as an empty command and ignores it.
    if (count <= 0) {
        *done = cr + 2;
        return 0;
    }

    size_t prealloc = (uint64_t)count < ARGV_MAX_AHEAD ? (size_t)count : ARGV_MAX_AHEAD;
    if (reserve_args(p, prealloc) != 0)
        return RP_ERR_NOMEM;

    p->count = p->remaining = (uint64_t)count;
    p->argc = 0;
    p->line = p->scan = cr + 2;
    p->state = REQ_BULK_LEN;
    return 1;
}

// Reads "$<len>\r\n". Returns 1 when the length is known, 0, or an error.
static int parse_bulk_len(rp_resp_request_parser_t *p, const char *buf, size_t len)
{
    size_t cr;
    int rc = find_count_line_end(p, buf, len, RP_ERR_PROTO_BULK_TOO_BIG, &cr);
    if (rc <= 0)
        return rc;

    // redis looks at the first byte only once the whole line is there.
    if (buf[p->line] != '$') {
        p->err_byte = (unsigned char)buf[p->line];
        return RP_ERR_PROTO_EXPECTED_DOLLAR;
    }

    int64_t bulk_len;
    if (!resp_parse_int64(buf + p->line + 1, cr - p->line - 1, &bulk_len) || bulk_len < 0 ||
        (uint64_t)bulk_len > p->frame_limits.max_bulk_len)
        return RP_ERR_PROTO_BULK_LEN;
    if (bulk_len > UNAUTH_MAX_BULK_LEN && p->frame_auth_required)
        return RP_ERR_PROTO_UNAUTH_BULK_LEN;

    p->bulk_len = (uint64_t)bulk_len;
    p->line = cr + 2;
    p->state = REQ_BULK_DATA;
    return 1;
}

static ssize_t parse_array(rp_resp_request_parser_t *p, const char *buf, size_t len,
                           struct rp_resp_request *out)
{
    int rc;
    if (p->state == REQ_COUNT) {
        size_t empty = 0;
        rc = parse_count(p, buf, len, &empty);
        if (rc == 0 && empty > 0)
            return finish(p, empty);
        if (rc == 0)
            return RP_NEED_MORE;
        if (rc == RP_ERR_NOMEM)
            return rc;
        if (rc < 0)
            return fail(p, rc);
    }

    for (;;) {
        if (p->state == REQ_BULK_LEN) {
            rc = parse_bulk_len(p, buf, len);
            if (rc == 0)
                return RP_NEED_MORE;
            if (rc < 0)
                return fail(p, rc);
        }

        // Once the length is known the bytes still missing are known too:
        // wait for them in O(1) through p->need instead of looking again.
        // redis skips the 2 bytes after the payload without checking them.
        size_t start = p->line;
        size_t have = len - start;
        if (have < 2 || have - 2 < p->bulk_len) {
            uint64_t need = (uint64_t)start + p->bulk_len + 2;
            p->need = need > SIZE_MAX ? SIZE_MAX : (size_t)need;
            return RP_NEED_MORE;
        }

        if (p->argc == p->cap &&
            reserve_args(p, next_capacity(p->cap, p->argc, p->count)) != 0)
            return RP_ERR_NOMEM;
        p->offs[p->argc] = start;
        p->argv[p->argc].len = (size_t)p->bulk_len;
        p->argc++;

        p->line = p->scan = start + (size_t)p->bulk_len + 2;
        p->state = REQ_BULK_LEN;
        if (--p->remaining == 0)
            break;
    }

    for (size_t i = 0; i < p->argc; i++)
        p->argv[i].ptr = buf + p->offs[i];
    out->argc = p->argc;
    out->argv = p->argv;
    return finish(p, p->line);
}

ssize_t rp_resp_request_parse(rp_resp_request_parser_t *p, const char *buf, size_t len,
                              struct rp_resp_request *out)
{
    out->argc = 0;
    out->argv = NULL;
    out->inline_cmd = 0;

    if (p->err != 0)
        return p->err;
    if (len < p->need)
        return RP_NEED_MORE;
    p->need = 0;

    if (p->state == REQ_START) {
        if (len == 0)
            return RP_NEED_MORE;
        p->frame_limits = p->limits;
        p->frame_auth_required = p->auth_required;
        p->line = 0;
        p->line_blocked = 0;
        p->argc = 0;
        if (buf[0] == '*') {
            p->state = REQ_COUNT;
            p->scan = 1;
        } else {
            p->state = REQ_INLINE;
            p->scan = 0;
        }
    }

    if (p->state == REQ_INLINE)
        return parse_inline(p, buf, len, out);
    return parse_array(p, buf, len, out);
}

size_t rp_resp_request_error(const rp_resp_request_parser_t *p, char *dst, size_t size)
{
    char text[160];
    int n;
    if (p->err == 0) {
        n = 0;
        text[0] = '\0';
    } else if (p->err == RP_ERR_PROTO_EXPECTED_DOLLAR) {
        // redis formats the byte with %c and then turns '\r' and '\n' in the
        // reply into spaces. A NUL never gets here because it hides the line end.
        unsigned char c = p->err_byte;
        if (c == '\r' || c == '\n')
            c = ' ';
        n = snprintf(text, sizeof(text), "ERR %s, got '%c'", rp_strerror(p->err), c);
    } else {
        n = snprintf(text, sizeof(text), "ERR %s", rp_strerror(p->err));
    }

    size_t full = n > 0 ? (size_t)n : 0;
    if (size == 0)
        return 0;
    size_t copy = full < size - 1 ? full : size - 1;
    memcpy(dst, text, copy);
    dst[copy] = '\0';
    return copy;
}
