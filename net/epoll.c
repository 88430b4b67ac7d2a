// SPDX-License-Identifier: BSD-3-Clause
// The epoll backend: level-triggered epoll over non-blocking sockets. Used
// where io_uring cannot be set up (seccomp profiles such as Docker's default,
// old kernels) or on request (RP_NET_EPOLL). Receives go through one
// loop-wide buffer, so on_data parses in place and only an unconsumed tail is
// copied. Each connection gets one sendmsg of its iovec queue per turn.

#define _GNU_SOURCE  // accept4

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ringpub/alloc.h"
#include "ringpub/net.h"

#include "net/internal.h"

#define MAX_EVENTS 256

// Accepts per listener per turn, so a connection storm cannot hold up the
// clients already connected.
#define ACCEPTS_PER_TURN 64

// epoll_event.data.u64: bit 63 marks a listener (low bits: its index);
// otherwise the low 32 bits are a connection slot and the next 24 bits its
// generation.
#define TAG_LISTENER (UINT64_C(1) << 63)

struct ep_state {
    int epfd;
    struct epoll_event events[MAX_EVENTS];
    char *rbuf;
};

static struct ep_state *state(rp_net_loop_t *loop)
{
    return loop->backend;
}

static int ep_init(rp_net_loop_t *loop)
{
    struct ep_state *st = rp_calloc(1, sizeof(*st));
    if (st == NULL)
        return -ENOMEM;
    st->rbuf = rp_malloc(loop->cfg.recv_buf_size);
    if (st->rbuf == NULL) {
        rp_free(st);
        return -ENOMEM;
    }
    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (st->epfd < 0) {
        int err = -errno;
        rp_free(st->rbuf);
        rp_free(st);
        return err;
    }
    loop->backend = st;
    return 0;
}

static void ep_fini(rp_net_loop_t *loop)
{
    struct ep_state *st = state(loop);
    close(st->epfd);
    rp_free(st->rbuf);
    rp_free(st);
    loop->backend = NULL;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -errno;
    return 0;
}

static int ep_listener_start(rp_net_loop_t *loop, struct rp_net_listener *l)
{
    int err = set_nonblock(l->fd);
    if (err != 0)
        return err;

    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTENER | l->index};
    if (epoll_ctl(state(loop)->epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0)
        return -errno;
    l->armed = 1;
    return 0;
}

static void ep_listener_stop(rp_net_loop_t *loop, struct rp_net_listener *l)
{
    if (l->armed)
        epoll_ctl(state(loop)->epfd, EPOLL_CTL_DEL, l->fd, NULL);
    l->armed = 0;
    l->closed = 1;
    close(l->fd);
    l->fd = -1;
}

static void ep_accept(rp_net_loop_t *loop, struct rp_net_listener *l)
{
    for (int i = 0; i < ACCEPTS_PER_TURN && !l->closed && !loop->stopping; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            rp_net__accepted(loop, l, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // Level-triggered epoll would report the listener again at once;
            // stop watching it until the next tick instead of spinning.
            epoll_ctl(state(loop)->epfd, EPOLL_CTL_DEL, l->fd, NULL);
            l->armed = 0;
            l->retry_at_tick = 1;
        }
        return;
    }
}

static uint64_t conn_tag(const rp_net_conn_t *conn)
{
    return ((uint64_t)conn->gen << 32) | conn->slot;
}

static int ep_conn_start(rp_net_conn_t *conn)
{
    int err = set_nonblock(conn->fd);
    if (err != 0)
        return err;

    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = conn_tag(conn)};
    if (epoll_ctl(state(conn->loop)->epfd, EPOLL_CTL_ADD, conn->fd, &ev) != 0)
        return -errno;
    conn->ep_events = EPOLLIN;
    return 0;
}

static void ep_conn_update(rp_net_conn_t *conn)
{
    if (conn->flags & RP_NET_CONN_CLOSED)
        return;

    uint32_t want = 0;
    if (rp_net__conn_wants_read(conn))
        want |= EPOLLIN;
    if (conn->flags & RP_NET_CONN_SEND_BUSY)
        want |= EPOLLOUT;
    if (want == conn->ep_events)
        return;

    struct epoll_event ev = {.events = want, .data.u64 = conn_tag(conn)};
    if (epoll_ctl(state(conn->loop)->epfd, EPOLL_CTL_MOD, conn->fd, &ev) != 0) {
        rp_net__conn_fail(conn, -errno);
        return;
    }
    conn->ep_events = want;
}

static void ep_conn_send(rp_net_conn_t *conn)
{
    rp_net_loop_t *loop = conn->loop;
    // sendmsg copies synchronously, so the staging buffer goes back to the
    // pool right after the call.
    size_t want, staged = 0;
    char *stage = rp_net__out_stageable(conn) ? rp_net__stage_get(loop) : NULL;
    int n = rp_net__out_iov(conn, stage, &want, &staged);

    // sendmsg rather than writev, for MSG_NOSIGNAL: a peer that is gone
    // must give EPIPE, not kill the process with SIGPIPE.
    struct msghdr msg = {.msg_iov = conn->iov, .msg_iovlen = (size_t)n};
    ssize_t sent = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    int saved_errno = errno;
    rp_net__stage_put(loop, stage);
    errno = saved_errno;
    loop->stats.sends++;

    if (sent < 0) {
        if (errno == EINTR) {
            rp_net__conn_want_send(conn);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            conn->flags |= RP_NET_CONN_SEND_BUSY;
            ep_conn_update(conn);
        } else {
            rp_net__conn_fail(conn, -errno);
        }
        return;
    }

    loop->stats.bytes_out += (uint64_t)sent;
    rp_net__out_advance(conn, (size_t)sent);
    if ((size_t)sent < want) {
        // The socket buffer is full: wait for EPOLLOUT.
        loop->stats.short_sends++;
        conn->flags |= RP_NET_CONN_SEND_BUSY;
        ep_conn_update(conn);
    } else {
        // More than max_iov segments were queued: the rest goes next turn.
        rp_net__conn_want_send(conn);
    }
}

static void ep_conn_teardown(rp_net_conn_t *conn)
{
    struct ep_state *st = state(conn->loop);
    epoll_ctl(st->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
    close(conn->fd);
    conn->fd = -1;
    conn->flags &= ~RP_NET_CONN_SEND_BUSY;
    rp_net__conn_free(conn);
}

// Reads up to RP_NET_TURN_INPUT_BUFS buffers: the per-turn share, so one
// client sending a flood cannot starve the others.
static void ep_read(rp_net_conn_t *conn)
{
    rp_net_loop_t *loop = conn->loop;
    struct ep_state *st = state(loop);
    size_t size = loop->cfg.recv_buf_size;

    for (int i = 0; i < RP_NET_TURN_INPUT_BUFS && rp_net__conn_wants_read(conn); i++) {
        ssize_t n = read(conn->fd, st->rbuf, size);
        if (n > 0) {
            rp_net__conn_input(conn, st->rbuf, (size_t)n);
            if ((size_t)n < size)
                return;
            continue;
        }
        if (n == 0) {
            rp_net__conn_eof(conn);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            rp_net__conn_fail(conn, -errno);
        return;
    }
}

static void ep_conn_event(rp_net_conn_t *conn, uint32_t events)
{
    if ((events & EPOLLOUT) && (conn->flags & RP_NET_CONN_SEND_BUSY)) {
        conn->flags &= ~RP_NET_CONN_SEND_BUSY;
        ep_conn_update(conn);
        rp_net__conn_want_send(conn);
    }

    if (rp_net__conn_wants_read(conn) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        ep_read(conn);
        return;
    }

    // Errors arrive even for sockets we are not reading.
    if (events & EPOLLERR) {
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        rp_net__conn_fail(conn, soerr != 0 ? -soerr : -ECONNRESET);
    } else if (events & EPOLLHUP) {
        // Both directions are shut: nothing queued can be delivered.
        rp_net__conn_eof(conn);
        rp_net__conn_fail(conn, -EPIPE);
    }
}

static int ep_wait(rp_net_loop_t *loop, int timeout_ms)
{
    struct ep_state *st = state(loop);
    int n = epoll_wait(st->epfd, st->events, MAX_EVENTS, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    loop->now_ms = rp_net__mono_ms();

    for (int i = 0; i < n; i++) {
        uint64_t tag = st->events[i].data.u64;
        if (tag & TAG_LISTENER) {
            unsigned idx = (unsigned)(tag & ~TAG_LISTENER);
            if (idx < loop->listener_count && !loop->listeners[idx]->closed)
                ep_accept(loop, loop->listeners[idx]);
            continue;
        }

        // A connection closed earlier in this batch is still allocated:
        // teardown happens after the turn, so the lookup cannot dangle.
        rp_net_conn_t *conn = rp_net__conn_lookup(loop, (uint32_t)tag, (uint32_t)(tag >> 32));
        if (conn != NULL && !(conn->flags & RP_NET_CONN_CLOSED))
            ep_conn_event(conn, st->events[i].events);
    }
    return 0;
}

static void ep_drain(rp_net_loop_t *loop)
{
    // Every epoll operation completes synchronously: nothing is in flight.
    (void)loop;
}

static unsigned ep_outstanding(rp_net_loop_t *loop)
{
    (void)loop;
    return 0;
}

const struct rp_net_backend_ops rp_net_epoll_ops = {
    .name = "epoll",
    .init = ep_init,
    .fini = ep_fini,
    .listener_start = ep_listener_start,
    .listener_stop = ep_listener_stop,
    .conn_start = ep_conn_start,
    .conn_update = ep_conn_update,
    .conn_send = ep_conn_send,
    .conn_teardown = ep_conn_teardown,
    .wait = ep_wait,
    .drain = ep_drain,
    .outstanding = ep_outstanding,
};
