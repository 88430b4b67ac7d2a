// SPDX-License-Identifier: BSD-3-Clause
// Intrusive chained hash table with incremental rehashing, keyed by byte
// strings hashed with SipHash. Entries are embedded in the caller's
// structures, so the table allocates only its bucket arrays.

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "pubsub/pubsub_internal.h"

#define DICT_MIN_SIZE 4

// Buckets of the old array moved per insert or remove. Growth doubles the
// size once count reaches it, so at least size/2 inserts separate two
// growths. Moving 4 buckets per call finishes a rehash well before then.
#define DICT_REHASH_STEP 4

void rp_ps_dict_init(struct rp_ps_dict *d, const uint8_t *hash_key)
{
    memset(d, 0, sizeof(*d));
    d->rehash_pos = SIZE_MAX;
    d->hash_key = hash_key;
}

void rp_ps_dict_release(struct rp_ps_dict *d)
{
    rp_free(d->buckets[0]);
    rp_free(d->buckets[1]);
    d->buckets[0] = d->buckets[1] = NULL;
    d->size[0] = d->size[1] = 0;
    d->count = 0;
    d->rehash_pos = SIZE_MAX;
}

static inline int is_rehashing(const struct rp_ps_dict *d)
{
    return d->rehash_pos != SIZE_MAX;
}

struct rp_ps_dict_entry *rp_ps_dict_find(const struct rp_ps_dict *d, const char *key, size_t len,
                                         uint64_t hash)
{
    for (int t = 0; t < 2; t++) {
        if (d->size[t] == 0)
            continue;
        struct rp_ps_dict_entry *e = d->buckets[t][hash & (d->size[t] - 1)];
        for (; e != NULL; e = e->next) {
            if (e->hash == hash && e->key_len == len && (len == 0 || memcmp(e->key, key, len) == 0))
                return e;
        }
    }
    return NULL;
}

static void finish_rehash_if_done(struct rp_ps_dict *d)
{
    if (d->rehash_pos < d->size[0])
        return;
    rp_free(d->buckets[0]);
    d->buckets[0] = d->buckets[1];
    d->size[0] = d->size[1];
    d->buckets[1] = NULL;
    d->size[1] = 0;
    d->rehash_pos = SIZE_MAX;
}

// Moves up to DICT_REHASH_STEP buckets of the old array into the new one.
static void rehash_step(struct rp_ps_dict *d)
{
    if (!is_rehashing(d))
        return;

    size_t mask = d->size[1] - 1;
    for (int n = 0; n < DICT_REHASH_STEP && d->rehash_pos < d->size[0]; n++) {
        struct rp_ps_dict_entry *e = d->buckets[0][d->rehash_pos];
        while (e != NULL) {
            struct rp_ps_dict_entry *next = e->next;
            size_t b = e->hash & mask;
            e->next = d->buckets[1][b];
            d->buckets[1][b] = e;
            e = next;
        }
        d->buckets[0][d->rehash_pos] = NULL;
        d->rehash_pos++;
    }
    finish_rehash_if_done(d);
}

// Starts moving entries into an array of new_size buckets. Best effort: if
// the array cannot be allocated the table keeps its size and chains grow.
static void start_resize(struct rp_ps_dict *d, size_t new_size)
{
    if (is_rehashing(d) || d->size[0] == 0 || new_size == d->size[0])
        return;

    struct rp_ps_dict_entry **b = rp_calloc(new_size, sizeof(*b));
    if (b == NULL)
        return;
    d->buckets[1] = b;
    d->size[1] = new_size;
    d->rehash_pos = 0;
}

int rp_ps_dict_reserve(struct rp_ps_dict *d)
{
    if (d->size[0] != 0)
        return 0;

    struct rp_ps_dict_entry **b = rp_calloc(DICT_MIN_SIZE, sizeof(*b));
    if (b == NULL)
        return RP_ERR_NOMEM;
    d->buckets[0] = b;
    d->size[0] = DICT_MIN_SIZE;
    return 0;
}

void rp_ps_dict_insert(struct rp_ps_dict *d, struct rp_ps_dict_entry *e)
{
    assert(d->size[0] != 0);
    assert(rp_ps_dict_find(d, e->key, e->key_len, e->hash) == NULL);

    rehash_step(d);
    if (!is_rehashing(d) && d->count >= d->size[0] && d->size[0] <= SIZE_MAX / 4)
        start_resize(d, d->size[0] * 2);

    // During a rehash new entries go to the new array, so the old one only shrinks.
    int t = is_rehashing(d) ? 1 : 0;
    size_t b = e->hash & (d->size[t] - 1);
    e->next = d->buckets[t][b];
    d->buckets[t][b] = e;
    d->count++;
}

static int unlink_from(struct rp_ps_dict *d, int t, struct rp_ps_dict_entry *e)
{
    if (d->size[t] == 0)
        return 0;
    struct rp_ps_dict_entry **pp = &d->buckets[t][e->hash & (d->size[t] - 1)];
    for (; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            e->next = NULL;
            return 1;
        }
    }
    return 0;
}

void rp_ps_dict_remove(struct rp_ps_dict *d, struct rp_ps_dict_entry *e)
{
    int found = unlink_from(d, 0, e) || unlink_from(d, 1, e);
    assert(found);
    (void)found;
    d->count--;

    if (d->count == 0) {
        rp_ps_dict_release(d);
        return;
    }
    rehash_step(d);

    // Shrink once the table is less than 1/8 full, so that memory follows
    // the number of entries after a mass unsubscribe.
    if (!is_rehashing(d) && d->size[0] > DICT_MIN_SIZE && d->count < d->size[0] / 8) {
        size_t want = DICT_MIN_SIZE;
        while (want < d->count)
            want *= 2;
        start_resize(d, want);
    }
}

void rp_ps_dict_foreach(const struct rp_ps_dict *d, void (*fn)(void *ctx, struct rp_ps_dict_entry *e),
                        void *ctx)
{
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < d->size[t]; i++) {
            struct rp_ps_dict_entry *e = d->buckets[t][i];
            while (e != NULL) {
                struct rp_ps_dict_entry *next = e->next;
                fn(ctx, e);
                e = next;
            }
        }
    }
}
