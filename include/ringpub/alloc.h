/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allocation hooks. Every allocation in libringpub goes through these, so an
 * embedding program can plug in its allocator and tests can inject failures.
 */
#ifndef RINGPUB_ALLOC_H
#define RINGPUB_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rp_alloc_hooks {
    void *(*malloc_fn)(size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void (*free_fn)(void *ptr);
};

/*
 * Replaces the allocator; NULL restores the C library's. Call before any
 * other rp_ function: memory must be freed by the allocator that made it.
 */
void rp_set_alloc_hooks(const struct rp_alloc_hooks *hooks);

void *rp_malloc(size_t size);
void *rp_realloc(void *ptr, size_t size);
void rp_free(void *ptr);

/* Allocates zeroed memory for n items; returns NULL if n * size overflows. */
void *rp_calloc(size_t n, size_t size);

/* Resizes to n items of size bytes; returns NULL (ptr untouched) on overflow. */
void *rp_reallocarray(void *ptr, size_t n, size_t size);

#ifdef __cplusplus
}
#endif

#endif
