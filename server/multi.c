// SPDX-License-Identifier: BSD-3-Clause
// MULTI, EXEC, DISCARD, WATCH and UNWATCH with redis 7.0's semantics (see
// multi.h). A client's transaction state lives in c->tx, allocated on its
// first MULTI or WATCH and freed once it has neither a queue nor a watch.
//
// Watched keys are kept per client, and clients with watched keys are on
// one server list, so a key change walks the watched keys of those clients
// only; with no WATCH in use it costs one pointer test.

#include <stdio.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "server/aof.h"
#include "server/db.h"
#include "server/multi.h"
#include "server/server.h"

// One queued command: argv and its bytes in one allocation.
struct queued_command {
    const struct command *cmd;         // the checked command (or subcommand)
    const struct command *parent_cmd;  // its container, or NULL
    size_t argc;
    struct rp_resp_str *argv;          // points into the same allocation
    size_t bytes;                      // size of that allocation
};

struct watched_key {
    int dbi;
    // The key was already expired (but not yet deleted) at WATCH time. As
    // in redis 7.0, its deletion is then no change, and only its coming
    // back to life makes EXEC fail.
    int expired;
    size_t len;
    char *name;
};

struct tx_state {
    struct client *client;
    struct queued_command *queue;
    size_t queued, queue_cap;
    size_t queued_bytes;
    int queue_error;                   // a command was rejected while queueing: EXEC replies EXECABORT
    uint32_t queued_flags;             // union of the queued commands' RP_CMD_* flags

    struct watched_key *watched;
    size_t watched_count, watched_cap;
    int dirty;                         // a watched key changed: EXEC replies a null array
    struct tx_state *watch_prev, *watch_next;   // server's list of clients with watched keys
};

static struct tx_state *tx_get(struct client *c)
{
    if (c->tx == NULL) {
        c->tx = rp_calloc(1, sizeof *c->tx);
        if (c->tx != NULL)
            c->tx->client = c;
    }
    return c->tx;
}

static void free_queue(struct tx_state *tx)
{
    for (size_t i = 0; i < tx->queued; i++)
        rp_free(tx->queue[i].argv);
    rp_free(tx->queue);
    tx->queue = NULL;
    tx->queued = tx->queue_cap = 0;
    tx->queued_bytes = 0;
    tx->queue_error = 0;
    tx->queued_flags = 0;
}

// Frees c->tx once it has neither a transaction nor a watched key.
static void tx_release_if_unused(struct client *c)
{
    struct tx_state *tx = c->tx;
    if (tx == NULL || (c->flags & RP_CLIENT_MULTI) || tx->watched_count > 0 || tx->queued > 0)
        return;
    rp_free(tx->queue);
    rp_free(tx->watched);
    rp_free(tx);
    c->tx = NULL;
}

// ---- WATCH -------------------------------------------------------------------

static void unwatch_all(struct client *c)
{
    struct tx_state *tx = c->tx;
    if (tx == NULL)
        return;
    if (tx->watched_count > 0) {
        struct server *srv = c->srv;
        if (tx->watch_prev != NULL)
            tx->watch_prev->watch_next = tx->watch_next;
        else
            srv->watching = tx->watch_next;
        if (tx->watch_next != NULL)
            tx->watch_next->watch_prev = tx->watch_prev;
        tx->watch_prev = tx->watch_next = NULL;
    }
    for (size_t i = 0; i < tx->watched_count; i++)
        rp_free(tx->watched[i].name);
    rp_free(tx->watched);
    tx->watched = NULL;
    tx->watched_count = tx->watched_cap = 0;
    tx->dirty = 0;
}

// Looks the key up without deleting it on expiry, as WATCH and EXEC's
// expiry check only read the state. NULL if absent.
static struct key *find_key_raw(struct server *srv, int dbi, const char *name, size_t len)
{
    struct db *d = &srv->keyspace->dbs[dbi];
    uint64_t hash = rp_ps_dict_hash(&d->keys, name, len);
    return (struct key *)rp_ps_dict_find(&d->keys, name, len, hash);
}

static int key_is_expired(const struct key *k)
{
    return k != NULL && k->expire_ms != DB_NO_EXPIRE && k->expire_ms <= db_now_ms();
}

// Adds one key to c's watched keys. Returns 0, or -1 when out of memory.
static int watch_key(struct client *c, const struct rp_resp_str *key)
{
    struct tx_state *tx = c->tx;
    for (size_t i = 0; i < tx->watched_count; i++) {
        const struct watched_key *w = &tx->watched[i];
        if (w->dbi == c->db && w->len == key->len && memcmp(w->name, key->ptr, key->len) == 0)
            return 0;
    }

    if (tx->watched_count == tx->watched_cap) {
        size_t cap = tx->watched_cap ? tx->watched_cap * 2 : 4;
        struct watched_key *p = rp_reallocarray(tx->watched, cap, sizeof *p);
        if (p == NULL)
            return -1;
        tx->watched = p;
        tx->watched_cap = cap;
    }
    char *name = rp_malloc(key->len ? key->len : 1);
    if (name == NULL)
        return -1;
    memcpy(name, key->ptr, key->len);

    if (tx->watched_count == 0) {
        struct server *srv = c->srv;
        tx->watch_prev = NULL;
        tx->watch_next = srv->watching;
        if (srv->watching != NULL)
            srv->watching->watch_prev = tx;
        srv->watching = tx;
    }
    struct watched_key *w = &tx->watched[tx->watched_count++];
    w->dbi = c->db;
    w->len = key->len;
    w->name = name;
    w->expired = key_is_expired(find_key_raw(c->srv, c->db, key->ptr, key->len));
    return 0;
}

// redis marks the client dirty and stops watching: later changes cannot
// make it more dirty.
static void mark_dirty(struct tx_state *tx)
{
    struct client *c = tx->client;
    unwatch_all(c);
    c->tx->dirty = 1;
}

void watch_touch_key(struct server *srv, int dbi, const char *name, size_t len)
{
    struct tx_state *tx = srv->watching;
    while (tx != NULL) {
        struct tx_state *next = tx->watch_next;
        for (size_t i = 0; i < tx->watched_count; i++) {
            struct watched_key *w = &tx->watched[i];
            if (w->dbi != dbi || w->len != len || memcmp(w->name, name, len) != 0)
                continue;
            if (w->expired) {
                // Deleting a key that was already expired at WATCH time
                // changes nothing logically; from then on it is an absent key.
                if (find_key_raw(srv, dbi, name, len) == NULL) {
                    w->expired = 0;
                    break;
                }
            }
            mark_dirty(tx);
            break;
        }
        tx = next;
    }
}

void watch_touch_flush(struct server *srv, int dbi)
{
    struct tx_state *tx = srv->watching;
    while (tx != NULL) {
        struct tx_state *next = tx->watch_next;
        for (size_t i = 0; i < tx->watched_count; i++) {
            struct watched_key *w = &tx->watched[i];
            if (dbi != -1 && w->dbi != dbi)
                continue;
            // Only a key that exists is changed by a flush. One already
            // expired at WATCH time just becomes absent, as in redis 7.0.
            if (find_key_raw(srv, w->dbi, w->name, w->len) == NULL)
                continue;
            if (w->expired) {
                w->expired = 0;
                continue;
            }
            mark_dirty(tx);
            break;
        }
        tx = next;
    }
}

// EXEC's check of keys that expired since WATCH without being deleted yet.
static int watched_key_expired(struct client *c)
{
    struct tx_state *tx = c->tx;
    for (size_t i = 0; i < tx->watched_count; i++) {
        const struct watched_key *w = &tx->watched[i];
        if (!w->expired && key_is_expired(find_key_raw(c->srv, w->dbi, w->name, w->len)))
            return 1;
    }
    return 0;
}

// ---- Queueing -------------------------------------------------------------------

int multi_queue_command(struct client *c, const struct command *cmd)
{
    if (!(c->flags & RP_CLIENT_MULTI) || (cmd->flags & RP_CMD_RUNS_IN_MULTI))
        return 0;
    struct tx_state *tx = c->tx;

    size_t bytes = c->argc * sizeof(struct rp_resp_str);
    for (size_t i = 0; i < c->argc; i++)
        bytes += c->argv[i].len;
    if (tx->queued == tx->queue_cap) {
        size_t cap = tx->queue_cap ? tx->queue_cap * 2 : 8;
        struct queued_command *p = rp_reallocarray(tx->queue, cap, sizeof *p);
        if (p == NULL)
            goto nomem;
        tx->queue = p;
        tx->queue_cap = cap;
    }
    struct rp_resp_str *argv = rp_malloc(bytes ? bytes : 1);
    if (argv == NULL)
        goto nomem;

    // The arguments point into the input buffer, which is reused once this
    // request is consumed: copy them behind the argv array.
    char *p = (char *)(argv + c->argc);
    for (size_t i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].ptr, c->argv[i].len);
        argv[i].ptr = p;
        argv[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    struct queued_command *q = &tx->queue[tx->queued++];
    q->cmd = cmd;
    q->parent_cmd = c->parent_cmd;
    q->argc = c->argc;
    q->argv = argv;
    q->bytes = bytes;
    tx->queued_bytes += bytes;
    tx->queued_flags |= cmd->flags;
    reply_simple(c, "QUEUED");
    return 1;

nomem:
    tx->queue_error = 1;
    reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
    return 1;
}

void multi_flag_error(struct client *c)
{
    if (c->flags & RP_CLIENT_MULTI)
        c->tx->queue_error = 1;
}

int multi_has_denyoom(const struct client *c)
{
    return (c->flags & RP_CLIENT_MULTI) && (c->tx->queued_flags & RP_CMD_DENYOOM);
}

long multi_queued_count(const struct client *c)
{
    return (c->flags & RP_CLIENT_MULTI) ? (long)c->tx->queued : -1;
}

size_t multi_queued_bytes(const struct client *c)
{
    return c->tx != NULL ? c->tx->queued_bytes : 0;
}

int multi_watch_dirty(const struct client *c)
{
    return c->tx != NULL && c->tx->dirty;
}

// Ends the transaction: drops the queue and every watched key, as redis's
// discardTransaction does after EXEC, DISCARD and an aborted EXEC.
static void discard_transaction(struct client *c)
{
    if (c->tx != NULL) {
        free_queue(c->tx);
        unwatch_all(c);
    }
    c->flags &= ~(uint32_t)RP_CLIENT_MULTI;
    tx_release_if_unused(c);
}

void multi_reset(struct client *c)
{
    discard_transaction(c);
}

int multi_is_exec(const struct command *cmd)
{
    return cmd != NULL && strcmp(cmd->name, "exec") == 0;
}

void multi_abort_exec(struct client *c, size_t reply_len)
{
    // The error is "-<text>\r\n" in c->reply from reply_len on (nothing when
    // replies are off). redis passes the text without its leading "ERR ".
    if (c->reply.len > reply_len + 3 && c->reply.data[reply_len] == '-') {
        char text[512];
        const char *start = c->reply.data + reply_len + 1;
        size_t len = c->reply.len - reply_len - 3;
        if (len >= 4 && memcmp(start, "ERR ", 4) == 0) {
            start += 4;
            len -= 4;
        }
        if (len >= sizeof text)
            len = sizeof text - 1;
        memcpy(text, start, len);
        text[len] = '\0';
        c->reply.len = reply_len;
        reply_errorf(c, "EXECABORT Transaction discarded because of: %s", text);
    }
    discard_transaction(c);
}

// ---- Commands ---------------------------------------------------------------------

static void cmd_multi(struct client *c)
{
    if (c->flags & RP_CLIENT_MULTI) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    if (tx_get(c) == NULL) {
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    c->flags |= RP_CLIENT_MULTI;
    reply_ok(c);
}

static void cmd_discard(struct client *c)
{
    if (!(c->flags & RP_CLIENT_MULTI)) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    discard_transaction(c);
    reply_ok(c);
}

static void cmd_exec(struct client *c)
{
    if (!(c->flags & RP_CLIENT_MULTI)) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    struct tx_state *tx = c->tx;
    if (tx->watched_count > 0 && watched_key_expired(c))
        tx->dirty = 1;
    if (tx->queue_error || tx->dirty) {
        if (tx->queue_error)
            reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        else
            reply_null_array(c);
        discard_transaction(c);
        return;
    }

    // The keys are no longer watched once the transaction runs: its own
    // writes must not make it dirty.
    unwatch_all(c);

    struct server *srv = c->srv;
    size_t saved_argc = c->argc;
    const struct rp_resp_str *saved_argv = c->argv;
    const struct command *saved_cmd = c->cmd;
    const struct command *saved_parent = c->parent_cmd;

    reply_array_len(c, tx->queued);
    c->flags |= RP_CLIENT_IN_EXEC;
    aof_transaction_begin(srv);
    for (size_t i = 0; i < tx->queued; i++) {
        const struct queued_command *q = &tx->queue[i];
        c->argc = q->argc;
        c->argv = q->argv;
        c->cmd = q->cmd;
        c->parent_cmd = q->parent_cmd;
        c->commands_processed++;
        srv->stats.total_commands_processed++;
        q->cmd->fn(c);
    }
    aof_transaction_end(srv);
    c->flags &= ~(uint32_t)RP_CLIENT_IN_EXEC;

    c->argc = saved_argc;
    c->argv = saved_argv;
    c->cmd = saved_cmd;
    c->parent_cmd = saved_parent;
    discard_transaction(c);
}

static void cmd_watch(struct client *c)
{
    if (c->flags & RP_CLIENT_MULTI) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    if (tx_get(c) == NULL)
        goto nomem;
    for (size_t i = 1; i < c->argc; i++) {
        if (watch_key(c, &c->argv[i]) != 0)
            goto nomem;
    }
    reply_ok(c);
    return;

nomem:
    tx_release_if_unused(c);
    reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
}

static void cmd_unwatch(struct client *c)
{
    unwatch_all(c);
    tx_release_if_unused(c);
    reply_ok(c);
}

const struct command rp_cmds_multi[] = {
    {"multi", 1, RP_CMD_RUNS_IN_MULTI, cmd_multi, NULL},
    {"exec", 1, RP_CMD_RUNS_IN_MULTI, cmd_exec, NULL},
    {"discard", 1, RP_CMD_RUNS_IN_MULTI, cmd_discard, NULL},
    {"watch", -2, RP_CMD_RUNS_IN_MULTI, cmd_watch, NULL},
    {"unwatch", 1, 0, cmd_unwatch, NULL},
    {NULL, 0, 0, NULL, NULL},
};
