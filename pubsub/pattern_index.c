// SPDX-License-Identifier: BSD-3-Clause
// Pattern index: patterns grouped by literal prefix, so that a publish runs
// the glob only on patterns whose prefix the channel starts with, instead of
// on every pattern as redis does.
//
// A group is keyed by its prefix bytes in a SipHash table. The index also
// keeps the sorted set of distinct prefix lengths, so a publish to a channel
// of length n makes one table lookup per distinct length <= n. Patterns that
// start with a metacharacter form the group with the empty prefix, which
// every publish tests.

#include <assert.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "pubsub/pubsub_internal.h"

size_t rp_ps_pattern_prefix_len(const char *pattern, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = pattern[i];
        if (c == '*' || c == '?' || c == '[' || c == '\\')
            return i;
    }
    return len;
}

void rp_ps_pidx_init(struct rp_ps_pattern_index *idx, const uint8_t *hash_key)
{
    rp_ps_dict_init(&idx->buckets, hash_key);
    idx->lens = NULL;
    idx->nlens = idx->cap_lens = 0;
}

void rp_ps_pidx_release(struct rp_ps_pattern_index *idx)
{
    assert(idx->buckets.count == 0);
    rp_ps_dict_release(&idx->buckets);
    rp_free(idx->lens);
    idx->lens = NULL;
    idx->nlens = idx->cap_lens = 0;
}

// Returns the position of len in the sorted lens array, or where it would go.
static size_t lens_search(const struct rp_ps_pattern_index *idx, size_t len)
{
    size_t lo = 0, hi = idx->nlens;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->lens[mid].len < len)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// Makes room for one more distinct length. Returns 0 or RP_ERR_NOMEM.
static int lens_reserve(struct rp_ps_pattern_index *idx)
{
    if (idx->nlens < idx->cap_lens)
        return 0;
    size_t cap = idx->cap_lens ? idx->cap_lens * 2 : 8;
    struct rp_ps_prefix_len *p = rp_reallocarray(idx->lens, cap, sizeof(*p));
    if (p == NULL)
        return RP_ERR_NOMEM;
    idx->lens = p;
    idx->cap_lens = cap;
    return 0;
}

static void lens_add(struct rp_ps_pattern_index *idx, size_t len)
{
    size_t i = lens_search(idx, len);
    if (i < idx->nlens && idx->lens[i].len == len) {
        idx->lens[i].nbuckets++;
        return;
    }
    assert(idx->nlens < idx->cap_lens);
    memmove(&idx->lens[i + 1], &idx->lens[i], (idx->nlens - i) * sizeof(idx->lens[0]));
    idx->lens[i] = (struct rp_ps_prefix_len){len, 1};
    idx->nlens++;
}

static void lens_remove(struct rp_ps_pattern_index *idx, size_t len)
{
    size_t i = lens_search(idx, len);
    assert(i < idx->nlens && idx->lens[i].len == len);
    if (--idx->lens[i].nbuckets > 0)
        return;
    memmove(&idx->lens[i], &idx->lens[i + 1], (idx->nlens - i - 1) * sizeof(idx->lens[0]));
    idx->nlens--;
    if (idx->nlens == 0) {
        rp_free(idx->lens);
        idx->lens = NULL;
        idx->cap_lens = 0;
    }
}

int rp_ps_pidx_add(struct rp_ps_pattern_index *idx, struct rp_ps_topic *pattern)
{
    size_t plen = rp_ps_pattern_prefix_len(pattern->name, pattern->name_len);
    uint64_t hash = rp_ps_dict_hash(&idx->buckets, pattern->name, plen);
    struct rp_ps_dict_entry *e = rp_ps_dict_find(&idx->buckets, pattern->name, plen, hash);
    struct rp_ps_prefix_bucket *bucket;

    if (e != NULL) {
        bucket = (struct rp_ps_prefix_bucket *)e;
    } else {
        // Take every allocation before changing anything, so failure leaves
        // the index as it was.
        if (rp_ps_dict_reserve(&idx->buckets) != 0 || lens_reserve(idx) != 0)
            return RP_ERR_NOMEM;
        if (plen > SIZE_MAX - sizeof(*bucket))
            return RP_ERR_NOMEM;
        bucket = rp_malloc(sizeof(*bucket) + plen);
        if (bucket == NULL)
            return RP_ERR_NOMEM;

        bucket->head = NULL;
        bucket->npatterns = 0;
        bucket->prefix_len = plen;
        if (plen)
            memcpy(bucket->prefix, pattern->name, plen);
        bucket->entry.key = bucket->prefix;
        bucket->entry.key_len = plen;
        bucket->entry.hash = hash;
        rp_ps_dict_insert(&idx->buckets, &bucket->entry);
        lens_add(idx, plen);
    }

    pattern->bucket = bucket;
    pattern->bucket_prev = NULL;
    pattern->bucket_next = bucket->head;
    if (bucket->head != NULL)
        bucket->head->bucket_prev = pattern;
    bucket->head = pattern;
    bucket->npatterns++;
    return 0;
}

void rp_ps_pidx_remove(struct rp_ps_pattern_index *idx, struct rp_ps_topic *pattern)
{
    struct rp_ps_prefix_bucket *bucket = pattern->bucket;
    assert(bucket != NULL);

    if (pattern->bucket_prev != NULL)
        pattern->bucket_prev->bucket_next = pattern->bucket_next;
    else
        bucket->head = pattern->bucket_next;
    if (pattern->bucket_next != NULL)
        pattern->bucket_next->bucket_prev = pattern->bucket_prev;
    pattern->bucket = NULL;
    pattern->bucket_prev = pattern->bucket_next = NULL;

    if (--bucket->npatterns > 0)
        return;
    rp_ps_dict_remove(&idx->buckets, &bucket->entry);
    lens_remove(idx, bucket->prefix_len);
    rp_free(bucket);
}

size_t rp_ps_pidx_candidates(const struct rp_ps_pattern_index *idx, const char *channel, size_t len,
                             int (*fn)(void *ctx, struct rp_ps_topic *pattern), void *ctx)
{
    size_t calls = 0;

    // NOTE: each lookup hashes its prefix from the start, so a publish costs
    // O(sum of the distinct prefix lengths <= len) hashing. Many distinct
    // prefix lengths make that up to O(len^2); a trie would keep it O(len).
    for (size_t i = 0; i < idx->nlens && idx->lens[i].len <= len; i++) {
        size_t plen = idx->lens[i].len;
        uint64_t hash = rp_ps_dict_hash(&idx->buckets, channel, plen);
        struct rp_ps_dict_entry *e = rp_ps_dict_find(&idx->buckets, channel, plen, hash);
        if (e == NULL)
            continue;

        struct rp_ps_prefix_bucket *bucket = (struct rp_ps_prefix_bucket *)e;
        for (struct rp_ps_topic *t = bucket->head; t != NULL; t = t->bucket_next) {
            calls++;
            if (fn(ctx, t) != 0)
                return calls;
        }
    }
    return calls;
}
