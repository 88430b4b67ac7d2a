// SPDX-License-Identifier: BSD-3-Clause
// Splitting of inline commands ("PING\r\n", "SUBSCRIBE \"a b\" c\n") into
// arguments, with the quoting rules of redis 7.0 sdssplitargs. The request
// parser uses it for inline requests and the server's config reader through
// rp_resp_split_args().

#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/resp.h"
#include "resp/resp_internal.h"

// isspace() in the "C" locale. redis-server 7.0.15 skips exactly these
// between arguments ("ECHO \va" and "ECHO \fa" echo "a").
static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// One argument being built. While its bytes are one contiguous run of the
// line, it points into the line. The first escape or quote that breaks the
// run moves it into the scratch area.
struct token {
    const char *run;       // start of the run in the line, NULL before the first byte
    size_t run_len;
    char *copy;            // start in scratch once copied, else NULL
    size_t copy_len;
};

static void token_spill(struct token *t, char *scratch_free)
{
    t->copy = scratch_free;
    if (t->run_len > 0)
        memcpy(t->copy, t->run, t->run_len);
    t->copy_len = t->run_len;
}

// Appends the line byte at q to the token.
static void token_add_source(struct token *t, const char *q, char *scratch_free)
{
    if (t->copy == NULL) {
        if (t->run == NULL) {
            t->run = q;
            t->run_len = 1;
            return;
        }
        if (t->run + t->run_len == q) {
            t->run_len++;
            return;
        }
        token_spill(t, scratch_free);
    }
    t->copy[t->copy_len++] = *q;
}

// Appends a byte that an escape produced, so the argument moves to scratch.
static void token_add_byte(struct token *t, char c, char *scratch_free)
{
    if (t->copy == NULL)
        token_spill(t, scratch_free);
    t->copy[t->copy_len++] = c;
}

static int push_arg(struct resp_split *out, const char *ptr, size_t len)
{
    if (out->argc == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        struct rp_resp_str *v = rp_reallocarray(out->argv, cap, sizeof(*v));
        if (v == NULL)
            return RP_ERR_NOMEM;
        out->argv = v;
        out->cap = cap;
    }
    out->argv[out->argc].ptr = ptr;
    out->argv[out->argc].len = len;
    out->argc++;
    return 0;
}

int resp_split_line(const char *line, size_t len, struct resp_split *out)
{
    out->argc = 0;

    // redis splits a C string, so a NUL ends the line.
    const char *nul = memchr(line, '\0', len);
    const char *end = nul != NULL ? nul : line + len;

    // Every output byte consumes at least one input byte, so len bytes of
    // scratch are enough and scratch never moves while pointers into it exist.
    if (out->scratch_cap < len) {
        char *s = rp_realloc(out->scratch, len);
        if (s == NULL)
            return RP_ERR_NOMEM;
        out->scratch = s;
        out->scratch_cap = len;
    }
    char *scratch_free = out->scratch;

    const char *p = line;
    for (;;) {
        while (p < end && is_space((unsigned char)*p))
            p++;
        if (p == end)
            return 0;

        struct token t = {NULL, 0, NULL, 0};
        const char *token_start = p;
        int in_double = 0, in_single = 0, done = 0;
        while (!done) {
            if (in_double) {
                if (p == end)
                    return RP_ERR_PROTO_UNBALANCED_QUOTES;
                if (*p == '\\' && end - p >= 4 && p[1] == 'x' &&
                    hex_value((unsigned char)p[2]) >= 0 && hex_value((unsigned char)p[3]) >= 0) {
                    int v = hex_value((unsigned char)p[2]) * 16 + hex_value((unsigned char)p[3]);
                    token_add_byte(&t, (char)v, scratch_free);
                    p += 3;
                } else if (*p == '\\' && end - p >= 2) {
                    p++;
                    char c;
                    switch (*p) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = *p; break;
                    }
                    token_add_byte(&t, c, scratch_free);
                } else if (*p == '"') {
                    // The closing quote must end the argument: "ab"c is an error.
                    if (end - p >= 2 && !is_space((unsigned char)p[1]))
                        return RP_ERR_PROTO_UNBALANCED_QUOTES;
                    done = 1;
                } else {
                    token_add_source(&t, p, scratch_free);
                }
            } else if (in_single) {
                if (p == end)
                    return RP_ERR_PROTO_UNBALANCED_QUOTES;
                if (*p == '\\' && end - p >= 2 && p[1] == '\'') {
                    // Skip the backslash. Unless the argument starts here,
                    // the quote is not contiguous with the run, so
                    // token_add_source() copies it.
                    p++;
                    token_add_source(&t, p, scratch_free);
                } else if (*p == '\'') {
                    if (end - p >= 2 && !is_space((unsigned char)p[1]))
                        return RP_ERR_PROTO_UNBALANCED_QUOTES;
                    done = 1;
                } else {
                    token_add_source(&t, p, scratch_free);
                }
            } else if (p == end) {
                done = 1;
            } else {
                switch (*p) {
                // Only these end an unquoted argument: "a\vb" is one argument,
                // although \v and \f are skipped between arguments.
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                    done = 1;
                    break;
                case '"':
                    in_double = 1;
                    break;
                case '\'':
                    in_single = 1;
                    break;
                default:
                    token_add_source(&t, p, scratch_free);
                    break;
                }
            }
            if (p < end)
                p++;
        }

        int rc;
        if (t.copy != NULL) {
            rc = push_arg(out, t.copy, t.copy_len);
            scratch_free += t.copy_len;
        } else if (t.run != NULL) {
            rc = push_arg(out, t.run, t.run_len);
        } else {
            rc = push_arg(out, token_start, 0);
        }
        if (rc != 0)
            return rc;
    }
}

void resp_split_free(struct resp_split *out)
{
    rp_free(out->argv);
    rp_free(out->scratch);
    *out = (struct resp_split){0};
}

ssize_t rp_resp_split_args(const char *line, size_t len, struct rp_resp_str **argv_out)
{
    *argv_out = NULL;

    struct resp_split split = {0};
    int rc = resp_split_line(line, len, &split);
    if (rc != 0) {
        resp_split_free(&split);
        return rc;
    }
    if (split.argc == 0) {
        resp_split_free(&split);
        return 0;
    }

    // One block: the argv array, then each argument's bytes and a NUL. The
    // arguments total at most len bytes, and argc <= len.
    size_t bytes = 0;
    for (size_t i = 0; i < split.argc; i++)
        bytes += split.argv[i].len + 1;
    size_t head = split.argc * sizeof(struct rp_resp_str);
    struct rp_resp_str *block = rp_malloc(head + bytes);
    if (block == NULL) {
        resp_split_free(&split);
        return RP_ERR_NOMEM;
    }

    char *dst = (char *)block + head;
    for (size_t i = 0; i < split.argc; i++) {
        size_t n = split.argv[i].len;
        if (n > 0)
            memcpy(dst, split.argv[i].ptr, n);
        dst[n] = '\0';
        block[i].ptr = dst;
        block[i].len = n;
        dst += n + 1;
    }

    size_t argc = split.argc;
    resp_split_free(&split);
    *argv_out = block;
    return (ssize_t)argc;
}
