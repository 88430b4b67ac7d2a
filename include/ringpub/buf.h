/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Byte buffers: a growable buffer owned by one writer (rp_buf), and an
 * immutable reference-counted buffer (rp_rcbuf) that many output queues can
 * hold at once, which is how one encoded pub/sub frame reaches N subscribers
 * without N copies.
 */
#ifndef RINGPUB_BUF_H
#define RINGPUB_BUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Growable byte buffer. The fields may be read directly; change them only
 * through the functions below. data is NULL until the first write, and is not
 * NUL-terminated.
 */
struct rp_buf {
    char *data;
    size_t len;
    size_t cap;
};

#define RP_BUF_INIT {NULL, 0, 0}

/* Ensures room for extra more bytes. Returns 0 or RP_ERR_NOMEM. */
int rp_buf_reserve(struct rp_buf *b, size_t extra);

/* Appends n bytes. Returns 0 or RP_ERR_NOMEM (the buffer is then unchanged). */
int rp_buf_append(struct rp_buf *b, const void *p, size_t n);

/* Drops the first n bytes (n <= len), moving the rest to the front. */
void rp_buf_consume(struct rp_buf *b, size_t n);

/* Empties the buffer and keeps its memory. */
static inline void rp_buf_clear(struct rp_buf *b) { b->len = 0; }

/* Frees the memory; the buffer is then empty and may be reused. */
void rp_buf_free(struct rp_buf *b);

/*
 * Immutable reference-counted bytes. The count is not atomic: a buffer
 * belongs to one event loop, and crossing loops means a copy or a queue.
 */
struct rp_rcbuf;

/*
 * Allocates a buffer holding a copy of p[0..n) with one reference.
 * Returns NULL when out of memory.
 */
struct rp_rcbuf *rp_rcbuf_create(const void *p, size_t n);

/*
 * Takes ownership of b's memory (b is left empty) and wraps it with one
 * reference, without copying. Returns NULL when out of memory (b untouched).
 */
struct rp_rcbuf *rp_rcbuf_from_buf(struct rp_buf *b);

struct rp_rcbuf *rp_rcbuf_ref(struct rp_rcbuf *rb);

/* Drops one reference; the last one frees the buffer. NULL is ignored. */
void rp_rcbuf_unref(struct rp_rcbuf *rb);

const char *rp_rcbuf_data(const struct rp_rcbuf *rb);
size_t rp_rcbuf_len(const struct rp_rcbuf *rb);
uint32_t rp_rcbuf_refs(const struct rp_rcbuf *rb);

#ifdef __cplusplus
}
#endif

#endif
