// SPDX-License-Identifier: BSD-3-Clause
// The echo server and client helpers described in echo_server.h.

#define _GNU_SOURCE

#include "echo_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ringpub/alloc.h"

// ---- Allocation counting ------------------------------------------------------

static atomic_long live_allocs;
static atomic_long fail_countdown = -1;

// Returns 1 when this allocation is to fail.
static int should_fail(void)
{
    long left = atomic_load(&fail_countdown);
    if (left < 0)
        return 0;
    if (left == 0)
        return 1;
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

static void *count_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        atomic_fetch_add(&live_allocs, 1);
    return p;
}

static void *count_realloc(void *ptr, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = realloc(ptr, size);
    if (p != NULL && ptr == NULL)
        atomic_fetch_add(&live_allocs, 1);
    return p;
}

static void count_free(void *ptr)
{
    if (ptr != NULL)
        atomic_fetch_sub(&live_allocs, 1);
    free(ptr);
}

void alloc_count_install(void)
{
    static const struct rp_alloc_hooks hooks = {count_malloc, count_realloc, count_free};
    rp_set_alloc_hooks(&hooks);
}

long alloc_live(void)
{
    return atomic_load(&live_allocs);
}

// ---- Server callbacks -----------------------------------------------------------

static void write_or_die(rp_net_conn_t *conn, const void *p, size_t n)
{
    if (rp_net_conn_write(conn, p, n) != 0)
        abort();
}

static void *on_accept(void *loop_ctx, rp_net_conn_t *conn)
{
    struct echo_server *s = loop_ctx;
    struct echo_conn *ec = calloc(1, sizeof(*ec));
    if (ec == NULL)
        abort();
    ec->srv = s;
    ec->conn = conn;
    atomic_fetch_add(&s->accepts, 1);
    if (s->reject_all) {
        write_or_die(conn, "-ERR full\n", 10);
        rp_net_conn_close(conn, 1);
        ec->closing = 1;
    }
    return ec;
}

static void run_line(struct echo_conn *ec, const char *line, size_t len)
{
    struct echo_server *s = ec->srv;
    rp_net_conn_t *conn = ec->conn;
    char cmd[64];
    size_t n = len < sizeof(cmd) - 1 ? len : sizeof(cmd) - 1;
    memcpy(cmd, line, n);
    cmd[n] = '\0';

    if (strcmp(cmd, "CLOSE") == 0) {
        write_or_die(conn, "BYE\n", 4);
        rp_net_conn_close(conn, 1);
        ec->closing = 1;
    } else if (strcmp(cmd, "KILL") == 0) {
        write_or_die(conn, "BYE\n", 4);
        rp_net_conn_close(conn, 0);
        ec->closing = 1;
        // Writes after a close without flush are dropped, not errors.
        if (rp_net_conn_write(conn, "late", 4) != 0 || rp_net_conn_write_rc(conn, s->late_rc) != 0)
            abort();
    } else if (strncmp(cmd, "PAUSE ", 6) == 0) {
        write_or_die(conn, "PAUSED\n", 7);
        ec->resume_at_ms = rp_net_loop_now_ms(s->loop) + strtoull(cmd + 6, NULL, 10);
        rp_net_conn_pause_read(conn, 1);
    } else if (strncmp(cmd, "BIG ", 4) == 0) {
        size_t total = strtoull(cmd + 4, NULL, 10);
        static char pattern[65536];
        for (size_t i = 0; i < sizeof(pattern); i++)
            pattern[i] = (char)('a' + i % 26);
        // Chunks are whole multiples of 26 bytes, so each one continues the
        // pattern where the previous one stopped.
        size_t off = 0;
        while (off < total) {
            size_t chunk = total - off < 26 * 2048 ? total - off : 26 * 2048;
            write_or_die(conn, pattern, chunk);
            off += chunk;
        }
    } else if (strncmp(cmd, "RC ", 3) == 0) {
        long count = strtol(cmd + 3, NULL, 10);
        for (long i = 0; i < count; i++)
            if (rp_net_conn_write_rc(conn, s->shared_rc) != 0)
                abort();
    } else if (strcmp(cmd, "STOP") == 0) {
        rp_net_loop_stop(s->loop);
    } else if (strcmp(cmd, "ADDR") == 0) {
        char peer[128], local[128], reply[300];
        rp_net_conn_peer_addr(conn, peer, sizeof(peer));
        rp_net_conn_local_addr(conn, local, sizeof(local));
        int nodelay = 0;
        socklen_t opt_len = sizeof(nodelay);
        getsockopt(rp_net_conn_fd(conn), IPPROTO_TCP, TCP_NODELAY, &nodelay, &opt_len);
        int m = snprintf(reply, sizeof(reply), "%s %s unix=%d nodelay=%d\n", peer, local, rp_net_conn_is_unix(conn),
                         nodelay != 0);
        write_or_die(conn, reply, (size_t)m);
    } else if (strncmp(cmd, "KEEPALIVE ", 10) == 0) {
        int on = 0, idle = 0, intvl = 0, cnt = 0;
        socklen_t opt_len = sizeof(int);
        int fd = rp_net_conn_fd(conn);
        if (rp_net_conn_set_keepalive(conn, atoi(cmd + 10)) != 0)
            abort();
        getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &opt_len);
        getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &opt_len);
        getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, &opt_len);
        getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, &opt_len);
        char reply[64];
        int m = snprintf(reply, sizeof(reply), "%d %d %d %d\n", on, idle, intvl, cnt);
        write_or_die(conn, reply, (size_t)m);
    } else if (strcmp(cmd, "PENDING") == 0) {
        char reply[32];
        int m = snprintf(reply, sizeof(reply), "%zu\n", rp_net_conn_pending(conn));
        write_or_die(conn, reply, (size_t)m);
    } else {
        write_or_die(conn, line, len);
        write_or_die(conn, "\n", 1);
    }
}

static size_t handle_data(struct echo_conn *ec, rp_net_conn_t *conn, const char *data, size_t len);

static size_t on_data(void *conn_ctx, rp_net_conn_t *conn, const char *data, size_t len)
{
    struct echo_conn *ec = conn_ctx;
    struct echo_server *s = ec->srv;
    atomic_fetch_add(&s->data_calls, 1);

    // net.h: data starts with the whole tail left by the previous call.
    if (len < ec->tail_len)
        atomic_fetch_add(&s->tail_violations, 1);
    long in_len = (long)rp_net_conn_input_len(conn);
    if (in_len > atomic_load(&s->max_input_len))
        atomic_store(&s->max_input_len, in_len);
    size_t used = handle_data(ec, conn, data, len);
    ec->tail_len = len - used;

    // net.h: data stays valid for the whole call, even after the callback
    // closed the connection. Read all of it so ASan would catch a free.
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += (unsigned char)data[i];
    atomic_fetch_add(&s->data_checksum, (long)sum);
    return used;
}

static size_t handle_data(struct echo_conn *ec, rp_net_conn_t *conn, const char *data, size_t len)
{
    struct echo_server *s = ec->srv;

    if (ec->is_open_fd) {
        atomic_fetch_add(&s->open_fd_bytes, (long)len);
        return len;
    }

    if (s->mode == ECHO_BEFORE_SEND) {
        // The counting hooks are process-wide, so this test buffer is
        // allocated with malloc to keep it out of the loop's count.
        char *p = realloc(ec->deferred.data, ec->deferred.len + len);
        if (p == NULL)
            abort();
        memcpy(p + ec->deferred.len, data, len);
        ec->deferred.data = p;
        ec->deferred.len += len;
        return len;
    }

    if (s->mode == ECHO_RAW) {
        write_or_die(conn, data, len);
        long pending = (long)rp_net_conn_pending(conn);
        if (pending > atomic_load(&s->max_pending))
            atomic_store(&s->max_pending, pending);
        return len;
    }

    size_t used = 0;
    while (used < len) {
        const char *nl = memchr(data + used, '\n', len - used);
        if (nl == NULL)
            break;
        size_t line_len = (size_t)(nl - (data + used));
        run_line(ec, data + used, line_len);
        used += line_len + 1;
        // A paused or closed connection takes no further commands now.
        if (ec->resume_at_ms != 0 || ec->closing)
            break;
    }
    long pending = (long)rp_net_conn_pending(conn);
    if (pending > atomic_load(&s->max_pending))
        atomic_store(&s->max_pending, pending);
    return used;
}

static void on_close(void *conn_ctx, rp_net_conn_t *conn, int err)
{
    struct echo_conn *ec = conn_ctx;
    struct echo_server *s = ec->srv;
    (void)conn;
    if (ec->closed)
        atomic_fetch_add(&s->double_close, 1);
    ec->closed = 1;
    atomic_fetch_add(&s->closes, 1);
    if (err == 0)
        atomic_fetch_add(&s->close_err_zero, 1);
    else
        atomic_fetch_add(&s->close_err_nonzero, 1);
    atomic_store(&s->last_close_err, err);
    free(ec->deferred.data);
    free(ec);
}

// Resumes paused connections: the tick cannot see them, so each paused
// connection is found through its context in the slot table.
static void resume_due(struct echo_server *s)
{
    rp_net_loop_t *loop = s->loop;
    uint64_t now = rp_net_loop_now_ms(loop);
    for (uint32_t i = 0; i < loop->slot_cap; i++) {
        rp_net_conn_t *conn = loop->slots[i];
        if (conn == NULL || (conn->flags & RP_NET_CONN_CLOSED))
            continue;
        struct echo_conn *ec = conn->ctx;
        if (ec != NULL && ec->resume_at_ms != 0 && now >= ec->resume_at_ms) {
            ec->resume_at_ms = 0;
            rp_net_conn_pause_read(conn, 0);
        }
    }
}

static void on_tick(void *loop_ctx)
{
    struct echo_server *s = loop_ctx;
    atomic_fetch_add(&s->ticks, 1);
    resume_due(s);
    if (atomic_load(&s->stop_requested))
        rp_net_loop_stop(s->loop);
}

// Writes what on_data deferred. Runs after input and before the sends of
// the same turn, so the reply must still leave in this turn.
static void before_send(void *loop_ctx)
{
    struct echo_server *s = loop_ctx;
    atomic_fetch_add(&s->before_send_calls, 1);
    rp_net_loop_t *loop = s->loop;
    for (uint32_t i = 0; i < loop->slot_cap; i++) {
        rp_net_conn_t *conn = loop->slots[i];
        if (conn == NULL || (conn->flags & RP_NET_CONN_CLOSED))
            continue;
        struct echo_conn *ec = conn->ctx;
        if (ec == NULL || ec->deferred.len == 0)
            continue;
        write_or_die(conn, ec->deferred.data, ec->deferred.len);
        ec->deferred.len = 0;
    }
}

static const struct rp_net_handlers handlers = {
    .on_accept = on_accept,
    .on_data = on_data,
    .on_close = on_close,
    .before_send = before_send,
    .on_tick = on_tick,
};

static void *server_main(void *arg)
{
    struct echo_server *s = arg;
    struct rp_net_config cfg;
    rp_net_config_default(&cfg);
    cfg.backend = s->backend;
    cfg.tick_ms = s->tick_ms;
    if (s->max_iov)
        cfg.max_iov = s->max_iov;
    if (s->recv_buf_size)
        cfg.recv_buf_size = s->recv_buf_size;

    s->late_rc = rp_rcbuf_create("late", 4);
    if (s->late_rc == NULL)
        abort();
    s->create_err = rp_net__loop_create_opts(&cfg, &handlers, s, s->use_opts ? &s->opts : NULL, &s->loop);
    if (s->create_err != 0) {
        rp_rcbuf_unref(s->late_rc);
        atomic_store(&s->ready, 1);
        return NULL;
    }
    snprintf(s->backend_name, sizeof(s->backend_name), "%s", rp_net_loop_backend_name(s->loop));

    if (s->listen_v4)
        s->listen_err = rp_net_listen_tcp_bound(s->loop, "127.0.0.1", 0, 128, &s->port);
    if (s->listen_err == 0 && s->listen_v6)
        s->listen_err = rp_net_listen_tcp_bound(s->loop, "::1", 0, 128, &s->port6);
    if (s->listen_err == 0 && s->unix_path != NULL)
        s->listen_err = rp_net_listen_unix(s->loop, s->unix_path, s->unix_mode, 128);

    for (int i = 0; i < s->open_fd_count && s->listen_err == 0; i++) {
        struct echo_conn *ec = calloc(1, sizeof(*ec));
        if (ec == NULL)
            abort();
        ec->srv = s;
        ec->is_open_fd = 1;
        s->listen_err = rp_net_conn_open_fd(s->loop, s->open_fds[i], ec, &ec->conn);
        if (s->listen_err != 0)
            free(ec);
    }

    if (s->listen_err != 0) {
        rp_net_loop_free(s->loop);
        s->loop = NULL;
        rp_rcbuf_unref(s->late_rc);
        atomic_store(&s->ready, 1);
        return NULL;
    }

    atomic_store(&s->ready, 1);
    s->run_err = rp_net_loop_run(s->loop);
    rp_net_get_stats(s->loop, &s->final_stats);
    s->leftover_ops = rp_net__backend_outstanding(s->loop);
    rp_net_loop_free(s->loop);
    s->loop = NULL;
    if (rp_rcbuf_refs(s->late_rc) != 1)
        abort();
    rp_rcbuf_unref(s->late_rc);
    s->late_rc = NULL;
    atomic_store(&s->done, 1);
    return NULL;
}

void echo_init(struct echo_server *s, enum rp_net_backend backend)
{
    memset(s, 0, sizeof(*s));
    s->backend = backend;
    s->mode = ECHO_RAW;
    s->tick_ms = 10;
    s->listen_v4 = 1;
}

int echo_start(struct echo_server *s)
{
    if (pthread_create(&s->thread, NULL, server_main, s) != 0)
        return -EAGAIN;
    // Bounded: 10 s for the thread to create its loop and listen.
    for (int i = 0; i < 10000 && !atomic_load(&s->ready); i++)
        usleep(1000);
    if (!atomic_load(&s->ready))
        abort();
    if (s->create_err != 0 || s->listen_err != 0) {
        pthread_join(s->thread, NULL);
        return s->create_err != 0 ? s->create_err : s->listen_err;
    }
    return 0;
}

int echo_stop(struct echo_server *s)
{
    atomic_store(&s->stop_requested, 1);
    pthread_join(s->thread, NULL);
    return s->run_err;
}

// ---- Clients ------------------------------------------------------------------

static int set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        return -1;
    return 0;
}

// Connects a blocking socket of the given family to addr.
static int connect_with_timeouts(int family, const struct sockaddr *addr, socklen_t len)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (set_timeouts(fd) != 0 || connect(fd, addr, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int client_tcp(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect_with_timeouts(AF_INET, (struct sockaddr *)&sin, sizeof(sin));
}

int client_tcp6(int port)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    sin6.sin6_addr = in6addr_loopback;
    return connect_with_timeouts(AF_INET6, (struct sockaddr *)&sin6, sizeof(sin6));
}

int client_unix(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    return connect_with_timeouts(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun));
}

int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int recv_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

long recv_until_eof(int fd, void *buf, size_t cap)
{
    char *p = buf;
    size_t got = 0;
    for (;;) {
        char scratch[4096];
        char *dst = got < cap ? p + got : scratch;
        size_t room = got < cap ? cap - got : sizeof(scratch);
        ssize_t n = recv(fd, dst, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return (long)(got < cap ? got : cap);
        got += (size_t)n;
    }
}

long exchange(int fd, const char *out, size_t out_len, int shut_wr, char *in, size_t in_cap)
{
    size_t sent = 0, got = 0;
    int shut = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);

    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20)
            return -1;
        if (sent == out_len && shut_wr && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN | (sent < out_len ? POLLOUT : 0)};
        if (poll(&pfd, 1, 100) < 0)
            return -1;
        if ((pfd.revents & POLLOUT) && sent < out_len) {
            ssize_t n = send(fd, out + sent, out_len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            if (n > 0)
                sent += (size_t)n;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, in + got, in_cap - got, MSG_DONTWAIT);
            if (n == 0)
                return (long)got;
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            if (n > 0)
                got += (size_t)n;
            if (got == in_cap)
                return (long)got;
        }
    }
}

int request_line(int fd, const char *line, char *buf, size_t cap)
{
    if (send_all(fd, line, strlen(line)) != 0)
        return -1;
    size_t n = 0;
    while (n + 1 < cap) {
        if (recv_all(fd, buf + n, 1) != 0)
            return -1;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return 0;
        }
        n++;
    }
    return -1;
}
