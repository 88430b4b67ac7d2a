/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the RESP parsers (request.c, inline.c, reply.c). Private
 * to resp/: nothing here is installed, and the non-static names carry no rp_
 * prefix, so the linker version script keeps them out of libringpub's ABI.
 */
#ifndef RINGPUB_RESP_INTERNAL_H
#define RINGPUB_RESP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ringpub/resp.h"

/*
 * Parses s[0..n) as a signed 64-bit decimal with the rules that redis 7.0
 * applies to counts and lengths (string2ll): an optional '-', then digits with no leading zero
 * ("0" alone is allowed), no '+', no spaces, no "-0", nothing else and no
 * overflow. Returns 1 and stores the value, or 0 when s is not such a number.
 */
static inline int resp_parse_int64(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 20)
        return 0;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }

    int negative = 0;
    size_t i = 0;
    if (s[0] == '-') {
        negative = 1;
        i = 1;
        if (n == 1)
            return 0;
    }
    if (s[i] < '1' || s[i] > '9')
        return 0;

    /* Accumulate the magnitude unsigned so INT64_MIN fits. */
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return 0;
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }

    if (negative) {
        if (v > (uint64_t)INT64_MAX + 1)
            return 0;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return 0;
        *out = (int64_t)v;
    }
    return 1;
}

/*
 * Returns the index of the first eol byte ('\r' or '\n') or NUL in
 * buf[from..end), or end if there is none. Stopping at NUL copies redis 7.0,
 * where a NUL hides the line end that follows it.
 * Short lines ("$5", "*3") are the common case, so a plain loop covers the
 * first bytes and memchr takes over for long ones.
 */
static inline size_t resp_find_eol_or_nul(const char *buf, size_t from, size_t end, char eol)
{
    size_t i = from;
    size_t short_end = end - from > 32 ? from + 32 : end;
    for (; i < short_end; i++) {
        if (buf[i] == eol || buf[i] == '\0')
            return i;
    }
    if (i == end)
        return end;

    const char *hit = memchr(buf + i, eol, end - i);
    size_t stop = hit != NULL ? (size_t)(hit - buf) : end;
    const char *nul = memchr(buf + i, '\0', stop - i);
    return nul != NULL ? (size_t)(nul - buf) : stop;
}

/* Output of resp_split_line(). Zero-initialise it; free with resp_split_free(). */
struct resp_split {
    struct rp_resp_str *argv;   /* argc entries, capacity cap */
    size_t argc;
    size_t cap;
    char *scratch;              /* bytes of arguments that are not a plain run of the line */
    size_t scratch_cap;
};

/*
 * Splits line[0..len) into arguments with the rules of redis 7.0
 * sdssplitargs (see rp_resp_split_args in resp.h). Arguments point into line
 * when they are a contiguous run of it, otherwise into out->scratch; both
 * stay valid until the next call with the same out. Returns 0,
 * RP_ERR_PROTO_UNBALANCED_QUOTES or RP_ERR_NOMEM.
 */
int resp_split_line(const char *line, size_t len, struct resp_split *out);

void resp_split_free(struct resp_split *out);

#endif
