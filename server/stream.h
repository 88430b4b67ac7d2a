// SPDX-License-Identifier: BSD-3-Clause
// Stream storage for XADD/XRANGE/XREAD history keys. Entries are packed into
// blocks of up to STREAM_BLOCK_ENTRIES entries (one allocation per block, not
// per field), kept in id order in an array of block pointers, so a range read
// costs a binary search plus the entries returned, and trimming from the
// front frees whole blocks in time proportional to what is removed.

#ifndef RINGPUB_SERVER_STREAM_H
#define RINGPUB_SERVER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "ringpub/resp.h"

#define STREAM_BLOCK_ENTRIES 100    // redis stream-node-max-entries default
#define STREAM_BLOCK_BYTES 4096     // redis stream-node-max-bytes default

struct stream_id {
    uint64_t ms;
    uint64_t seq;
};

struct stream;

// One entry as read back: fields point into the stream's block, valid until
// the stream is next changed.
struct stream_entry {
    struct stream_id id;
    size_t field_count;              // name/value pairs
    const char *const *ptrs;         // 2 * field_count pointers
    const size_t *lens;
};

struct stream *stream_create(void);
void stream_free(struct stream *s);

static inline int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

// Number of entries (XLEN).
uint64_t stream_len(const struct stream *s);

// The greatest id ever added; deletions do not lower it. 0-0 when empty and new.
struct stream_id stream_last_id(const struct stream *s);

// Sets the last id (XADD of an id below it is rejected). For AOF replay and XSETID.
void stream_set_last_id(struct stream *s, struct stream_id id);

// Appends an entry whose id must be greater than stream_last_id (the caller
// checks). argv holds 2 * pairs strings: name, value, name, value...
// Returns 0 or RP_ERR_NOMEM.
int stream_append(struct stream *s, struct stream_id id, const struct rp_resp_str *argv, size_t pairs);

// Calls fn for entries with start <= id <= end, ascending (or descending
// when reverse), at most count of them (0 for no limit). fn returns nonzero
// to stop early. Returns the number of entries visited.
size_t stream_range(const struct stream *s, struct stream_id start, struct stream_id end, size_t count, int reverse,
                    int (*fn)(void *ctx, const struct stream_entry *e), void *ctx);

// Deletes one entry. Returns 1 if it existed, 0 otherwise.
int stream_delete(struct stream *s, struct stream_id id);

// XTRIM MAXLEN / MINID. With approx, only whole blocks are removed, so the
// stream may keep up to one block's worth more than asked, never fewer.
// limit (0 for none) caps the entries removed, as the LIMIT option does.
// Returns the number of entries removed.
uint64_t stream_trim_maxlen(struct stream *s, uint64_t maxlen, int approx, uint64_t limit);
uint64_t stream_trim_minid(struct stream *s, struct stream_id minid, int approx, uint64_t limit);

// Bytes held by the stream's blocks and index (INFO memory).
size_t stream_memory(const struct stream *s);

#endif
