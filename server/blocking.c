// SPDX-License-Identifier: BSD-3-Clause
// Clients blocked in XREAD BLOCK (see blocking.h). Each waited-on key has a
// FIFO of waiters in a table keyed by database and key name; each blocked
// client owns one waiter per key it named and sits on a list in block
// order, which the tick walks for timeouts.

#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "server/blocking.h"
#include "server/db.h"
#include "server/server.h"

// Table keys are the database index (4 bytes) followed by the key name.
#define DB_PREFIX_LEN 4

// Composite names up to this size are built on the stack for lookups.
#define LOOKUP_STACK_BYTES 256

struct waiting_key;

struct waiter {
    struct waiter *prev, *next;      // in the key's FIFO, first blocked first
    struct waiting_key *wk;
    struct client *c;
    struct stream_id id;             // entries above this id serve the client
};

struct waiting_key {
    struct rp_ps_dict_entry entry;   // entry.key is name
    struct waiter *head, *tail;
    int dbi;
    size_t name_len;                 // the key name alone, without the prefix
    char name[];                     // DB_PREFIX_LEN bytes of dbi, then the key name
};

struct blocked_state {
    struct blocked_state *prev, *next;   // srv->blocking list, in block order
    struct client *c;
    uint64_t deadline_ms;            // monotonic; 0 blocks forever
    uint64_t count;                  // XREAD COUNT, 0 for no limit
    size_t nkeys;
    struct waiter waiters[];
};

struct blocking {
    struct rp_ps_dict keys;
    uint8_t hash_key[16];
    struct blocked_state *head, *tail;
};

int blocking_init(struct server *srv)
{
    struct blocking *b = rp_calloc(1, sizeof *b);
    if (b == NULL)
        return RP_ERR_NOMEM;
    // The keyspace's random hash key serves here too.
    memcpy(b->hash_key, srv->keyspace->hash_key, sizeof b->hash_key);
    rp_ps_dict_init(&b->keys, b->hash_key);
    srv->blocking = b;
    return 0;
}

void blocking_free(struct server *srv)
{
    struct blocking *b = srv->blocking;
    if (b == NULL)
        return;
    // Every blocked client was removed when its connection closed, so the
    // table is empty by now.
    rp_ps_dict_release(&b->keys);
    rp_free(b);
    srv->blocking = NULL;
}

static void put_prefix(char *dst, int dbi)
{
    uint32_t v = (uint32_t)dbi;
    memcpy(dst, &v, DB_PREFIX_LEN);
}

static struct waiting_key *find_key(struct blocking *b, int dbi, const char *name, size_t len)
{
    char stack[LOOKUP_STACK_BYTES];
    char *full = stack;
    size_t full_len = DB_PREFIX_LEN + len;
    if (full_len > sizeof stack) {
        full = rp_malloc(full_len);
        if (full == NULL)
            return NULL;
    }
    put_prefix(full, dbi);
    memcpy(full + DB_PREFIX_LEN, name, len);

    uint64_t hash = rp_ps_dict_hash(&b->keys, full, full_len);
    struct rp_ps_dict_entry *e = rp_ps_dict_find(&b->keys, full, full_len, hash);
    if (full != stack)
        rp_free(full);
    return (struct waiting_key *)e;
}

static struct waiting_key *find_or_add_key(struct blocking *b, int dbi, const char *name, size_t len)
{
    struct waiting_key *wk = find_key(b, dbi, name, len);
    if (wk != NULL)
        return wk;
    if (rp_ps_dict_reserve(&b->keys) != 0)
        return NULL;

    wk = rp_calloc(1, sizeof *wk + DB_PREFIX_LEN + len);
    if (wk == NULL)
        return NULL;
    put_prefix(wk->name, dbi);
    memcpy(wk->name + DB_PREFIX_LEN, name, len);
    wk->dbi = dbi;
    wk->name_len = len;
    wk->entry.key = wk->name;
    wk->entry.key_len = DB_PREFIX_LEN + len;
    wk->entry.hash = rp_ps_dict_hash(&b->keys, wk->name, DB_PREFIX_LEN + len);
    rp_ps_dict_insert(&b->keys, &wk->entry);
    return wk;
}

static void waiter_unlink(struct blocking *b, struct waiter *w)
{
    struct waiting_key *wk = w->wk;
    if (wk == NULL)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        wk->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        wk->tail = w->prev;
    w->wk = NULL;
    if (wk->head == NULL) {
        rp_ps_dict_remove(&b->keys, &wk->entry);
        rp_free(wk);
    }
}

// Frees the client's blocked state; it then reads input again.
static void unblock(struct client *c)
{
    struct blocked_state *st = c->blocked;
    struct server *srv = c->srv;
    struct blocking *b = srv->blocking;

    for (size_t i = 0; i < st->nkeys; i++)
        waiter_unlink(b, &st->waiters[i]);
    if (st->prev != NULL)
        st->prev->next = st->next;
    else
        b->head = st->next;
    if (st->next != NULL)
        st->next->prev = st->prev;
    else
        b->tail = st->prev;
    rp_free(st);
    c->blocked = NULL;
    srv->blocked_clients--;
}

int blocking_block_xread(struct client *c, uint64_t timeout_ms, size_t nkeys, const struct rp_resp_str *keys,
                         const struct stream_id *ids, uint64_t count)
{
    struct blocking *b = c->srv->blocking;
    if (nkeys > (SIZE_MAX - sizeof(struct blocked_state)) / sizeof(struct waiter))
        return RP_ERR_NOMEM;
    struct blocked_state *st = rp_calloc(1, sizeof *st + nkeys * sizeof(struct waiter));
    if (st == NULL)
        return RP_ERR_NOMEM;
    st->c = c;
    st->count = count;
    st->nkeys = nkeys;
    st->deadline_ms = timeout_ms == 0 ? 0 : rp_net_loop_now_ms(c->srv->loop) + timeout_ms;

    for (size_t i = 0; i < nkeys; i++) {
        struct waiting_key *wk = find_or_add_key(b, c->db, keys[i].ptr, keys[i].len);
        if (wk == NULL) {
            for (size_t j = 0; j < i; j++)
                waiter_unlink(b, &st->waiters[j]);
            rp_free(st);
            return RP_ERR_NOMEM;
        }
        struct waiter *w = &st->waiters[i];
        w->c = c;
        w->id = ids[i];
        w->wk = wk;
        w->prev = wk->tail;
        if (wk->tail != NULL)
            wk->tail->next = w;
        else
            wk->head = w;
        wk->tail = w;
    }

    st->prev = b->tail;
    if (b->tail != NULL)
        b->tail->next = st;
    else
        b->head = st;
    b->tail = st;
    c->blocked = st;
    c->srv->blocked_clients++;
    return 0;
}

// Sends the reply queued for a client just unblocked, and has the
// connection show it the input it held while blocked.
static void finish_unblock(struct client *c)
{
    client_flush_reply(c);
    if (c->flags & (RP_CLIENT_CLOSE_ASAP | RP_CLIENT_CLOSE_AFTER_REPLY))
        return;
    // A pause and resume makes the net layer hand the held tail to
    // on_data again, since no new bytes may come to trigger it.
    if (rp_net_conn_input_len(c->conn) > 0) {
        rp_net_conn_pause_read(c->conn, 1);
        rp_net_conn_pause_read(c->conn, 0);
    }
}

void blocking_signal_key(struct server *srv, int dbi, const char *name, size_t len)
{
    struct blocking *b = srv->blocking;
    if (b == NULL || b->keys.count == 0)
        return;
    struct waiting_key *wk = find_key(b, dbi, name, len);
    if (wk == NULL)
        return;

    // Serving a client unlinks its waiters, so the clients to visit are
    // copied first, in FIFO order.
    size_t n = 0;
    for (struct waiter *w = wk->head; w != NULL; w = w->next)
        n++;
    struct client **order = rp_calloc(n, sizeof *order);
    if (order == NULL) {
        rp_log(RP_LOG_WARNING, "Out of memory while waking clients blocked on a stream; they wait for the next XADD");
        return;
    }
    n = 0;
    for (struct waiter *w = wk->head; w != NULL; w = w->next)
        order[n++] = w->c;

    for (size_t i = 0; i < n; i++) {
        struct client *c = order[i];
        struct blocked_state *st = c->blocked;
        if (st == NULL || (c->flags & RP_CLIENT_CLOSE_ASAP))
            continue;
        wk = find_key(b, dbi, name, len);
        if (wk == NULL)
            break;
        struct waiter *mine = NULL;
        for (size_t j = 0; j < st->nkeys && mine == NULL; j++) {
            if (st->waiters[j].wk == wk)
                mine = &st->waiters[j];
        }
        if (mine == NULL)
            continue;

        struct key *k = db_lookup(srv, dbi, name, len);
        // Redis 7.0 serves a woken reader once the stream's last id passes
        // the one it waits after. A trim may have left no entry after it, and
        // the reply then holds an empty array. A non-blocking XREAD looks at
        // the newest entry instead.
        if (k == NULL || stream_id_cmp(stream_last_id(k->stream), mine->id) <= 0)
            continue;

        // As redis 7.0, the reply names only the stream that woke the client.
        if (c->proto == 2)
            reply_array_len(c, 1);
        else
            reply_map_len(c, 1);
        stream_reply_read(c, k->name, k->name_len, k->stream, mine->id, st->count);
        unblock(c);
        finish_unblock(c);
    }
    rp_free(order);
}

void blocking_remove(struct client *c)
{
    if (c->blocked != NULL)
        unblock(c);
}

void blocking_tick(struct server *srv)
{
    struct blocking *b = srv->blocking;
    if (b == NULL)
        return;
    uint64_t now = rp_net_loop_now_ms(srv->loop);

    struct blocked_state *st = b->head;
    while (st != NULL) {
        struct blocked_state *next = st->next;
        struct client *c = st->c;
        if (st->deadline_ms != 0 && now >= st->deadline_ms && !(c->flags & RP_CLIENT_CLOSE_ASAP)) {
            reply_null_array(c);
            unblock(c);
            finish_unblock(c);
        }
        st = next;
    }
}
