// SPDX-License-Identifier: BSD-3-Clause
// Connections, independent of the backend: the slot table, input delivery to
// on_data (with the unconsumed tail, the per-turn share and pause), the
// output queue of private chunks and referenced rcbufs, and closing.

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ringpub/alloc.h"
#include "ringpub/net.h"

#include "net/internal.h"

// Generations are 24 bits wide in io_uring user_data.
#define GEN_MASK 0xffffffu

// ---- Slots ----------------------------------------------------------------

static int slot_grow(rp_net_loop_t *loop)
{
    uint32_t cap = loop->slot_cap ? loop->slot_cap * 2 : 64;
    if (cap > (1u << 30))
        return -ENOMEM;

    rp_net_conn_t **slots = rp_reallocarray(loop->slots, cap, sizeof(*slots));
    if (slots == NULL)
        return -ENOMEM;
    loop->slots = slots;
    uint32_t *gens = rp_reallocarray(loop->slot_gens, cap, sizeof(*gens));
    if (gens == NULL)
        return -ENOMEM;
    loop->slot_gens = gens;
    uint32_t *next = rp_reallocarray(loop->slot_next_free, cap, sizeof(*next));
    if (next == NULL)
        return -ENOMEM;
    loop->slot_next_free = next;

    // Chain the new slots in ascending order in front of the free list.
    for (uint32_t i = cap; i-- > loop->slot_cap;) {
        loop->slots[i] = NULL;
        loop->slot_gens[i] = 0;
        loop->slot_next_free[i] = loop->free_slot;
        loop->free_slot = i;
    }
    loop->slot_cap = cap;
    return 0;
}

static unsigned conn_iov_entries(const rp_net_loop_t *loop)
{
    return loop->cfg.max_iov < RP_NET_CONN_IOV ? loop->cfg.max_iov : RP_NET_CONN_IOV;
}

rp_net_conn_t *rp_net__conn_lookup(rp_net_loop_t *loop, uint32_t slot, uint32_t gen)
{
    if (slot >= loop->slot_cap || loop->slot_gens[slot] != gen)
        return NULL;
    return loop->slots[slot];
}

// ---- Lifetime ---------------------------------------------------------------

rp_net_conn_t *rp_net__conn_new(rp_net_loop_t *loop, int fd, int is_unix, void *ctx, int *err)
{
    *err = -ENOMEM;
    if (loop->free_slot == UINT32_MAX && slot_grow(loop) != 0)
        return NULL;

    rp_net_conn_t *conn = rp_calloc(1, sizeof(*conn));
    if (conn == NULL)
        return NULL;
    conn->iov = rp_calloc(conn_iov_entries(loop), sizeof(*conn->iov));
    if (conn->iov == NULL) {
        rp_free(conn);
        return NULL;
    }

    conn->loop = loop;
    conn->ctx = ctx;
    conn->fd = fd;
    conn->flags = is_unix ? RP_NET_CONN_UNIX : 0;
    rp_net_dlist_init(&conn->all_link);
    rp_net_dlist_init(&conn->send_link);
    rp_net_dlist_init(&conn->input_link);
    rp_net_dlist_init(&conn->close_link);
    rp_net_dlist_init(&conn->backend_link);
    rp_net_dlist_init(&conn->zombie_link);

    uint32_t slot = loop->free_slot;
    loop->free_slot = loop->slot_next_free[slot];
    loop->slot_gens[slot] = (loop->slot_gens[slot] + 1) & GEN_MASK;
    loop->slots[slot] = conn;
    conn->slot = slot;
    conn->gen = loop->slot_gens[slot];

    *err = loop->ops->conn_start(conn);
    if (*err != 0) {
        loop->slots[slot] = NULL;
        loop->slot_next_free[slot] = loop->free_slot;
        loop->free_slot = slot;
        rp_free(conn->iov);
        rp_free(conn);
        return NULL;
    }

    rp_net_dlist_push(&loop->conns, &conn->all_link);
    loop->stats.connections++;
    return conn;
}

void rp_net__conn_free(rp_net_conn_t *conn)
{
    rp_net_loop_t *loop = conn->loop;
    assert(conn->flags & RP_NET_CONN_CLOSED);
    assert(conn->ops == 0);

    rp_net__out_clear(conn);
    rp_net__stage_put(loop, conn->stage);
    conn->stage = NULL;
    rp_free(conn->spare);
    rp_free(conn->segs);
    rp_buf_free(&conn->in);
    rp_free(conn->iov);
    rp_free(conn->recv_buf);

    loop->slots[conn->slot] = NULL;
    loop->slot_next_free[conn->slot] = loop->free_slot;
    loop->free_slot = conn->slot;
    loop->stats.connections--;
    rp_free(conn);
}

void rp_net__accepted(rp_net_loop_t *loop, struct rp_net_listener *l, int fd)
{
    if (!l->is_unix) {
        // Replies are small and written once per loop turn, so Nagle's
        // algorithm would only add latency (redis sets it too).
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }

    int err;
    rp_net_conn_t *conn = rp_net__conn_new(loop, fd, l->is_unix, NULL, &err);
    if (conn == NULL) {
        // TODO: a client dropped here (out of memory) is not counted, so the
        // server cannot report it in INFO (rejected_connections).
        close(fd);
        return;
    }
    loop->stats.accepted++;
    if (loop->h.on_accept != NULL)
        conn->ctx = loop->h.on_accept(loop->ctx, conn);
}

int rp_net_conn_open_fd(rp_net_loop_t *loop, int fd, void *conn_ctx, rp_net_conn_t **out)
{
    *out = NULL;

    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -errno;
    int is_unix = ss.ss_family == AF_UNIX;

    int err;
    rp_net_conn_t *conn = rp_net__conn_new(loop, fd, is_unix, conn_ctx, &err);
    if (conn == NULL)
        return err;
    *out = conn;
    return 0;
}

// ---- Input ------------------------------------------------------------------

int rp_net__conn_wants_read(const rp_net_conn_t *conn)
{
    // A closing connection keeps reading (and discarding) so that a reset or
    // EOF from the peer ends a flush early.
    if (conn->flags & (RP_NET_CONN_CLOSED | RP_NET_CONN_EOF))
        return 0;
    if (conn->flags & RP_NET_CONN_CLOSING)
        return 1;
    return !(conn->flags & (RP_NET_CONN_PAUSED | RP_NET_CONN_BACKLOG));
}

static size_t turn_share_left(rp_net_conn_t *conn)
{
    rp_net_loop_t *loop = conn->loop;
    if (conn->turn != loop->turn) {
        conn->turn = loop->turn;
        conn->turn_bytes = 0;
    }
    return conn->turn_bytes >= loop->turn_input_cap ? 0 : loop->turn_input_cap - conn->turn_bytes;
}

// Drops the input of a closing connection, unless on_data may still be
// reading it.
static void drop_input(rp_net_conn_t *conn)
{
    if (conn->flags & RP_NET_CONN_IN_ON_DATA)
        return;
    rp_buf_free(&conn->in);
    conn->in_seen = 0;
}

// Calls on_data. Returns the bytes it consumed, or 0 when it closed the
// connection (whose input is then dropped).
static size_t call_on_data(rp_net_conn_t *conn, const char *data, size_t len)
{
    conn->turn_bytes += len;
    conn->flags &= ~RP_NET_CONN_REDELIVER;
    conn->flags |= RP_NET_CONN_IN_ON_DATA;
    size_t used = conn->loop->h.on_data(conn->ctx, conn, data, len);
    conn->flags &= ~RP_NET_CONN_IN_ON_DATA;

    if (conn->flags & RP_NET_CONN_CLOSING) {
        drop_input(conn);
        return 0;
    }
    assert(used <= len);
    return used > len ? len : used;
}

static void update_backlog(rp_net_conn_t *conn)
{
    size_t held = conn->in.len - conn->in_seen;
    int over = held > conn->loop->input_high_water;
    int was = (conn->flags & RP_NET_CONN_BACKLOG) != 0;
    if (over == was)
        return;
    if (over)
        conn->flags |= RP_NET_CONN_BACKLOG;
    else
        conn->flags &= ~RP_NET_CONN_BACKLOG;
    conn->loop->ops->conn_update(conn);
}

// Appends bytes on_data has not seen, to be delivered in a later turn.
static void hold_input(rp_net_conn_t *conn, const char *data, size_t len)
{
    if (rp_buf_append(&conn->in, data, len) != 0) {
        rp_net__conn_fail(conn, -ENOMEM);
        return;
    }
    if (!(conn->flags & RP_NET_CONN_PAUSED) && !rp_net_dlist_linked(&conn->input_link))
        rp_net_dlist_push(&conn->loop->input_list, &conn->input_link);
    update_backlog(conn);
}

void rp_net__conn_input(rp_net_conn_t *conn, const char *data, size_t len)
{
    rp_net_loop_t *loop = conn->loop;
    loop->stats.bytes_in += len;
    if (conn->flags & (RP_NET_CONN_CLOSING | RP_NET_CONN_CLOSED))
        return;

    int held = conn->in.len > conn->in_seen;
    if (held || (conn->flags & RP_NET_CONN_PAUSED) || turn_share_left(conn) == 0) {
        hold_input(conn, data, len);
        return;
    }

    if (conn->in.len == 0) {
        // The common case: parse straight from the receive buffer and copy
        // only what on_data leaves.
        size_t used = call_on_data(conn, data, len);
        if (conn->flags & RP_NET_CONN_CLOSING)
            return;
        if (used < len) {
            if (rp_buf_append(&conn->in, data + used, len - used) != 0) {
                rp_net__conn_fail(conn, -ENOMEM);
                return;
            }
            conn->in_seen = conn->in.len;
        }
        return;
    }

    if (rp_buf_append(&conn->in, data, len) != 0) {
        rp_net__conn_fail(conn, -ENOMEM);
        return;
    }
    size_t used = call_on_data(conn, conn->in.data, conn->in.len);
    if (conn->flags & RP_NET_CONN_CLOSING)
        return;
    rp_buf_consume(&conn->in, used);
    conn->in_seen = conn->in.len;
}

void rp_net__conn_deliver_held(rp_net_conn_t *conn)
{
    if (conn->flags & (RP_NET_CONN_CLOSING | RP_NET_CONN_CLOSED | RP_NET_CONN_PAUSED))
        return;
    if (conn->in.len == 0)
        return;

    // on_data is always given the whole tail it left last time, plus at most
    // one share of the held bytes. After a resume it may get the tail alone.
    size_t share = turn_share_left(conn);
    size_t fresh = conn->in.len - conn->in_seen;
    size_t give = conn->in_seen + (fresh < share ? fresh : share);
    int redeliver = (conn->flags & RP_NET_CONN_REDELIVER) != 0;
    conn->flags &= ~RP_NET_CONN_REDELIVER;
    if ((fresh > 0 && share > 0) || redeliver) {
        size_t used = call_on_data(conn, conn->in.data, give);
        if (conn->flags & RP_NET_CONN_CLOSING)
            return;
        rp_buf_consume(&conn->in, used);
        conn->in_seen = give - used;
    }

    if (conn->in.len > conn->in_seen) {
        if (!(conn->flags & RP_NET_CONN_PAUSED) && !rp_net_dlist_linked(&conn->input_link))
            rp_net_dlist_push(&conn->loop->input_list, &conn->input_link);
        update_backlog(conn);
        return;
    }
    update_backlog(conn);
    if (conn->flags & RP_NET_CONN_EOF)
        rp_net_conn_close(conn, 1);
}

// ---- Closing ---------------------------------------------------------------

static void set_close_err(rp_net_conn_t *conn, int err)
{
    if (conn->flags & RP_NET_CONN_ERR_SET)
        return;
    conn->flags |= RP_NET_CONN_ERR_SET;
    conn->close_err = err;
}

void rp_net__conn_eof(rp_net_conn_t *conn)
{
    if (conn->flags & RP_NET_CONN_CLOSED)
        return;
    conn->flags |= RP_NET_CONN_EOF;
    set_close_err(conn, 0);
    conn->loop->ops->conn_update(conn);
    // Input received before the EOF but not yet handed to on_data is
    // delivered first; rp_net__conn_deliver_held closes afterwards.
    if (conn->in.len > conn->in_seen)
        return;
    // A peer that only shut down its sending side (nc, shell pipes) still
    // reads, so replies to its last commands are flushed before closing.
    rp_net_conn_close(conn, 1);
}

void rp_net__conn_fail(rp_net_conn_t *conn, int err)
{
    if (conn->flags & RP_NET_CONN_CLOSED)
        return;
    set_close_err(conn, err);
    rp_net_conn_close(conn, 0);
}

void rp_net_conn_close(rp_net_conn_t *conn, int flush)
{
    rp_net_loop_t *loop = conn->loop;
    if (conn->flags & RP_NET_CONN_CLOSED)
        return;

    if (conn->flags & RP_NET_CONN_CLOSING) {
        // A second call may only make the close more urgent.
        if (!flush)
            conn->flags &= ~RP_NET_CONN_FLUSHING;
        return;
    }

    set_close_err(conn, 0);
    conn->flags |= RP_NET_CONN_CLOSING;
    if (flush) {
        conn->flags |= RP_NET_CONN_FLUSHING;
        conn->flush_deadline_ms = loop->now_ms + RP_NET_FLUSH_TIMEOUT_MS;
        rp_net__conn_want_send(conn);
    }

    // Input is ignored from now on: drop what was held. Inside on_data,
    // call_on_data drops it once the callback returns.
    drop_input(conn);
    rp_net_dlist_remove(&conn->input_link);
    conn->flags &= ~RP_NET_CONN_BACKLOG;

    rp_net_dlist_push(&loop->close_list, &conn->close_link);
    loop->ops->conn_update(conn);
}

void rp_net_conn_pause_read(rp_net_conn_t *conn, int pause)
{
    if (conn->flags & (RP_NET_CONN_CLOSING | RP_NET_CONN_CLOSED))
        return;

    if (pause) {
        if (conn->flags & RP_NET_CONN_PAUSED)
            return;
        conn->flags |= RP_NET_CONN_PAUSED;
        rp_net_dlist_remove(&conn->input_link);
    } else {
        if (!(conn->flags & RP_NET_CONN_PAUSED))
            return;
        conn->flags &= ~RP_NET_CONN_PAUSED;
        // Show on_data its tail again: a pause may have left complete
        // requests there that no new bytes would bring back.
        if (conn->in.len > 0) {
            conn->flags |= RP_NET_CONN_REDELIVER;
            if (!rp_net_dlist_linked(&conn->input_link))
                rp_net_dlist_push(&conn->loop->input_list, &conn->input_link);
        }
    }
    conn->loop->ops->conn_update(conn);
}

// ---- Output queue -----------------------------------------------------------

void rp_net__conn_want_send(rp_net_conn_t *conn)
{
    if (conn->out_bytes == 0 || (conn->flags & (RP_NET_CONN_SEND_BUSY | RP_NET_CONN_CLOSED)))
        return;
    if (!rp_net_dlist_linked(&conn->send_link))
        rp_net_dlist_push(&conn->loop->send_list, &conn->send_link);
}

// Whether writes are queued. After on_close, rp_net_conn_close without
// flush, or a socket error, the queue is being dropped and so are writes.
static int writable(const rp_net_conn_t *conn)
{
    if (conn->flags & RP_NET_CONN_CLOSED)
        return 0;
    return !(conn->flags & RP_NET_CONN_CLOSING) || (conn->flags & RP_NET_CONN_FLUSHING);
}

// Makes room for one more segment at seg_tail.
static int seg_reserve(rp_net_conn_t *conn)
{
    if (conn->seg_tail < conn->seg_cap)
        return 0;
    if (conn->seg_head > 0) {
        uint32_t n = conn->seg_tail - conn->seg_head;
        memmove(conn->segs, conn->segs + conn->seg_head, n * sizeof(*conn->segs));
        conn->seg_head = 0;
        conn->seg_tail = n;
        if (n < conn->seg_cap)
            return 0;
    }
    if (conn->seg_cap >= (1u << 28))
        return -ENOMEM;
    uint32_t cap = conn->seg_cap ? conn->seg_cap * 2 : 8;
    struct rp_net_seg *segs = rp_reallocarray(conn->segs, cap, sizeof(*segs));
    if (segs == NULL)
        return -ENOMEM;
    conn->segs = segs;
    conn->seg_cap = cap;
    return 0;
}

static struct rp_net_chunk *chunk_get(rp_net_conn_t *conn, size_t want)
{
    if (conn->spare != NULL && want <= conn->spare->cap) {
        struct rp_net_chunk *c = conn->spare;
        conn->spare = NULL;
        return c;
    }
    size_t cap = conn->seg_head == conn->seg_tail ? RP_NET_FIRST_CHUNK_SIZE : RP_NET_CHUNK_SIZE;
    if (want > cap)
        cap = want;
    if (cap > SIZE_MAX - sizeof(struct rp_net_chunk))
        return NULL;
    struct rp_net_chunk *c = rp_malloc(sizeof(*c) + cap);
    if (c != NULL)
        c->cap = cap;
    return c;
}

static void chunk_put(rp_net_conn_t *conn, struct rp_net_chunk *c)
{
    if (conn->spare == NULL && c->cap == RP_NET_FIRST_CHUNK_SIZE) {
        conn->spare = c;
        return;
    }
    rp_free(c);
}

int rp_net_conn_write(rp_net_conn_t *conn, const void *data, size_t n)
{
    if (!writable(conn))
        return 0;
    if (n == 0)
        return 0;

    const char *p = data;
    size_t left = n;

    // Fill the free space of the last private chunk first. Its bytes past
    // seg->len are not part of any send in flight, so appending is safe.
    if (conn->seg_tail > conn->seg_head) {
        struct rp_net_seg *last = &conn->segs[conn->seg_tail - 1];
        if (last->chunk != NULL && last->len < last->chunk->cap) {
            size_t room = last->chunk->cap - last->len;
            size_t take = left < room ? left : room;
            memcpy(last->chunk->data + last->len, p, take);
            last->len += take;
            p += take;
            left -= take;
        }
    }

    if (left > 0) {
        if (seg_reserve(conn) != 0)
            goto nomem;
        struct rp_net_chunk *c = chunk_get(conn, left);
        if (c == NULL)
            goto nomem;
        memcpy(c->data, p, left);
        conn->segs[conn->seg_tail++] = (struct rp_net_seg){NULL, c, 0, left};
    }

    conn->out_bytes += n;
    rp_net__conn_want_send(conn);
    return 0;

nomem:
    // What fit into the last chunk stays queued: the caller treats -ENOMEM
    // as fatal for the connection, so a partial reply is never completed.
    conn->out_bytes += n - left;
    rp_net__conn_want_send(conn);
    return -ENOMEM;
}

int rp_net_conn_write_rc(rp_net_conn_t *conn, struct rp_rcbuf *rb)
{
    if (!writable(conn))
        return 0;
    size_t len = rp_rcbuf_len(rb);
    if (len == 0)
        return 0;
    if (seg_reserve(conn) != 0)
        return -ENOMEM;
    conn->segs[conn->seg_tail++] = (struct rp_net_seg){rp_rcbuf_ref(rb), NULL, 0, len};
    conn->out_bytes += len;
    rp_net__conn_want_send(conn);
    return 0;
}

int rp_net__out_iov(rp_net_conn_t *conn, char *stage, size_t *bytes, size_t *staged)
{
    struct iovec *iov = conn->iov;
    int max_entries = (int)conn_iov_entries(conn->loop);
    uint32_t max = conn->loop->cfg.max_iov;
    int n = 0;
    size_t total = 0;
    size_t used = 0;           // bytes copied into stage
    int stage_iov = -1;        // the entry that covers stage[0..used), if any

    // max_iov caps the segments of one send, staged or not, which bounds
    // its work and bytes. Staging cuts the iovecs that the kernel walks.
    uint32_t end = conn->seg_tail;
    if (end - conn->seg_head > max)
        end = conn->seg_head + max;

    for (uint32_t i = conn->seg_head; i < end; i++) {
        struct rp_net_seg *s = &conn->segs[i];
        const char *base = s->rb != NULL ? rp_rcbuf_data(s->rb) : s->chunk->data;
        size_t len = s->len - s->off;

        // There is one staged run per send, and it grows only while it is
        // the last entry, so the bytes keep their queue order. Segments
        // after it go by reference.
        int run_open = stage_iov < 0 ? n < max_entries : stage_iov == n - 1;
        if (stage != NULL && run_open && len <= RP_NET_STAGE_SEG_MAX && used + len <= RP_NET_STAGE_SIZE) {
            if (stage_iov < 0) {
                stage_iov = n++;
                iov[stage_iov].iov_base = stage;
                iov[stage_iov].iov_len = 0;
            }
            memcpy(stage + used, base + s->off, len);
            used += len;
            iov[stage_iov].iov_len += len;
            total += len;
            continue;
        }

        if (n >= max_entries)
            break;
        iov[n].iov_base = (void *)(base + s->off);
        iov[n].iov_len = len;
        total += len;
        n++;
    }
    *bytes = total;
    *staged = used;
    return n;
}

char *rp_net__stage_get(rp_net_loop_t *loop)
{
    if (loop->stage_free != NULL) {
        char *stage = loop->stage_free;
        memcpy(&loop->stage_free, stage, sizeof(void *));
        loop->stage_free_count--;
        return stage;
    }
    return rp_malloc(RP_NET_STAGE_SIZE);
}

void rp_net__stage_put(rp_net_loop_t *loop, char *stage)
{
    if (stage == NULL)
        return;
    if (loop->stage_free_count >= RP_NET_STAGE_KEEP) {
        rp_free(stage);
        return;
    }
    memcpy(stage, &loop->stage_free, sizeof(void *));
    loop->stage_free = stage;
    loop->stage_free_count++;
}

void rp_net__stage_pool_trim(rp_net_loop_t *loop)
{
    if (loop->stage_free_count <= RP_NET_STAGE_IDLE_KEEP)
        return;
    unsigned drop = (loop->stage_free_count - RP_NET_STAGE_IDLE_KEEP + 1) / 2;
    for (unsigned i = 0; i < drop; i++) {
        char *stage = loop->stage_free;
        memcpy(&loop->stage_free, stage, sizeof(void *));
        loop->stage_free_count--;
        rp_free(stage);
    }
}

void rp_net__stage_pool_free(rp_net_loop_t *loop)
{
    while (loop->stage_free != NULL) {
        char *stage = loop->stage_free;
        memcpy(&loop->stage_free, stage, sizeof(void *));
        rp_free(stage);
    }
    loop->stage_free_count = 0;
}

static void seg_release(rp_net_conn_t *conn, struct rp_net_seg *s)
{
    if (s->rb != NULL)
        rp_rcbuf_unref(s->rb);
    else
        chunk_put(conn, s->chunk);
}

void rp_net__out_advance(rp_net_conn_t *conn, size_t n)
{
    assert(n <= conn->out_bytes);
    conn->out_bytes -= n;

    while (n > 0 && conn->seg_head < conn->seg_tail) {
        struct rp_net_seg *s = &conn->segs[conn->seg_head];
        size_t left = s->len - s->off;
        if (n < left) {
            s->off += n;
            break;
        }
        n -= left;
        seg_release(conn, s);
        conn->seg_head++;
    }
    if (conn->seg_head == conn->seg_tail)
        conn->seg_head = conn->seg_tail = 0;
}

void rp_net__out_clear(rp_net_conn_t *conn)
{
    for (uint32_t i = conn->seg_head; i < conn->seg_tail; i++)
        seg_release(conn, &conn->segs[i]);
    conn->seg_head = conn->seg_tail = 0;
    conn->out_bytes = 0;
}

size_t rp_net_conn_pending(const rp_net_conn_t *conn)
{
    return conn->out_bytes;
}

size_t rp_net_conn_input_len(const rp_net_conn_t *conn)
{
    return conn->in.len;
}

// ---- Socket details ---------------------------------------------------------

int rp_net_conn_fd(const rp_net_conn_t *conn)
{
    return conn->fd;
}

int rp_net_conn_is_unix(const rp_net_conn_t *conn)
{
    return (conn->flags & RP_NET_CONN_UNIX) != 0;
}

static size_t format_addr(const struct sockaddr_storage *ss, socklen_t len, char *dst, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    int n = 0;

    if (size == 0)
        return 0;
    dst[0] = '\0';

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        n = snprintf(dst, size, "%s:%u", host, ntohs(sin->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        // redis-server 7.0 prints "[::1]:6379" in CLIENT LIST.
        n = snprintf(dst, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
    } else if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
        size_t path_len = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        path_len = strnlen(sun->sun_path, path_len);
        n = snprintf(dst, size, "%.*s:0", (int)path_len, sun->sun_path);
    }
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

// Formats the peer (peer != 0) or local address of fd. The accepting side of
// a unix socket connection has an unnamed peer, and redis-server 7.0 prints
// the listening path for both addr= and laddr=, so an unnamed unix address
// is replaced by the other end's.
static size_t format_sock_addr(int fd, int peer, char *dst, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (rc != 0) {
        if (size > 0)
            dst[0] = '\0';
        return 0;
    }
    if (ss.ss_family == AF_UNIX && len <= offsetof(struct sockaddr_un, sun_path) + 1) {
        len = sizeof(ss);
        memset(&ss, 0, sizeof(ss));
        rc = peer ? getsockname(fd, (struct sockaddr *)&ss, &len) : getpeername(fd, (struct sockaddr *)&ss, &len);
        if (rc != 0)
            ss.ss_family = AF_UNIX;
    }
    return format_addr(&ss, len, dst, size);
}

size_t rp_net_conn_peer_addr(const rp_net_conn_t *conn, char *dst, size_t size)
{
    return format_sock_addr(conn->fd, 1, dst, size);
}

size_t rp_net_conn_local_addr(const rp_net_conn_t *conn, char *dst, size_t size)
{
    return format_sock_addr(conn->fd, 0, dst, size);
}

int rp_net_conn_set_keepalive(rp_net_conn_t *conn, int interval)
{
    if (interval <= 0 || (conn->flags & RP_NET_CONN_UNIX))
        return 0;

    int one = 1;
    if (setsockopt(conn->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0)
        return -errno;

    // The same schedule as redis anetKeepAlive: first probe after interval
    // seconds, then every interval/3 seconds, 3 probes before the peer is
    // declared dead.
    int idle = interval;
    int intvl = interval / 3 > 0 ? interval / 3 : 1;
    int cnt = 3;
    if (setsockopt(conn->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
        setsockopt(conn->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) != 0 ||
        setsockopt(conn->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
        return -errno;
    return 0;
}
