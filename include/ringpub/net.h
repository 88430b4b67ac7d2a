/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Event loop and connections over io_uring, with an epoll backend behind the
 * same calls. Bytes in, bytes out: no knowledge of RESP. Every call returns
 * 0 (or a count) on success and a negative errno on failure.
 *
 * Input: each receive hands on_data the connection's unconsumed tail followed
 * by the new bytes; on_data returns how many it consumed and the loop keeps
 * the rest (copying only that tail).
 * Output: writes are queued (small ones copied into a private buffer, shared
 * frames queued by reference) and each connection with pending output gets
 * one vectored send per loop turn.
 */
#ifndef RINGPUB_NET_H
#define RINGPUB_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ringpub/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rp_net_loop rp_net_loop_t;
typedef struct rp_net_conn rp_net_conn_t;

enum rp_net_backend {
    RP_NET_AUTO = 0,    /* io_uring if it can be set up, else epoll */
    RP_NET_URING,
    RP_NET_EPOLL,
};

struct rp_net_handlers {
    /*
     * A listener accepted conn. Returns the context passed to the other
     * callbacks for it. To turn the client away, write a reply and call
     * rp_net_conn_close(conn, 1); on_close still follows.
     */
    void *(*on_accept)(void *loop_ctx, rp_net_conn_t *conn);

    /*
     * Bytes arrived: data is the unconsumed tail of earlier calls followed by
     * the new bytes. Returns how many bytes were consumed (<= len). data is
     * valid only during the call.
     */
    size_t (*on_data)(void *conn_ctx, rp_net_conn_t *conn, const char *data, size_t len);

    /*
     * The connection is gone: the peer closed it (err 0), an error occurred
     * (negative errno), or rp_net_conn_close was called (err 0). The last
     * callback for conn; conn is freed when it returns.
     */
    void (*on_close)(void *conn_ctx, rp_net_conn_t *conn, int err);

    /* Called once per loop turn after input was handled and before output is sent. Optional. */
    void (*before_send)(void *loop_ctx);

    /* Called every tick_ms milliseconds (redis's serverCron). Optional. */
    void (*on_tick)(void *loop_ctx);
};

struct rp_net_config {
    enum rp_net_backend backend;
    unsigned tick_ms;            /* 100, as redis's default hz 10 */
    unsigned max_iov;            /* queued writes per vectored send, 1024 by default (IOV_MAX caps it) */
    size_t recv_buf_size;        /* bytes per receive buffer, 16 KiB by default */
};

/* Fills in the defaults noted in struct rp_net_config. */
void rp_net_config_default(struct rp_net_config *cfg);

/*
 * Creates a loop. With RP_NET_AUTO, io_uring is tried first and epoll used
 * when io_uring_queue_init fails with EPERM, ENOSYS or EINVAL (seccomp
 * profiles, old kernels). Returns 0 and sets *out, or a negative errno.
 */
int rp_net_loop_create(const struct rp_net_config *cfg, const struct rp_net_handlers *handlers, void *loop_ctx,
                       rp_net_loop_t **out);

/* Frees the loop; every connection must be closed (on_close called) first. */
void rp_net_loop_free(rp_net_loop_t *loop);

/* "io_uring" or "epoll". */
const char *rp_net_loop_backend_name(const rp_net_loop_t *loop);

/*
 * Listens on TCP. addr is a numeric IPv4 or IPv6 address; IPv6 listeners set
 * IPV6_V6ONLY. Returns 0 or a negative errno (-EADDRINUSE, -EADDRNOTAVAIL...).
 */
int rp_net_listen_tcp(rp_net_loop_t *loop, const char *addr, int port, int backlog);

/*
 * As rp_net_listen_tcp, and stores the port actually bound in *bound_port
 * (the kernel picks a free one for port 0). bound_port may be NULL.
 */
int rp_net_listen_tcp_bound(rp_net_loop_t *loop, const char *addr, int port, int backlog, int *bound_port);

/* Listens on a unix socket, removing a stale file first and chmod-ing it to mode when mode != 0. */
int rp_net_listen_unix(rp_net_loop_t *loop, const char *path, unsigned mode, int backlog);

/* Takes a connected socket (client side, e.g. for benchmarks) as a connection with the given context. */
int rp_net_conn_open_fd(rp_net_loop_t *loop, int fd, void *conn_ctx, rp_net_conn_t **out);

/*
 * Runs until rp_net_loop_stop. Returns 0 or a negative errno on a fatal loop
 * error. Run the loop in the thread that created it: the io_uring backend sets
 * IORING_SETUP_SINGLE_ISSUER, which binds the ring to that thread.
 */
int rp_net_loop_run(rp_net_loop_t *loop);

/*
 * Makes rp_net_loop_run return after the current turn: listeners close,
 * pending output gets one last send, and remaining connections are closed
 * (their on_close runs). Safe to call from callbacks only.
 */
void rp_net_loop_stop(rp_net_loop_t *loop);

/* Monotonic milliseconds, read once per loop turn. */
uint64_t rp_net_loop_now_ms(const rp_net_loop_t *loop);

/*
 * Changes the on_tick interval (rp_net_config.tick_ms) of a created loop,
 * for example when CONFIG SET hz changes. 0 selects the default of 100 ms.
 * A shorter interval applies from now; a longer one from the next tick.
 */
void rp_net_loop_set_tick(rp_net_loop_t *loop, unsigned tick_ms);

/*
 * Copies n bytes to the end of the output queue. Returns 0 or -ENOMEM.
 * While the connection is closing without flush (rp_net_conn_close(conn, 0),
 * a socket error, or inside on_close) the bytes are dropped and 0 returned,
 * as redis ignores replies to a client it is freeing.
 */
int rp_net_conn_write(rp_net_conn_t *conn, const void *data, size_t n);

/* Queues a reference to rb (taking its own reference) after what is queued. Returns 0 or -ENOMEM; drops as above. */
int rp_net_conn_write_rc(rp_net_conn_t *conn, struct rp_rcbuf *rb);

/* Bytes queued and not yet accepted by the kernel. */
size_t rp_net_conn_pending(const rp_net_conn_t *conn);

/* Bytes held for the connection's input tail (redis's qbuf). */
size_t rp_net_conn_input_len(const rp_net_conn_t *conn);

/*
 * Closes the connection. With flush, queued output is sent first and input
 * is ignored meanwhile; without, queued output is dropped. on_close follows
 * from the loop, never from inside this call. Calling it again is harmless.
 */
void rp_net_conn_close(rp_net_conn_t *conn, int flush);

/* Stops or resumes reading from the connection (output continues). */
void rp_net_conn_pause_read(rp_net_conn_t *conn, int pause);

/* The socket's file descriptor (CLIENT LIST fd=). */
int rp_net_conn_fd(const rp_net_conn_t *conn);

/*
 * Writes the peer or local address as redis CLIENT LIST prints addr= and
 * laddr=: "127.0.0.1:50000", "[::1]:50000", or "/path/to.sock:0" for a unix
 * socket (the listening path for both, as redis-server 7.0 prints them).
 * NUL-terminated, truncated to size; returns the length written.
 */
size_t rp_net_conn_peer_addr(const rp_net_conn_t *conn, char *dst, size_t size);
size_t rp_net_conn_local_addr(const rp_net_conn_t *conn, char *dst, size_t size);

/* 1 for a unix socket connection. */
int rp_net_conn_is_unix(const rp_net_conn_t *conn);

/* Enables SO_KEEPALIVE with the given interval in seconds (0 leaves it off), as redis tcp-keepalive. */
int rp_net_conn_set_keepalive(rp_net_conn_t *conn, int interval);

struct rp_net_stats {
    uint64_t accepted;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t sends;            /* vectored send calls or SQEs */
    uint64_t short_sends;
    uint64_t enobufs;          /* multishot receives that ran out of provided buffers */
    uint64_t connections;      /* currently open */
};

void rp_net_get_stats(const rp_net_loop_t *loop, struct rp_net_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
