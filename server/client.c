// SPDX-License-Identifier: BSD-3-Clause
// Client lifecycle on the rp_net callbacks. Accept checks maxclients. The
// input path parses pipelined requests and runs them in one pass, flushing
// replies once per input chunk. Pub/sub frames go to the output queue by
// reference, output buffer limits drop slow subscribers, idle clients time
// out, and a client is freed when its connection closes.

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "server/blocking.h"
#include "server/multi.h"
#include "server/server.h"

// Protocol errors are logged at most once per this many milliseconds, so
// that a flood of garbage cannot flood the log. The next logged line gives
// the count of those skipped.
#define PROTO_ERROR_LOG_INTERVAL_MS 1000

// Output bytes the output buffer limits leave out: the size of redis's
// fixed per-client reply buffer (PROTO_REPLY_CHUNK_BYTES, 16 KiB).
#define OUTPUT_LIMIT_ALLOWANCE 16384

// Reply buffers grown past this are released after a flush, so that 10,000
// idle clients do not each keep the memory of their largest reply.
#define REPLY_BUF_KEEP 16384

static void client_deliver(void *ctx, struct rp_rcbuf *frame);

static void describe_client(const struct client *c, char *dst, size_t size)
{
    char addr[128];
    rp_net_conn_peer_addr(c->conn, addr, sizeof addr);
    char name[64];
    copy_printable(name, sizeof name, c->name != NULL ? c->name : "", c->name != NULL ? strlen(c->name) : 0);
    snprintf(dst, size, "id=%" PRIu64 " addr=%s name=%s", c->id, addr, name);
}

void *client_on_accept(void *loop_ctx, rp_net_conn_t *conn)
{
    struct server *srv = loop_ctx;

    // As redis: the new connection is turned away when maxclients are
    // already connected, with an error it can read.
    if (srv->client_count >= srv->cfg.maxclients) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        rp_net_conn_write(conn, msg, sizeof msg - 1);
        rp_net_conn_close(conn, 1);
        srv->stats.rejected_connections++;
        return NULL;
    }

    struct client *c = rp_calloc(1, sizeof *c);
    if (c == NULL)
        goto nomem;
    c->srv = srv;
    c->conn = conn;
    c->proto = 2;
    c->authenticated = srv->cfg.requirepass == NULL;
    c->ctime_ms = time_wall_ms();
    c->last_interaction_ms = rp_net_loop_now_ms(srv->loop);
    if (rp_net_conn_is_unix(conn))
        c->flags |= RP_CLIENT_UNIX;

    struct rp_resp_limits limits;
    rp_resp_limits_default(&limits);
    limits.max_bulk_len = srv->cfg.proto_max_bulk_len;
    c->parser = rp_resp_request_parser_create(&limits);
    c->sub = rp_ps_sub_create(srv->pubsub, 2, client_deliver, c);
    if (c->parser == NULL || c->sub == NULL) {
        rp_resp_request_parser_free(c->parser);
        rp_ps_sub_free(c->sub);
        rp_free(c);
        goto nomem;
    }

    if (!(c->flags & RP_CLIENT_UNIX) && srv->cfg.tcp_keepalive > 0) {
        int err = rp_net_conn_set_keepalive(conn, srv->cfg.tcp_keepalive);
        if (err < 0)
            rp_log(RP_LOG_VERBOSE, "Could not enable TCP keepalive on a new connection: %s", rp_strerror(err));
    }

    c->id = ++srv->next_client_id;
    c->prev = srv->clients_tail;
    if (srv->clients_tail != NULL)
        srv->clients_tail->next = c;
    else
        srv->clients_head = c;
    srv->clients_tail = c;
    srv->client_count++;
    srv->stats.total_connections_received++;

    if (rp_log_min_level <= RP_LOG_VERBOSE) {
        char who[256];
        describe_client(c, who, sizeof who);
        rp_log(RP_LOG_VERBOSE, "Accepted client %s", who);
    }
    return c;

nomem:
    rp_log(RP_LOG_WARNING, "Out of memory while accepting a connection, closing it");
    rp_net_conn_close(conn, 0);
    return NULL;
}

static void log_protocol_error(struct client *c, const char *text)
{
    struct server *srv = c->srv;
    uint64_t now = rp_net_loop_now_ms(srv->loop);
    if (srv->proto_error_log_ms != 0 && now - srv->proto_error_log_ms < PROTO_ERROR_LOG_INTERVAL_MS) {
        srv->proto_errors_not_logged++;
        return;
    }

    char who[256];
    describe_client(c, who, sizeof who);
    if (srv->proto_errors_not_logged > 0)
        rp_log(RP_LOG_NOTICE, "Protocol error from client %s, closing it: %s (%" PRIu64 " more not logged)", who, text,
               srv->proto_errors_not_logged);
    else
        rp_log(RP_LOG_NOTICE, "Protocol error from client %s, closing it: %s", who, text);
    srv->proto_error_log_ms = now;
    srv->proto_errors_not_logged = 0;
}

size_t client_on_data(void *conn_ctx, rp_net_conn_t *conn, const char *data, size_t len)
{
    struct client *c = conn_ctx;
    // Input of a turned-away or closing client is read and dropped.
    if (c == NULL || (c->flags & (RP_CLIENT_CLOSE_AFTER_REPLY | RP_CLIENT_CLOSE_ASAP)))
        return len;
    struct server *srv = c->srv;
    c->last_interaction_ms = rp_net_loop_now_ms(srv->loop);

    // A client blocked in XREAD leaves its further input unparsed until it
    // is woken or times out (blocking.c then has the input shown again).
    size_t off = 0;
    while (off < len && c->blocked == NULL) {
        struct rp_resp_request req;
        // redis caps request sizes tighter until the client has authenticated.
        rp_resp_request_parser_set_auth_required(c->parser, !c->authenticated);
        ssize_t n = rp_resp_request_parse(c->parser, data + off, len - off, &req);
        if (n == RP_NEED_MORE)
            break;
        if (n < 0) {
            // The stream cannot be resynchronised: reply with redis's text
            // and close once the reply is out, as redis does.
            char text[256];
            rp_resp_request_error(c->parser, text, sizeof text);
            reply_error(c, text);
            srv->stats.protocol_error_disconnections++;
            log_protocol_error(c, text);
            client_close_after_reply(c);
            off = len;
            break;
        }
        off += (size_t)n;
        if (req.argc == 0)
            continue;   // an empty inline line or "*0": redis ignores them

        c->argc = req.argc;
        c->argv = req.argv;
        client_run_command(c);
        c->argc = 0;
        c->argv = NULL;

        server_close_pending(srv);
        if (c->flags & (RP_CLIENT_CLOSE_AFTER_REPLY | RP_CLIENT_CLOSE_ASAP)) {
            off = len;
            break;
        }
    }

    // The unconsumed tail is what the connection keeps for us: redis's query
    // buffer. A client whose pending request outgrows the limit is dropped.
    if (len - off > srv->cfg.client_query_buffer_limit) {
        char who[256];
        describe_client(c, who, sizeof who);
        rp_log(RP_LOG_WARNING, "Closing client %s: its query buffer of %zu bytes is over client-query-buffer-limit %" PRIu64,
               who, len - off, srv->cfg.client_query_buffer_limit);
        client_close_now(c);
        server_close_pending(srv);
        return len;
    }

    client_flush_reply(c);
    server_close_pending(srv);
    return off;
}

static void close_asap_unlink(struct client *c)
{
    struct client **link = &c->srv->close_asap_head;
    while (*link != NULL) {
        if (*link == c) {
            *link = c->close_asap_next;
            c->close_asap_next = NULL;
            return;
        }
        link = &(*link)->close_asap_next;
    }
}

void client_on_close(void *conn_ctx, rp_net_conn_t *conn, int err)
{
    struct client *c = conn_ctx;
    if (c == NULL)
        return;
    struct server *srv = c->srv;

    if (rp_log_min_level <= RP_LOG_VERBOSE) {
        char who[256];
        describe_client(c, who, sizeof who);
        if (err < 0)
            rp_log(RP_LOG_VERBOSE, "Client %s closed: %s", who, rp_strerror(err));
        else
            rp_log(RP_LOG_VERBOSE, "Client %s closed", who);
    }

    if (c->flags & RP_CLIENT_CLOSE_ASAP)
        close_asap_unlink(c);
    blocking_remove(c);
    multi_reset(c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->clients_head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        srv->clients_tail = c->prev;
    srv->client_count--;

    rp_ps_sub_free(c->sub);
    rp_resp_request_parser_free(c->parser);
    rp_buf_free(&c->reply);
    rp_free(c->name);
    rp_free(c->lib_name);
    rp_free(c->lib_ver);
    rp_free(c);
}

// Delivery callback of the client's subscriber: queue a reference to the
// shared frame. It must not free any subscriber, so a client over its output
// limit is only marked here and closed after rp_ps_publish returns.
static void client_deliver(void *ctx, struct rp_rcbuf *frame)
{
    struct client *c = ctx;
    if (c->flags & RP_CLIENT_CLOSE_ASAP)
        return;

    // Replies already encoded go first, so that a RESP3 client publishing
    // to its own channel gets the push before the PUBLISH reply's successors.
    client_flush_reply(c);
    if (c->flags & RP_CLIENT_CLOSE_ASAP)
        return;

    if (rp_net_conn_write_rc(c->conn, frame) != 0) {
        rp_log(RP_LOG_WARNING, "Out of memory while queueing a message for client id=%" PRIu64 ", closing it", c->id);
        client_close_now(c);
        return;
    }
    client_check_output_limits(c);
}

void client_flush_reply(struct client *c)
{
    if (c->reply.len == 0)
        return;
    if (c->flags & RP_CLIENT_CLOSE_ASAP) {
        rp_buf_clear(&c->reply);
        return;
    }

    int err = rp_net_conn_write(c->conn, c->reply.data, c->reply.len);
    if (c->reply.cap > REPLY_BUF_KEEP)
        rp_buf_free(&c->reply);
    else
        rp_buf_clear(&c->reply);
    if (err != 0) {
        rp_log(RP_LOG_WARNING, "Out of memory while queueing replies for client id=%" PRIu64 ", closing it", c->id);
        client_close_now(c);
        return;
    }
    client_check_output_limits(c);
}

void client_close_after_reply(struct client *c)
{
    if (c->flags & (RP_CLIENT_CLOSE_AFTER_REPLY | RP_CLIENT_CLOSE_ASAP))
        return;
    client_flush_reply(c);
    c->flags |= RP_CLIENT_CLOSE_AFTER_REPLY;
    rp_net_conn_close(c->conn, 1);
}

void client_close_now(struct client *c)
{
    if (c->flags & RP_CLIENT_CLOSE_ASAP)
        return;
    // Marked now and closed by server_close_pending, which never runs inside
    // a delivery callback.
    c->flags |= RP_CLIENT_CLOSE_ASAP;
    rp_buf_clear(&c->reply);
    c->close_asap_next = c->srv->close_asap_head;
    c->srv->close_asap_head = c;
}

void server_close_pending(struct server *srv)
{
    while (srv->close_asap_head != NULL) {
        struct client *c = srv->close_asap_head;
        srv->close_asap_head = c->close_asap_next;
        c->close_asap_next = NULL;
        // on_close follows from the loop and frees the client; the flag
        // stays set so that no more output is queued until then.
        rp_net_conn_close(c->conn, 0);
    }
}

size_t client_output_bytes(const struct client *c)
{
    return rp_net_conn_pending(c->conn) + c->reply.len;
}

static size_t subscription_count(const struct client *c)
{
    return rp_ps_sub_count(c->sub, RP_PS_CHANNEL) + rp_ps_sub_count(c->sub, RP_PS_PATTERN) +
           rp_ps_sub_count(c->sub, RP_PS_SHARD);
}

int client_in_pubsub_mode(const struct client *c)
{
    return subscription_count(c) > 0;
}

int client_check_output_limits(struct client *c)
{
    if (c->flags & RP_CLIENT_CLOSE_ASAP)
        return 1;

    // This runs once per delivered message, so the common case returns
    // before the class lookup: with no soft-limit period running, output
    // below the lowest limit of either class is over no limit. A limit of 0
    // is off.
    if (c->soft_limit_since_ms == 0) {
        const struct config *lc = &c->srv->cfg;
        uint64_t lowest = UINT64_MAX;
        const uint64_t limits[] = {lc->pubsub_hard_limit, lc->pubsub_soft_limit, lc->normal_hard_limit,
                                   lc->normal_soft_limit};
        for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
            if (limits[i] != 0 && limits[i] < lowest)
                lowest = limits[i];
        size_t queued = client_output_bytes(c);
        if (queued <= OUTPUT_LIMIT_ALLOWANCE || queued - OUTPUT_LIMIT_ALLOWANCE < lowest)
            return 0;
    }

    // redis picks the class from the client's flags: pubsub once it has any
    // subscription, whatever its protocol.
    const struct config *cfg = &c->srv->cfg;
    int pubsub = client_in_pubsub_mode(c);
    uint64_t hard = pubsub ? cfg->pubsub_hard_limit : cfg->normal_hard_limit;
    uint64_t soft = pubsub ? cfg->pubsub_soft_limit : cfg->normal_soft_limit;
    int seconds = pubsub ? cfg->pubsub_soft_seconds : cfg->normal_soft_seconds;
    if (hard == 0 && soft == 0) {
        c->soft_limit_since_ms = 0;
        return 0;
    }

    // redis 7.0 keeps the first 16 KiB of a client's output in its fixed
    // reply buffer, which getClientOutputBufferMemoryUsage leaves out, so a
    // limit such as "normal 1 2 3" never closes a client for a "+OK". The
    // same allowance applies here.
    size_t queued = client_output_bytes(c);
    size_t used = queued > OUTPUT_LIMIT_ALLOWANCE ? queued - OUTPUT_LIMIT_ALLOWANCE : 0;
    uint64_t now = rp_net_loop_now_ms(c->srv->loop);
    int over_hard = hard != 0 && used >= hard;
    int over_soft = soft != 0 && used >= soft;
    if (over_soft) {
        // The soft limit counts only when exceeded continuously for longer
        // than its seconds; dropping below it starts a new period.
        if (c->soft_limit_since_ms == 0) {
            c->soft_limit_since_ms = now ? now : 1;
            over_soft = 0;
        } else if (now - c->soft_limit_since_ms <= (uint64_t)seconds * 1000) {
            over_soft = 0;
        }
    } else {
        c->soft_limit_since_ms = 0;
    }
    if (!over_hard && !over_soft)
        return 0;

    char who[256];
    describe_client(c, who, sizeof who);
    if (over_hard)
        rp_log(RP_LOG_WARNING,
               "Closing client %s: %zu bytes of output queued, over the %s hard limit of %" PRIu64
               " (client-output-buffer-limit)",
               who, queued, pubsub ? "pubsub" : "normal", hard);
    else
        rp_log(RP_LOG_WARNING,
               "Closing client %s: %zu bytes of output queued, over the %s soft limit of %" PRIu64
               " for more than %d seconds (client-output-buffer-limit)",
               who, queued, pubsub ? "pubsub" : "normal", soft, seconds);
    c->srv->stats.output_limit_disconnections++;
    client_close_now(c);
    return 1;
}

struct client *server_find_client(struct server *srv, uint64_t id)
{
    for (struct client *c = srv->clients_head; c != NULL; c = c->next) {
        if (c->id == id)
            return c;
    }
    return NULL;
}

void clients_cron(struct server *srv)
{
    uint64_t now = rp_net_loop_now_ms(srv->loop);
    uint64_t idle_limit_ms = (uint64_t)srv->cfg.timeout * 1000;

    for (struct client *c = srv->clients_head; c != NULL; c = c->next) {
        if (c->flags & (RP_CLIENT_CLOSE_ASAP | RP_CLIENT_CLOSE_AFTER_REPLY))
            continue;

        // Idle timeout, from which redis exempts clients with subscriptions
        // (checked against redis 7.0.15: RESP2 and RESP3 subscribers stay).
        // Blocked clients are exempt too: their own timeout applies.
        if (idle_limit_ms != 0 && !client_in_pubsub_mode(c) && c->blocked == NULL &&
            now - c->last_interaction_ms > idle_limit_ms) {
            char who[256];
            describe_client(c, who, sizeof who);
            rp_log(RP_LOG_VERBOSE, "Closing idle client %s", who);
            client_close_now(c);
            continue;
        }

        // A client over its soft limit may have drained since, or stayed
        // over it without more output arriving: re-check both here.
        if (c->soft_limit_since_ms != 0)
            client_check_output_limits(c);
    }
    server_close_pending(srv);
}
