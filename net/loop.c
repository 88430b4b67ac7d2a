// SPDX-License-Identifier: BSD-3-Clause
// The event loop shared by both backends: creation and backend choice, the
// loop turn (wait, held input, tick, before_send, one send per connection,
// deferred closes), stop, and the counters. The backends in uring.c and
// epoll.c only wait for and dispatch I/O.

#define _GNU_SOURCE  // IOV_MAX

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "ringpub/alloc.h"
#include "ringpub/net.h"

#include "net/internal.h"

uint64_t rp_net__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void rp_net_config_default(struct rp_net_config *cfg)
{
    cfg->backend = RP_NET_AUTO;
    cfg->tick_ms = 100;
    cfg->max_iov = RP_NET_DEFAULT_MAX_IOV;
    cfg->recv_buf_size = 16384;
}

static void normalize_config(struct rp_net_config *cfg)
{
    if (cfg->tick_ms == 0)
        cfg->tick_ms = 100;
    if (cfg->max_iov == 0)
        cfg->max_iov = RP_NET_DEFAULT_MAX_IOV;
    if (cfg->max_iov > IOV_MAX)
        cfg->max_iov = IOV_MAX;
    // Below 512 bytes per receive the per-operation cost dominates, and the
    // io_uring buffer ring stores lengths as 32 bits.
    if (cfg->recv_buf_size < 512)
        cfg->recv_buf_size = 512;
    if (cfg->recv_buf_size > (size_t)1 << 30)
        cfg->recv_buf_size = (size_t)1 << 30;
}

static int is_fallback_error(int err)
{
    return err == -EPERM || err == -ENOSYS || err == -EINVAL;
}

int rp_net_loop_create(const struct rp_net_config *cfg, const struct rp_net_handlers *handlers, void *loop_ctx,
                       rp_net_loop_t **out)
{
    return rp_net__loop_create_opts(cfg, handlers, loop_ctx, NULL, out);
}

int rp_net__loop_create_opts(const struct rp_net_config *cfg, const struct rp_net_handlers *handlers, void *loop_ctx,
                             const struct rp_net_test_opts *opts, rp_net_loop_t **out)
{
    *out = NULL;
    if (handlers == NULL || handlers->on_data == NULL || handlers->on_close == NULL)
        return -EINVAL;

    rp_net_loop_t *loop = rp_calloc(1, sizeof(*loop));
    if (loop == NULL)
        return -ENOMEM;
    if (opts != NULL) {
        loop->test = rp_malloc(sizeof(*loop->test));
        if (loop->test == NULL) {
            rp_free(loop);
            return -ENOMEM;
        }
        *loop->test = *opts;
    }

    if (cfg != NULL)
        loop->cfg = *cfg;
    else
        rp_net_config_default(&loop->cfg);
    normalize_config(&loop->cfg);
    loop->h = *handlers;
    loop->ctx = loop_ctx;
    loop->free_slot = UINT32_MAX;
    loop->turn_input_cap = loop->cfg.recv_buf_size * RP_NET_TURN_INPUT_BUFS;
    loop->input_high_water = RP_NET_INPUT_HIGH_WATER;
    if (opts != NULL && opts->turn_input_cap != 0)
        loop->turn_input_cap = opts->turn_input_cap;
    if (opts != NULL && opts->input_high_water != 0)
        loop->input_high_water = opts->input_high_water;
    rp_net_dlist_init(&loop->conns);
    rp_net_dlist_init(&loop->send_list);
    rp_net_dlist_init(&loop->input_list);
    rp_net_dlist_init(&loop->close_list);

    int err = -ENOSYS;
    enum rp_net_backend want = loop->cfg.backend;
#ifdef RP_HAVE_URING
    if (want == RP_NET_AUTO || want == RP_NET_URING) {
        loop->ops = &rp_net_uring_ops;
        err = loop->ops->init(loop);
        if (err == 0)
            goto ready;
        if (want == RP_NET_URING || !is_fallback_error(err))
            goto fail;
    }
#else
    if (want == RP_NET_URING)
        goto fail;
#endif
    loop->ops = &rp_net_epoll_ops;
    err = loop->ops->init(loop);
    if (err != 0)
        goto fail;

ready:
    loop->now_ms = rp_net__mono_ms();
    loop->next_tick_ms = loop->now_ms + loop->cfg.tick_ms;
    *out = loop;
    return 0;

fail:
    rp_free(loop->test);
    rp_free(loop);
    return err;
}

const char *rp_net_loop_backend_name(const rp_net_loop_t *loop)
{
    return loop->ops->name;
}

uint64_t rp_net_loop_now_ms(const rp_net_loop_t *loop)
{
    return loop->now_ms;
}

void rp_net_loop_set_tick(rp_net_loop_t *loop, unsigned tick_ms)
{
    loop->cfg.tick_ms = tick_ms != 0 ? tick_ms : 100;
    uint64_t next = loop->now_ms + loop->cfg.tick_ms;
    if (next < loop->next_tick_ms)
        loop->next_tick_ms = next;
}

void rp_net_get_stats(const rp_net_loop_t *loop, struct rp_net_stats *stats)
{
    *stats = loop->stats;
}

unsigned rp_net__backend_outstanding(rp_net_loop_t *loop)
{
    return loop->ops->outstanding(loop);
}

void rp_net_loop_stop(rp_net_loop_t *loop)
{
    loop->stopping = 1;
}

// Runs on_close for every connection on the close list whose flush is done
// or timed out, then hands it to the backend. on_close may close further
// connections; they join the list and are handled in the same pass.
static void process_closes(rp_net_loop_t *loop)
{
    struct rp_net_dlist keep;
    rp_net_dlist_init(&keep);

    while (!rp_net_dlist_empty(&loop->close_list)) {
        struct rp_net_dlist *n = loop->close_list.next;
        rp_net_conn_t *conn = RP_NET_CONTAINER(n, rp_net_conn_t, close_link);
        rp_net_dlist_remove(n);

        if ((conn->flags & RP_NET_CONN_FLUSHING) && conn->out_bytes > 0) {
            if (loop->now_ms < conn->flush_deadline_ms) {
                rp_net_dlist_push(&keep, n);
                continue;
            }
            conn->flags &= ~RP_NET_CONN_FLUSHING;
        }

        conn->flags |= RP_NET_CONN_CLOSED;
        rp_net_dlist_remove(&conn->all_link);
        rp_net_dlist_remove(&conn->send_link);
        rp_net_dlist_remove(&conn->input_link);
        loop->h.on_close(conn->ctx, conn, conn->close_err);
        loop->ops->conn_teardown(conn);
    }
    rp_net_dlist_splice(&loop->close_list, &keep);
}

// Hands held input to on_data, at most once per connection per turn.
static void process_held_input(rp_net_loop_t *loop)
{
    struct rp_net_dlist batch;
    rp_net_dlist_init(&batch);
    rp_net_dlist_splice(&batch, &loop->input_list);

    while (!rp_net_dlist_empty(&batch)) {
        struct rp_net_dlist *n = batch.next;
        rp_net_conn_t *conn = RP_NET_CONTAINER(n, rp_net_conn_t, input_link);
        rp_net_dlist_remove(n);
        rp_net__conn_deliver_held(conn);
    }
}

static void process_sends(rp_net_loop_t *loop)
{
    struct rp_net_dlist batch;
    rp_net_dlist_init(&batch);
    rp_net_dlist_splice(&batch, &loop->send_list);

    while (!rp_net_dlist_empty(&batch)) {
        struct rp_net_dlist *n = batch.next;
        rp_net_conn_t *conn = RP_NET_CONTAINER(n, rp_net_conn_t, send_link);
        rp_net_dlist_remove(n);
        if (conn->out_bytes == 0 || (conn->flags & (RP_NET_CONN_SEND_BUSY | RP_NET_CONN_CLOSED)))
            continue;
        // After rp_net_conn_close(conn, 0) the queue is only waiting to be freed.
        if ((conn->flags & RP_NET_CONN_CLOSING) && !(conn->flags & RP_NET_CONN_FLUSHING))
            continue;
        loop->ops->conn_send(conn);
    }
}

// Milliseconds the backend may sleep: zero while work is queued for the
// next turn, else until the next tick.
static int wait_timeout(const rp_net_loop_t *loop)
{
    if (!rp_net_dlist_empty(&loop->input_list) || !rp_net_dlist_empty(&loop->send_list) || loop->stopping)
        return 0;

    // A flushing close has output in flight; its completion (or the tick
    // that checks its deadline) wakes the loop. Any other close is due now.
    const struct rp_net_dlist *n;
    for (n = loop->close_list.next; n != &loop->close_list; n = n->next) {
        const rp_net_conn_t *conn = RP_NET_CONTAINER(n, rp_net_conn_t, close_link);
        if (!(conn->flags & RP_NET_CONN_FLUSHING) || conn->out_bytes == 0)
            return 0;
    }

    if (loop->next_tick_ms <= loop->now_ms)
        return 0;
    uint64_t left = loop->next_tick_ms - loop->now_ms;
    return left > INT_MAX ? INT_MAX : (int)left;
}

static void run_tick(rp_net_loop_t *loop)
{
    if (loop->now_ms < loop->next_tick_ms)
        return;
    // The next tick is counted from now: a loop that fell behind runs one
    // late tick rather than a burst of them.
    loop->next_tick_ms = loop->now_ms + loop->cfg.tick_ms;

    for (unsigned i = 0; i < loop->listener_count; i++) {
        struct rp_net_listener *l = loop->listeners[i];
        if (!l->closed && l->retry_at_tick) {
            l->retry_at_tick = 0;
            loop->ops->listener_start(loop, l);
        }
    }

    rp_net__stage_pool_trim(loop);
    if (loop->h.on_tick != NULL)
        loop->h.on_tick(loop->ctx);
}

static void close_listeners(rp_net_loop_t *loop)
{
    for (unsigned i = 0; i < loop->listener_count; i++) {
        struct rp_net_listener *l = loop->listeners[i];
        if (!l->closed)
            loop->ops->listener_stop(loop, l);
    }
}

// The shutdown sequence of rp_net_loop_stop: one last send for queued
// output, then every connection closes.
static void shut_down(rp_net_loop_t *loop)
{
    close_listeners(loop);

    struct rp_net_dlist *n;
    for (n = loop->conns.next; n != &loop->conns; n = n->next) {
        rp_net_conn_t *conn = RP_NET_CONTAINER(n, rp_net_conn_t, all_link);
        rp_net__conn_want_send(conn);
    }
    process_sends(loop);

    while (!rp_net_dlist_empty(&loop->conns)) {
        rp_net_conn_t *conn = RP_NET_CONTAINER(loop->conns.next, rp_net_conn_t, all_link);
        rp_net_conn_close(conn, 0);
        process_closes(loop);
    }
    process_closes(loop);
    loop->ops->drain(loop);
}

int rp_net_loop_run(rp_net_loop_t *loop)
{
    int err = 0;
    loop->running = 1;
    loop->now_ms = rp_net__mono_ms();

    for (;;) {
        err = loop->ops->wait(loop, wait_timeout(loop));
        if (err < 0)
            break;
        loop->now_ms = rp_net__mono_ms();
        loop->turn++;

        process_held_input(loop);
        run_tick(loop);
        if (loop->h.before_send != NULL)
            loop->h.before_send(loop->ctx);
        if (loop->stopping)
            break;
        process_sends(loop);
        process_closes(loop);
    }

    shut_down(loop);
    loop->running = 0;
    loop->stopping = 0;
    return err;
}

void rp_net_loop_free(rp_net_loop_t *loop)
{
    if (loop == NULL)
        return;

    close_listeners(loop);

    // Connections that never saw on_close (the loop never ran, or the caller
    // broke the contract) are closed here without callbacks.
    while (!rp_net_dlist_empty(&loop->conns)) {
        rp_net_conn_t *conn = RP_NET_CONTAINER(loop->conns.next, rp_net_conn_t, all_link);
        rp_net_dlist_remove(&conn->all_link);
        rp_net_dlist_remove(&conn->send_link);
        rp_net_dlist_remove(&conn->input_link);
        rp_net_dlist_remove(&conn->close_link);
        conn->flags |= RP_NET_CONN_CLOSED;
        loop->ops->conn_teardown(conn);
    }
    loop->ops->drain(loop);
    loop->ops->fini(loop);
    rp_net__stage_pool_free(loop);

    for (unsigned i = 0; i < loop->listener_count; i++)
        rp_net__listener_free(loop->listeners[i]);
    rp_free(loop->listeners);
    rp_free(loop->slots);
    rp_free(loop->slot_gens);
    rp_free(loop->slot_next_free);
    rp_free(loop->test);
    rp_free(loop);
}
