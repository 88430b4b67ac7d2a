// SPDX-License-Identifier: BSD-3-Clause
// Text of double replies, as redis-server 7.0 prints them.
//
// redis 7.0 has two double formatters, and only the first is a RESP double:
//  - addReplyDouble (ZSCORE, ZINCRBY, ZRANGE WITHSCORES, Lua {double=...}):
//    printf "%.17g", with "inf" and "-inf" written by hand, so 0.1 prints as
//    0.10000000000000001 and 1e-7 as 9.9999999999999995e-08, and -0 keeps its
//    sign. NaN goes through printf too and prints "nan" or "-nan" after its
//    sign bit. RESP3 sends ",<text>", RESP2 a bulk string of the same text.
//  - INCRBYFLOAT and HINCRBYFLOAT print a long double with "%.17Lf" and strip
//    trailing zeros (0.1 -> "0.1", 1e-7 -> "0.0000001", 1e300 -> 301 digits)
//    and reply with a bulk string in both protocols. ringpub has no such
//    command, so that formatter is not implemented here.
// Both were checked against redis-server 7.0.15 replies.

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ringpub/resp_writer.h"

// Copies text like snprintf: at most size - 1 bytes and a NUL when size > 0.
static size_t copy_text(const char *text, size_t len, char *dst, size_t size)
{
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, text, n);
        dst[n] = '\0';
    }
    return len;
}

size_t rp_resp_format_double(double v, char *dst, size_t size)
{
    if (isinf(v))
        return v > 0 ? copy_text("inf", 3, dst, size) : copy_text("-inf", 4, dst, size);

    // glibc's printf gives "nan"/"-nan" too, but spelling it out keeps the
    // text the same on C libraries that print NaN another way.
    if (isnan(v))
        return signbit(v) ? copy_text("-nan", 4, dst, size) : copy_text("nan", 3, dst, size);

    // The longest "%.17g" text is 24 bytes (-1.2345678901234567e-308), well
    // inside RP_RESP_DOUBLE_BUFSIZE.
    int n = snprintf(dst, size, "%.17g", v);
    return n < 0 ? 0 : (size_t)n;
}
