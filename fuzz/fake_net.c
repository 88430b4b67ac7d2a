// SPDX-License-Identifier: BSD-3-Clause
// In-memory rp_net for the server fuzz target (see fake_net.h). It keeps the
// parts of the include/ringpub/net.h contract that the server relies on:
//  - on_data gets the unconsumed tail followed by new bytes, and a resumed
//    connection with a tail is shown it again;
//  - rp_net_conn_close never calls on_close itself;
//  - writes to a connection closing without flush, or inside on_close, are
//    dropped;
//  - a close with flush sends the queued output first, or drops it once
//    RP_FAKE_FLUSH_TIMEOUT_MS pass while the peer is stalled.
//
// Every byte sent goes through the RESP reply parser, and the process aborts
// on the first malformed reply, so a broken encoding is a fuzzer finding.
// Unlike net/, input is not rationed per turn: on_data sees all of it.

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "ringpub/resp.h"

#include "fake_net.h"

// As RP_NET_FLUSH_TIMEOUT_MS in net/internal.h: how long a close with flush
// waits for a peer that does not read before it drops the output.
#define RP_FAKE_FLUSH_TIMEOUT_MS 5000

enum {
    CONN_CLOSING = 1u << 0,     // close requested: input is ignored
    CONN_FLUSHING = 1u << 1,    // closing once the queued output is sent
    CONN_CLOSED = 1u << 2,      // on_close is running or has run
    CONN_PAUSED = 1u << 3,      // rp_net_conn_pause_read
    CONN_REDELIVER = 1u << 4,   // resumed with a tail: show it to on_data again
    CONN_IN_ON_DATA = 1u << 5,  // on_data is running on conn->in
    CONN_STALLED = 1u << 6,     // the peer does not read: nothing is sent
};

// One entry of the output queue: a referenced frame or bytes copied by
// rp_net_conn_write.
struct out_seg {
    struct rp_rcbuf *rb;
    struct rp_buf copy;
};

struct rp_net_conn {
    rp_net_loop_t *loop;
    void *ctx;
    rp_net_conn_t **handle;         // reset to NULL when the connection is freed
    int slot;
    int unix_socket;
    uint32_t flags;
    int close_err;
    uint64_t flush_deadline_ms;

    struct rp_buf in;               // received, not consumed
    size_t in_seen;                 // how much of in on_data has seen

    struct out_seg *segs;
    size_t seg_count, seg_cap;
    size_t out_bytes;

    struct rp_buf sent;             // sent bytes not yet parsed as whole replies
    rp_resp_reply_parser_t *checker;
};

struct rp_net_loop {
    struct rp_net_handlers h;
    void *ctx;
    struct rp_net_config cfg;
    uint64_t now_ms;
    rp_net_conn_t *conns[FAKE_NET_MAX_CONNS];
    struct rp_net_stats stats;
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = rp_calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "fake_net: out of memory\n");
        abort();
    }
    return p;
}

// ---- Loop -----------------------------------------------------------------

void rp_net_config_default(struct rp_net_config *cfg)
{
    cfg->backend = RP_NET_AUTO;
    cfg->tick_ms = 100;
    cfg->max_iov = 64;
    cfg->recv_buf_size = 16384;
}

int rp_net_loop_create(const struct rp_net_config *cfg, const struct rp_net_handlers *handlers, void *loop_ctx,
                       rp_net_loop_t **out)
{
    rp_net_loop_t *loop = rp_calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    if (cfg != NULL)
        loop->cfg = *cfg;
    else
        rp_net_config_default(&loop->cfg);
    loop->h = *handlers;
    loop->ctx = loop_ctx;
    // A fixed non-zero start, because the server keeps 0 for "not yet" in
    // times such as proto_error_log_ms.
    loop->now_ms = 1000000;
    *out = loop;
    return 0;
}

void rp_net_loop_free(rp_net_loop_t *loop)
{
    if (loop == NULL)
        return;
    for (int i = 0; i < FAKE_NET_MAX_CONNS; i++) {
        if (loop->conns[i] != NULL) {
            fprintf(stderr, "fake_net: rp_net_loop_free with connection %d still open\n", i);
            abort();
        }
    }
    rp_free(loop);
}

const char *rp_net_loop_backend_name(const rp_net_loop_t *loop)
{
    (void)loop;
    return "fake";
}

uint64_t rp_net_loop_now_ms(const rp_net_loop_t *loop)
{
    return loop->now_ms;
}

// The fake loop runs ticks only when the fuzzer asks, so the interval is unused.
void rp_net_loop_set_tick(rp_net_loop_t *loop, unsigned tick_ms)
{
    (void)loop;
    (void)tick_ms;
}

// SHUTDOWN stops the real loop. The fuzzer has no loop to stop and goes on
// with the next action; the client that sent SHUTDOWN is closed either way.
void rp_net_loop_stop(rp_net_loop_t *loop)
{
    (void)loop;
}

void rp_net_get_stats(const rp_net_loop_t *loop, struct rp_net_stats *stats)
{
    *stats = loop->stats;
}

// ---- Connections ------------------------------------------------------------

int fake_net_connect(rp_net_loop_t *loop, int unix_socket, rp_net_conn_t **handle)
{
    int slot = -1;
    for (int i = 0; i < FAKE_NET_MAX_CONNS && slot < 0; i++) {
        if (loop->conns[i] == NULL)
            slot = i;
    }
    if (slot < 0)
        return -ENOMEM;

    struct rp_resp_limits limits;
    rp_resp_limits_default(&limits);
    rp_net_conn_t *conn = xcalloc(1, sizeof *conn);
    conn->loop = loop;
    conn->slot = slot;
    conn->unix_socket = unix_socket;
    conn->handle = handle;
    conn->checker = rp_resp_reply_parser_create(&limits);
    if (conn->checker == NULL) {
        fprintf(stderr, "fake_net: out of memory\n");
        abort();
    }
    loop->conns[slot] = conn;
    loop->stats.accepted++;
    loop->stats.connections++;
    *handle = conn;

    conn->ctx = loop->h.on_accept(loop->ctx, conn);
    return 0;
}

int fake_net_feed(rp_net_conn_t *conn, const void *data, size_t len)
{
    if (conn->flags & (CONN_CLOSING | CONN_CLOSED))
        return 0;
    if (rp_buf_append(&conn->in, data, len) != 0)
        return -ENOMEM;
    conn->loop->stats.bytes_in += len;
    return 0;
}

void fake_net_set_stalled(rp_net_conn_t *conn, int stalled)
{
    if (stalled)
        conn->flags |= CONN_STALLED;
    else
        conn->flags &= ~(uint32_t)CONN_STALLED;
}

static void drop_input(rp_net_conn_t *conn)
{
    // on_data is reading conn->in; the caller drops it once on_data returns.
    if (conn->flags & CONN_IN_ON_DATA)
        return;
    rp_buf_free(&conn->in);
    conn->in_seen = 0;
}

static void drop_output(rp_net_conn_t *conn)
{
    for (size_t i = 0; i < conn->seg_count; i++) {
        rp_rcbuf_unref(conn->segs[i].rb);
        rp_buf_free(&conn->segs[i].copy);
    }
    conn->seg_count = 0;
    conn->out_bytes = 0;
}

void fake_net_peer_close(rp_net_conn_t *conn, int err)
{
    if (conn->flags & (CONN_CLOSING | CONN_CLOSED))
        return;
    conn->flags |= CONN_CLOSING;
    conn->close_err = err;
    drop_input(conn);
}

void rp_net_conn_close(rp_net_conn_t *conn, int flush)
{
    if (conn->flags & CONN_CLOSED)
        return;
    if (conn->flags & CONN_CLOSING) {
        // A second call may only make the close more urgent.
        if (!flush)
            conn->flags &= ~(uint32_t)CONN_FLUSHING;
        return;
    }
    conn->flags |= CONN_CLOSING;
    conn->close_err = 0;
    if (flush) {
        conn->flags |= CONN_FLUSHING;
        conn->flush_deadline_ms = conn->loop->now_ms + RP_FAKE_FLUSH_TIMEOUT_MS;
    }
    drop_input(conn);
}

void rp_net_conn_pause_read(rp_net_conn_t *conn, int pause)
{
    if (conn->flags & (CONN_CLOSING | CONN_CLOSED))
        return;
    if (pause) {
        conn->flags |= CONN_PAUSED;
        return;
    }
    if (!(conn->flags & CONN_PAUSED))
        return;
    conn->flags &= ~(uint32_t)CONN_PAUSED;
    if (conn->in.len > 0)
        conn->flags |= CONN_REDELIVER;
}

size_t rp_net_conn_input_len(const rp_net_conn_t *conn)
{
    return conn->in.len;
}

size_t rp_net_conn_pending(const rp_net_conn_t *conn)
{
    return conn->out_bytes;
}

int rp_net_conn_fd(const rp_net_conn_t *conn)
{
    // Made-up descriptor numbers, above stdio and a few listeners.
    return 8 + conn->slot;
}

size_t rp_net_conn_peer_addr(const rp_net_conn_t *conn, char *dst, size_t size)
{
    int n = conn->unix_socket ? snprintf(dst, size, "/tmp/ringpub-fuzz.sock:0")
                              : snprintf(dst, size, "127.0.0.1:%d", 40000 + conn->slot);
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : (size ? size - 1 : 0);
}

size_t rp_net_conn_local_addr(const rp_net_conn_t *conn, char *dst, size_t size)
{
    int n = conn->unix_socket ? snprintf(dst, size, "/tmp/ringpub-fuzz.sock:0") : snprintf(dst, size, "127.0.0.1:6379");
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : (size ? size - 1 : 0);
}

int rp_net_conn_is_unix(const rp_net_conn_t *conn)
{
    return conn->unix_socket;
}

int rp_net_conn_set_keepalive(rp_net_conn_t *conn, int interval)
{
    (void)conn;
    (void)interval;
    return 0;
}

// ---- Output -----------------------------------------------------------------

static int writable(const rp_net_conn_t *conn)
{
    if (conn->flags & CONN_CLOSED)
        return 0;
    return !(conn->flags & CONN_CLOSING) || (conn->flags & CONN_FLUSHING);
}

static struct out_seg *push_seg(rp_net_conn_t *conn)
{
    if (conn->seg_count == conn->seg_cap) {
        size_t cap = conn->seg_cap ? conn->seg_cap * 2 : 8;
        struct out_seg *segs = rp_reallocarray(conn->segs, cap, sizeof *segs);
        if (segs == NULL)
            return NULL;
        conn->segs = segs;
        conn->seg_cap = cap;
    }
    struct out_seg *seg = &conn->segs[conn->seg_count++];
    memset(seg, 0, sizeof *seg);
    return seg;
}

int rp_net_conn_write(rp_net_conn_t *conn, const void *data, size_t n)
{
    if (!writable(conn) || n == 0)
        return 0;
    struct out_seg *seg = conn->seg_count > 0 ? &conn->segs[conn->seg_count - 1] : NULL;
    if (seg == NULL || seg->rb != NULL) {
        seg = push_seg(conn);
        if (seg == NULL)
            return -ENOMEM;
    }
    if (rp_buf_append(&seg->copy, data, n) != 0)
        return -ENOMEM;
    conn->out_bytes += n;
    return 0;
}

int rp_net_conn_write_rc(rp_net_conn_t *conn, struct rp_rcbuf *rb)
{
    if (!writable(conn) || rp_rcbuf_len(rb) == 0)
        return 0;
    struct out_seg *seg = push_seg(conn);
    if (seg == NULL)
        return -ENOMEM;
    seg->rb = rp_rcbuf_ref(rb);
    conn->out_bytes += rp_rcbuf_len(rb);
    return 0;
}

// Parses the sent bytes as replies and aborts on the first malformed one.
static void check_sent(rp_net_conn_t *conn)
{
    size_t off = 0;
    while (off < conn->sent.len) {
        struct rp_resp_reply reply;
        ssize_t n = rp_resp_reply_parse(conn->checker, conn->sent.data + off, conn->sent.len - off, &reply);
        if (n == RP_NEED_MORE)
            break;
        if (n <= 0) {
            size_t show_len = conn->sent.len - off < 200 ? conn->sent.len - off : 200;
            fprintf(stderr, "fake_net: connection %d was sent a malformed reply (%s) at: \"", conn->slot,
                    rp_errname((int)n));
            for (size_t i = 0; i < show_len; i++) {
                unsigned char ch = (unsigned char)conn->sent.data[off + i];
                if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"')
                    fputc(ch, stderr);
                else
                    fprintf(stderr, "\\x%02x", ch);
            }
            fprintf(stderr, "\"\n");
            abort();
        }
        off += (size_t)n;
    }
    rp_buf_consume(&conn->sent, off);
}

static void send_output(rp_net_conn_t *conn)
{
    if (conn->out_bytes == 0 || (conn->flags & CONN_STALLED) || !writable(conn))
        return;
    for (size_t i = 0; i < conn->seg_count; i++) {
        struct out_seg *seg = &conn->segs[i];
        const char *p = seg->rb != NULL ? rp_rcbuf_data(seg->rb) : seg->copy.data;
        size_t len = seg->rb != NULL ? rp_rcbuf_len(seg->rb) : seg->copy.len;
        if (rp_buf_append(&conn->sent, p, len) != 0) {
            fprintf(stderr, "fake_net: out of memory\n");
            abort();
        }
    }
    conn->loop->stats.bytes_out += conn->out_bytes;
    conn->loop->stats.sends++;
    drop_output(conn);
    check_sent(conn);
}

// ---- Turns ------------------------------------------------------------------

static void deliver_input(rp_net_conn_t *conn)
{
    if (conn->flags & (CONN_CLOSING | CONN_CLOSED | CONN_PAUSED) || conn->in.len == 0)
        return;
    if (conn->in.len == conn->in_seen && !(conn->flags & CONN_REDELIVER))
        return;

    conn->flags &= ~(uint32_t)CONN_REDELIVER;
    conn->flags |= CONN_IN_ON_DATA;
    size_t len = conn->in.len;
    size_t used = conn->loop->h.on_data(conn->ctx, conn, conn->in.data, len);
    conn->flags &= ~(uint32_t)CONN_IN_ON_DATA;

    if (used > len) {
        fprintf(stderr, "fake_net: on_data consumed %zu of %zu bytes\n", used, len);
        abort();
    }
    if (conn->flags & CONN_CLOSING) {
        drop_input(conn);
        return;
    }
    rp_buf_consume(&conn->in, used);
    conn->in_seen = conn->in.len;
}

static void free_conn(rp_net_conn_t *conn)
{
    rp_net_loop_t *loop = conn->loop;
    loop->conns[conn->slot] = NULL;
    loop->stats.connections--;
    if (conn->handle != NULL)
        *conn->handle = NULL;
    drop_output(conn);
    rp_free(conn->segs);
    rp_buf_free(&conn->in);
    rp_buf_free(&conn->sent);
    rp_resp_reply_parser_free(conn->checker);
    rp_free(conn);
}

// Runs on_close and frees the connection when its close is due.
static void finish_close(rp_net_conn_t *conn, int force)
{
    if (!(conn->flags & CONN_CLOSING))
        return;
    if (!force && (conn->flags & CONN_FLUSHING) && conn->out_bytes > 0 &&
        conn->loop->now_ms < conn->flush_deadline_ms)
        return;

    conn->flags |= CONN_CLOSED;
    drop_output(conn);
    conn->loop->h.on_close(conn->ctx, conn, conn->close_err);
    free_conn(conn);
}

void fake_net_turn(rp_net_loop_t *loop)
{
    for (int i = 0; i < FAKE_NET_MAX_CONNS; i++) {
        if (loop->conns[i] != NULL)
            deliver_input(loop->conns[i]);
    }
    if (loop->h.before_send != NULL)
        loop->h.before_send(loop->ctx);
    for (int i = 0; i < FAKE_NET_MAX_CONNS; i++) {
        if (loop->conns[i] != NULL)
            send_output(loop->conns[i]);
    }
    for (int i = 0; i < FAKE_NET_MAX_CONNS; i++) {
        if (loop->conns[i] != NULL)
            finish_close(loop->conns[i], 0);
    }
}

void fake_net_advance(rp_net_loop_t *loop, uint64_t ms)
{
    loop->now_ms += ms;
    if (loop->h.on_tick != NULL)
        loop->h.on_tick(loop->ctx);
}

void fake_net_close_all(rp_net_loop_t *loop)
{
    // As rp_net_loop_stop: pending output gets one last send, then every
    // connection is closed. An on_close cannot open connections, so one
    // pass over the slots closes them all.
    if (loop->h.before_send != NULL)
        loop->h.before_send(loop->ctx);
    for (int i = 0; i < FAKE_NET_MAX_CONNS; i++) {
        rp_net_conn_t *conn = loop->conns[i];
        if (conn == NULL)
            continue;
        send_output(conn);
        if (!(conn->flags & CONN_CLOSING)) {
            conn->flags |= CONN_CLOSING;
            conn->close_err = 0;
        }
    }
    for (int i = 0; i < FAKE_NET_MAX_CONNS; i++) {
        if (loop->conns[i] != NULL)
            finish_close(loop->conns[i], 1);
    }
}
