// SPDX-License-Identifier: BSD-3-Clause
// The client-side reply parser: every RESP2 and RESP3 type, resumable across
// chunks, building a pre-order node array (see struct rp_resp_node in
// resp.h). Nesting is tracked on an explicit stack bounded by
// limits.max_depth, and node storage grows only as values arrive.

#define _GNU_SOURCE   // strtod_l: parse doubles in the "C" locale whatever the program set

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/resp.h"
#include "resp/resp_internal.h"

// Maximum length of a double's text. redis 7.0 sends %.17g (at most 24 bytes) or
// inf/-inf/nan.
// NOTE: longer texts that are still valid decimals (many leading zeros) are
// rejected as RP_ERR_PROTO_BAD_DOUBLE.
#define MAX_DOUBLE_TEXT 511

// offs[i] for a node without a string.
#define NO_STRING SIZE_MAX

// An aggregate whose children are still arriving.
struct frame {
    uint32_t node;        // index of the aggregate's node
    int attribute;        // 1 for an attribute, whose end is not a value
    uint64_t remaining;   // children still to come
};

struct rp_resp_reply_parser {
    struct rp_resp_limits limits;
    locale_t c_locale;

    // Progress through the reply in progress. Positions are offsets from its
    // first byte, because the caller may move its bytes between calls.
    int in_reply;
    size_t pos;            // start of the value being read (its type byte)
    size_t scan;           // where the search for its '\r' resumes
    size_t need;           // while len < need, return RP_NEED_MORE at once
    int in_payload;        // the header of a $ ! = value is read, its payload is due
    char payload_type;
    uint64_t payload_len;
    size_t payload;        // offset of the payload

    // The tree: node i's string, if any, starts at offset offs[i]; its ptr is
    // filled in once the reply is complete.
    struct rp_resp_node *nodes;
    size_t *offs;
    size_t count;
    size_t cap;

    struct frame *stack;
    unsigned depth;
    unsigned stack_cap;

    int err;   // latched protocol error, 0 if none
};

const char *rp_resp_type_name(enum rp_resp_type type)
{
    switch (type) {
    case RP_RESP_SIMPLE: return "simple";
    case RP_RESP_ERROR: return "error";
    case RP_RESP_INTEGER: return "integer";
    case RP_RESP_BULK: return "bulk";
    case RP_RESP_ARRAY: return "array";
    case RP_RESP_NULL: return "null";
    case RP_RESP_BOOL: return "bool";
    case RP_RESP_DOUBLE: return "double";
    case RP_RESP_BIGNUM: return "bignum";
    case RP_RESP_BULK_ERROR: return "bulk_error";
    case RP_RESP_VERBATIM: return "verbatim";
    case RP_RESP_MAP: return "map";
    case RP_RESP_SET: return "set";
    case RP_RESP_ATTRIBUTE: return "attribute";
    case RP_RESP_PUSH: return "push";
    }
    return "unknown";
}

rp_resp_reply_parser_t *rp_resp_reply_parser_create(const struct rp_resp_limits *limits)
{
    rp_resp_reply_parser_t *p = rp_calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    if (limits != NULL)
        p->limits = *limits;
    else
        rp_resp_limits_default(&p->limits);

    p->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (p->c_locale == (locale_t)0) {
        rp_free(p);
        return NULL;
    }
    return p;
}

void rp_resp_reply_parser_free(rp_resp_reply_parser_t *p)
{
    if (p == NULL)
        return;
    freelocale(p->c_locale);
    rp_free(p->nodes);
    rp_free(p->offs);
    rp_free(p->stack);
    rp_free(p);
}

void rp_resp_reply_parser_reset(rp_resp_reply_parser_t *p)
{
    p->in_reply = 0;
    p->need = 0;
    p->err = 0;
}

static ssize_t fail(rp_resp_reply_parser_t *p, int err)
{
    p->err = err;
    p->in_reply = 0;
    return err;
}

// Appends a node and returns its index, or -1 when out of memory or when
// `next` (uint32_t) could no longer index past it.
static int64_t add_node(rp_resp_reply_parser_t *p, enum rp_resp_type type)
{
    if (p->count == p->cap) {
        if (p->cap >= UINT32_MAX - 1)
            return -1;
        size_t cap = p->cap ? p->cap * 2 : 16;
        if (cap > UINT32_MAX - 1)
            cap = UINT32_MAX - 1;
        struct rp_resp_node *nodes = rp_reallocarray(p->nodes, cap, sizeof(*nodes));
        if (nodes == NULL)
            return -1;
        p->nodes = nodes;
        size_t *offs = rp_reallocarray(p->offs, cap, sizeof(*offs));
        if (offs == NULL)
            return -1;   // nodes is larger than cap, which is harmless
        p->offs = offs;
        p->cap = cap;
    }

    size_t i = p->count++;
    struct rp_resp_node *n = &p->nodes[i];
    memset(n, 0, sizeof(*n));
    n->type = type;
    n->next = (uint32_t)(i + 1);
    p->offs[i] = NO_STRING;
    return (int64_t)i;
}

// Accounts for one complete value (not an attribute) at the current depth.
// Returns 1 when it completes the whole reply.
static int value_done(rp_resp_reply_parser_t *p)
{
    while (p->depth > 0) {
        struct frame *f = &p->stack[p->depth - 1];
        if (--f->remaining > 0)
            return 0;

        // The aggregate is complete: close it, and unless it was an
        // attribute it is a complete value of its parent.
        p->nodes[f->node].next = (uint32_t)p->count;
        p->depth--;
        if (f->attribute)
            return 0;
    }
    return 1;
}

static int push_frame(rp_resp_reply_parser_t *p, uint32_t node, int attribute, uint64_t children)
{
    if (p->depth >= p->limits.max_depth)
        return RP_ERR_PROTO_TOO_DEEP;
    if (p->depth == p->stack_cap) {
        unsigned cap = p->stack_cap ? p->stack_cap * 2 : 8;
        if (cap > p->limits.max_depth)
            cap = p->limits.max_depth;
        struct frame *stack = rp_reallocarray(p->stack, cap, sizeof(*stack));
        if (stack == NULL)
            return RP_ERR_NOMEM;
        p->stack = stack;
        p->stack_cap = cap;
    }
    p->stack[p->depth++] = (struct frame){node, attribute, children};
    return 0;
}

static int parse_double(rp_resp_reply_parser_t *p, const char *s, size_t n, double *out)
{
    if (n == 0 || n > MAX_DOUBLE_TEXT)
        return 0;

    size_t i = 0;
    int negative = 0;
    if (s[0] == '-' || s[0] == '+') {
        negative = s[0] == '-';
        i = 1;
    }
    if (n - i == 3 && strncasecmp(s + i, "inf", 3) == 0) {
        *out = negative ? -INFINITY : INFINITY;
        return 1;
    }
    // redis 7.0 prints a NaN with its sign bit set as "-nan" (Lua 0/0).
    if (n - i == 3 && strncasecmp(s + i, "nan", 3) == 0) {
        *out = negative ? -NAN : NAN;
        return 1;
    }

    // digits [. digits] [e [sign] digits], with a digit somewhere before e.
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t exp_digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return 0;
    }
    if (i != n)
        return 0;

    char text[MAX_DOUBLE_TEXT + 1];
    memcpy(text, s, n);
    text[n] = '\0';
    double v = strtod_l(text, NULL, p->c_locale);
    // A finite text that overflows is not a value redis would send.
    if (isinf(v))
        return 0;
    *out = v;
    return 1;
}

static int is_bignum(const char *s, size_t n)
{
    size_t i = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    if (i == n)
        return 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

static int aggregate_type(char c, enum rp_resp_type *type)
{
    switch (c) {
    case '*': *type = RP_RESP_ARRAY; return 1;
    case '%': *type = RP_RESP_MAP; return 1;
    case '~': *type = RP_RESP_SET; return 1;
    case '|': *type = RP_RESP_ATTRIBUTE; return 1;
    case '>': *type = RP_RESP_PUSH; return 1;
    default: return 0;
    }
}

// Reads an aggregate header with count text line[0..n). Returns 1 when it
// completed a value (an empty aggregate or *-1), 0 to go on, or an error.
static int parse_aggregate(rp_resp_reply_parser_t *p, char c, const char *line, size_t n)
{
    enum rp_resp_type type = RP_RESP_ARRAY;
    aggregate_type(c, &type);

    int64_t count;
    if (!resp_parse_int64(line, n, &count))
        return RP_ERR_PROTO_MBULK_LEN;
    if (count == -1 && c == '*') {
        int64_t i = add_node(p, RP_RESP_NULL);
        if (i < 0)
            return RP_ERR_NOMEM;
        p->nodes[i].v.null_kind = '*';
        return 1;
    }
    if (count < 0)
        return RP_ERR_PROTO_MBULK_LEN;
    if ((uint64_t)count > p->limits.max_elements)
        return RP_ERR_PROTO_TOO_MANY_ELEMENTS;

    int64_t i = add_node(p, type);
    if (i < 0)
        return RP_ERR_NOMEM;
    p->nodes[i].v.count = (uint64_t)count;

    int attribute = type == RP_RESP_ATTRIBUTE;
    uint64_t children = (uint64_t)count;
    if (type == RP_RESP_MAP || attribute)
        children *= 2;   // count <= INT64_MAX, so no overflow
    if (children == 0)
        return attribute ? 0 : 1;

    int rc = push_frame(p, (uint32_t)i, attribute, children);
    if (rc != 0) {
        p->count--;   // so that a retry after RP_ERR_NOMEM adds it again
        return rc;
    }
    return 0;
}

// Reads a one-line value of type c with text line[0..n) at offset off.
// Returns 1 when it completed a value, or an error.
static int parse_line_value(rp_resp_reply_parser_t *p, char c, const char *line, size_t n, size_t off)
{
    int64_t integer;
    double dbl;
    enum rp_resp_type type;
    switch (c) {
    case '+': type = RP_RESP_SIMPLE; break;
    case '-': type = RP_RESP_ERROR; break;
    case ':':
        if (!resp_parse_int64(line, n, &integer))
            return RP_ERR_PROTO_BAD_INTEGER;
        type = RP_RESP_INTEGER;
        break;
    case '_':
        if (n != 0)
            return RP_ERR_PROTO_MISSING_CRLF;
        type = RP_RESP_NULL;
        break;
    case '#':
        if (n != 1 || (line[0] != 't' && line[0] != 'f'))
            return RP_ERR_PROTO_BAD_BOOLEAN;
        type = RP_RESP_BOOL;
        break;
    case ',':
        if (!parse_double(p, line, n, &dbl))
            return RP_ERR_PROTO_BAD_DOUBLE;
        type = RP_RESP_DOUBLE;
        break;
    case '(':
        if (!is_bignum(line, n))
            return RP_ERR_PROTO_BAD_INTEGER;
        type = RP_RESP_BIGNUM;
        break;
    default:
        return RP_ERR_PROTO_BAD_TYPE;
    }

    int64_t i = add_node(p, type);
    if (i < 0)
        return RP_ERR_NOMEM;
    struct rp_resp_node *node = &p->nodes[i];
    switch (type) {
    case RP_RESP_INTEGER: node->v.integer = integer; break;
    case RP_RESP_NULL: node->v.null_kind = '_'; break;
    case RP_RESP_BOOL: node->v.boolean = line[0] == 't'; break;
    case RP_RESP_DOUBLE: node->v.dbl = dbl; break;
    default: break;
    }
    if (type == RP_RESP_SIMPLE || type == RP_RESP_ERROR || type == RP_RESP_DOUBLE ||
        type == RP_RESP_BIGNUM) {
        p->offs[i] = off;
        node->str.len = n;
    }
    return 1;
}

// Reads the payload of a $ ! = value once all of it and its CRLF arrived.
// Returns 1 when it completed a value, 0 for RP_NEED_MORE, or an error.
static int parse_payload(rp_resp_reply_parser_t *p, const char *buf, size_t len)
{
    size_t start = p->payload;
    size_t have = len - start;
    if (have < 2 || have - 2 < p->payload_len) {
        uint64_t need = (uint64_t)start + p->payload_len + 2;
        p->need = need > SIZE_MAX ? SIZE_MAX : (size_t)need;
        return 0;
    }
    size_t n = (size_t)p->payload_len;
    if (buf[start + n] != '\r' || buf[start + n + 1] != '\n')
        return RP_ERR_PROTO_MISSING_CRLF;

    enum rp_resp_type type = p->payload_type == '$' ? RP_RESP_BULK
                           : p->payload_type == '!' ? RP_RESP_BULK_ERROR
                           : RP_RESP_VERBATIM;
    size_t str_off = start;
    size_t str_len = n;
    if (type == RP_RESP_VERBATIM) {
        if (n < 4 || buf[start + 3] != ':')
            return RP_ERR_PROTO_BAD_VERBATIM;
        str_off += 4;
        str_len -= 4;
    }

    int64_t i = add_node(p, type);
    if (i < 0)
        return RP_ERR_NOMEM;
    if (type == RP_RESP_VERBATIM) {
        memcpy(p->nodes[i].format, buf + start, 3);
        p->nodes[i].format[3] = '\0';
    }
    p->offs[i] = str_off;
    p->nodes[i].str.len = str_len;

    p->in_payload = 0;
    p->pos = p->scan = start + n + 2;
    return 1;
}

// Sets the longest line text that type byte c allows, and the error for a
// longer one. Returns 0 for a byte that starts no RESP type.
static int line_limit(const rp_resp_reply_parser_t *p, char c, size_t *limit, int *too_long)
{
    // 20 bytes: "-9223372036854775808", the longest int64.
    switch (c) {
    case '+':
    case '-':
    case '(':
        *limit = p->limits.max_bulk_len < SIZE_MAX / 2 ? (size_t)p->limits.max_bulk_len : SIZE_MAX / 2;
        *too_long = c == '(' ? RP_ERR_PROTO_BAD_INTEGER : RP_ERR_PROTO_MISSING_CRLF;
        return 1;
    case ',':
        *limit = MAX_DOUBLE_TEXT;
        *too_long = RP_ERR_PROTO_BAD_DOUBLE;
        return 1;
    case ':':
        *limit = 20;
        *too_long = RP_ERR_PROTO_BAD_INTEGER;
        return 1;
    case '$':
    case '!':
    case '=':
        *limit = 20;
        *too_long = RP_ERR_PROTO_BULK_LEN;
        return 1;
    case '*':
    case '%':
    case '~':
    case '|':
    case '>':
        *limit = 20;
        *too_long = RP_ERR_PROTO_MBULK_LEN;
        return 1;
    case '#':
        *limit = 1;
        *too_long = RP_ERR_PROTO_BAD_BOOLEAN;
        return 1;
    case '_':
        *limit = 0;
        *too_long = RP_ERR_PROTO_MISSING_CRLF;
        return 1;
    default:
        return 0;
    }
}

// Reads the value that starts at p->pos. Returns 1 when it completed a
// value, 2 when it opened an aggregate or read an attribute, 0 for
// RP_NEED_MORE, or an error.
static int parse_value(rp_resp_reply_parser_t *p, const char *buf, size_t len)
{
    if (p->in_payload)
        return parse_payload(p, buf, len);

    size_t start = p->pos;
    if (start >= len)
        return 0;
    char c = buf[start];
    size_t limit;
    int too_long;
    if (!line_limit(p, c, &limit, &too_long))
        return RP_ERR_PROTO_BAD_TYPE;
    if (p->scan <= start)
        p->scan = start + 1;

    // The '\r' must come within limit bytes of text. Searching only that far
    // makes a too long line fail the same way however the input was split.
    size_t avail = len - start - 1;
    size_t window_end = start + 1 + (avail <= limit ? avail : limit + 1);
    const char *cr = memchr(buf + p->scan, '\r', window_end - p->scan);
    if (cr == NULL) {
        if (avail > limit)
            return too_long;
        p->scan = window_end;
        return 0;
    }
    size_t cr_off = (size_t)(cr - buf);
    if (cr_off + 1 >= len) {
        p->scan = cr_off;
        return 0;
    }
    if (buf[cr_off + 1] != '\n')
        return RP_ERR_PROTO_MISSING_CRLF;

    const char *line = buf + start + 1;
    size_t n = cr_off - start - 1;
    size_t next = cr_off + 2;

    enum rp_resp_type agg;
    int rc;
    if (c == '$' || c == '!' || c == '=') {
        int64_t blen;
        if (!resp_parse_int64(line, n, &blen))
            return RP_ERR_PROTO_BULK_LEN;
        if (blen == -1 && c == '$') {
            int64_t i = add_node(p, RP_RESP_NULL);
            if (i < 0)
                return RP_ERR_NOMEM;
            p->nodes[i].v.null_kind = '$';
            rc = 1;
        } else {
            if (blen < 0 || (uint64_t)blen > p->limits.max_bulk_len)
                return RP_ERR_PROTO_BULK_LEN;
            p->in_payload = 1;
            p->payload_type = c;
            p->payload_len = (uint64_t)blen;
            p->payload = next;
            return parse_payload(p, buf, len);
        }
    } else if (aggregate_type(c, &agg)) {
        rc = parse_aggregate(p, c, line, n);
        if (rc == 0)
            rc = 2;
    } else {
        rc = parse_line_value(p, c, line, n, start + 1);
    }
    if (rc < 0)
        return rc;

    p->pos = p->scan = next;
    return rc;
}

ssize_t rp_resp_reply_parse(rp_resp_reply_parser_t *p, const char *buf, size_t len,
                            struct rp_resp_reply *out)
{
    out->count = 0;
    out->nodes = NULL;

    if (p->err != 0)
        return p->err;
    if (len < p->need)
        return RP_NEED_MORE;
    p->need = 0;

    if (!p->in_reply) {
        p->in_reply = 1;
        p->pos = 0;
        p->scan = 0;
        p->in_payload = 0;
        p->count = 0;
        p->depth = 0;
    }

    for (;;) {
        int rc = parse_value(p, buf, len);
        if (rc == 0)
            return RP_NEED_MORE;
        if (rc == RP_ERR_NOMEM)
            return rc;
        if (rc < 0)
            return fail(p, rc);
        if (rc == 1 && value_done(p))
            break;
    }

    for (size_t i = 0; i < p->count; i++) {
        if (p->offs[i] != NO_STRING)
            p->nodes[i].str.ptr = buf + p->offs[i];
    }
    p->in_reply = 0;
    out->count = p->count;
    out->nodes = p->nodes;
    return (ssize_t)p->pos;
}
