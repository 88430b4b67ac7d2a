// SPDX-License-Identifier: BSD-3-Clause
// Small helpers shared by the server files: argument comparison and integer
// parsing with redis's rules, and the two clocks the server reads.

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/server.h"

int arg_is(const struct rp_resp_str *arg, const char *s)
{
    size_t n = strlen(s);
    return arg->len == n && strncasecmp(arg->ptr, s, n) == 0;
}

int parse_int64(const char *p, size_t len, int64_t *out)
{
    // redis string2ll: optional '-', digits, no leading zeros (except "0"),
    // no '+', no spaces, and the value must fit in a signed 64-bit integer.
    if (len == 0 || len > 20)
        return -1;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return 0;
    }

    size_t i = 0;
    int negative = 0;
    if (p[0] == '-') {
        negative = 1;
        i = 1;
        if (len == 1)
            return -1;
    }
    if (p[i] < '1' || p[i] > '9')
        return -1;

    // Accumulate as unsigned so that INT64_MIN, whose magnitude exceeds
    // INT64_MAX, parses without overflow.
    uint64_t v = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        uint64_t digit = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }

    if (negative) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

int arg_to_int64(const struct rp_resp_str *arg, int64_t *out)
{
    return parse_int64(arg->ptr, arg->len, out);
}

uint64_t time_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void copy_printable(char *dst, size_t size, const char *src, size_t len)
{
    if (size == 0)
        return;
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = isprint(ch) ? (char)ch : '?';
    }
    dst[n] = '\0';
}
