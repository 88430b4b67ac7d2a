// SPDX-License-Identifier: BSD-3-Clause
// A line-protocol echo server built on include/ringpub/net.h, run in its own
// thread, and blocking socket helpers for the clients that talk to it. Used
// by the net/ tests on both backends.

#ifndef RINGPUB_TESTS_NET_ECHO_SERVER_H
#define RINGPUB_TESTS_NET_ECHO_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ringpub/buf.h"
#include "ringpub/net.h"

#include "net/internal.h"

// How the server handles input.
enum echo_mode {
    ECHO_RAW,     // echoes every byte at once
    ECHO_LINES,   // handles complete lines (commands below); keeps the tail
    ECHO_BEFORE_SEND,  // on_data only copies the bytes; before_send writes them
};

// Line commands (ECHO_LINES). Any other line is echoed back.
//   CLOSE         reply "BYE\n", then rp_net_conn_close(conn, 1)
//   KILL          reply "BYE\n", then rp_net_conn_close(conn, 0): BYE is dropped
//   PAUSE <ms>    reply "PAUSED\n", stop reading for ms milliseconds
//   BIG <n>       reply n bytes of the pattern 'a' + (i % 26), in 64 KiB writes
//   RC <n>        queue the shared rcbuf n times
//   STOP          rp_net_loop_stop
//   PENDING       reply "<rp_net_conn_pending>\n" (before this reply is queued)
//   ADDR          reply "<peer addr> <local addr> unix=<0|1> nodelay=<0|1>\n"
//   KEEPALIVE <s> rp_net_conn_set_keepalive(conn, s), reply "<SO_KEEPALIVE> <idle> <intvl> <cnt>\n"

#define ECHO_MAX_CONNS 4096

struct echo_server {
    // Set before echo_start.
    enum rp_net_backend backend;
    enum echo_mode mode;
    struct rp_net_test_opts opts;
    int use_opts;
    unsigned tick_ms;
    unsigned max_iov;
    size_t recv_buf_size;
    int listen_v4;                // listen on 127.0.0.1:0 (default on)
    int listen_v6;                // listen on [::1]:0
    const char *unix_path;        // listen on this unix socket
    unsigned unix_mode;
    struct rp_rcbuf *shared_rc;   // for RC
    struct rp_rcbuf *late_rc;     // written after KILL's close, which must drop it
    int reject_all;               // on_accept replies "-ERR full\n" and closes with flush

    // Filled in by the server thread.
    pthread_t thread;
    int port;
    int port6;
    int create_err;
    int listen_err;
    char backend_name[16];
    rp_net_loop_t *loop;          // valid between start and stop; touch only from callbacks
    atomic_int ready;
    atomic_int stop_requested;
    atomic_int done;
    int run_err;
    struct rp_net_stats final_stats;
    unsigned leftover_ops;        // rp_net__backend_outstanding after run returned

    // Counters, written by the server thread, read after echo_stop.
    atomic_long accepts;
    atomic_long closes;
    atomic_long close_err_zero;
    atomic_long close_err_nonzero;
    atomic_long double_close;     // on_close seen twice for one connection (a bug)
    atomic_long ticks;
    atomic_long before_send_calls;
    atomic_long data_calls;
    atomic_long max_pending;
    atomic_int last_close_err;
    atomic_long max_input_len;    // largest rp_net_conn_input_len seen in on_data
    atomic_long tail_violations;  // on_data got less than the tail it left (a bug)
    atomic_long data_checksum;    // sum of every byte on_data was given

    // Connections opened with rp_net_conn_open_fd by callbacks in tests.
    int open_fds[8];
    int open_fd_count;
    atomic_long open_fd_bytes;    // bytes received on those connections
};

// Per-connection state of the echo server.
struct echo_conn {
    struct echo_server *srv;
    rp_net_conn_t *conn;
    int closed;
    int closing;                  // CLOSE or KILL ran: later lines are ignored
    uint64_t resume_at_ms;
    int is_open_fd;
    size_t tail_len;              // bytes the previous on_data left unconsumed
    struct rp_buf deferred;       // ECHO_BEFORE_SEND: bytes for before_send to write
};

// Starts the server thread and waits until it listens. Returns 0, or the
// negative errno of loop creation or listening.
int echo_start(struct echo_server *s);

// Asks the loop to stop (via its tick) and joins the thread. Returns run's result.
int echo_stop(struct echo_server *s);

// Sets defaults: raw mode, auto backend, 127.0.0.1 listener, 10 ms ticks.
void echo_init(struct echo_server *s, enum rp_net_backend backend);

// ---- Clients (blocking sockets with a 10 s receive timeout) ----

int client_tcp(int port);
int client_tcp6(int port);
int client_unix(const char *path);
// Sends all of buf. Returns 0 or -1.
int send_all(int fd, const void *buf, size_t len);
// Receives exactly len bytes. Returns 0, or -1 on EOF, error or timeout.
int recv_all(int fd, void *buf, size_t len);
// Sends line (with its "\n") and reads one reply line into buf, without the
// "\n". Returns 0 or -1.
int request_line(int fd, const char *line, char *buf, size_t cap);
// Reads until EOF or timeout. Returns bytes read (up to cap) or -1 on error.
long recv_until_eof(int fd, void *buf, size_t cap);
// Sends out (then shuts down the sending side when shut_wr) while receiving
// into in until EOF, in_cap bytes or 20 s. Returns bytes received or -1.
long exchange(int fd, const char *out, size_t out_len, int shut_wr, char *in, size_t in_cap);

// ---- Allocation counting ----

// Installs counting allocation hooks (once, before any rp_ call).
void alloc_count_install(void);
long alloc_live(void);
// Makes every allocation after the next n fail; -1 turns failures off.
void alloc_fail_after(long n);

#endif
