// SPDX-License-Identifier: BSD-3-Clause
// Generic key commands over the keyspace (db.h): DEL, UNLINK, EXISTS, TYPE,
// the EXPIRE family, TTL, PERSIST, KEYS, SCAN, DBSIZE, FLUSHDB, FLUSHALL and
// BGREWRITEAOF, with redis 7.0's replies and error texts. Every change is logged to the
// AOF in the form replay needs: relative expiries become PEXPIREAT.

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "server/aof.h"
#include "server/db.h"
#include "server/server.h"

#define ERR_NOT_INTEGER "ERR value is not an integer or out of range"

// SCAN visits at most COUNT * 10 buckets per call, as redis's
// scanGenericCommand does, so that a sparse table cannot make one call long.
#define SCAN_MAX_ITERATIONS_PER_COUNT 10

static void del_generic(struct client *c)
{
    int64_t deleted = 0;

    for (size_t i = 1; i < c->argc; i++) {
        struct key *k = db_lookup(c->srv, c->db, c->argv[i].ptr, c->argv[i].len);
        if (k != NULL) {
            db_delete(c->srv, c->db, k);
            deleted++;
        }
    }
    if (deleted > 0)
        aof_feed(c->srv, c->db, c->argc, c->argv);
    reply_integer(c, deleted);
}

static void cmd_exists(struct client *c)
{
    int64_t found = 0;

    // A key named twice counts twice, as in redis.
    for (size_t i = 1; i < c->argc; i++) {
        if (db_lookup(c->srv, c->db, c->argv[i].ptr, c->argv[i].len) != NULL)
            found++;
    }
    reply_integer(c, found);
}

static void cmd_type(struct client *c)
{
    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    reply_simple(c, k != NULL ? "stream" : "none");
}

enum {
    EXPIRE_NX = 1 << 0,
    EXPIRE_XX = 1 << 1,
    EXPIRE_GT = 1 << 2,
    EXPIRE_LT = 1 << 3,
};

// Parses the NX / XX / GT / LT options from argv[3] on. Returns 0, or -1
// after replying with redis's error.
static int parse_expire_flags(struct client *c, unsigned *flags)
{
    *flags = 0;
    for (size_t i = 3; i < c->argc; i++) {
        const struct rp_resp_str *a = &c->argv[i];
        if (arg_is(a, "nx"))
            *flags |= EXPIRE_NX;
        else if (arg_is(a, "xx"))
            *flags |= EXPIRE_XX;
        else if (arg_is(a, "gt"))
            *flags |= EXPIRE_GT;
        else if (arg_is(a, "lt"))
            *flags |= EXPIRE_LT;
        else {
            reply_errorf(c, "ERR Unsupported option %.*s", (int)a->len, a->ptr);
            return -1;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

// Runs EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT. With relative, argv[2] counts
// from now. unit_ms is 1000 for seconds and 1 for milliseconds.
static void expire_generic(struct client *c, int relative, int64_t unit_ms)
{
    unsigned flags;
    int64_t when;

    if (parse_expire_flags(c, &flags) != 0)
        return;
    if (arg_to_int64(&c->argv[2], &when) != 0) {
        reply_error(c, ERR_NOT_INTEGER);
        return;
    }

    // Overflow checks in redis's order: the unit first, then the base time.
    int64_t now = db_now_ms();
    if (unit_ms == 1000) {
        if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000)
            goto invalid;
        when *= 1000;
    }
    if (relative) {
        if (when > INT64_MAX - now)
            goto invalid;
        when += now;
    }

    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    if (k == NULL) {
        reply_integer(c, 0);
        return;
    }

    // A key without an expiry counts as never expiring for GT and LT.
    int has_ttl = k->expire_ms != DB_NO_EXPIRE;
    if ((flags & EXPIRE_NX) && has_ttl)
        goto not_set;
    if ((flags & EXPIRE_XX) && !has_ttl)
        goto not_set;
    if ((flags & EXPIRE_GT) && (!has_ttl || when <= k->expire_ms))
        goto not_set;
    if ((flags & EXPIRE_LT) && has_ttl && when >= k->expire_ms)
        goto not_set;

    if (when <= now && !c->srv->aof_info.loading) {
        // A time already past deletes the key, logged as a DEL.
        struct rp_resp_str del[2] = {{"DEL", 3}, c->argv[1]};
        db_delete(c->srv, c->db, k);
        aof_feed(c->srv, c->db, 2, del);
        reply_integer(c, 1);
        return;
    }

    if (db_set_expire(c->srv, c->db, k, when) != 0) {
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    char when_text[24];
    int n = snprintf(when_text, sizeof when_text, "%" PRId64, when);
    struct rp_resp_str logged[3] = {{"PEXPIREAT", 9}, c->argv[1], {when_text, (size_t)n}};
    aof_feed(c->srv, c->db, 3, logged);
    reply_integer(c, 1);
    return;

not_set:
    reply_integer(c, 0);
    return;

invalid:
    reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd->name);
}

static void cmd_expire(struct client *c)
{
    expire_generic(c, 1, 1000);
}

static void cmd_pexpire(struct client *c)
{
    expire_generic(c, 1, 1);
}

static void cmd_expireat(struct client *c)
{
    expire_generic(c, 0, 1000);
}

static void cmd_pexpireat(struct client *c)
{
    expire_generic(c, 0, 1);
}

// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 for a key
// without an expiry.
static void ttl_generic(struct client *c, int in_ms, int absolute)
{
    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    if (k == NULL) {
        reply_integer(c, -2);
        return;
    }
    if (k->expire_ms == DB_NO_EXPIRE) {
        reply_integer(c, -1);
        return;
    }

    int64_t v = k->expire_ms;
    if (!absolute) {
        v -= db_now_ms();
        if (v < 0)
            v = 0;
    }
    // Seconds are rounded to the nearest, as redis 7.0 does for TTL and
    // EXPIRETIME alike; unsigned, because v may be close to INT64_MAX.
    if (!in_ms && v >= 0)
        v = (int64_t)(((uint64_t)v + 500) / 1000);
    reply_integer(c, v);
}

static void cmd_ttl(struct client *c)
{
    ttl_generic(c, 0, 0);
}

static void cmd_pttl(struct client *c)
{
    ttl_generic(c, 1, 0);
}

static void cmd_expiretime(struct client *c)
{
    ttl_generic(c, 0, 1);
}

static void cmd_pexpiretime(struct client *c)
{
    ttl_generic(c, 1, 1);
}

static void cmd_persist(struct client *c)
{
    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    if (k == NULL || k->expire_ms == DB_NO_EXPIRE) {
        reply_integer(c, 0);
        return;
    }
    db_set_expire(c->srv, c->db, k, DB_NO_EXPIRE);
    aof_feed(c->srv, c->db, c->argc, c->argv);
    reply_integer(c, 1);
}

// A growable array of keys collected by KEYS and SCAN before replying, so
// that nothing is deleted while the table is walked.
struct key_list {
    struct key **items;
    size_t count;
    size_t cap;
    int nomem;
};

static void key_list_push(void *ctx, struct key *k)
{
    struct key_list *l = ctx;
    if (l->nomem)
        return;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct key **p = rp_reallocarray(l->items, cap, sizeof *p);
        if (p == NULL) {
            l->nomem = 1;
            return;
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->count++] = k;
}

static void collect_entry(void *ctx, struct rp_ps_dict_entry *e)
{
    key_list_push(ctx, (struct key *)e);
}

static void cmd_keys(struct client *c)
{
    struct db *d = &c->srv->keyspace->dbs[c->db];
    struct key_list all = {0};
    const struct rp_resp_str *pattern = &c->argv[1];

    rp_ps_dict_foreach(&d->keys, collect_entry, &all);
    if (all.nomem) {
        rp_free(all.items);
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }

    // Expired keys are left out but not deleted here, as redis KEYS does.
    int64_t now = db_now_ms();
    int match_all = pattern->len == 1 && pattern->ptr[0] == '*';
    size_t kept = 0;
    for (size_t i = 0; i < all.count; i++) {
        struct key *k = all.items[i];
        if (k->expire_ms != DB_NO_EXPIRE && k->expire_ms <= now)
            continue;
        if (!match_all && !rp_ps_glob_match(pattern->ptr, pattern->len, k->name, k->name_len, 0))
            continue;
        all.items[kept++] = k;
    }
    reply_array_len(c, kept);
    for (size_t i = 0; i < kept; i++)
        reply_bulk(c, all.items[i]->name, all.items[i]->name_len);
    rp_free(all.items);
}

// Parses a SCAN cursor as redis 7.0 does, with strtoul: a sign is
// accepted ("-1" wraps to the largest cursor), leading spaces, trailing
// bytes and overflow are not.
static int parse_cursor(const struct rp_resp_str *arg, uint64_t *out)
{
    char text[32];
    if (arg->len >= sizeof text || memchr(arg->ptr, '\0', arg->len) != NULL)
        return -1;
    memcpy(text, arg->ptr, arg->len);
    text[arg->len] = '\0';
    if (isspace((unsigned char)text[0]))
        return -1;

    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

static void cmd_scan(struct client *c)
{
    uint64_t cursor;
    if (parse_cursor(&c->argv[1], &cursor) != 0) {
        reply_error(c, "ERR invalid cursor");
        return;
    }

    int64_t count = 10;
    const struct rp_resp_str *pattern = NULL;
    const struct rp_resp_str *type = NULL;
    for (size_t i = 2; i < c->argc; i += 2) {
        const struct rp_resp_str *opt = &c->argv[i];
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        if (arg_is(opt, "count")) {
            if (arg_to_int64(&c->argv[i + 1], &count) != 0) {
                reply_error(c, ERR_NOT_INTEGER);
                return;
            }
            if (count < 1) {
                reply_syntax_error(c);
                return;
            }
        } else if (arg_is(opt, "match")) {
            pattern = &c->argv[i + 1];
        } else if (arg_is(opt, "type")) {
            type = &c->argv[i + 1];
        } else {
            reply_syntax_error(c);
            return;
        }
    }

    struct key_list found = {0};
    struct db *d = &c->srv->keyspace->dbs[c->db];
    uint64_t max_iterations = (uint64_t)count * SCAN_MAX_ITERATIONS_PER_COUNT;
    if (d->keys.count == 0) {
        cursor = 0;
    } else {
        do {
            cursor = db_scan(c->srv, c->db, cursor, key_list_push, &found);
        } while (cursor != 0 && --max_iterations > 0 && found.count < (uint64_t)count);
    }
    if (found.nomem) {
        rp_free(found.items);
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }

    // Filter after the walk: expired keys are deleted now, as redis's scan
    // does with expireIfNeeded.
    int64_t now = db_now_ms();
    size_t kept = 0;
    for (size_t i = 0; i < found.count; i++) {
        struct key *k = found.items[i];
        if (pattern != NULL && !rp_ps_glob_match(pattern->ptr, pattern->len, k->name, k->name_len, 0))
            continue;
        if (type != NULL && !arg_is(type, "stream"))
            continue;
        if (k->expire_ms != DB_NO_EXPIRE && k->expire_ms <= now) {
            // db_lookup deletes it and logs the DEL.
            db_lookup(c->srv, c->db, k->name, k->name_len);
            continue;
        }
        found.items[kept++] = k;
    }

    char cursor_text[24];
    int n = snprintf(cursor_text, sizeof cursor_text, "%" PRIu64, cursor);
    reply_array_len(c, 2);
    reply_bulk(c, cursor_text, (size_t)n);
    reply_array_len(c, kept);
    for (size_t i = 0; i < kept; i++)
        reply_bulk(c, found.items[i]->name, found.items[i]->name_len);
    rp_free(found.items);
}

static void cmd_dbsize(struct client *c)
{
    reply_integer(c, (int64_t)db_size(c->srv, c->db));
}

// FLUSHDB and FLUSHALL take an optional ASYNC or SYNC; both free at once
// here, since the keyspace has no lazy-free thread.
static int flush_mode_ok(struct client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(&c->argv[1], "async") && !arg_is(&c->argv[1], "sync"))) {
        reply_syntax_error(c);
        return 0;
    }
    return 1;
}

static void cmd_flushdb(struct client *c)
{
    if (!flush_mode_ok(c))
        return;
    db_flush(c->srv, c->db);
    aof_feed(c->srv, c->db, c->argc, c->argv);
    reply_ok(c);
}

static void cmd_flushall(struct client *c)
{
    if (!flush_mode_ok(c))
        return;
    db_flush(c->srv, -1);
    aof_feed(c->srv, c->db, c->argc, c->argv);
    reply_ok(c);
}

// BGREWRITEAOF sits here with the keyspace commands because it snapshots
// the keyspace; aof.c does the work.
static void cmd_bgrewriteaof(struct client *c)
{
    int rc = aof_rewrite_start(c->srv);
    if (rc == 0)
        reply_simple(c, "Background append only file rewriting started");
    else if (rc == 1)
        reply_error(c, "ERR Background append only file rewriting already in progress");
    else
        reply_error(c, "ERR Can't execute an AOF background rewriting. Please check the server logs for more "
                       "information.");
}

const struct command rp_cmds_keys[] = {
    {"bgrewriteaof", 1, 0, cmd_bgrewriteaof, NULL},
    {"del", -2, RP_CMD_WRITE, del_generic, NULL},
    {"unlink", -2, RP_CMD_WRITE, del_generic, NULL},
    {"exists", -2, RP_CMD_READONLY, cmd_exists, NULL},
    {"type", 2, RP_CMD_READONLY, cmd_type, NULL},
    {"expire", -3, RP_CMD_WRITE, cmd_expire, NULL},
    {"pexpire", -3, RP_CMD_WRITE, cmd_pexpire, NULL},
    {"expireat", -3, RP_CMD_WRITE, cmd_expireat, NULL},
    {"pexpireat", -3, RP_CMD_WRITE, cmd_pexpireat, NULL},
    {"ttl", 2, RP_CMD_READONLY, cmd_ttl, NULL},
    {"pttl", 2, RP_CMD_READONLY, cmd_pttl, NULL},
    {"expiretime", 2, RP_CMD_READONLY, cmd_expiretime, NULL},
    {"pexpiretime", 2, RP_CMD_READONLY, cmd_pexpiretime, NULL},
    {"persist", 2, RP_CMD_WRITE, cmd_persist, NULL},
    {"keys", 2, RP_CMD_READONLY, cmd_keys, NULL},
    {"scan", -2, RP_CMD_READONLY, cmd_scan, NULL},
    {"dbsize", 1, RP_CMD_READONLY, cmd_dbsize, NULL},
    {"flushdb", -1, RP_CMD_WRITE, cmd_flushdb, NULL},
    {"flushall", -1, RP_CMD_WRITE, cmd_flushall, NULL},
    {NULL, 0, 0, NULL, NULL},
};
