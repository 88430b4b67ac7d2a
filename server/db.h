// SPDX-License-Identifier: BSD-3-Clause
// The keyspace: cfg.databases databases of named keys, each holding a
// stream (the only value type ringpub stores), with optional expiry times.
// Expired keys are removed lazily when a command looks them up and by a
// bounded active cycle on the server tick, as redis does. Pub/sub ignores
// the database; only the key commands and stream commands use it.

#ifndef RINGPUB_SERVER_DB_H
#define RINGPUB_SERVER_DB_H

#include <stddef.h>
#include <stdint.h>

#include "pubsub/pubsub_internal.h"
#include "server/stream.h"

struct server;
struct client;

#define DB_NO_EXPIRE INT64_MIN

struct key {
    struct rp_ps_dict_entry entry;   // in its database's table; entry.key points at name
    struct stream *stream;           // owned by the key
    int64_t expire_ms;               // absolute unix time in ms, or DB_NO_EXPIRE
    size_t volatile_index;           // position in db.volatile_keys while expire_ms is set
    size_t name_len;
    char name[];
};

struct db {
    struct rp_ps_dict keys;
    struct key **volatile_keys;      // keys with an expiry, in no order, for active expiry sampling
    size_t volatile_count;
    size_t volatile_cap;
};

struct keyspace {
    struct db *dbs;
    int count;
    uint8_t hash_key[16];
    uint64_t expired_keys;           // INFO stats expired_keys
    uint64_t random_state;           // xorshift state for active expiry sampling
    size_t active_expire_db;         // database the next active cycle starts at
};

// Creates cfg.databases empty databases in srv->keyspace. Returns 0 or RP_ERR_NOMEM.
int db_init(struct server *srv);
// Frees every key and database.
void db_free(struct server *srv);

// Looks a key up, deleting it first when its time has passed (the deletion
// is logged to the AOF as a DEL, as redis propagates expiries). Returns the
// key or NULL; the pointer is valid until the key is deleted.
struct key *db_lookup(struct server *srv, int dbi, const char *name, size_t len);

// Creates a key holding a new empty stream; the name must not exist.
// Returns the key, or NULL when out of memory.
struct key *db_add_stream(struct server *srv, int dbi, const char *name, size_t len);

// Removes the key and frees it with its stream. Clients WATCHing it see a change.
void db_delete(struct server *srv, int dbi, struct key *k);

// Removes a key that the running command created and then failed to fill,
// which redis never creates: WATCH sees no change.
void db_delete_new(struct server *srv, int dbi, struct key *k);

// Sets (when_ms != DB_NO_EXPIRE) or removes the key's expiry. Returns 0 or
// RP_ERR_NOMEM (the expiry is then unchanged).
int db_set_expire(struct server *srv, int dbi, struct key *k, int64_t when_ms);

// Number of keys and of keys with an expiry in database dbi (INFO keyspace).
size_t db_size(const struct server *srv, int dbi);
size_t db_expires(const struct server *srv, int dbi);

// Empties database dbi, or every database when dbi is -1.
void db_flush(struct server *srv, int dbi);

// Removes some expired keys: samples keys with an expiry in each database
// and stops after a fixed number of samples per tick, so one tick stays short
// whatever the keyspace size.
void db_active_expire(struct server *srv);

// One SCAN step over database dbi: calls fn for the keys of the buckets the
// cursor covers and returns the next cursor (0 when the scan is complete).
// A key present for the whole scan is returned at least once, as redis's
// reverse-binary cursor guarantees across table resizes.
uint64_t db_scan(struct server *srv, int dbi, uint64_t cursor, void (*fn)(void *ctx, struct key *k), void *ctx);

// Bytes the keyspace holds: key structures, tables and stream blocks.
size_t db_memory(const struct server *srv);

// Memory used by the process as maxmemory counts it: the allocator's figure,
// or the keyspace's own count when the allocator reports none.
size_t db_used_memory(const struct server *srv);

// Current unix time in milliseconds, as expiry compares it.
int64_t db_now_ms(void);

#endif
