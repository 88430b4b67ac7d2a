// SPDX-License-Identifier: BSD-3-Clause
// Glob matching with the exact results of redis 7.0 stringmatchlen(), in
// O(pattern * string) time without recursion.
//
// Redis recurses once per '*'. Every other token ('?', a class, a literal,
// an escaped byte) consumes exactly one byte of the string. So a failed
// attempt only needs to restart from the most recent '*', with that star
// absorbing one more byte, which is the classic two-pointer algorithm. The
// redis quirks that change results are reproduced and were checked against
// redis-server 7.0.15 (tests/pubsub/glob_table.txt):
//   - an empty string matches only the empty pattern, so "*" does not match "";
//   - an unterminated class "[abc" ends at the end of the pattern, "[" alone
//     never matches and "[^" matches any byte;
//   - "[]" never matches and "[^]" matches any byte, ']' closing both;
//   - inside a class '\' escapes the next byte (compared case-sensitively
//     even with nocase) unless it is the last byte of the pattern, where it
//     is a literal '\'; outside a class a trailing '\' is a literal '\';
//   - "x-y" is a range whenever '-' follows x and a byte follows the '-',
//     even when that byte is ']' ("[a-]" is the range ']'..'a');
//   - ranges compare bytes as signed char, as redis on x86-64 does, after
//     swapping reversed ends and only then folding case;
//   - redis gives up past 1000 nested '*' (see exceeds_star_cap).

#include <stddef.h>
#include <stdint.h>

#include "ringpub/pubsub.h"

// Redis 7.0 stops recursing past nesting level 1000 (its guard against
// abusive patterns), and each '*' group is one level.
#define REDIS_MAX_STAR_GROUPS 1001

// ASCII case folding, as tolower() in the "C" locale that redis runs its
// matcher in: only 'A'..'Z' change, bytes >= 0x80 never do.
static inline int fold_case(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static inline int bytes_equal(char a, char b, int nocase)
{
    if (!nocase)
        return a == b;
    return fold_case((signed char)a) == fold_case((signed char)b);
}

// Matches the class starting at pat[p] == '[' against c. Sets *next to the
// index after the class. How far the class reaches does not depend on c.
static int match_class(const char *pat, size_t plen, size_t p, char c, int nocase, size_t *next)
{
    p++;
    int negate = p < plen && pat[p] == '^';
    if (negate)
        p++;

    int match = 0;
    for (;;) {
        if (p < plen && pat[p] == '\\' && plen - p >= 2) {
            p++;
            if (pat[p] == c)
                match = 1;
        } else if (p < plen && pat[p] == ']') {
            break;
        } else if (p >= plen) {
            // Unterminated: the class takes the rest of the pattern.
            p--;
            break;
        } else if (plen - p >= 3 && pat[p + 1] == '-') {
            int start = (signed char)pat[p];
            int end = (signed char)pat[p + 2];
            int x = (signed char)c;
            if (start > end) {
                int t = start;
                start = end;
                end = t;
            }
            if (nocase) {
                start = fold_case(start);
                end = fold_case(end);
                x = fold_case(x);
            }
            p += 2;
            if (x >= start && x <= end)
                match = 1;
        } else if (bytes_equal(pat[p], c, nocase)) {
            match = 1;
        }
        p++;
    }

    *next = p + 1;
    return negate ? !match : match;
}

// Matches the one-byte token at pat[p] (anything but '*') against c, and
// sets *next to the index after it.
static int match_token(const char *pat, size_t plen, size_t p, char c, int nocase, size_t *next)
{
    switch (pat[p]) {
    case '?':
        *next = p + 1;
        return 1;
    case '[':
        return match_class(pat, plen, p, c, nocase, next);
    case '\\':
        if (plen - p >= 2)
            p++;
        break;
    default:
        break;
    }
    *next = p + 1;
    return bytes_equal(pat[p], c, nocase);
}

// Returns 1 if redis's nesting limit makes the pattern match nothing. The
// 1001st '*' group is the deepest redis explores: it still matches when it
// ends the pattern, and fails otherwise, so a pattern with a 1001st group
// that is not last never matches any non-empty string.
static int exceeds_star_cap(const char *pat, size_t plen)
{
    size_t groups = 0;
    size_t p = 0;
    while (p < plen) {
        if (pat[p] != '*') {
            match_token(pat, plen, p, 0, 0, &p);
            continue;
        }
        while (p + 1 < plen && pat[p + 1] == '*')
            p++;
        if (++groups == REDIS_MAX_STAR_GROUPS)
            return p + 1 != plen;
        p++;
    }
    return 0;
}

int rp_ps_glob_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase)
{
    // Redis matches tokens only while string bytes remain, so an empty
    // string matches the empty pattern and nothing else, not even "*".
    if (slen == 0)
        return plen == 0;

    // A 1001st group needs at least 2001 pattern bytes ("*a" repeated).
    if (plen > 2 * REDIS_MAX_STAR_GROUPS - 2 && exceeds_star_cap(pat, plen))
        return 0;

    size_t p = 0;
    size_t s = 0;
    size_t star_p = SIZE_MAX;   // pattern index after the last '*' group seen
    size_t star_s = 0;          // string index where that star's match ends

    // Invariant: s < slen at the top of the loop.
    for (;;) {
        if (p < plen && pat[p] == '*') {
            while (p + 1 < plen && pat[p + 1] == '*')
                p++;
            if (p + 1 == plen)
                return 1;
            star_p = p + 1;
            star_s = s;
            p = star_p;
            continue;
        }

        if (p < plen) {
            size_t next;
            if (match_token(pat, plen, p, str[s], nocase, &next)) {
                p = next;
                s++;
                if (s < slen)
                    continue;

                // The string is used up: only trailing stars may remain.
                while (p < plen && pat[p] == '*')
                    p++;
                if (p == plen)
                    return 1;
            }
        }

        // Mismatch, or pattern used up with string left: let the last star
        // absorb one more byte. Redis tries a star's rest only at positions
        // where string bytes remain, hence star_s + 1 < slen.
        if (star_p == SIZE_MAX || star_s + 1 >= slen)
            return 0;
        star_s++;
        s = star_s;
        p = star_p;
    }
}
