/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error codes shared by every module. Functions return a non-negative value
 * on success and a negative code on failure: system and io_uring errors are
 * negative errno values (liburing's convention), and ringpub's own codes start
 * at RP_ERR_BASE, so the two ranges never overlap.
 */
#ifndef RINGPUB_ERR_H
#define RINGPUB_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#define RP_ERR_BASE (-10000)

/*
 * X(name, message). For protocol errors the message is the exact text
 * redis-server 7.0 sends after "-ERR ", so the server can reply with it as is.
 */
#define RP_ERR_MAP(X)                                                        \
    X(NEED_MORE, "more input is needed")                                     \
    X(NOMEM, "out of memory")                                                \
    X(INVAL, "invalid argument")                                             \
    X(PROTO_MBULK_LEN, "Protocol error: invalid multibulk length")           \
    X(PROTO_BULK_LEN, "Protocol error: invalid bulk length")                 \
    X(PROTO_EXPECTED_DOLLAR, "Protocol error: expected '$'")                 \
    X(PROTO_INLINE_TOO_BIG, "Protocol error: too big inline request")        \
    X(PROTO_MBULK_TOO_BIG, "Protocol error: too big mbulk count string")     \
    X(PROTO_BULK_TOO_BIG, "Protocol error: too big bulk count string")       \
    X(PROTO_UNBALANCED_QUOTES, "Protocol error: unbalanced quotes in request") \
    X(PROTO_BAD_TYPE, "Protocol error: invalid type byte")                   \
    X(PROTO_BAD_INTEGER, "Protocol error: invalid integer")                  \
    X(PROTO_BAD_DOUBLE, "Protocol error: invalid double")                    \
    X(PROTO_BAD_BOOLEAN, "Protocol error: invalid boolean")                  \
    X(PROTO_BAD_VERBATIM, "Protocol error: invalid verbatim string")         \
    X(PROTO_MISSING_CRLF, "Protocol error: expected CRLF")                   \
    X(PROTO_TOO_DEEP, "Protocol error: nesting too deep")                    \
    X(PROTO_TOO_MANY_ELEMENTS, "Protocol error: too many elements")          \
    X(NOBACKEND, "no usable I/O backend")                                    \
    X(CLOSED, "connection closed")                                          \
    X(PROTO_UNAUTH_MBULK_LEN, "Protocol error: unauthenticated multibulk length") \
    X(PROTO_UNAUTH_BULK_LEN, "Protocol error: unauthenticated bulk length")

enum rp_err {
    RP_OK = 0,
    RP_ERR_FIRST_ = RP_ERR_BASE - 1,
    /* Codes count up from RP_ERR_BASE and stay far below -4095, errno's floor. */
#define RP_ERR_ENUM(name, msg) RP_ERR_##name,
    RP_ERR_MAP(RP_ERR_ENUM)
#undef RP_ERR_ENUM
    RP_ERR_LAST_
};

/* The parser's "incomplete" return, distinct from every failure. */
#define RP_NEED_MORE RP_ERR_NEED_MORE

/*
 * Returns a static English message for a ringpub code or a negative errno
 * (strerror's text for the latter). Never returns NULL.
 */
const char *rp_strerror(int err);

/* Returns the symbolic name ("RP_ERR_NOMEM", "ECONNRESET") of a code, or "unknown". */
const char *rp_errname(int err);

#ifdef __cplusplus
}
#endif

#endif
