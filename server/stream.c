// SPDX-License-Identifier: BSD-3-Clause
// Stream storage: entries packed into blocks (see stream.h).
//
// Block layout: a header, then the entries back to back, each encoded as
//   flags (1 byte, bit 0: deleted) | ms - block.first.ms (varint) | seq (varint)
//   | pairs (varint) | 2 * pairs x (length varint, bytes)
// An entry's ids are stored relative to the block, so the common case of
// consecutive milliseconds costs a byte or two per id.

#include <assert.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"

#include "server/stream.h"

#define ENTRY_DELETED 1u

struct block {
    struct stream_id first;    // id of the first entry appended, deleted or not
    struct stream_id last;     // id of the last entry appended: the block's greatest
    uint32_t count;            // entries encoded, deleted ones included
    uint32_t live;
    size_t used;
    size_t cap;
    unsigned char data[];
};

struct stream {
    struct block **blocks;     // live blocks are blocks[head .. head + nblocks)
    size_t head;
    size_t nblocks;
    size_t cap;
    uint64_t len;
    struct stream_id last_id;
    size_t bytes;              // block allocations
    // Scratch for handing an entry's fields to callbacks.
    const char **ptrs;
    size_t *lens;
    size_t scratch_pairs;
};

static size_t varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static uint64_t varint_get(const unsigned char **p)
{
    uint64_t v = 0;
    unsigned shift = 0;
    const unsigned char *q = *p;
    while (*q & 0x80) {
        v |= (uint64_t)(*q++ & 0x7f) << shift;
        shift += 7;
    }
    v |= (uint64_t)*q++ << shift;
    *p = q;
    return v;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

struct stream *stream_create(void)
{
    return rp_calloc(1, sizeof(struct stream));
}

void stream_free(struct stream *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nblocks; i++)
        rp_free(s->blocks[s->head + i]);
    rp_free(s->blocks);
    rp_free(s->ptrs);
    rp_free(s->lens);
    rp_free(s);
}

uint64_t stream_len(const struct stream *s)
{
    return s->len;
}

struct stream_id stream_last_id(const struct stream *s)
{
    return s->last_id;
}

void stream_set_last_id(struct stream *s, struct stream_id id)
{
    s->last_id = id;
}

size_t stream_memory(const struct stream *s)
{
    return sizeof(*s) + s->cap * sizeof(struct block *) + s->bytes;
}

static struct block *block_at(const struct stream *s, size_t i)
{
    return s->blocks[s->head + i];
}

// Removes the block at index i of the live range and frees it.
static void remove_block(struct stream *s, size_t i)
{
    struct block *b = block_at(s, i);

    s->bytes -= sizeof(*b) + b->cap;
    rp_free(b);
    if (i == 0) {
        s->head++;
    } else {
        memmove(&s->blocks[s->head + i], &s->blocks[s->head + i + 1], (s->nblocks - i - 1) * sizeof(struct block *));
    }
    s->nblocks--;
    if (s->nblocks == 0)
        s->head = 0;
}

// Makes room for one more block pointer at the end.
static int reserve_block_slot(struct stream *s)
{
    if (s->head + s->nblocks < s->cap)
        return 0;
    // Slide down first when the front has emptied out by trimming.
    if (s->head > 0 && s->head >= s->cap / 2) {
        memmove(s->blocks, s->blocks + s->head, s->nblocks * sizeof(struct block *));
        s->head = 0;
        return 0;
    }
    size_t cap = s->cap ? s->cap * 2 : 8;
    struct block **p = rp_reallocarray(s->blocks, cap, sizeof(*p));
    if (p == NULL)
        return RP_ERR_NOMEM;
    s->blocks = p;
    s->cap = cap;
    return 0;
}

static int reserve_scratch(struct stream *s, size_t pairs)
{
    if (pairs <= s->scratch_pairs)
        return 0;
    const char **ptrs = rp_reallocarray(s->ptrs, pairs * 2, sizeof(*ptrs));
    if (ptrs == NULL)
        return RP_ERR_NOMEM;
    s->ptrs = ptrs;
    size_t *lens = rp_reallocarray(s->lens, pairs * 2, sizeof(*lens));
    if (lens == NULL)
        return RP_ERR_NOMEM;
    s->lens = lens;
    s->scratch_pairs = pairs;
    return 0;
}

int stream_append(struct stream *s, struct stream_id id, const struct rp_resp_str *argv, size_t pairs)
{
    assert(stream_id_cmp(id, s->last_id) > 0);

    if (reserve_scratch(s, pairs) != 0)
        return RP_ERR_NOMEM;

    struct block *b = s->nblocks ? block_at(s, s->nblocks - 1) : NULL;
    size_t payload = 0;
    for (size_t i = 0; i < pairs * 2; i++)
        payload += varint_len(argv[i].len) + argv[i].len;

    // Ids inside a block are stored relative to its first id's milliseconds.
    size_t need = 1 + 10 + 10 + varint_len(pairs) + payload;
    int fresh = b == NULL || b->count >= STREAM_BLOCK_ENTRIES || (b->count > 0 && b->used + need > STREAM_BLOCK_BYTES);
    if (!fresh && b->cap - b->used < need) {
        size_t cap = b->cap * 2 > b->used + need ? b->cap * 2 : b->used + need;
        struct block *nb = rp_realloc(b, sizeof(*nb) + cap);
        if (nb == NULL)
            return RP_ERR_NOMEM;
        s->bytes += cap - nb->cap;
        nb->cap = cap;
        b = nb;
        s->blocks[s->head + s->nblocks - 1] = nb;
    }
    if (fresh) {
        if (reserve_block_slot(s) != 0)
            return RP_ERR_NOMEM;
        size_t cap = need > 512 ? need : 512;
        b = rp_malloc(sizeof(*b) + cap);
        if (b == NULL)
            return RP_ERR_NOMEM;
        *b = (struct block){.first = id, .cap = cap};
        s->bytes += sizeof(*b) + cap;
        s->blocks[s->head + s->nblocks++] = b;
    }

    unsigned char *p = b->data + b->used;
    *p++ = 0;
    p += varint_put(p, id.ms - b->first.ms);
    p += varint_put(p, id.seq);
    p += varint_put(p, pairs);
    for (size_t i = 0; i < pairs * 2; i++) {
        p += varint_put(p, argv[i].len);
        if (argv[i].len)
            memcpy(p, argv[i].ptr, argv[i].len);
        p += argv[i].len;
    }
    b->used = (size_t)(p - b->data);
    b->last = id;
    b->count++;
    b->live++;
    s->len++;
    s->last_id = id;
    return 0;
}

// Decodes the entry at *p into e (using the stream's scratch arrays) and
// advances *p past it. Returns the entry's flags byte position.
static unsigned char *decode_entry(const struct stream *s, const struct block *b, const unsigned char **p,
                                   struct stream_entry *e)
{
    unsigned char *flags = (unsigned char *)*p;
    const unsigned char *q = *p + 1;

    e->id.ms = b->first.ms + varint_get(&q);
    e->id.seq = varint_get(&q);
    e->field_count = varint_get(&q);
    for (size_t i = 0; i < e->field_count * 2; i++) {
        size_t len = varint_get(&q);
        s->ptrs[i] = (const char *)q;
        s->lens[i] = len;
        q += len;
    }
    e->ptrs = s->ptrs;
    e->lens = s->lens;
    *p = q;
    return flags;
}

// Index of the last block whose first id is <= id, or 0 if there is none.
static size_t find_block(const struct stream *s, struct stream_id id)
{
    size_t lo = 0, hi = s->nblocks;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (stream_id_cmp(block_at(s, mid)->first, id) <= 0)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

size_t stream_range(const struct stream *s, struct stream_id start, struct stream_id end, size_t count, int reverse,
                    int (*fn)(void *ctx, const struct stream_entry *e), void *ctx)
{
    size_t visited = 0;
    struct stream_entry e;

    if (s->len == 0 || stream_id_cmp(start, end) > 0)
        return 0;

    if (!reverse) {
        for (size_t bi = find_block(s, start); bi < s->nblocks; bi++) {
            const struct block *b = block_at(s, bi);
            if (stream_id_cmp(b->first, end) > 0)
                break;
            const unsigned char *p = b->data;
            for (uint32_t i = 0; i < b->count; i++) {
                unsigned char *flags = decode_entry(s, b, &p, &e);
                if ((*flags & ENTRY_DELETED) || stream_id_cmp(e.id, start) < 0)
                    continue;
                if (stream_id_cmp(e.id, end) > 0)
                    return visited;
                visited++;
                if (fn(ctx, &e) || (count && visited >= count))
                    return visited;
            }
        }
        return visited;
    }

    size_t bi = find_block(s, end) + 1;
    while (bi-- > 0) {
        const struct block *b = block_at(s, bi);
        if (stream_id_cmp(b->last, start) < 0)
            break;
        // Entries have variable length: note their offsets, then walk back.
        uint32_t offsets[STREAM_BLOCK_ENTRIES];
        const unsigned char *p = b->data;
        for (uint32_t i = 0; i < b->count; i++) {
            offsets[i] = (uint32_t)(p - b->data);
            decode_entry(s, b, &p, &e);
        }
        for (uint32_t i = b->count; i-- > 0;) {
            p = b->data + offsets[i];
            unsigned char *flags = decode_entry(s, b, &p, &e);
            if ((*flags & ENTRY_DELETED) || stream_id_cmp(e.id, end) > 0)
                continue;
            if (stream_id_cmp(e.id, start) < 0)
                return visited;
            visited++;
            if (fn(ctx, &e) || (count && visited >= count))
                return visited;
        }
    }
    return visited;
}

// Marks the entry at flags deleted in block bi, freeing the block when it empties.
static void delete_at(struct stream *s, size_t bi, unsigned char *flags)
{
    struct block *b = block_at(s, bi);

    *flags |= ENTRY_DELETED;
    b->live--;
    s->len--;
    if (b->live == 0)
        remove_block(s, bi);
}

int stream_delete(struct stream *s, struct stream_id id)
{
    if (s->len == 0)
        return 0;

    size_t bi = find_block(s, id);
    struct block *b = block_at(s, bi);
    if (stream_id_cmp(id, b->first) < 0 || stream_id_cmp(id, b->last) > 0)
        return 0;

    const unsigned char *p = b->data;
    struct stream_entry e;
    for (uint32_t i = 0; i < b->count; i++) {
        unsigned char *flags = decode_entry(s, b, &p, &e);
        int cmp = stream_id_cmp(e.id, id);
        if (cmp > 0)
            return 0;
        if (cmp == 0) {
            if (*flags & ENTRY_DELETED)
                return 0;
            delete_at(s, bi, flags);
            return 1;
        }
    }
    return 0;
}

// Deletes live entries from the front of the first block while keep(entry)
// is false, up to max entries. Returns how many were deleted.
static uint64_t trim_front_entries(struct stream *s, uint64_t max, struct stream_id below, int by_id)
{
    uint64_t removed = 0;
    struct block *b = block_at(s, 0);
    const unsigned char *p = b->data;
    struct stream_entry e;

    for (uint32_t i = 0; i < b->count && removed < max; i++) {
        unsigned char *flags = decode_entry(s, b, &p, &e);
        if (*flags & ENTRY_DELETED)
            continue;
        if (by_id && stream_id_cmp(e.id, below) >= 0)
            break;
        int last_live = b->live == 1;
        delete_at(s, 0, flags);
        removed++;
        if (last_live)
            break;   // the block was freed
    }
    return removed;
}

// Frees the first block whole, adding its live entries to *removed, unless
// that would take *removed past limit (0 for none). Returns 1 if it did.
static int drop_head_block(struct stream *s, uint64_t limit, uint64_t *removed)
{
    struct block *b = block_at(s, 0);

    if (limit && *removed + b->live > limit)
        return 0;
    *removed += b->live;
    s->len -= b->live;
    remove_block(s, 0);
    return 1;
}

// Entries the LIMIT option still allows after `removed`; a limit of 0 means none.
static uint64_t limit_left(uint64_t limit, uint64_t removed)
{
    if (limit == 0)
        return UINT64_MAX;
    if (limit > removed)
        return limit - removed;
    return 0;
}

uint64_t stream_trim_maxlen(struct stream *s, uint64_t maxlen, int approx, uint64_t limit)
{
    uint64_t removed = 0;

    while (s->len > maxlen && s->nblocks > 0) {
        struct block *b = block_at(s, 0);
        uint64_t excess = s->len - maxlen;
        if (b->live <= excess) {
            if (!drop_head_block(s, limit, &removed))
                break;
            continue;
        }
        if (approx)
            break;
        uint64_t max = limit_left(limit, removed);
        if (max > excess)
            max = excess;
        if (max == 0)
            break;
        removed += trim_front_entries(s, max, (struct stream_id){0, 0}, 0);
        break;
    }
    return removed;
}

uint64_t stream_trim_minid(struct stream *s, struct stream_id minid, int approx, uint64_t limit)
{
    uint64_t removed = 0;

    while (s->nblocks > 0) {
        struct block *b = block_at(s, 0);
        if (stream_id_cmp(b->last, minid) < 0) {
            if (!drop_head_block(s, limit, &removed))
                break;
            continue;
        }
        if (approx || stream_id_cmp(b->first, minid) >= 0)
            break;
        uint64_t max = limit_left(limit, removed);
        if (max > 0)
            removed += trim_front_entries(s, max, minid, 1);
        break;
    }
    return removed;
}
