// SPDX-License-Identifier: BSD-3-Clause
// Differential fuzz target for rp_ps_glob_match: compares it with a small
// recursive reference matcher written here from the redis 7.0
// stringmatchlen() rules, on patterns and strings of up to 16 bytes.
//
// Input: byte 0 sets nocase (bit 0), byte 1 gives where the pattern ends,
// and the remaining bytes are the pattern followed by the string.

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringpub/pubsub.h"
#include "pubsub/pubsub_internal.h"

#define MAX_INPUT 16

// The reference tries every split for every '*', so it gives up after this
// many calls (the result then counts as unknown) instead of running long.
#define REF_CALL_BUDGET 200000

static int fold(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

// Builds the set of bytes that the class at p[0] == '[' matches, the way
// redis reads it, and returns the class length in pattern bytes.
static size_t ref_class(const unsigned char *p, size_t plen, int nocase, unsigned char set[256])
{
    size_t i = 1;
    int negate = i < plen && p[i] == '^';
    if (negate)
        i++;
    memset(set, 0, 256);

    for (;;) {
        if (i < plen && p[i] == '\\' && plen - i >= 2) {
            set[p[i + 1]] = 1;  // escaped bytes ignore nocase
            i += 2;
        } else if (i < plen && p[i] == ']') {
            i++;
            break;
        } else if (i >= plen) {
            break;  // unterminated: the class ends with the pattern
        } else if (plen - i >= 3 && p[i + 1] == '-') {
            int lo = (signed char)p[i], hi = (signed char)p[i + 2];
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (nocase) {
                lo = fold(lo);
                hi = fold(hi);
            }
            for (int b = 0; b < 256; b++) {
                int x = (signed char)b;
                if (nocase)
                    x = fold(x);
                if (x >= lo && x <= hi)
                    set[b] = 1;
            }
            i += 3;
        } else {
            for (int b = 0; b < 256; b++) {
                if (b == p[i] || (nocase && fold((signed char)b) == fold((signed char)p[i])))
                    set[b] = 1;
            }
            i++;
        }
    }

    if (negate) {
        for (int b = 0; b < 256; b++)
            set[b] = !set[b];
    }
    return i;
}

// Returns 1 on a match, 0 on none, or -1 when the call budget ran out.
static int ref_match(const unsigned char *p, size_t plen, const unsigned char *s, size_t slen, int nocase,
                     long *budget)
{
    if (--*budget < 0)
        return -1;
    if (plen == 0)
        return slen == 0;

    if (p[0] == '*') {
        for (size_t k = 0; k <= slen; k++) {
            int r = ref_match(p + 1, plen - 1, s + k, slen - k, nocase, budget);
            if (r != 0)
                return r;
        }
        return 0;
    }
    if (slen == 0)
        return 0;

    size_t len = 1;
    int ok;
    if (p[0] == '?') {
        ok = 1;
    } else if (p[0] == '[') {
        unsigned char set[256];
        len = ref_class(p, plen, nocase, set);
        ok = set[s[0]];
    } else {
        unsigned char lit = p[0];
        if (p[0] == '\\' && plen >= 2) {
            lit = p[1];
            len = 2;
        }
        ok = nocase ? fold((signed char)lit) == fold((signed char)s[0]) : lit == s[0];
    }
    if (!ok)
        return 0;
    return ref_match(p + len, plen - len, s + 1, slen - 1, nocase, budget);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int nocase = data[0] & 1;
    const unsigned char *rest = data + 2;
    size_t rest_len = size - 2;
    size_t plen = data[1] % (rest_len + 1);
    size_t slen = rest_len - plen;
    if (plen > MAX_INPUT || slen > MAX_INPUT)
        return 0;
    const char *pattern = (const char *)rest;
    const char *str = (const char *)rest + plen;

    int got = rp_ps_glob_match(pattern, plen, str, slen, nocase);

    // Redis matches nothing against an empty string except the empty
    // pattern, which the plain recursive rules would not give for "*".
    long budget = REF_CALL_BUDGET;
    int want = slen == 0 ? plen == 0 : ref_match(rest, plen, rest + plen, slen, nocase, &budget);
    if (want >= 0 && got != want) {
        fprintf(stderr,
                "rp_ps_glob_match returned %d, the reference expected %d "
                "(nocase=%d, pattern %zu bytes, string %zu bytes)\n",
                got, want, nocase, plen, slen);
        abort();
    }

    // The prefix index relies on this: a case-sensitive match starts with
    // the pattern's literal prefix.
    size_t prefix = rp_ps_pattern_prefix_len(pattern, plen);
    if (got && !nocase && (slen < prefix || memcmp(str, pattern, prefix) != 0)) {
        fprintf(stderr, "rp_ps_glob_match matched a string without the pattern's %zu-byte literal prefix\n",
                prefix);
        abort();
    }
    return 0;
}
