/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test helpers for the RESP parsers. They place inputs against a PROT_NONE
 * guard page, run every case under three feeding schedules (whole, one byte
 * at a time, split in two at every offset), build text transcripts and
 * provide a failing allocator.
 */
#ifndef RP_TEST_RESP_HARNESS_H
#define RP_TEST_RESP_HARNESS_H

#include <stddef.h>

/* A growable NUL-terminated string for transcripts. */
struct text {
    char *s;
    size_t len;
    size_t cap;
};

void text_add(struct text *t, const char *s, size_t n);
void text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends bytes as <...>, with bytes outside 0x21..0x7e and < > \ as \xHH. */
void text_add_quoted(struct text *t, const char *s, size_t n);
void text_free(struct text *t);

/*
 * Copies src[0..n) so that its last byte sits right before a PROT_NONE page,
 * and returns the copy. Any read past n faults. The copy stays valid until
 * the next call or guard_release(). Each call of a feeding schedule places a
 * longer prefix at a new address, which also checks that parsers keep
 * offsets, not pointers, across calls.
 */
const char *guard_place(const char *src, size_t n);
void guard_release(void);

/*
 * How many input bytes have "arrived" after the next network read. total is
 * the input size, split is the split offset (for FEED_SPLIT).
 */
enum feed_mode { FEED_WHOLE, FEED_BYTES, FEED_SPLIT };
size_t feed_next(enum feed_mode mode, size_t received, size_t total, size_t split);

/*
 * Runs one feeding schedule over input and returns the transcript (caller
 * frees with free()). Implemented by each test file for its parser.
 */
typedef char *(*run_fn)(const char *input, size_t len, enum feed_mode mode, size_t split);

/*
 * Runs input whole, one byte at a time and split at every offset, and fails
 * the test unless all transcripts equal expected. Past 4 KiB, inputs grow in
 * 61-byte steps and are split at about 1024 offsets plus the last 8, to keep
 * the run short.
 */
void check_all_modes(run_fn run, const char *input, size_t len, const char *expected);

/*
 * Names the fuzz corpus this test binary seeds ("request", "reply"). When
 * the environment variable RP_RESP_CORPUS_DIR is set, check_all_modes()
 * writes each input of at most 4 KiB to
 * $RP_RESP_CORPUS_DIR/<name>/<FNV-1a hash of the input>, which is how
 * fuzz/corpus/ is refreshed from the unit-test inputs.
 */
void harness_set_corpus(const char *name);

/* Failing allocator: after n successful (re)allocations, every one fails; n < 0 never fails. */
void failing_alloc_install(long n);
void failing_alloc_remove(void);
/* The number of (re)allocations made since install. */
long failing_alloc_count(void);
/* The largest size one (re)allocation asked for since install. */
size_t failing_alloc_max_size(void);

#endif
