/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RESP2/RESP3 parsing: an incremental request parser for servers (RESP
 * arrays of bulk strings and inline commands) and an incremental reply
 * parser for clients (every RESP2 and RESP3 type). Pure functions over
 * caller-owned bytes: no sockets, no logging.
 *
 * Resumption model, shared by both parsers. The caller passes the bytes from
 * the first byte of the frame in progress up to the end of what it has. On
 * RP_NEED_MORE the caller keeps those bytes (it may move them, e.g. into its
 * own buffer) and calls again with the same prefix followed by more bytes.
 * The parser remembers how far it got as offsets, so it never re-scans bytes
 * it has already consumed. On success it returns the number of bytes the
 * frame took; the caller drops them and the next call starts a new frame.
 */
#ifndef RINGPUB_RESP_H
#define RINGPUB_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ringpub/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A string inside the caller's buffer: not NUL-terminated. */
struct rp_resp_str {
    const char *ptr;
    size_t len;
};

/* Limits; rp_resp_limits_default() fills in the defaults noted here. */
struct rp_resp_limits {
    uint64_t max_bulk_len;     /* 512 MiB, redis proto-max-bulk-len */
    uint64_t max_elements;     /* per aggregate: INT_MAX, the largest count redis 7.0 accepts */
    size_t max_inline_len;     /* 64 KiB, redis PROTO_INLINE_MAX_SIZE */
    unsigned max_depth;        /* reply nesting: 1000 */
};

void rp_resp_limits_default(struct rp_resp_limits *limits);

/* ---- Requests (server side) ------------------------------------------- */

typedef struct rp_resp_request_parser rp_resp_request_parser_t;

/* A parsed command. argv points into the caller's buffer. */
struct rp_resp_request {
    size_t argc;
    const struct rp_resp_str *argv;
    int inline_cmd;           /* 1 when the request was an inline command */
};

/* Creates a parser with the given limits (NULL: defaults). NULL if out of memory. */
rp_resp_request_parser_t *rp_resp_request_parser_create(const struct rp_resp_limits *limits);
void rp_resp_request_parser_free(rp_resp_request_parser_t *p);

/* Changes the limits for frames started after this call (CONFIG SET proto-max-bulk-len). */
void rp_resp_request_parser_set_limits(rp_resp_request_parser_t *p, const struct rp_resp_limits *limits);

/*
 * Applies redis 7.0's limits for clients that still have to AUTH (when
 * required is non-zero) to frames started after this call: a multibulk count
 * above 10 fails with RP_ERR_PROTO_UNAUTH_MBULK_LEN and a bulk length above
 * 16384 with RP_ERR_PROTO_UNAUTH_BULK_LEN. Off when the parser is created.
 */
void rp_resp_request_parser_set_auth_required(rp_resp_request_parser_t *p, int required);

/*
 * Parses one request from buf[0..len), following the resumption model above.
 * Returns:
 *  > 0           bytes consumed; *out holds the command. argc may be 0 for an
 *                empty inline line or "*0\r\n"/"*-1\r\n", which redis ignores.
 *                out->argv stays valid until the next call on this parser and
 *                points into buf, except inline arguments with quote escapes,
 *                which live in the parser's scratch space.
 *  RP_NEED_MORE  buf holds an incomplete request.
 *  RP_ERR_NOMEM  growing argv failed; the state is kept, so calling again
 *                with the same bytes retries.
 *  < 0 other     a protocol error (RP_ERR_PROTO_*). The connection cannot be
 *                resynchronised: redis replies with the error and closes.
 *                rp_resp_request_error() gives the exact reply text, and
 *                further calls return the same error until a reset.
 * No allocation happens per argument: the parser grows one argv array, and
 * never beyond 1024 entries ahead of the elements that have really arrived.
 *
 * A line (inline command, "*<count>", "$<len>") that has no end within
 * limits.max_inline_len bytes fails as too big, as in redis. Unlike redis,
 * the check looks only at the first max_inline_len + 1 bytes of the line,
 * whether or not more have arrived, so the result never depends on how the
 * input was split: a longer line that redis happens to receive in one read
 * is accepted by redis (inline) or fails as invalid (counts), but fails as
 * too big here. Like redis, a NUL byte before the line end hides that end,
 * so such a line can only fail as too big.
 */
ssize_t rp_resp_request_parse(rp_resp_request_parser_t *p, const char *buf, size_t len,
                              struct rp_resp_request *out);

/*
 * Writes the error reply line for the last error, without "-" and CRLF, e.g.
 * "ERR Protocol error: expected '$', got 'x'". Returns its length, truncated
 * to size - 1 with a NUL always written when size > 0.
 */
size_t rp_resp_request_error(const rp_resp_request_parser_t *p, char *dst, size_t size);

/* Forgets any frame in progress and any error (after the caller dropped its bytes). */
void rp_resp_request_parser_reset(rp_resp_request_parser_t *p);

/*
 * Splits line[0..len) into arguments the way redis 7.0 splits inline commands
 * and config file lines (sdssplitargs):
 *  - arguments are separated by runs of ' ', '\t', '\n', '\r', '\v', '\f',
 *    but only ' ', '\t', '\n' and '\r' end an unquoted argument ("a\vb" is
 *    one argument);
 *  - "double quotes" take the escapes \n \r \t \b \a \xHH (two hex digits),
 *    and a backslash before any other byte stands for that byte;
 *  - 'single quotes' take only \' as an escape;
 *  - a quote may start in the middle of an argument (a"b c" is "ab c"), but a
 *    closing quote must be followed by a separator or the end of the line;
 *  - "" and '' are empty arguments;
 *  - a NUL byte ends the line, as redis splits C strings.
 * On success returns argc (0 for a blank line). *argv_out then points to one
 * rp_malloc block with the argv array and a NUL-terminated copy of each
 * argument, which the caller frees with rp_free(*argv_out). It is NULL when
 * argc is 0 and on failure, which returns RP_ERR_PROTO_UNBALANCED_QUOTES or
 * RP_ERR_NOMEM.
 */
ssize_t rp_resp_split_args(const char *line, size_t len, struct rp_resp_str **argv_out);

/* ---- Replies (client side) -------------------------------------------- */

enum rp_resp_type {
    RP_RESP_SIMPLE = 1,   /* +    */
    RP_RESP_ERROR,        /* -    */
    RP_RESP_INTEGER,      /* :    */
    RP_RESP_BULK,         /* $    */
    RP_RESP_ARRAY,        /* *    */
    RP_RESP_NULL,         /* _, and $-1 / *-1 (see null_kind) */
    RP_RESP_BOOL,         /* #    */
    RP_RESP_DOUBLE,       /* ,    */
    RP_RESP_BIGNUM,       /* (    */
    RP_RESP_BULK_ERROR,   /* !    */
    RP_RESP_VERBATIM,     /* =    */
    RP_RESP_MAP,          /* %    */
    RP_RESP_SET,          /* ~    */
    RP_RESP_ATTRIBUTE,    /* |    */
    RP_RESP_PUSH,         /* >    */
};

/* Returns "simple", "error", ..., "push"; "unknown" for anything else. */
const char *rp_resp_type_name(enum rp_resp_type type);

/*
 * One value of a parsed reply. A reply is a tree stored in pre-order: an
 * aggregate node is followed by its children (a map's count is of pairs, so
 * it has 2 * count children; an attribute node precedes the value it
 * annotates and counts pairs too), and `next` is the index just past the
 * node's subtree, so siblings can be walked without recursion.
 */
struct rp_resp_node {
    enum rp_resp_type type;
    uint32_t next;
    union {
        int64_t integer;          /* INTEGER */
        int boolean;              /* BOOL: 0 or 1 */
        double dbl;               /* DOUBLE (str also holds its text) */
        uint64_t count;           /* ARRAY, MAP, SET, ATTRIBUTE, PUSH */
        char null_kind;           /* NULL: '$' for $-1, '*' for *-1, '_' for _ */
    } v;
    struct rp_resp_str str;       /* SIMPLE, ERROR, BULK, BIGNUM, BULK_ERROR,
                                     VERBATIM (payload after "txt:"), DOUBLE */
    char format[4];               /* VERBATIM: the 3-letter format, NUL-terminated */
};

typedef struct rp_resp_reply_parser rp_resp_reply_parser_t;

/*
 * A parsed reply: count nodes in pre-order. nodes[0] is the top value, or an
 * attribute when the reply starts with one; the value it annotates then
 * follows at nodes[0].next.
 */
struct rp_resp_reply {
    size_t count;
    const struct rp_resp_node *nodes;
};

rp_resp_reply_parser_t *rp_resp_reply_parser_create(const struct rp_resp_limits *limits);
void rp_resp_reply_parser_free(rp_resp_reply_parser_t *p);
void rp_resp_reply_parser_reset(rp_resp_reply_parser_t *p);

/*
 * Parses one complete top-level reply from buf[0..len) under the resumption
 * model. Returns bytes consumed (out->nodes valid until the next call, strings
 * pointing into buf), RP_NEED_MORE, RP_ERR_NOMEM (the state is kept, so a
 * call with the same bytes retries), or an RP_ERR_PROTO_* code, which further
 * calls return until a reset. Nesting uses an explicit stack bounded by
 * limits.max_depth, never recursion, and node storage grows with the elements
 * that arrive, not with the counts claimed. Counts above limits.max_elements
 * and bulk lengths above limits.max_bulk_len are errors. Every line must end
 * in CRLF, and a line longer than its type allows (20 bytes for integers and
 * lengths, max_bulk_len for simple strings and errors) fails without waiting
 * for its end.
 */
ssize_t rp_resp_reply_parse(rp_resp_reply_parser_t *p, const char *buf, size_t len,
                            struct rp_resp_reply *out);

#ifdef __cplusplus
}
#endif

#endif
