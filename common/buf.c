// SPDX-License-Identifier: BSD-3-Clause
// Growable buffers and reference-counted immutable buffers.

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/buf.h"
#include "ringpub/err.h"

int rp_buf_reserve(struct rp_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return RP_ERR_NOMEM;

    // Doubling keeps appends amortised O(1); 64 bytes avoids tiny steps.
    size_t want = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;

    char *p = rp_realloc(b->data, cap);
    if (p == NULL)
        return RP_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int rp_buf_append(struct rp_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int err = rp_buf_reserve(b, n);
    if (err)
        return err;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void rp_buf_consume(struct rp_buf *b, size_t n)
{
    assert(n <= b->len);
    if (n < b->len)
        memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void rp_buf_free(struct rp_buf *b)
{
    rp_free(b->data);
    *b = (struct rp_buf)RP_BUF_INIT;
}

struct rp_rcbuf {
    uint32_t refs;
    size_t len;
    char *data;          // points at inline_data, or at memory taken from an rp_buf
    char inline_data[];
};

struct rp_rcbuf *rp_rcbuf_create(const void *p, size_t n)
{
    if (n > SIZE_MAX - sizeof(struct rp_rcbuf))
        return NULL;

    struct rp_rcbuf *rb = rp_malloc(sizeof(*rb) + n);
    if (rb == NULL)
        return NULL;
    rb->refs = 1;
    rb->len = n;
    rb->data = rb->inline_data;
    if (n)
        memcpy(rb->data, p, n);
    return rb;
}

struct rp_rcbuf *rp_rcbuf_from_buf(struct rp_buf *b)
{
    struct rp_rcbuf *rb = rp_malloc(sizeof(*rb));
    if (rb == NULL)
        return NULL;
    rb->refs = 1;
    rb->len = b->len;
    rb->data = b->data;
    *b = (struct rp_buf)RP_BUF_INIT;
    return rb;
}

struct rp_rcbuf *rp_rcbuf_ref(struct rp_rcbuf *rb)
{
    assert(rb->refs > 0 && rb->refs < UINT32_MAX);
    rb->refs++;
    return rb;
}

void rp_rcbuf_unref(struct rp_rcbuf *rb)
{
    if (rb == NULL)
        return;
    assert(rb->refs > 0);
    if (--rb->refs > 0)
        return;
    if (rb->data != rb->inline_data)
        rp_free(rb->data);
    rp_free(rb);
}

const char *rp_rcbuf_data(const struct rp_rcbuf *rb)
{
    return rb->data;
}

size_t rp_rcbuf_len(const struct rp_rcbuf *rb)
{
    return rb->len;
}

uint32_t rp_rcbuf_refs(const struct rp_rcbuf *rb)
{
    return rb->refs;
}
