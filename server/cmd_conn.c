// SPDX-License-Identifier: BSD-3-Clause
// Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET and
// TIME, with redis 7.0's replies and error texts. Authentication has one
// user, "default", whose password is requirepass (none when unset), as redis
// has without ACL rules.

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "ringpub/alloc.h"
#include "server/multi.h"
#include "server/server.h"

// HELLO reports the redis version whose behaviour ringpub implements, not
// ringpub's own: client libraries (node-redis, ioredis, redis-py) read
// "version" to decide which commands and reply shapes to expect, and
// ringpub's replies are redis 7.0's. INFO server carries ringpub's version.
#define HELLO_SERVER_NAME "redis"
#define HELLO_SERVER_VERSION "7.0.15"

static void cmd_ping(struct client *c)
{
    if (c->argc > 2) {
        reply_wrong_arity(c);
        return;
    }

    // In RESP2 subscribed mode redis replies with a two-element array, so
    // that subscribers can tell the reply from a message.
    if (c->proto == 2 && client_in_pubsub_mode(c)) {
        reply_array_len(c, 2);
        reply_bulk_cstr(c, "pong");
        if (c->argc == 2)
            reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
        else
            reply_bulk(c, "", 0);
        return;
    }

    if (c->argc == 2)
        reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
    else
        reply_simple(c, "PONG");
}

static void cmd_echo(struct client *c)
{
    reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
}

// Compares in time that depends only on the lengths, so that the time AUTH
// takes does not reveal how much of a guessed password was right.
static int secure_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

// Returns 1 when user and password are the default user's. Without
// requirepass the default user has no password, and any password matches.
static int credentials_valid(const struct server *srv, const struct rp_resp_str *user, const struct rp_resp_str *pass)
{
    if (!arg_is(user, "default"))
        return 0;
    const char *want = srv->cfg.requirepass;
    if (want == NULL)
        return 1;
    return secure_equal(pass->ptr, pass->len, want, strlen(want));
}

static void reply_wrongpass(struct client *c)
{
    reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
}

static void cmd_auth(struct client *c)
{
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }

    static const struct rp_resp_str default_user = {"default", 7};
    const struct rp_resp_str *user = c->argc == 3 ? &c->argv[1] : &default_user;
    const struct rp_resp_str *pass = &c->argv[c->argc - 1];

    if (c->argc == 2 && c->srv->cfg.requirepass == NULL) {
        reply_error(c, "ERR AUTH <password> called without any password configured for the default user. Are you "
                       "sure your configuration is correct?");
        return;
    }
    if (!credentials_valid(c->srv, user, pass)) {
        reply_wrongpass(c);
        return;
    }
    c->authenticated = 1;
    reply_ok(c);
}

int client_set_name(struct client *c, const struct rp_resp_str *name)
{
    // As redis clientSetName: printable ASCII without spaces; empty clears.
    for (size_t i = 0; i < name->len; i++) {
        unsigned char ch = (unsigned char)name->ptr[i];
        if (ch < '!' || ch > '~') {
            reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
            return -1;
        }
    }

    char *copy = NULL;
    if (name->len > 0) {
        copy = rp_malloc(name->len + 1);
        if (copy == NULL) {
            client_close_now(c);
            return -1;
        }
        memcpy(copy, name->ptr, name->len);
        copy[name->len] = '\0';
    }
    rp_free(c->name);
    c->name = copy;
    return 0;
}

static void client_set_proto(struct client *c, int proto)
{
    c->proto = proto;
    rp_ps_sub_set_proto(c->sub, proto);
}

static void cmd_hello(struct client *c)
{
    int64_t ver = c->proto;
    size_t next = 1;
    if (c->argc >= 2) {
        if (arg_to_int64(&c->argv[1], &ver) != 0) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
        next = 2;
    }

    const struct rp_resp_str *user = NULL, *pass = NULL, *name = NULL;
    for (size_t j = next; j < c->argc; j++) {
        size_t more = c->argc - 1 - j;
        const struct rp_resp_str *opt = &c->argv[j];
        if (arg_is(opt, "auth") && more >= 2) {
            user = &c->argv[j + 1];
            pass = &c->argv[j + 2];
            j += 2;
        } else if (arg_is(opt, "setname") && more >= 1) {
            name = &c->argv[j + 1];
            j++;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)(opt->len < 256 ? opt->len : 256), opt->ptr);
            return;
        }
    }

    if (user != NULL) {
        if (!credentials_valid(c->srv, user, pass)) {
            reply_wrongpass(c);
            return;
        }
        c->authenticated = 1;
    }
    if (c->srv->cfg.requirepass != NULL && !c->authenticated) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
                       "<user> <pass> option can be used to authenticate the client and select the RESP protocol "
                       "version at the same time");
        return;
    }
    if (name != NULL && client_set_name(c, name) != 0)
        return;

    client_set_proto(c, (int)ver);

    reply_map_len(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, HELLO_SERVER_NAME);
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, HELLO_SERVER_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_integer(c, ver);
    reply_bulk_cstr(c, "id");
    reply_integer(c, (int64_t)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, "master");
    reply_bulk_cstr(c, "modules");
    reply_array_len(c, 0);
}

static void cmd_select(struct client *c)
{
    int64_t id;
    if (arg_to_int64(&c->argv[1], &id) != 0) {
        reply_error(c, "ERR value is not an integer or out of range");
        return;
    }
    // redis reads the index as a C int; the text, typo included, is 7.0's.
    if (id < INT32_MIN || id > INT32_MAX) {
        reply_error(c, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return;
    }
    if (id < 0 || id >= c->srv->cfg.databases) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    c->db = (int)id;
    reply_ok(c);
}

static void cmd_quit(struct client *c)
{
    reply_ok(c);
    client_close_after_reply(c);
}

static void cmd_reset(struct client *c)
{
    // As redis clearClientConnectionState: no subscriptions (and no
    // unsubscribe replies), RESP2, database 0, authenticated only if no
    // password is set, no name, replies on, no transaction or watched key.
    multi_reset(c);
    pubsub_unsubscribe_all(c, 0);
    client_set_proto(c, 2);
    c->db = 0;
    c->authenticated = c->srv->cfg.requirepass == NULL;
    rp_free(c->name);
    c->name = NULL;
    c->flags &= ~(uint32_t)(RP_CLIENT_REPLY_OFF | RP_CLIENT_REPLY_SKIP | RP_CLIENT_REPLY_SKIP_NEXT);
    reply_simple(c, "RESET");
}

static void cmd_time(struct client *c)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    reply_array_len(c, 2);
    reply_bulk_int(c, (int64_t)tv.tv_sec);
    reply_bulk_int(c, (int64_t)tv.tv_usec);
}

const struct command rp_cmds_conn[] = {
    {"ping", -1, RP_CMD_PUBSUB_OK, cmd_ping, NULL},
    {"echo", 2, 0, cmd_echo, NULL},
    {"hello", -1, RP_CMD_NO_AUTH, cmd_hello, NULL},
    {"auth", -2, RP_CMD_NO_AUTH, cmd_auth, NULL},
    {"select", 2, 0, cmd_select, NULL},
    {"quit", -1, RP_CMD_NO_AUTH | RP_CMD_PUBSUB_OK | RP_CMD_RUNS_IN_MULTI, cmd_quit, NULL},
    {"reset", 1, RP_CMD_NO_AUTH | RP_CMD_PUBSUB_OK | RP_CMD_RUNS_IN_MULTI, cmd_reset, NULL},
    {"time", 1, 0, cmd_time, NULL},
    {NULL, 0, 0, NULL, NULL},
};
