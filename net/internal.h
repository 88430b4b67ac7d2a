// SPDX-License-Identifier: BSD-3-Clause
// Internals shared by the files of net/. It defines the loop and connection
// structs and the function table that each backend (io_uring, epoll) fills
// in. Intrusive lists track which connections need work in the current loop
// turn, and loop.c and conn.c offer helpers to the backends. Nothing here is
// exported from libringpub, so tests reach it through the static archive.

#ifndef RINGPUB_NET_INTERNAL_H
#define RINGPUB_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ringpub/buf.h"
#include "ringpub/net.h"

#include "net/net_config.h"

// How long rp_net_conn_close(conn, 1) waits for a peer that does not read
// before it drops the queued output and closes anyway.
#define RP_NET_FLUSH_TIMEOUT_MS 5000

// Private chunks that copied writes go into. The first chunk of an empty
// queue is small, because most replies are, and it is the one kept for reuse,
// so an idle connection keeps RP_NET_FIRST_CHUNK_SIZE bytes. Later chunks
// are larger. A write larger than a chunk gets a chunk of its own size, so
// one large write is one iovec.
#define RP_NET_FIRST_CHUNK_SIZE 1024
#define RP_NET_CHUNK_SIZE 16384

// Sends copy runs of queued segments of at most RP_NET_STAGE_SEG_MAX bytes
// into a staging buffer of RP_NET_STAGE_SIZE bytes and pass the run as one
// iovec. The queue still refers to the shared rcbufs, and only the send
// copies them. With one iovec per 100-byte frame, the kernel's work per
// iovec (import, usercopy checks, one copy call each) took about a tenth of
// the server's time in perf profiles of fanout runs, far more than a memcpy.
// Buffers come from a per-loop pool, so an idle connection holds none, and
// the pool keeps at most RP_NET_STAGE_KEEP spare buffers. Each tick frees
// half of the spares above RP_NET_STAGE_IDLE_KEEP. A steady burst keeps its
// buffers, because freeing them let malloc return the pages and fault them
// in again (150,000 page faults in a 2 s fanout run), and an idle loop gives
// the memory back.
#define RP_NET_STAGE_SEG_MAX 1024
#define RP_NET_STAGE_SIZE 32768
#define RP_NET_STAGE_KEEP 1024
#define RP_NET_STAGE_IDLE_KEEP 8

// Segments per send unless rp_net_config.max_iov says otherwise. Staging
// copies runs of small frames into one iovec, so a burst goes out in sends
// of up to RP_NET_STAGE_SIZE bytes, where 64 segments were about 6 KiB of
// 64-byte messages. redis 7.0 writes up to 64 KiB per client and event.
#define RP_NET_DEFAULT_MAX_IOV 1024

// iovec entries each connection keeps for its sends. A staged run takes one
// entry however many segments it holds, so this bounds the segments sent by
// reference, while rp_net_config.max_iov bounds the segments per send.
#define RP_NET_CONN_IOV 64

// Input bytes handed to on_data per connection per loop turn, in units of
// recv_buf_size, so that one client sending a flood cannot starve the others.
#define RP_NET_TURN_INPUT_BUFS 4

// Received bytes that on_data has not seen yet (held while the connection is
// paused or over its per-turn share) above which the backend stops reading
// from the socket until on_data catches up.
#define RP_NET_INPUT_HIGH_WATER (1024 * 1024)

// Minimal intrusive doubly linked list; an unlinked node points to itself.
struct rp_net_dlist {
    struct rp_net_dlist *prev, *next;
};

static inline void rp_net_dlist_init(struct rp_net_dlist *n)
{
    n->prev = n->next = n;
}

static inline int rp_net_dlist_empty(const struct rp_net_dlist *head)
{
    return head->next == head;
}

// A node is "linked" when it is on some list (works for nodes, not heads).
static inline int rp_net_dlist_linked(const struct rp_net_dlist *n)
{
    return n->next != n;
}

static inline void rp_net_dlist_push(struct rp_net_dlist *head, struct rp_net_dlist *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline void rp_net_dlist_remove(struct rp_net_dlist *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    rp_net_dlist_init(n);
}

// Moves every node of from to the end of to; from is left empty.
static inline void rp_net_dlist_splice(struct rp_net_dlist *to, struct rp_net_dlist *from)
{
    if (rp_net_dlist_empty(from))
        return;
    from->next->prev = to->prev;
    from->prev->next = to;
    to->prev->next = from->next;
    to->prev = from->prev;
    rp_net_dlist_init(from);
}

#define RP_NET_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

// A private chunk: bytes copied by rp_net_conn_write.
struct rp_net_chunk {
    size_t cap;
    char data[];
};

// One entry of the output queue: either a referenced rcbuf or a private
// chunk. off is how much of it the kernel has accepted, len how much of it is
// queued (a private chunk at the end of the queue grows as writes append).
struct rp_net_seg {
    struct rp_rcbuf *rb;
    struct rp_net_chunk *chunk;
    size_t off;
    size_t len;
};

enum {
    RP_NET_CONN_UNIX = 1u << 0,
    RP_NET_CONN_CLOSING = 1u << 1,      // close requested: input is ignored
    RP_NET_CONN_FLUSHING = 1u << 2,     // closing once the queued output is sent
    RP_NET_CONN_CLOSED = 1u << 3,       // on_close has run; resources go when the backend is done
    RP_NET_CONN_PAUSED = 1u << 4,       // rp_net_conn_pause_read
    RP_NET_CONN_EOF = 1u << 5,          // the peer shut down its sending side
    RP_NET_CONN_SEND_BUSY = 1u << 6,    // a send is in flight (io_uring) or waits for EPOLLOUT (epoll)
    RP_NET_CONN_BACKLOG = 1u << 7,      // undelivered input above RP_NET_INPUT_HIGH_WATER
    RP_NET_CONN_RECV_ARMED = 1u << 8,   // io_uring: a receive is outstanding
    RP_NET_CONN_ERR_SET = 1u << 9,      // close_err is final
    RP_NET_CONN_RECV_CANCEL = 1u << 10, // io_uring: the receive is being cancelled (pause)
    RP_NET_CONN_CANCEL_SENT = 1u << 11, // io_uring: teardown cancelled every operation
    RP_NET_CONN_REDELIVER = 1u << 12,   // resumed with a tail: show it to on_data again
    RP_NET_CONN_IN_ON_DATA = 1u << 13,  // on_data is running, possibly on conn->in
};

struct rp_net_conn {
    rp_net_loop_t *loop;
    void *ctx;
    int fd;
    uint32_t flags;
    uint32_t slot;                 // index in loop->slots
    uint32_t gen;                  // generation of that slot, for io_uring user_data
    int close_err;                 // passed to on_close
    uint64_t flush_deadline_ms;

    // Input: in contains bytes received but not consumed. The first in_seen
    // of them were shown to on_data already (the tail). The rest arrived
    // while the connection was paused or over its per-turn share.
    struct rp_buf in;
    size_t in_seen;
    uint64_t turn;                 // loop turn that turn_bytes counts
    size_t turn_bytes;

    // Output queue: segs[seg_head..seg_tail).
    struct rp_net_seg *segs;
    uint32_t seg_head, seg_tail, seg_cap;
    size_t out_bytes;              // queued and not accepted by the kernel
    struct rp_net_chunk *spare;    // one emptied first-size chunk kept for reuse

    struct rp_net_dlist all_link;      // loop->conns
    struct rp_net_dlist send_link;     // loop->send_list: output to send this turn
    struct rp_net_dlist input_link;    // loop->input_list: undelivered input
    struct rp_net_dlist close_link;    // loop->close_list
    struct rp_net_dlist backend_link;  // owned by the backend
    struct rp_net_dlist zombie_link;   // owned by the backend: torn down, not yet freed

    // Backend state. io_uring keeps iov and msg alive while a send is in
    // flight; epoll uses iov only during the call.
    struct iovec *iov;
    struct msghdr msg;
    size_t send_len;               // bytes in the send in flight
    char *stage;                   // io_uring: staging buffer of the send in flight, or NULL
    unsigned ops;                  // io_uring: operations whose last completion is pending
    uint32_t ep_events;            // epoll: registered interest
    char *recv_buf;                // io_uring without buffer rings: this connection's buffer
};

struct rp_net_listener {
    unsigned index;                // in loop->listeners
    int fd;
    int is_unix;
    int closed;
    int armed;                     // io_uring: accept outstanding; epoll: registered
    int retry_at_tick;             // accept failed for lack of fds or memory: retry at the next tick
    unsigned ops;
    char *path;                    // unix socket path, unlinked when the listener closes
};

// The function table of a backend. Calls that can fail return a negative
// errno. loop.c drives one loop turn as:
//   wait -> deliver held input -> on_tick -> before_send -> send -> closes.
struct rp_net_backend_ops {
    const char *name;
    int (*init)(rp_net_loop_t *loop);
    void (*fini)(rp_net_loop_t *loop);

    int (*listener_start)(rp_net_loop_t *loop, struct rp_net_listener *l);
    // Stops accepting and closes l->fd once no operation refers to it.
    void (*listener_stop)(rp_net_loop_t *loop, struct rp_net_listener *l);

    // Starts reading from a new connection.
    int (*conn_start)(rp_net_conn_t *conn);
    // Re-evaluates whether the connection should be read (pause, backlog).
    void (*conn_update)(rp_net_conn_t *conn);
    // Starts one vectored send of the head of the queue (out_bytes > 0, not busy).
    void (*conn_send)(rp_net_conn_t *conn);
    // on_close has run: release the socket, then call rp_net__conn_free
    // once no operation refers to the connection any more.
    void (*conn_teardown)(rp_net_conn_t *conn);

    // Waits up to timeout_ms (0 polls) and dispatches what arrived.
    int (*wait)(rp_net_loop_t *loop, int timeout_ms);
    // After the last turn: waits until every torn-down connection and
    // stopped listener is released. Bounded in time.
    void (*drain)(rp_net_loop_t *loop);
    // Operations in flight, SQEs not yet submitted and provided buffers not returned.
    unsigned (*outstanding)(rp_net_loop_t *loop);
};

extern const struct rp_net_backend_ops rp_net_epoll_ops;
#ifdef RP_HAVE_URING
extern const struct rp_net_backend_ops rp_net_uring_ops;
#endif

struct rp_net_loop {
    const struct rp_net_backend_ops *ops;
    void *backend;                 // the backend's own state
    struct rp_net_config cfg;
    struct rp_net_handlers h;
    void *ctx;
    int stopping;
    int running;
    uint64_t now_ms;
    uint64_t next_tick_ms;
    uint64_t turn;
    size_t turn_input_cap;         // bytes per connection per turn for on_data
    size_t input_high_water;       // RP_NET_INPUT_HIGH_WATER unless a test changes it
    struct rp_net_stats stats;

    // Connections by slot; io_uring user_data carries slot and generation.
    rp_net_conn_t **slots;
    uint32_t *slot_gens;
    uint32_t slot_cap;
    uint32_t free_slot;            // head of the free slot chain, UINT32_MAX for none
    uint32_t *slot_next_free;

    struct rp_net_listener **listeners;
    unsigned listener_count;

    struct rp_net_dlist conns;        // open connections (on_close not yet called)
    struct rp_net_dlist send_list;
    struct rp_net_dlist input_list;
    struct rp_net_dlist close_list;

    struct rp_net_test_opts *test;    // NULL outside tests

    // Spare staging buffers, chained through their first bytes.
    void *stage_free;
    unsigned stage_free_count;
};

// Settings that only tests change, to reach paths this kernel would not take.
struct rp_net_test_opts {
    int uring_plain_recv;          // io_uring: plain recv as on kernels before 6.0
    unsigned uring_buf_count;      // io_uring: provided buffers (power of two), 0 for the default
    unsigned uring_sq_entries;     // io_uring: submission queue size, 0 for the default
    size_t turn_input_cap;         // 0 for RP_NET_TURN_INPUT_BUFS * recv_buf_size
    size_t input_high_water;       // 0 for RP_NET_INPUT_HIGH_WATER
};

// Operations, SQEs and provided buffers the backend still has out (0 once a
// stopped loop has drained), for tests that check nothing is left over.
unsigned rp_net__backend_outstanding(rp_net_loop_t *loop);

// rp_net_loop_create with test options (copied; may be NULL).
int rp_net__loop_create_opts(const struct rp_net_config *cfg, const struct rp_net_handlers *handlers, void *loop_ctx,
                             const struct rp_net_test_opts *opts, rp_net_loop_t **out);

// ---- loop.c ----
uint64_t rp_net__mono_ms(void);

// ---- conn.c: connection lifetime ----

// Allocates a connection for fd (which it then owns) and registers it with
// the backend. Returns NULL and stores a negative errno in *err (fd left
// open) when out of memory or when the backend cannot take fd.
rp_net_conn_t *rp_net__conn_new(rp_net_loop_t *loop, int fd, int is_unix, void *ctx, int *err);

// Releases a connection whose on_close has run and that no backend operation
// refers to any more. Does not close the fd (the backend has).
void rp_net__conn_free(rp_net_conn_t *conn);

// Accepted fd from listener l: sets TCP_NODELAY, creates the connection and
// calls on_accept. Closes fd on failure.
void rp_net__accepted(rp_net_loop_t *loop, struct rp_net_listener *l, int fd);

// Looks up a live or torn-down connection by slot and generation; NULL when
// the slot was reused.
rp_net_conn_t *rp_net__conn_lookup(rp_net_loop_t *loop, uint32_t slot, uint32_t gen);

// ---- conn.c: events reported by the backends ----

// New bytes from the socket; copied only if on_data does not consume them
// now. data may be reused once this returns.
void rp_net__conn_input(rp_net_conn_t *conn, const char *data, size_t len);

// Hands held input to on_data (paused or over-share bytes); called once per turn.
void rp_net__conn_deliver_held(rp_net_conn_t *conn);

// The peer closed its side: deliver the input still held, flush what is
// queued, then close with err 0.
void rp_net__conn_eof(rp_net_conn_t *conn);

// A socket error (negative errno): drop output and close with err.
void rp_net__conn_fail(rp_net_conn_t *conn, int err);

// Whether the backend should have a read outstanding on conn.
int rp_net__conn_wants_read(const rp_net_conn_t *conn);

// ---- conn.c: output queue ----

// Fills conn->iov from the head of the queue with up to cfg.max_iov segments
// in at most RP_NET_CONN_IOV entries. Returns the entries filled and stores
// the byte total in *bytes. When stage is not NULL, runs of segments of at
// most RP_NET_STAGE_SEG_MAX bytes are copied into it (up to
// RP_NET_STAGE_SIZE bytes) and take one entry, and *staged gets the bytes
// copied. stage must then stay unchanged until the send completes.
int rp_net__out_iov(rp_net_conn_t *conn, char *stage, size_t *bytes, size_t *staged);

// Whether a send of conn's queue would copy anything into a staging buffer:
// at least two segments are queued.
static inline int rp_net__out_stageable(const rp_net_conn_t *conn)
{
    return conn->seg_tail - conn->seg_head >= 2;
}

// A staging buffer of RP_NET_STAGE_SIZE bytes from the loop's pool, or NULL
// when out of memory (the send then goes without staging). Owned by the
// caller until rp_net__stage_put.
char *rp_net__stage_get(rp_net_loop_t *loop);
void rp_net__stage_put(rp_net_loop_t *loop, char *stage);
// Frees the pool's spare buffers (loop teardown).
void rp_net__stage_pool_free(rp_net_loop_t *loop);
// Frees half of the spare buffers above RP_NET_STAGE_IDLE_KEEP (each tick).
void rp_net__stage_pool_trim(rp_net_loop_t *loop);

// The kernel accepted n bytes from the head of the queue: drops finished
// segments (unreferencing rcbufs) and queues the connection's close if it was
// flushing and is now empty.
void rp_net__out_advance(rp_net_conn_t *conn, size_t n);

// Drops the whole queue. Only when no send refers to it.
void rp_net__out_clear(rp_net_conn_t *conn);

// Puts conn on the send list if it has output and can send.
void rp_net__conn_want_send(rp_net_conn_t *conn);

// ---- listen.c ----
void rp_net__listener_free(struct rp_net_listener *l);

#endif
