// SPDX-License-Identifier: BSD-3-Clause
// Shared by the parser fuzz targets: a transcript of what a parser returned,
// and the three ways of feeding one input (whole, split in two, one byte at
// a time) whose transcripts must be identical.

#ifndef RINGPUB_FUZZ_FEED_H
#define RINGPUB_FUZZ_FEED_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct transcript {
    unsigned char *bytes;
    size_t len;
    size_t cap;
};

static inline void record(struct transcript *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n)
            cap *= 2;
        t->bytes = realloc(t->bytes, cap);
        if (t->bytes == NULL)
            abort();
        t->cap = cap;
    }
    memcpy(t->bytes + t->len, p, n);
    t->len += n;
}

static inline void record_u64(struct transcript *t, uint64_t v)
{
    record(t, &v, sizeof(v));
}

enum feed { FEED_WHOLE, FEED_SPLIT, FEED_BYTES };

// Returns how many input bytes the parser sees after `received` were shown.
static inline size_t next_received(enum feed feed, size_t received, size_t size, size_t split)
{
    if (feed == FEED_WHOLE)
        return size;
    if (feed == FEED_BYTES)
        return received < size ? received + 1 : size;
    return received < split ? split : size;
}

#endif
