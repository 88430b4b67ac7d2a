/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RESP encoder: writers for every RESP2/RESP3 type into a caller-owned
 * rp_buf. Each writer takes the client's protocol version (2 or 3) and, for
 * 2, downgrades the way redis-server 7.0 does: map -> flat array of 2n, set
 * and push -> array, boolean -> integer 1/0, double and big number -> bulk
 * string, verbatim -> bulk string without its format, RESP3 null -> $-1 or
 * *-1 as the caller picks (redis picks per reply).
 *
 * Every writer returns 0, RP_ERR_NOMEM, or RP_ERR_INVAL for an argument no
 * frame can carry (noted at the writer). The writers reserve the whole frame
 * before writing, so on failure the buffer is unchanged. A caller that writes
 * several frames as one reply must still truncate to its saved length. The
 * only memory the writers allocate is the buffer's own growth.
 */
#ifndef RINGPUB_RESP_WRITER_H
#define RINGPUB_RESP_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "ringpub/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Buffer sizes for rp_resp_format_int and rp_resp_format_double, NUL included. */
#define RP_RESP_INT_BUFSIZE 21
#define RP_RESP_DOUBLE_BUFSIZE 32

/*
 * Simple strings and errors cannot carry CR or LF: the writers replace each
 * with a space, as redis 7.0 does for error replies, so a caller's text can
 * never end the frame early.
 */
int rp_resp_write_simple(struct rp_buf *b, const char *s, size_t len);    /* +s\r\n */
int rp_resp_write_error(struct rp_buf *b, const char *s, size_t len);     /* -s\r\n; s includes the code, e.g. "ERR ..." */
int rp_resp_write_integer(struct rp_buf *b, int64_t v);
int rp_resp_write_bulk(struct rp_buf *b, const void *s, size_t len);
int rp_resp_write_array_len(struct rp_buf *b, uint64_t n);
/*
 * RESP3 "_" whatever the kind; RESP2 "$-1" when kind is '$', "*-1" when kind
 * is '*', and RP_ERR_INVAL for any other kind.
 */
int rp_resp_write_null(struct rp_buf *b, int proto, char kind);
int rp_resp_write_bool(struct rp_buf *b, int proto, int v);
/*
 * Formats as redis 7.0 addReplyDouble: printf "%.17g", "inf", "-inf", and
 * "nan" or "-nan" after the sign bit of a NaN.
 */
int rp_resp_write_double(struct rp_buf *b, int proto, double v);
int rp_resp_write_bignum(struct rp_buf *b, int proto, const char *digits, size_t len);
/*
 * RESP2 sends the error as a simple error with CR and LF replaced by spaces,
 * as redis 7.0 does for errors.
 */
int rp_resp_write_bulk_error(struct rp_buf *b, int proto, const char *s, size_t len);
int rp_resp_write_verbatim(struct rp_buf *b, int proto, const char format[3], const char *s, size_t len);
/* RESP2 writes an array of 2 * pairs; RP_ERR_INVAL when that overflows. */
int rp_resp_write_map_len(struct rp_buf *b, int proto, uint64_t pairs);
int rp_resp_write_set_len(struct rp_buf *b, int proto, uint64_t n);
int rp_resp_write_push_len(struct rp_buf *b, int proto, uint64_t n);
int rp_resp_write_attribute_len(struct rp_buf *b, uint64_t pairs);  /* RESP3 only */

/*
 * Writes the text of v as redis 7.0 prints a double reply (see
 * rp_resp_write_double) into dst, NUL-terminated and truncated to size - 1
 * like snprintf. RP_RESP_DOUBLE_BUFSIZE bytes always suffice. Returns the
 * untruncated length.
 */
size_t rp_resp_format_double(double v, char *dst, size_t size);

/*
 * Writes the decimal digits of v and a NUL into dst, which must hold
 * RP_RESP_INT_BUFSIZE (21) bytes. Returns the length without the NUL.
 */
size_t rp_resp_format_int(int64_t v, char *dst);

#ifdef __cplusplus
}
#endif

#endif
