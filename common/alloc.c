// SPDX-License-Identifier: BSD-3-Clause
// The allocation hooks behind rp_malloc and friends.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringpub/alloc.h"

static struct rp_alloc_hooks hooks = {malloc, realloc, free};

void rp_set_alloc_hooks(const struct rp_alloc_hooks *h)
{
    if (h == NULL) {
        hooks = (struct rp_alloc_hooks){malloc, realloc, free};
        return;
    }
    hooks = *h;
}

void *rp_malloc(size_t size)
{
    return hooks.malloc_fn(size ? size : 1);
}

void *rp_realloc(void *ptr, size_t size)
{
    return hooks.realloc_fn(ptr, size ? size : 1);
}

void rp_free(void *ptr)
{
    if (ptr != NULL)
        hooks.free_fn(ptr);
}

void *rp_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;

    void *p = rp_malloc(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *rp_reallocarray(void *ptr, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return rp_realloc(ptr, n * size);
}
