// SPDX-License-Identifier: BSD-3-Clause
// Test helpers for the RESP parsers; see harness.h.

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ringpub/alloc.h"
#include "harness.h"

void text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->len + n + 1)
            cap *= 2;
        t->s = realloc(t->s, cap);
        assert_non_null(t->s);
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

void text_addf(struct text *t, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(tmp));
    text_add(t, tmp, (size_t)n);
}

void text_add_quoted(struct text *t, const char *s, size_t n)
{
    text_add(t, "<", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '<' || c == '>' || c == '\\')
            text_addf(t, "\\x%02x", c);
        else
            text_add(t, (const char *)&c, 1);
    }
    text_add(t, ">", 1);
}

void text_free(struct text *t)
{
    free(t->s);
    *t = (struct text){0};
}

static char *guard_map;
static size_t guard_map_len;

void guard_release(void)
{
    if (guard_map != NULL)
        munmap(guard_map, guard_map_len);
    guard_map = NULL;
    guard_map_len = 0;
}

const char *guard_place(const char *src, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (n + page - 1) / page + 1;
    size_t map_len = (data_pages + 1) * page;

    guard_release();
    char *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    char *guard = map + data_pages * page;
    assert_int_equal(mprotect(guard, page, PROT_NONE), 0);
    guard_map = map;
    guard_map_len = map_len;

    char *dst = guard - n;
    if (n > 0)
        memcpy(dst, src, n);
    return dst;
}

size_t feed_next(enum feed_mode mode, size_t received, size_t total, size_t split)
{
    switch (mode) {
    case FEED_WHOLE:
        return total;
    case FEED_BYTES:
        // Past 4 KiB, step by 61 bytes: each call copies the whole prefix
        // next to the guard page, so single steps would be quadratic.
        if (received >= total)
            return total;
        if (received < 4096)
            return received + 1;
        return total - received > 61 ? received + 61 : total;
    case FEED_SPLIT:
        return received < split ? split : total;
    }
    return total;
}

static void expect_transcript(const char *what, size_t split, const char *got, const char *expected)
{
    if (strcmp(got, expected) != 0) {
        print_error("%s (split %zu):\n  got:      %s\n  expected: %s\n", what, split, got, expected);
        fail();
    }
}

static const char *corpus_name;

void harness_set_corpus(const char *name)
{
    corpus_name = name;
}

static void write_corpus_file(const char *input, size_t len)
{
    // The fuzz targets reach the limit paths with small limits, and large
    // seeds (the 64 KiB line cases) would only slow every fuzz run.
    const char *dir = getenv("RP_RESP_CORPUS_DIR");
    if (dir == NULL || corpus_name == NULL || len > 4096)
        return;

    uint64_t hash = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char)input[i]) * 1099511628211ull;
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s/%016llx", dir, corpus_name, (unsigned long long)hash);
    assert_true(n > 0 && (size_t)n < sizeof(path));

    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("cannot write corpus file %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(input, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void check_all_modes(run_fn run, const char *input, size_t len, const char *expected)
{
    write_corpus_file(input, len);

    char *whole = run(input, len, FEED_WHOLE, 0);
    expect_transcript("fed whole", 0, whole, expected);
    free(whole);

    char *bytes = run(input, len, FEED_BYTES, 0);
    expect_transcript("fed one byte at a time", 0, bytes, expected);
    free(bytes);

    size_t stride = len <= 4096 ? 1 : len / 1024 + 1;
    for (size_t k = 1; k < len; k += stride) {
        char *split = run(input, len, FEED_SPLIT, k);
        expect_transcript("fed in two parts", k, split, expected);
        free(split);
    }
    if (len > 4096) {
        for (size_t k = len - 8; k < len; k++) {
            char *split = run(input, len, FEED_SPLIT, k);
            expect_transcript("fed in two parts", k, split, expected);
            free(split);
        }
    }
}

static long fail_after = -1;
static long alloc_count;
static size_t alloc_max_size;

static void *failing_malloc(size_t size)
{
    alloc_count++;
    if (size > alloc_max_size)
        alloc_max_size = size;
    if (fail_after >= 0 && alloc_count > fail_after)
        return NULL;
    return malloc(size);
}

static void *failing_realloc(void *ptr, size_t size)
{
    alloc_count++;
    if (size > alloc_max_size)
        alloc_max_size = size;
    if (fail_after >= 0 && alloc_count > fail_after)
        return NULL;
    return realloc(ptr, size);
}

void failing_alloc_install(long n)
{
    static const struct rp_alloc_hooks hooks = {failing_malloc, failing_realloc, free};
    fail_after = n;
    alloc_count = 0;
    alloc_max_size = 0;
    rp_set_alloc_hooks(&hooks);
}

void failing_alloc_remove(void)
{
    fail_after = -1;
    rp_set_alloc_hooks(NULL);
}

long failing_alloc_count(void)
{
    return alloc_count;
}

size_t failing_alloc_max_size(void)
{
    return alloc_max_size;
}
