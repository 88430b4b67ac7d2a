// SPDX-License-Identifier: BSD-3-Clause
// RESP2/RESP3 encoder. Each writer reserves room for its whole frame in the
// caller's rp_buf once and then writes without further checks. So a failed
// writer leaves the buffer as it was, and a successful one allocates only
// when the buffer has to grow. RESP2 downgrades follow redis-server 7.0,
// checked against its replies byte for byte.

#include <string.h>

#include "ringpub/err.h"
#include "ringpub/resp_writer.h"

// "00".."99", so integers are written two digits per division.
static const char digit_pairs[201] =
    "00010203040506070809"
    "10111213141516171819"
    "20212223242526272829"
    "30313233343536373839"
    "40414243444546474849"
    "50515253545556575859"
    "60616263646566676869"
    "70717273747576777879"
    "80818283848586878889"
    "90919293949596979899";

// Longest "<type><decimal u64 or i64>\r\n" header: 1 + 20 + 2.
#define HEADER_MAX 23

static unsigned count_digits(uint64_t v)
{
    unsigned n = 1;
    for (;;) {
        if (v < 10)
            return n;
        if (v < 100)
            return n + 1;
        if (v < 1000)
            return n + 2;
        if (v < 10000)
            return n + 3;
        v /= 10000;
        n += 4;
    }
}

// Writes the digits of v at dst and returns their count. No NUL.
static unsigned put_u64(uint64_t v, char *dst)
{
    unsigned len = count_digits(v);
    char *p = dst + len;

    while (v >= 100) {
        unsigned pair = (unsigned)(v % 100) * 2;
        v /= 100;
        p -= 2;
        p[0] = digit_pairs[pair];
        p[1] = digit_pairs[pair + 1];
    }
    if (v >= 10) {
        p -= 2;
        p[0] = digit_pairs[v * 2];
        p[1] = digit_pairs[v * 2 + 1];
    } else {
        *--p = (char)('0' + v);
    }
    return len;
}

static unsigned put_i64(int64_t v, char *dst)
{
    if (v >= 0)
        return put_u64((uint64_t)v, dst);

    // Negate in unsigned arithmetic: -INT64_MIN does not fit in int64_t.
    dst[0] = '-';
    return 1 + put_u64(0 - (uint64_t)v, dst + 1);
}

size_t rp_resp_format_int(int64_t v, char *dst)
{
    unsigned len = put_i64(v, dst);
    dst[len] = '\0';
    return len;
}

// Makes room for n more bytes and returns where they start, or NULL when out
// of memory. The check is inline so the common case costs one comparison.
static inline char *reserve(struct rp_buf *b, size_t n)
{
    if (b->cap - b->len < n && rp_buf_reserve(b, n) != 0)
        return NULL;
    return b->data + b->len;
}

static inline void commit(struct rp_buf *b, const char *end)
{
    b->len = (size_t)(end - b->data);
}

static inline char *put_crlf(char *p)
{
    p[0] = '\r';
    p[1] = '\n';
    return p + 2;
}

static inline char *put_header(char *p, char type, uint64_t n)
{
    *p++ = type;
    p += put_u64(n, p);
    return put_crlf(p);
}

// Copies a line payload, turning CR and LF into spaces (see the header).
static char *put_line_text(char *p, const char *s, size_t len)
{
    memcpy(p, s, len);
    for (char *c = p; c < p + len; c++) {
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    }
    return p + len;
}

// "<type>s\r\n" for simple strings, errors and RESP3 big numbers.
static int write_line(struct rp_buf *b, char type, const char *s, size_t len, int sanitize)
{
    if (len > SIZE_MAX - 3)
        return RP_ERR_NOMEM;
    char *p = reserve(b, len + 3);
    if (p == NULL)
        return RP_ERR_NOMEM;

    *p++ = type;
    if (sanitize) {
        p = put_line_text(p, s, len);
    } else {
        if (len)
            memcpy(p, s, len);
        p += len;
    }
    commit(b, put_crlf(p));
    return 0;
}

// "<type><len>\r\n<prefix><s>\r\n", where the length counts prefix and s.
static int write_blob(struct rp_buf *b, char type, const char *prefix, size_t prefix_len,
                      const void *s, size_t len)
{
    if (len > SIZE_MAX - HEADER_MAX - 2 - prefix_len)
        return RP_ERR_NOMEM;
    char *p = reserve(b, HEADER_MAX + prefix_len + len + 2);
    if (p == NULL)
        return RP_ERR_NOMEM;

    p = put_header(p, type, (uint64_t)prefix_len + len);
    if (prefix_len) {
        memcpy(p, prefix, prefix_len);
        p += prefix_len;
    }
    if (len) {
        memcpy(p, s, len);
        p += len;
    }
    commit(b, put_crlf(p));
    return 0;
}

// "<type><n>\r\n" for aggregates.
static int write_header(struct rp_buf *b, char type, uint64_t n)
{
    char *p = reserve(b, HEADER_MAX);
    if (p == NULL)
        return RP_ERR_NOMEM;
    commit(b, put_header(p, type, n));
    return 0;
}

// A frame whose bytes are fixed, such as "_\r\n" or "#t\r\n".
static int write_fixed(struct rp_buf *b, const char *s, size_t len)
{
    char *p = reserve(b, len);
    if (p == NULL)
        return RP_ERR_NOMEM;
    memcpy(p, s, len);
    commit(b, p + len);
    return 0;
}

int rp_resp_write_simple(struct rp_buf *b, const char *s, size_t len)
{
    return write_line(b, '+', s, len, 1);
}

int rp_resp_write_error(struct rp_buf *b, const char *s, size_t len)
{
    return write_line(b, '-', s, len, 1);
}

int rp_resp_write_integer(struct rp_buf *b, int64_t v)
{
    char *p = reserve(b, HEADER_MAX);
    if (p == NULL)
        return RP_ERR_NOMEM;

    *p++ = ':';
    p += put_i64(v, p);
    commit(b, put_crlf(p));
    return 0;
}

int rp_resp_write_bulk(struct rp_buf *b, const void *s, size_t len)
{
    return write_blob(b, '$', NULL, 0, s, len);
}

int rp_resp_write_array_len(struct rp_buf *b, uint64_t n)
{
    return write_header(b, '*', n);
}

int rp_resp_write_null(struct rp_buf *b, int proto, char kind)
{
    if (proto >= 3)
        return write_fixed(b, "_\r\n", 3);
    if (kind == '$')
        return write_fixed(b, "$-1\r\n", 5);
    if (kind == '*')
        return write_fixed(b, "*-1\r\n", 5);
    return RP_ERR_INVAL;
}

int rp_resp_write_bool(struct rp_buf *b, int proto, int v)
{
    if (proto >= 3)
        return write_fixed(b, v ? "#t\r\n" : "#f\r\n", 4);
    return write_fixed(b, v ? ":1\r\n" : ":0\r\n", 4);
}

int rp_resp_write_double(struct rp_buf *b, int proto, double v)
{
    char text[RP_RESP_DOUBLE_BUFSIZE];
    size_t len = rp_resp_format_double(v, text, sizeof(text));

    if (proto >= 3)
        return write_line(b, ',', text, len, 0);
    return write_blob(b, '$', NULL, 0, text, len);
}

int rp_resp_write_bignum(struct rp_buf *b, int proto, const char *digits, size_t len)
{
    if (proto >= 3)
        return write_line(b, '(', digits, len, 0);
    return write_blob(b, '$', NULL, 0, digits, len);
}

int rp_resp_write_bulk_error(struct rp_buf *b, int proto, const char *s, size_t len)
{
    if (proto >= 3)
        return write_blob(b, '!', NULL, 0, s, len);
    return write_line(b, '-', s, len, 1);
}

int rp_resp_write_verbatim(struct rp_buf *b, int proto, const char format[3], const char *s,
                           size_t len)
{
    if (proto < 3)
        return write_blob(b, '$', NULL, 0, s, len);

    const char prefix[4] = {format[0], format[1], format[2], ':'};
    return write_blob(b, '=', prefix, sizeof(prefix), s, len);
}

int rp_resp_write_map_len(struct rp_buf *b, int proto, uint64_t pairs)
{
    if (proto >= 3)
        return write_header(b, '%', pairs);
    if (pairs > UINT64_MAX / 2)
        return RP_ERR_INVAL;
    return write_header(b, '*', pairs * 2);
}

int rp_resp_write_set_len(struct rp_buf *b, int proto, uint64_t n)
{
    return write_header(b, proto >= 3 ? '~' : '*', n);
}

int rp_resp_write_push_len(struct rp_buf *b, int proto, uint64_t n)
{
    return write_header(b, proto >= 3 ? '>' : '*', n);
}

int rp_resp_write_attribute_len(struct rp_buf *b, uint64_t pairs)
{
    return write_header(b, '|', pairs);
}
