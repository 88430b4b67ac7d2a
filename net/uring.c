// SPDX-License-Identifier: BSD-3-Clause
// The io_uring backend. Each listener has a multishot accept. Connections
// receive with multishot recv from a provided-buffer ring, or with plain recv
// into a per-connection buffer where the kernel lacks multishot receive. Each
// connection has at most one send in flight over its iovec queue.
// user_data carries the operation, the
// connection's slot and the slot's generation, so a completion for a slot
// that was reused is recognised and dropped. A connection is freed only after
// the last completion that refers to it.
//
// Kernel needs: 5.19 (buffer rings, multishot accept, cancel by fd), 6.0 for
// multishot receive and SINGLE_ISSUER, 6.1 for DEFER_TASKRUN. Setup reports
// -EINVAL below 5.19, which makes RP_NET_AUTO fall back to epoll.

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ringpub/alloc.h"
#include "ringpub/net.h"

#include "net/internal.h"

#define SQ_ENTRIES 512
// Multishot operations post many completions per submission, so the
// completion queue is larger than the submission queue.
#define CQ_ENTRIES 8192
#define DEFAULT_BUF_COUNT 256
#define BUF_GROUP 0
// Completions handled per wait, so that one turn stays short; the rest are
// handled in the next turn.
#define CQES_PER_TURN 4096
// How long drain waits for cancelled operations to complete.
#define DRAIN_TIMEOUT_MS 2000

enum ur_op {
    OP_ACCEPT = 1,
    OP_RECV,
    OP_SEND,
    OP_RECV_CANCEL,    // cancels one receive (pause)
    OP_CANCEL,         // teardown: cancels every operation on the connection's fd
    OP_LISTEN_CANCEL,  // listener stop
};

struct ur_state {
    struct io_uring ring;
    struct io_uring_buf_ring *br;  // NULL when no buffer ring is registered
    size_t br_bytes;
    char *bufs;
    unsigned buf_count;
    unsigned bufs_out;             // provided buffers received and not yet returned
    int multishot_recv;
    struct rp_net_dlist recv_sync_list;  // live connections whose receive must be armed or cancelled
    struct rp_net_dlist zombies;      // torn down, waiting for their last completion
};

static struct ur_state *state(rp_net_loop_t *loop)
{
    return loop->backend;
}

static uint64_t make_ud(enum ur_op op, uint32_t gen, uint32_t slot)
{
    return ((uint64_t)op << 56) | ((uint64_t)(gen & 0xffffffu) << 32) | slot;
}

static uint64_t conn_ud(enum ur_op op, const rp_net_conn_t *conn)
{
    return make_ud(op, conn->gen, conn->slot);
}

// Returns an SQE, submitting the queued ones first when the SQ is full.
// NULL only when the submit itself failed (the caller retries next turn).
static struct io_uring_sqe *get_sqe(struct ur_state *st)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&st->ring);
    if (sqe != NULL)
        return sqe;
    io_uring_submit(&st->ring);
    return io_uring_get_sqe(&st->ring);
}

// ---- Setup ------------------------------------------------------------------

static int setup_ring(struct io_uring *ring, unsigned sq_entries)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
              IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    int err = io_uring_queue_init_params(sq_entries, ring, &p);
    if (err != -EINVAL)
        return err;

    // Before 6.1 (DEFER_TASKRUN) or 6.0 (SINGLE_ISSUER).
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    return io_uring_queue_init_params(sq_entries, ring, &p);
}

static void buf_recycle(struct ur_state *st, size_t size, unsigned bid)
{
    st->bufs_out--;
    io_uring_buf_ring_add(st->br, st->bufs + (size_t)bid * size, (unsigned)size, (unsigned short)bid,
                          io_uring_buf_ring_mask(st->buf_count), 0);
    io_uring_buf_ring_advance(st->br, 1);
}

// Registers the provided-buffer ring by hand: io_uring_setup_buf_ring only
// arrived in liburing 2.4. The ring memory is shared with the kernel and must
// be page-aligned, hence mmap rather than the allocation hooks.
static int setup_buf_ring(rp_net_loop_t *loop, struct ur_state *st)
{
    unsigned count = DEFAULT_BUF_COUNT;
    if (loop->test != NULL && loop->test->uring_buf_count != 0)
        count = loop->test->uring_buf_count;
    if (count == 0 || (count & (count - 1)) != 0 || count > 32768)
        return -EINVAL;

    size_t size = loop->cfg.recv_buf_size;
    if (count > SIZE_MAX / size)
        return -ENOMEM;
    st->bufs = rp_malloc(count * size);
    if (st->bufs == NULL)
        return -ENOMEM;

    st->br_bytes = count * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, st->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) {
        rp_free(st->bufs);
        st->bufs = NULL;
        return -ENOMEM;
    }
    st->br = mem;

    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)(uintptr_t)mem;
    reg.ring_entries = count;
    reg.bgid = BUF_GROUP;
    int err = io_uring_register_buf_ring(&st->ring, &reg, 0);
    if (err != 0) {
        munmap(mem, st->br_bytes);
        st->br = NULL;
        rp_free(st->bufs);
        st->bufs = NULL;
        return err;
    }

    st->buf_count = count;
    io_uring_buf_ring_init(st->br);
    for (unsigned i = 0; i < count; i++)
        io_uring_buf_ring_add(st->br, st->bufs + (size_t)i * size, (unsigned)size, (unsigned short)i,
                              io_uring_buf_ring_mask(count), (int)i);
    io_uring_buf_ring_advance(st->br, (int)count);
    return 0;
}

static int ur_init(rp_net_loop_t *loop)
{
    struct ur_state *st = rp_calloc(1, sizeof(*st));
    if (st == NULL)
        return -ENOMEM;
    rp_net_dlist_init(&st->recv_sync_list);
    rp_net_dlist_init(&st->zombies);

    unsigned sq_entries = SQ_ENTRIES;
    if (loop->test != NULL && loop->test->uring_sq_entries != 0)
        sq_entries = loop->test->uring_sq_entries;
    int err = setup_ring(&st->ring, sq_entries);
    if (err != 0) {
        rp_free(st);
        return err;
    }

    // Buffer rings came with 5.19, as did multishot accept and cancel by
    // fd: without them this backend cannot run, and -EINVAL sends
    // RP_NET_AUTO to epoll.
    err = setup_buf_ring(loop, st);
    if (err != 0) {
        io_uring_queue_exit(&st->ring);
        rp_free(st);
        return err;
    }
    st->multishot_recv = loop->test == NULL || !loop->test->uring_plain_recv;
    loop->backend = st;
    return 0;
}

static void ur_fini(rp_net_loop_t *loop)
{
    struct ur_state *st = state(loop);

    // Exiting the ring cancels whatever is still in flight, so connections
    // that drain gave up on can be released now.
    io_uring_queue_exit(&st->ring);
    while (!rp_net_dlist_empty(&st->zombies)) {
        rp_net_conn_t *conn = RP_NET_CONTAINER(st->zombies.next, rp_net_conn_t, zombie_link);
        rp_net_dlist_remove(&conn->zombie_link);
        close(conn->fd);
        conn->ops = 0;
        rp_net__conn_free(conn);
    }

    if (st->br != NULL)
        munmap(st->br, st->br_bytes);
    rp_free(st->bufs);
    rp_free(st);
    loop->backend = NULL;
}

// io_uring keeps a blocking socket's operations asynchronous by polling it,
// so sockets are used blocking here and every result comes as a completion.
static int set_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        return -errno;
    return 0;
}

// ---- Listeners --------------------------------------------------------------

static int ur_listener_start(rp_net_loop_t *loop, struct rp_net_listener *l)
{
    struct ur_state *st = state(loop);
    int err = set_blocking(l->fd);
    if (err != 0)
        return err;

    struct io_uring_sqe *sqe = get_sqe(st);
    if (sqe == NULL)
        return -EBUSY;
    io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, make_ud(OP_ACCEPT, 0, l->index));
    l->ops++;
    l->armed = 1;
    return 0;
}

static void listener_maybe_close(struct rp_net_listener *l)
{
    if (l->closed && l->ops == 0 && l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
}

static void ur_listener_stop(rp_net_loop_t *loop, struct rp_net_listener *l)
{
    struct ur_state *st = state(loop);
    l->closed = 1;
    if (l->armed) {
        struct io_uring_sqe *sqe = get_sqe(st);
        if (sqe != NULL) {
            io_uring_prep_cancel_fd(sqe, l->fd, IORING_ASYNC_CANCEL_ALL);
            io_uring_sqe_set_data64(sqe, make_ud(OP_LISTEN_CANCEL, 0, l->index));
            l->ops++;
        }
        // TODO: without an SQE the accept stays armed until ur_fini exits
        // the ring; new clients are then accepted and closed at once.
    }
    listener_maybe_close(l);
}

static void on_accept_cqe(rp_net_loop_t *loop, const struct io_uring_cqe *cqe, uint32_t index)
{
    if (index >= loop->listener_count)
        return;
    struct rp_net_listener *l = loop->listeners[index];
    int res = cqe->res;

    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        l->ops--;
        l->armed = 0;
    }

    if (res >= 0) {
        if (l->closed || loop->stopping)
            close(res);
        else
            rp_net__accepted(loop, l, res);
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        // Re-arming at once would fail again at once.
        l->retry_at_tick = 1;
    }

    if (!l->armed && !l->closed && !l->retry_at_tick && !loop->stopping)
        ur_listener_start(loop, l);
    listener_maybe_close(l);
}

// ---- Connections --------------------------------------------------------------

// Queues conn for sync_recv before the next submit.
static void sync_recv_later(rp_net_conn_t *conn)
{
    if (!rp_net_dlist_linked(&conn->backend_link))
        rp_net_dlist_push(&state(conn->loop)->recv_sync_list, &conn->backend_link);
}

static int arm_recv(rp_net_conn_t *conn)
{
    rp_net_loop_t *loop = conn->loop;
    struct ur_state *st = state(loop);

    if (!st->multishot_recv && conn->recv_buf == NULL) {
        conn->recv_buf = rp_malloc(loop->cfg.recv_buf_size);
        if (conn->recv_buf == NULL)
            return -ENOMEM;
    }
    struct io_uring_sqe *sqe = get_sqe(st);
    if (sqe == NULL)
        return -EBUSY;

    if (st->multishot_recv) {
        io_uring_prep_recv_multishot(sqe, conn->fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BUF_GROUP;
    } else {
        io_uring_prep_recv(sqe, conn->fd, conn->recv_buf, loop->cfg.recv_buf_size, 0);
    }
    io_uring_sqe_set_data64(sqe, conn_ud(OP_RECV, conn));
    conn->ops++;
    conn->flags |= RP_NET_CONN_RECV_ARMED;
    return 0;
}

static int ur_conn_start(rp_net_conn_t *conn)
{
    int err = set_blocking(conn->fd);
    if (err != 0)
        return err;
    return arm_recv(conn);
}

// Pauses, resumes and backlog changes take effect before the next submit,
// which is when an SQE prepared now would reach the kernel anyway.
static void ur_conn_update(rp_net_conn_t *conn)
{
    if (!(conn->flags & RP_NET_CONN_CLOSED))
        sync_recv_later(conn);
}

// Brings the receive in line with rp_net__conn_wants_read: arms it or
// cancels it. Returns -EBUSY when no SQE could be had.
static int sync_recv(rp_net_conn_t *conn)
{
    if (conn->flags & RP_NET_CONN_CLOSED)
        return 0;
    int want = rp_net__conn_wants_read(conn);
    int armed = (conn->flags & RP_NET_CONN_RECV_ARMED) != 0;

    if (want && !armed) {
        int err = arm_recv(conn);
        if (err != 0 && err != -EBUSY)
            rp_net__conn_fail(conn, err);
        return err == -EBUSY ? err : 0;
    }
    if (!want && armed && !(conn->flags & (RP_NET_CONN_RECV_CANCEL | RP_NET_CONN_EOF))) {
        struct io_uring_sqe *sqe = get_sqe(state(conn->loop));
        if (sqe == NULL)
            return -EBUSY;
        io_uring_prep_cancel64(sqe, conn_ud(OP_RECV, conn), 0);
        io_uring_sqe_set_data64(sqe, conn_ud(OP_RECV_CANCEL, conn));
        conn->ops++;
        conn->flags |= RP_NET_CONN_RECV_CANCEL;
    }
    return 0;
}

static void ur_conn_send(rp_net_conn_t *conn)
{
    rp_net_loop_t *loop = conn->loop;
    struct io_uring_sqe *sqe = get_sqe(state(loop));
    if (sqe == NULL) {
        rp_net__conn_want_send(conn);
        return;
    }

    // The staging buffer stays with the connection until the completion,
    // because the kernel may copy from it only when the socket has room.
    size_t bytes, staged = 0;
    char *stage = rp_net__out_stageable(conn) ? rp_net__stage_get(loop) : NULL;
    int n = rp_net__out_iov(conn, stage, &bytes, &staged);
    if (staged == 0) {
        rp_net__stage_put(loop, stage);
        stage = NULL;
    }
    conn->stage = stage;
    if (n == 1) {
        // A plain send skips the kernel's msghdr copy and iovec import, and
        // with staging most sends of small frames are a single run.
        io_uring_prep_send(sqe, conn->fd, conn->iov[0].iov_base, conn->iov[0].iov_len, MSG_NOSIGNAL);
    } else {
        memset(&conn->msg, 0, sizeof(conn->msg));
        conn->msg.msg_iov = conn->iov;
        conn->msg.msg_iovlen = (size_t)n;
        io_uring_prep_sendmsg(sqe, conn->fd, &conn->msg, MSG_NOSIGNAL);
    }
    io_uring_sqe_set_data64(sqe, conn_ud(OP_SEND, conn));
    conn->ops++;
    conn->send_len = bytes;
    conn->flags |= RP_NET_CONN_SEND_BUSY;
    loop->stats.sends++;
}

static void conn_maybe_free(rp_net_conn_t *conn)
{
    if (!(conn->flags & RP_NET_CONN_CLOSED) || conn->ops > 0)
        return;
    rp_net_dlist_remove(&conn->zombie_link);
    rp_net_dlist_remove(&conn->backend_link);
    close(conn->fd);
    conn->fd = -1;
    rp_net__conn_free(conn);
}

static void send_teardown_cancel(rp_net_conn_t *conn)
{
    struct io_uring_sqe *sqe = get_sqe(state(conn->loop));
    if (sqe == NULL)
        return;  // retried from the zombie list before the next wait
    io_uring_prep_cancel_fd(sqe, conn->fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, conn_ud(OP_CANCEL, conn));
    conn->ops++;
    conn->flags |= RP_NET_CONN_CANCEL_SENT;
}

static void ur_conn_teardown(rp_net_conn_t *conn)
{
    struct ur_state *st = state(conn->loop);
    rp_net_dlist_remove(&conn->backend_link);
    if (conn->ops == 0) {
        conn_maybe_free(conn);
        return;
    }
    rp_net_dlist_push(&st->zombies, &conn->zombie_link);
    send_teardown_cancel(conn);
}

// ---- Completions ------------------------------------------------------------

static void on_recv_cqe(rp_net_loop_t *loop, rp_net_conn_t *conn, const struct io_uring_cqe *cqe)
{
    struct ur_state *st = state(loop);
    size_t size = loop->cfg.recv_buf_size;
    int res = cqe->res;
    int has_buf = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    if (has_buf)
        st->bufs_out++;

    if (conn == NULL) {
        // A completion for a reused slot: only the buffer matters.
        if (has_buf)
            buf_recycle(st, size, bid);
        return;
    }

    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        conn->ops--;
        conn->flags &= ~(RP_NET_CONN_RECV_ARMED | RP_NET_CONN_RECV_CANCEL);
    }

    if (res > 0) {
        const char *data = has_buf ? st->bufs + (size_t)bid * size : conn->recv_buf;
        if (!(conn->flags & RP_NET_CONN_CLOSED))
            rp_net__conn_input(conn, data, (size_t)res);
        // The buffer goes back as soon as on_data is done with it: the
        // unconsumed tail was copied into the connection.
        if (has_buf)
            buf_recycle(st, size, bid);
    } else {
        if (has_buf)
            buf_recycle(st, size, bid);
        if (conn->flags & RP_NET_CONN_CLOSED) {
            // Teardown cancelled it.
        } else if (res == 0) {
            rp_net__conn_eof(conn);
        } else if (res == -ENOBUFS) {
            // Every provided buffer was in use. They are returned as the
            // completions of this batch are handled, so re-arming before
            // the next wait finds them.
            loop->stats.enobufs++;
        } else if (res == -EINVAL && st->multishot_recv && !(cqe->flags & IORING_CQE_F_MORE)) {
            // A kernel before 6.0: no multishot receive. Switch the loop to
            // plain receives.
            st->multishot_recv = 0;
        } else if (res != -ECANCELED && res != -EINTR && res != -EAGAIN) {
            rp_net__conn_fail(conn, res);
        }
    }

    if (!(conn->flags & (RP_NET_CONN_CLOSED | RP_NET_CONN_RECV_ARMED)) && rp_net__conn_wants_read(conn))
        sync_recv_later(conn);
    conn_maybe_free(conn);
}

static void on_send_cqe(rp_net_loop_t *loop, rp_net_conn_t *conn, int res)
{
    if (conn == NULL)
        return;
    conn->ops--;
    conn->flags &= ~RP_NET_CONN_SEND_BUSY;
    rp_net__stage_put(loop, conn->stage);
    conn->stage = NULL;

    if (res >= 0) {
        loop->stats.bytes_out += (uint64_t)res;
        rp_net__out_advance(conn, (size_t)res);
        if ((size_t)res < conn->send_len)
            loop->stats.short_sends++;
        rp_net__conn_want_send(conn);
    } else if (conn->flags & RP_NET_CONN_CLOSED) {
        // Cancelled by teardown; the queue is freed with the connection.
    } else if (res == -ECANCELED || res == -EINTR || res == -EAGAIN) {
        rp_net__conn_want_send(conn);
    } else {
        rp_net__conn_fail(conn, res);
    }
    conn_maybe_free(conn);
}

static void handle_cqe(rp_net_loop_t *loop, const struct io_uring_cqe *cqe)
{
    uint64_t ud = cqe->user_data;
    enum ur_op op = (enum ur_op)(ud >> 56);
    uint32_t gen = (uint32_t)(ud >> 32) & 0xffffffu;
    uint32_t slot = (uint32_t)ud;

    if (op == OP_ACCEPT) {
        on_accept_cqe(loop, cqe, slot);
        return;
    }
    if (op == OP_LISTEN_CANCEL) {
        if (slot < loop->listener_count) {
            struct rp_net_listener *l = loop->listeners[slot];
            l->ops--;
            listener_maybe_close(l);
        }
        return;
    }

    rp_net_conn_t *conn = rp_net__conn_lookup(loop, slot, gen);
    switch (op) {
    case OP_RECV:
        on_recv_cqe(loop, conn, cqe);
        break;
    case OP_SEND:
        on_send_cqe(loop, conn, cqe->res);
        break;
    case OP_RECV_CANCEL:
    case OP_CANCEL:
        if (conn != NULL) {
            conn->ops--;
            conn_maybe_free(conn);
        }
        break;
    default:
        break;
    }
}

// Arms or cancels the receives that completions, pauses and resumes asked
// for, and retries teardown cancels that found no SQE.
static void prepare_submit(rp_net_loop_t *loop)
{
    struct ur_state *st = state(loop);

    while (!rp_net_dlist_empty(&st->recv_sync_list)) {
        rp_net_conn_t *conn = RP_NET_CONTAINER(st->recv_sync_list.next, rp_net_conn_t, backend_link);
        if (sync_recv(conn) == -EBUSY)
            break;  // the SQ is stuck, so the rest waits for the next turn
        rp_net_dlist_remove(&conn->backend_link);
    }

    struct rp_net_dlist *n;
    for (n = st->zombies.next; n != &st->zombies; n = n->next) {
        rp_net_conn_t *conn = RP_NET_CONTAINER(n, rp_net_conn_t, zombie_link);
        if (!(conn->flags & RP_NET_CONN_CANCEL_SENT))
            send_teardown_cancel(conn);
    }
}

static int reap(rp_net_loop_t *loop)
{
    struct ur_state *st = state(loop);
    struct io_uring_cqe *cqe;
    int count = 0;

    while (count < CQES_PER_TURN && io_uring_peek_cqe(&st->ring, &cqe) == 0) {
        // Copy and mark seen first: the handlers may submit, and the slot
        // must not be read after it is released.
        struct io_uring_cqe copy = *cqe;
        io_uring_cqe_seen(&st->ring, cqe);
        handle_cqe(loop, &copy);
        count++;
    }
    return count;
}

static int ur_wait(rp_net_loop_t *loop, int timeout_ms)
{
    struct ur_state *st = state(loop);
    prepare_submit(loop);

    // The tick needs no timer operation: the wait itself is bounded by the
    // time left until the next tick.
    int err;
    if (timeout_ms == 0) {
        err = io_uring_submit_and_get_events(&st->ring);
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
        struct io_uring_cqe *cqe = NULL;
        err = io_uring_submit_and_wait_timeout(&st->ring, &cqe, 1, &ts, NULL);
    }
    if (err < 0 && err != -ETIME && err != -EINTR && err != -EAGAIN && err != -EBUSY)
        return err;

    loop->now_ms = rp_net__mono_ms();
    reap(loop);
    return 0;
}

static int busy(rp_net_loop_t *loop)
{
    struct ur_state *st = state(loop);
    if (!rp_net_dlist_empty(&st->zombies))
        return 1;
    for (unsigned i = 0; i < loop->listener_count; i++)
        if (loop->listeners[i]->ops > 0)
            return 1;
    return 0;
}

static void ur_drain(rp_net_loop_t *loop)
{
    struct ur_state *st = state(loop);
    uint64_t deadline = rp_net__mono_ms() + DRAIN_TIMEOUT_MS;

    while (busy(loop) && rp_net__mono_ms() < deadline) {
        prepare_submit(loop);
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000};
        struct io_uring_cqe *cqe = NULL;
        io_uring_submit_and_wait_timeout(&st->ring, &cqe, 1, &ts, NULL);
        reap(loop);
    }
    // TODO: what is still in flight after DRAIN_TIMEOUT_MS is released by
    // ur_fini when the loop is freed, not here.
}

static unsigned ur_outstanding(rp_net_loop_t *loop)
{
    struct ur_state *st = state(loop);
    unsigned n = io_uring_sq_ready(&st->ring) + st->bufs_out;
    struct rp_net_dlist *node;
    for (node = st->zombies.next; node != &st->zombies; node = node->next)
        n += RP_NET_CONTAINER(node, rp_net_conn_t, zombie_link)->ops;
    for (unsigned i = 0; i < loop->listener_count; i++)
        n += loop->listeners[i]->ops;
    return n;
}

const struct rp_net_backend_ops rp_net_uring_ops = {
    .name = "io_uring",
    .init = ur_init,
    .fini = ur_fini,
    .listener_start = ur_listener_start,
    .listener_stop = ur_listener_stop,
    .conn_start = ur_conn_start,
    .conn_update = ur_conn_update,
    .conn_send = ur_conn_send,
    .conn_teardown = ur_conn_teardown,
    .wait = ur_wait,
    .drain = ur_drain,
    .outstanding = ur_outstanding,
};
