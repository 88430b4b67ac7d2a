// SPDX-License-Identifier: BSD-3-Clause
// Benchmark connections: connect, send commands, and read replies and
// pushed messages with ringpub's reply parser.
//
// Every payload starts with a 16-byte header, little-endian: publisher index
// (4 bytes), sequence number (4), scheduled send time in CLOCK_MONOTONIC
// nanoseconds (8). Publisher and subscribers live in this one process, so the
// difference of two monotonic readings is the end-to-end latency.

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ringpub/alloc.h"

#include "bench.h"

#define HEADER_LEN 16

static int connect_to(const char *host, int port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    char service[16];

    snprintf(service, sizeof(service), "%d", port);
    int err = getaddrinfo(host, service, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "ringpub-bench: cannot resolve %s: %s\n", host, gai_strerror(err));
        return -EINVAL;
    }

    int fd = -1;
    int saved = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -saved;

    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int bconn_open(struct bench *b, struct bconn *c, bool publisher, unsigned index)
{
    memset(c, 0, sizeof(*c));
    c->bench = b;
    c->publisher = publisher;
    c->index = index;

    c->parser = rp_resp_reply_parser_create(NULL);
    if (c->parser == NULL)
        return -ENOMEM;
    if (!publisher && b->opt.publishers > 0) {
        c->max_seq = rp_calloc(b->opt.publishers, sizeof(*c->max_seq));
        if (c->max_seq == NULL)
            return -ENOMEM;
    }

    int fd = connect_to(b->opt.host, b->opt.port);
    if (fd < 0)
        return fd;
    int err = rp_net_conn_open_fd(b->loop, fd, c, &c->conn);
    if (err < 0)
        close(fd);
    return err;
}

static void append_bulk(char **p, const char *s, size_t len)
{
    *p += sprintf(*p, "$%zu\r\n", len);
    memcpy(*p, s, len);
    *p += len;
    memcpy(*p, "\r\n", 2);
    *p += 2;
}

void bconn_send_command(struct bconn *c, unsigned argc, const char *const *argv, const size_t *lens)
{
    size_t size = 32;
    for (unsigned i = 0; i < argc; i++)
        size += lens[i] + 32;

    char *buf = rp_malloc(size);
    if (buf == NULL)
        return;
    char *p = buf + sprintf(buf, "*%u\r\n", argc);
    for (unsigned i = 0; i < argc; i++)
        append_bulk(&p, argv[i], lens[i]);
    rp_net_conn_write(c->conn, buf, (size_t)(p - buf));
    rp_free(buf);
}

void bconn_publish(struct bconn *c, const char *channel, uint64_t scheduled_ns)
{
    struct bench *b = c->bench;
    char *payload = b->payload_buf;
    uint32_t pub = c->index;
    uint32_t seq = c->seq++;

    memcpy(payload, &pub, 4);
    memcpy(payload + 4, &seq, 4);
    memcpy(payload + 8, &scheduled_ns, 8);

    const char *argv[] = {"PUBLISH", channel, payload};
    size_t lens[] = {7, strlen(channel), b->opt.payload};
    bconn_send_command(c, 3, argv, lens);
    c->sent++;
}

static int str_is(const struct rp_resp_node *n, const char *s)
{
    size_t len = strlen(s);
    return (n->type == RP_RESP_BULK || n->type == RP_RESP_SIMPLE) && n->str.len == len &&
           memcmp(n->str.ptr, s, len) == 0;
}

// Accounts for one delivered message whose payload is p[0..len).
static void on_message(struct bconn *c, const char *p, size_t len)
{
    struct bench *b = c->bench;
    uint64_t now = now_ns();

    c->received++;
    if (len < HEADER_LEN)
        return;

    uint32_t pub, seq;
    uint64_t scheduled;
    memcpy(&pub, p, 4);
    memcpy(&seq, p + 4, 4);
    memcpy(&scheduled, p + 8, 8);
    if (now > scheduled)
        hist_record(&b->latency, now - scheduled);

    if (c->max_seq == NULL || pub >= b->opt.publishers)
        return;
    // max_seq holds the highest sequence seen plus one, so 0 means none yet.
    uint32_t next = c->max_seq[pub];
    if (seq + 1 == next)
        c->duplicated++;
    else if (seq + 1 < next)
        c->out_of_order++;
    else
        c->max_seq[pub] = seq + 1;
}

static void on_frame(struct bconn *c, const struct rp_resp_reply *r)
{
    const struct rp_resp_node *top = &r->nodes[0];

    if (top->type == RP_RESP_INTEGER && c->publisher) {
        c->replies++;
        c->bench->receivers_total += (uint64_t)top->v.integer;
        return;
    }
    if (top->type == RP_RESP_ERROR || top->type == RP_RESP_BULK_ERROR) {
        c->bench->protocol_errors++;
        if (c->bench->protocol_errors == 1)
            fprintf(stderr, "ringpub-bench: server error: %.*s\n", (int)top->str.len, top->str.ptr);
        return;
    }
    if ((top->type != RP_RESP_ARRAY && top->type != RP_RESP_PUSH) || r->count < 4)
        return;

    const struct rp_resp_node *kind = &r->nodes[1];
    if (str_is(kind, "message") || str_is(kind, "smessage")) {
        on_message(c, r->nodes[3].str.ptr, r->nodes[3].str.len);
    } else if (str_is(kind, "pmessage") && r->count >= 5) {
        on_message(c, r->nodes[4].str.ptr, r->nodes[4].str.len);
    } else if (str_is(kind, "subscribe") || str_is(kind, "psubscribe") || str_is(kind, "ssubscribe")) {
        if (c->expected_acks > 0)
            c->expected_acks--;
    }
}

size_t bconn_on_data(void *ctx, rp_net_conn_t *conn, const char *data, size_t len)
{
    struct bconn *c = ctx;
    size_t used = 0;

    while (used < len) {
        struct rp_resp_reply reply;
        ssize_t n = rp_resp_reply_parse(c->parser, data + used, len - used, &reply);
        if (n == RP_NEED_MORE)
            break;
        if (n < 0) {
            fprintf(stderr, "ringpub-bench: unparsable reply: %s\n", rp_strerror((int)n));
            c->bench->protocol_errors++;
            rp_net_conn_close(conn, 0);
            return len;
        }
        on_frame(c, &reply);
        used += (size_t)n;
    }
    return used;
}

void bconn_on_close(void *ctx, rp_net_conn_t *conn, int err)
{
    struct bconn *c = ctx;

    c->closed = true;
    c->conn = NULL;
    if (c->slow)
        c->bench->slow_disconnected = true;
    else if (c->bench->phase != PH_DONE)
        c->bench->unexpected_closes++;
}

