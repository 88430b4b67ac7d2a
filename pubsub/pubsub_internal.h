/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal types of the pub/sub module, shared by its files and its tests:
 * the keyed hash, the intrusive hash table, the pattern prefix index and the
 * registry structures. Nothing here is part of the public API, although the
 * rp_ps_ names are exported from the shared library like every rp_ symbol.
 */
#ifndef RINGPUB_PUBSUB_INTERNAL_H
#define RINGPUB_PUBSUB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ringpub/pubsub.h"

/* ---- SipHash-1-3 -------------------------------------------------------- */

/*
 * Hashes len bytes with SipHash-1-3 under the 16-byte key: the variant redis
 * uses for its tables, which keeps SipHash's resistance to chosen-key
 * collisions at a lower cost per byte than SipHash-2-4.
 */
uint64_t rp_ps_siphash(const uint8_t key[16], const void *data, size_t len);

/* SipHash-2-4, the variant the SipHash paper gives test vectors for; used by the tests. */
uint64_t rp_ps_siphash24(const uint8_t key[16], const void *data, size_t len);

/* ---- Intrusive hash table ---------------------------------------------- */

/*
 * An entry lives inside the caller's own structure, so the table allocates
 * nothing per entry. key points at bytes that the caller keeps alive while
 * the entry is in a table.
 */
struct rp_ps_dict_entry {
    struct rp_ps_dict_entry *next;
    uint64_t hash;
    const char *key;
    size_t key_len;
};

/*
 * Chained hash table with two bucket arrays for incremental rehashing, as
 * redis's dict does. While rehash_pos is not SIZE_MAX, entries move from
 * buckets[0] to buckets[1] a few buckets per insert or remove, so no single
 * call pays for a whole resize.
 */
struct rp_ps_dict {
    struct rp_ps_dict_entry **buckets[2];
    size_t size[2];          /* bucket counts, each 0 or a power of two */
    size_t count;            /* entries in both arrays */
    size_t rehash_pos;       /* next bucket of buckets[0] to move, or SIZE_MAX */
    const uint8_t *hash_key; /* 16 bytes owned by the registry */
};

void rp_ps_dict_init(struct rp_ps_dict *d, const uint8_t *hash_key);

/* Frees the bucket arrays. The entries belong to the caller and are not touched. */
void rp_ps_dict_release(struct rp_ps_dict *d);

static inline uint64_t rp_ps_dict_hash(const struct rp_ps_dict *d, const char *key, size_t len)
{
    return rp_ps_siphash(d->hash_key, key, len);
}

/* Returns the entry with this key, or NULL. hash must be rp_ps_dict_hash(d, key, len). */
struct rp_ps_dict_entry *rp_ps_dict_find(const struct rp_ps_dict *d, const char *key, size_t len,
                                         uint64_t hash);

/*
 * Makes sure that the next rp_ps_dict_insert cannot fail, by allocating the
 * first bucket array if there is none. Returns 0 or RP_ERR_NOMEM.
 */
int rp_ps_dict_reserve(struct rp_ps_dict *d);

/*
 * Inserts e, whose key, key_len and hash the caller has set and whose key is
 * not in the table yet. Call rp_ps_dict_reserve first: insert itself never
 * fails, because growing is best effort (chains get longer if memory for a
 * bigger array is missing).
 */
void rp_ps_dict_insert(struct rp_ps_dict *d, struct rp_ps_dict_entry *e);

/* Unlinks e, which must be in the table. Frees the bucket arrays when the table becomes empty. */
void rp_ps_dict_remove(struct rp_ps_dict *d, struct rp_ps_dict_entry *e);

/* Calls fn on every entry. fn must not change the table. */
void rp_ps_dict_foreach(const struct rp_ps_dict *d, void (*fn)(void *ctx, struct rp_ps_dict_entry *e),
                        void *ctx);

/* ---- Registry structures ----------------------------------------------- */

struct rp_ps_link;
struct rp_ps_prefix_bucket;

/*
 * A channel, pattern or shard channel with at least one subscriber. One
 * allocation holds the structure and the name.
 */
struct rp_ps_topic {
    struct rp_ps_dict_entry entry;       /* in the registry's table for kind */
    struct rp_ps_link *head, *tail;      /* subscribers, oldest first */
    size_t nsubs;
    size_t nsubs_proto[2];               /* subscribers using RESP2, RESP3 */
    enum rp_ps_kind kind;
    struct rp_ps_prefix_bucket *bucket;  /* patterns only: prefix index group */
    struct rp_ps_topic *bucket_prev, *bucket_next;
    size_t name_len;
    char name[];
};

/*
 * One subscription: a subscriber on a topic. It sits on the topic's list
 * (delivery order) and in the subscriber's table (O(1) unsubscribe by name)
 * and list (oldest first, for rp_ps_sub_first).
 */
struct rp_ps_link {
    struct rp_ps_dict_entry entry;       /* in the subscriber's table; key is topic->name */
    struct rp_ps_topic *topic;
    rp_ps_sub_t *sub;
    struct rp_ps_link *topic_prev, *topic_next;
    struct rp_ps_link *sub_prev, *sub_next;
};

struct rp_ps_sub_kind {
    struct rp_ps_dict links;
    struct rp_ps_link *head, *tail;      /* oldest first */
};

struct rp_ps_sub {
    rp_ps_registry_t *reg;
    int proto;
    rp_ps_deliver_fn deliver;
    void *ctx;
    struct rp_ps_sub_kind kinds[3];
    int freed;                           /* rp_ps_sub_free ran during a delivery */
    rp_ps_sub_t *next_freed;             /* the registry's list of such subscribers */
};

/* ---- Pattern prefix index ---------------------------------------------- */

/*
 * Patterns grouped by their literal prefix: the bytes before the first
 * '*', '?', '[' or '\'. A pattern can only match channels that start with
 * its prefix, so a publish looks up each prefix of the channel whose length
 * some group has, and runs the glob only on those groups' patterns.
 */
struct rp_ps_prefix_bucket {
    struct rp_ps_dict_entry entry;
    struct rp_ps_topic *head;            /* patterns of this group */
    size_t npatterns;
    size_t prefix_len;
    char prefix[];
};

struct rp_ps_prefix_len {
    size_t len;
    size_t nbuckets;                     /* groups with this prefix length */
};

struct rp_ps_pattern_index {
    struct rp_ps_dict buckets;
    struct rp_ps_prefix_len *lens;       /* sorted by len, ascending */
    size_t nlens, cap_lens;
};

/* Returns the length of the literal prefix of a pattern. */
size_t rp_ps_pattern_prefix_len(const char *pattern, size_t len);

void rp_ps_pidx_init(struct rp_ps_pattern_index *idx, const uint8_t *hash_key);
void rp_ps_pidx_release(struct rp_ps_pattern_index *idx);

/* Adds a pattern topic to its group. Returns 0 or RP_ERR_NOMEM (index unchanged). */
int rp_ps_pidx_add(struct rp_ps_pattern_index *idx, struct rp_ps_topic *pattern);

/* Removes a pattern topic added by rp_ps_pidx_add. Never fails. */
void rp_ps_pidx_remove(struct rp_ps_pattern_index *idx, struct rp_ps_topic *pattern);

/*
 * Calls fn for each pattern whose prefix is a prefix of the channel: the
 * only patterns that can match it. Returns the number of calls. fn must not
 * change the index.
 */
size_t rp_ps_pidx_candidates(const struct rp_ps_pattern_index *idx, const char *channel, size_t len,
                             int (*fn)(void *ctx, struct rp_ps_topic *pattern), void *ctx);

/* ---- Registry ---------------------------------------------------------- */

/* A pattern that matched during one publish, with its frames once built. */
struct rp_ps_match {
    struct rp_ps_topic *pattern;
    struct rp_rcbuf *frame[2];
};

struct rp_ps_registry {
    uint8_t hash_key[16];
    struct rp_ps_dict topics[3];         /* indexed by enum rp_ps_kind */
    struct rp_ps_pattern_index pidx;
    struct rp_ps_stats stats;
    size_t nsubs;                        /* live subscribers, checked by rp_ps_registry_free */
    int delivering;                      /* set while deliver callbacks run */
    rp_ps_sub_t *freed_subs;             /* freed by a callback, released after the delivery */
    struct rp_ps_match *matches;         /* scratch for rp_ps_publish */
    size_t cap_matches;
};

/* Index of a protocol version in two-element arrays: 0 for RESP2, 1 for RESP3. */
static inline int rp_ps_proto_slot(int proto)
{
    return proto == 3 ? 1 : 0;
}

/* Removes every subscription of sub and frees it, even during a delivery. */
void rp_ps_sub_release(rp_ps_sub_t *sub);

#endif
