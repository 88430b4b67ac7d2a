// SPDX-License-Identifier: BSD-3-Clause
// Reply helpers: encode a value into the client's reply buffer in its
// protocol (RESP2 or RESP3) through the rp_resp_write_* encoder, and the
// standard error replies with redis 7.0's exact texts.

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/resp_writer.h"
#include "server/server.h"

// Replies are dropped while CLIENT REPLY OFF or SKIP is in effect, and once
// the client is being closed without its output.
static int replies_enabled(const struct client *c)
{
    return !(c->flags & (RP_CLIENT_REPLY_OFF | RP_CLIENT_REPLY_SKIP | RP_CLIENT_CLOSE_ASAP));
}

// Every helper ends here with the writer's result: a failed write leaves a
// partial frame, which is cut off, and the client is dropped because its
// reply stream can no longer be trusted.
static void finish(struct client *c, size_t saved_len, int err)
{
    if (err == 0)
        return;
    c->reply.len = saved_len;
    rp_log(RP_LOG_WARNING, "Out of memory while writing a reply to client id=%llu, closing it",
           (unsigned long long)c->id);
    client_close_now(c);
}

#define WRITE_REPLY(c, call)                        \
    do {                                            \
        if (!replies_enabled(c))                    \
            return;                                 \
        size_t saved_len_ = (c)->reply.len;         \
        finish((c), saved_len_, (call));            \
    } while (0)

void reply_simple(struct client *c, const char *s)
{
    WRITE_REPLY(c, rp_resp_write_simple(&c->reply, s, strlen(s)));
}

void reply_ok(struct client *c)
{
    reply_simple(c, "OK");
}

// redis replaces CR and LF in error texts with spaces, so that an argument
// echoed into an error cannot end the line early.
static void write_error(struct client *c, char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r' || text[i] == '\n')
            text[i] = ' ';
    }
    c->srv->stats.total_error_replies++;
    WRITE_REPLY(c, rp_resp_write_error(&c->reply, text, len));
}

void reply_error(struct client *c, const char *s)
{
    char buf[512];
    size_t len = strlen(s);
    if (len < sizeof buf) {
        memcpy(buf, s, len);
        write_error(c, buf, len);
        return;
    }

    char *copy = rp_malloc(len);
    if (copy == NULL) {
        client_close_now(c);
        return;
    }
    memcpy(copy, s, len);
    write_error(c, copy, len);
    rp_free(copy);
}

void reply_errorf(struct client *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    // Longer texts are cut: every caller bounds what it echoes (%.128s).
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    write_error(c, buf, len);
}

void reply_integer(struct client *c, int64_t v)
{
    WRITE_REPLY(c, rp_resp_write_integer(&c->reply, v));
}

void reply_bulk(struct client *c, const void *p, size_t len)
{
    WRITE_REPLY(c, rp_resp_write_bulk(&c->reply, p, len));
}

void reply_bulk_cstr(struct client *c, const char *s)
{
    reply_bulk(c, s, strlen(s));
}

void reply_bulk_int(struct client *c, int64_t v)
{
    char digits[24];
    size_t len = rp_resp_format_int(v, digits);
    reply_bulk(c, digits, len);
}

void reply_null(struct client *c)
{
    WRITE_REPLY(c, rp_resp_write_null(&c->reply, c->proto, '$'));
}

void reply_null_array(struct client *c)
{
    WRITE_REPLY(c, rp_resp_write_null(&c->reply, c->proto, '*'));
}

void reply_array_len(struct client *c, uint64_t n)
{
    WRITE_REPLY(c, rp_resp_write_array_len(&c->reply, n));
}

void reply_map_len(struct client *c, uint64_t pairs)
{
    WRITE_REPLY(c, rp_resp_write_map_len(&c->reply, c->proto, pairs));
}

void reply_set_len(struct client *c, uint64_t n)
{
    WRITE_REPLY(c, rp_resp_write_set_len(&c->reply, c->proto, n));
}

void reply_push_len(struct client *c, uint64_t n)
{
    WRITE_REPLY(c, rp_resp_write_push_len(&c->reply, c->proto, n));
}

void reply_double(struct client *c, double v)
{
    WRITE_REPLY(c, rp_resp_write_double(&c->reply, c->proto, v));
}

void reply_bool(struct client *c, int v)
{
    WRITE_REPLY(c, rp_resp_write_bool(&c->reply, c->proto, v));
}

void reply_verbatim(struct client *c, const char *s, size_t len, const char *format)
{
    WRITE_REPLY(c, rp_resp_write_verbatim(&c->reply, c->proto, format, s, len));
}

void reply_raw(struct client *c, const void *p, size_t len)
{
    WRITE_REPLY(c, rp_buf_append(&c->reply, p, len));
}

// Writes the command's name for errors: "ping", or "client|id" for a
// subcommand, lower case as redis prints its fullname.
static void command_fullname(const struct client *c, char *dst, size_t size)
{
    if (c->cmd == NULL) {
        size_t n = c->argc > 0 ? c->argv[0].len : 0;
        if (n > size - 1)
            n = size - 1;
        for (size_t i = 0; i < n; i++)
            dst[i] = (char)tolower((unsigned char)c->argv[0].ptr[i]);
        dst[n] = '\0';
        return;
    }
    if (c->parent_cmd != NULL)
        snprintf(dst, size, "%s|%s", c->parent_cmd->name, c->cmd->name);
    else
        snprintf(dst, size, "%s", c->cmd->name);
}

void reply_wrong_arity(struct client *c)
{
    char name[160];
    command_fullname(c, name, sizeof name);
    reply_errorf(c, "ERR wrong number of arguments for '%s' command", name);
}

// Copies the first argument upper-cased for "Try X HELP.".
static void upper_name(const struct client *c, char *dst, size_t size)
{
    size_t n = c->argv[0].len < size - 1 ? c->argv[0].len : size - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)toupper((unsigned char)c->argv[0].ptr[i]);
    dst[n] = '\0';
}

void reply_unknown_subcommand(struct client *c)
{
    char name[64];
    upper_name(c, name, sizeof name);
    const struct rp_resp_str *sub = &c->argv[1];
    reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.", (int)(sub->len < 128 ? sub->len : 128), sub->ptr,
                 name);
}

void reply_subcommand_syntax_error(struct client *c)
{
    char name[64];
    upper_name(c, name, sizeof name);
    const struct rp_resp_str *sub = &c->argv[1];
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                 (int)(sub->len < 128 ? sub->len : 128), sub->ptr, name);
}

void reply_syntax_error(struct client *c)
{
    reply_error(c, "ERR syntax error");
}

void reply_help(struct client *c, const char *const *lines)
{
    // redis prefixes the lines with "<NAME> <subcommand> [<arg> [value] [opt] ...].
    // Subcommands are:" and ends with HELP and its description.
    char name[64];
    upper_name(c, name, sizeof name);

    size_t count = 0;
    while (lines[count] != NULL)
        count++;

    char first[160];
    snprintf(first, sizeof first, "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", name);
    reply_array_len(c, count + 3);
    reply_simple(c, first);
    for (size_t i = 0; i < count; i++)
        reply_simple(c, lines[i]);
    reply_simple(c, "HELP");
    reply_simple(c, "    Prints this help.");
}
