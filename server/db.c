// SPDX-License-Identifier: BSD-3-Clause
// The keyspace (see db.h): one rp_ps_dict of keys per database, plus an
// array of the keys that have an expiry so that the active expiry cycle can
// sample them at random without walking the whole table.

#include <assert.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "server/aof.h"
#include "server/db.h"
#include "server/multi.h"
#include "server/server.h"

// Active expiry, as redis's activeExpireCycle with its default effort: each
// tick samples up to SAMPLES_PER_ROUND keys with an expiry per database and
// repeats while more than a quarter of a round had expired, up to
// MAX_ROUNDS_PER_TICK rounds over all databases.
#define SAMPLES_PER_ROUND 20
#define MAX_ROUNDS_PER_TICK 16

int64_t db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int db_init(struct server *srv)
{
    struct keyspace *ks = rp_calloc(1, sizeof *ks);
    if (ks == NULL)
        return RP_ERR_NOMEM;
    ks->dbs = rp_calloc((size_t)srv->cfg.databases, sizeof *ks->dbs);
    if (ks->dbs == NULL) {
        rp_free(ks);
        return RP_ERR_NOMEM;
    }
    ks->count = srv->cfg.databases;

    // Keys are chosen by clients, so the table hash is keyed with random
    // bytes to keep crafted collisions from degrading lookups.
    if (getrandom(ks->hash_key, sizeof ks->hash_key, 0) != (ssize_t)sizeof ks->hash_key) {
        for (size_t i = 0; i < sizeof ks->hash_key; i++)
            ks->hash_key[i] = (uint8_t)(db_now_ms() >> (i % 8));
    }
    memcpy(&ks->random_state, ks->hash_key, sizeof ks->random_state);
    ks->random_state |= 1;

    for (int i = 0; i < ks->count; i++)
        rp_ps_dict_init(&ks->dbs[i].keys, ks->hash_key);
    srv->keyspace = ks;
    return 0;
}

static void free_key_entry(void *ctx, struct rp_ps_dict_entry *e)
{
    (void)ctx;
    struct key *k = (struct key *)e;
    stream_free(k->stream);
    rp_free(k);
}

static void flush_one(struct db *d)
{
    rp_ps_dict_foreach(&d->keys, free_key_entry, NULL);
    rp_ps_dict_release(&d->keys);
    rp_free(d->volatile_keys);
    d->volatile_keys = NULL;
    d->volatile_count = 0;
    d->volatile_cap = 0;
}

void db_free(struct server *srv)
{
    struct keyspace *ks = srv->keyspace;
    if (ks == NULL)
        return;
    for (int i = 0; i < ks->count; i++)
        flush_one(&ks->dbs[i]);
    rp_free(ks->dbs);
    rp_free(ks);
    srv->keyspace = NULL;
}

void db_flush(struct server *srv, int dbi)
{
    struct keyspace *ks = srv->keyspace;
    watch_touch_flush(srv, dbi);
    for (int i = 0; i < ks->count; i++) {
        if (dbi == -1 || dbi == i)
            flush_one(&ks->dbs[i]);
    }
}

static struct db *get_db(const struct server *srv, int dbi)
{
    assert(dbi >= 0 && dbi < srv->keyspace->count);
    return &srv->keyspace->dbs[dbi];
}

static void volatile_remove(struct db *d, struct key *k)
{
    size_t i = k->volatile_index;
    assert(i < d->volatile_count && d->volatile_keys[i] == k);
    struct key *last = d->volatile_keys[--d->volatile_count];
    d->volatile_keys[i] = last;
    last->volatile_index = i;
}

static void remove_key(struct server *srv, int dbi, struct key *k, int touch_watchers)
{
    struct db *d = get_db(srv, dbi);
    if (k->expire_ms != DB_NO_EXPIRE)
        volatile_remove(d, k);
    rp_ps_dict_remove(&d->keys, &k->entry);
    // After the removal, so that WATCH sees the key gone, and before the
    // free, because the name lives in the key.
    if (touch_watchers)
        watch_touch_key(srv, dbi, k->name, k->name_len);
    stream_free(k->stream);
    rp_free(k);
}

void db_delete(struct server *srv, int dbi, struct key *k)
{
    remove_key(srv, dbi, k, 1);
}

void db_delete_new(struct server *srv, int dbi, struct key *k)
{
    remove_key(srv, dbi, k, 0);
}

// Deletes k because its time has passed, counting it and logging a DEL to
// the AOF so that a replay removes it at the same point.
static void expire_key(struct server *srv, int dbi, struct key *k)
{
    struct rp_resp_str argv[2] = {{"DEL", 3}, {k->name, k->name_len}};
    if (!srv->aof_info.loading)
        aof_feed(srv, dbi, 2, argv);
    db_delete(srv, dbi, k);
    srv->keyspace->expired_keys++;
}

struct key *db_lookup(struct server *srv, int dbi, const char *name, size_t len)
{
    struct db *d = get_db(srv, dbi);
    uint64_t hash = rp_ps_dict_hash(&d->keys, name, len);
    struct rp_ps_dict_entry *e = rp_ps_dict_find(&d->keys, name, len, hash);
    if (e == NULL)
        return NULL;

    struct key *k = (struct key *)e;
    if (k->expire_ms != DB_NO_EXPIRE && k->expire_ms <= db_now_ms()) {
        expire_key(srv, dbi, k);
        return NULL;
    }
    return k;
}

struct key *db_add_stream(struct server *srv, int dbi, const char *name, size_t len)
{
    struct db *d = get_db(srv, dbi);
    if (len > SIZE_MAX - sizeof(struct key) - 1 || rp_ps_dict_reserve(&d->keys) != 0)
        return NULL;

    struct key *k = rp_malloc(sizeof *k + len + 1);
    if (k == NULL)
        return NULL;
    k->stream = stream_create();
    if (k->stream == NULL) {
        rp_free(k);
        return NULL;
    }
    memcpy(k->name, name, len);
    k->name[len] = '\0';
    k->name_len = len;
    k->expire_ms = DB_NO_EXPIRE;
    k->volatile_index = 0;
    k->entry.key = k->name;
    k->entry.key_len = len;
    k->entry.hash = rp_ps_dict_hash(&d->keys, name, len);
    k->entry.next = NULL;
    rp_ps_dict_insert(&d->keys, &k->entry);
    return k;
}

int db_set_expire(struct server *srv, int dbi, struct key *k, int64_t when_ms)
{
    struct db *d = get_db(srv, dbi);
    watch_touch_key(srv, dbi, k->name, k->name_len);

    if (when_ms == DB_NO_EXPIRE) {
        if (k->expire_ms != DB_NO_EXPIRE)
            volatile_remove(d, k);
        k->expire_ms = DB_NO_EXPIRE;
        return 0;
    }
    if (k->expire_ms == DB_NO_EXPIRE) {
        if (d->volatile_count == d->volatile_cap) {
            size_t cap = d->volatile_cap ? d->volatile_cap * 2 : 16;
            struct key **p = rp_reallocarray(d->volatile_keys, cap, sizeof *p);
            if (p == NULL)
                return RP_ERR_NOMEM;
            d->volatile_keys = p;
            d->volatile_cap = cap;
        }
        k->volatile_index = d->volatile_count;
        d->volatile_keys[d->volatile_count++] = k;
    }
    k->expire_ms = when_ms;
    return 0;
}

size_t db_size(const struct server *srv, int dbi)
{
    return get_db(srv, dbi)->keys.count;
}

size_t db_expires(const struct server *srv, int dbi)
{
    return get_db(srv, dbi)->volatile_count;
}

static uint64_t next_random(struct keyspace *ks)
{
    // xorshift64: sampling needs spread, not unpredictability.
    uint64_t x = ks->random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ks->random_state = x;
    return x;
}

void db_active_expire(struct server *srv)
{
    struct keyspace *ks = srv->keyspace;
    if (ks == NULL || srv->aof_info.loading)
        return;

    int64_t now = db_now_ms();
    for (int round = 0; round < MAX_ROUNDS_PER_TICK; round++) {
        int dbi = (int)(ks->active_expire_db % (size_t)ks->count);
        ks->active_expire_db++;
        struct db *d = &ks->dbs[dbi];
        if (d->volatile_count == 0) {
            if (round >= ks->count)
                break;
            continue;
        }

        int expired = 0;
        int samples = d->volatile_count < SAMPLES_PER_ROUND ? (int)d->volatile_count : SAMPLES_PER_ROUND;
        for (int i = 0; i < samples && d->volatile_count > 0; i++) {
            struct key *k = d->volatile_keys[next_random(ks) % d->volatile_count];
            if (k->expire_ms <= now) {
                expire_key(srv, dbi, k);
                expired++;
            }
        }
        // Mostly live keys: this database is done for the tick. Many
        // expired: another round on it, as redis repeats over 25%.
        if (expired * 4 > samples)
            ks->active_expire_db--;
    }
}

struct scan_ctx {
    void (*fn)(void *ctx, struct key *k);
    void *ctx;
};

static void scan_bucket(struct rp_ps_dict_entry *e, const struct scan_ctx *sc)
{
    while (e != NULL) {
        struct rp_ps_dict_entry *next = e->next;
        sc->fn(sc->ctx, (struct key *)e);
        e = next;
    }
}

static uint64_t reverse_bits(uint64_t v)
{
    uint64_t r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

// Increments the reversed bits of v under mask: the next cursor of a
// reverse-binary scan, whose order survives the table doubling or halving
// between two calls (the scheme of redis's dictScan).
static uint64_t advance_cursor(uint64_t v, uint64_t mask)
{
    v |= ~mask;
    v = reverse_bits(v);
    v++;
    return reverse_bits(v);
}

uint64_t db_scan(struct server *srv, int dbi, uint64_t cursor, void (*fn)(void *ctx, struct key *k), void *ctx)
{
    struct db *d = get_db(srv, dbi);
    const struct rp_ps_dict *t = &d->keys;
    struct scan_ctx sc = {fn, ctx};

    if (t->count == 0)
        return 0;

    int rehashing = t->rehash_pos != SIZE_MAX;
    if (!rehashing) {
        uint64_t mask = t->size[0] - 1;
        scan_bucket(t->buckets[0][cursor & mask], &sc);
        return advance_cursor(cursor, mask);
    }

    // During a rehash visit the bucket of the smaller table, then every
    // bucket of the larger table that it expands to.
    int small = t->size[0] <= t->size[1] ? 0 : 1;
    int large = 1 - small;
    uint64_t mask_small = t->size[small] - 1;
    uint64_t mask_large = t->size[large] - 1;

    scan_bucket(t->buckets[small][cursor & mask_small], &sc);
    do {
        scan_bucket(t->buckets[large][cursor & mask_large], &sc);
        cursor = advance_cursor(cursor, mask_large);
    } while (cursor & (mask_small ^ mask_large));
    return cursor;
}

size_t db_memory(const struct server *srv)
{
    const struct keyspace *ks = srv->keyspace;
    if (ks == NULL)
        return 0;

    size_t total = sizeof *ks + (size_t)ks->count * sizeof *ks->dbs;
    for (int i = 0; i < ks->count; i++) {
        const struct db *d = &ks->dbs[i];
        total += (d->keys.size[0] + d->keys.size[1]) * sizeof(void *) + d->volatile_cap * sizeof(void *);
        for (int tb = 0; tb < 2; tb++) {
            for (size_t b = 0; b < d->keys.size[tb]; b++) {
                for (const struct rp_ps_dict_entry *e = d->keys.buckets[tb][b]; e != NULL; e = e->next) {
                    const struct key *k = (const struct key *)e;
                    total += sizeof *k + k->name_len + 1 + stream_memory(k->stream);
                }
            }
        }
    }
    return total;
}

size_t db_used_memory(const struct server *srv)
{
    struct mallinfo2 mi = mallinfo2();
    size_t used = mi.uordblks + mi.hblkhd;

    // Under AddressSanitizer mallinfo2 reports nothing: count the keyspace,
    // which walks every key and so costs time proportional to their number.
    return used > 0 ? used : db_memory(srv);
}
