// SPDX-License-Identifier: BSD-3-Clause
// Benchmark connections: connect, send commands, and read replies and
// pushed messages, the common frames by a fast path and the rest with
// ringpub's reply parser.
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

// Writes the decimal digits of v at p and returns the position after them.
static char *put_uint(char *p, size_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

// Writes s as a RESP bulk string at p and returns the position after it.
static char *put_bulk(char *p, const char *s, size_t len)
{
    *p++ = '$';
    p = put_uint(p, len);
    memcpy(p, "\r\n", 2);
    memcpy(p + 2, s, len);
    memcpy(p + 2 + len, "\r\n", 2);
    return p + 4 + len;
}

// Encodes PUBLISH by hand into a stack buffer. The printf-based encoder took
// about 2,000 instructions per publish (callgrind), close to the server's
// cost for the whole publish when it reaches one subscriber.
void bconn_publish(struct bconn *c, const char *channel, uint64_t scheduled_ns)
{
    struct bench *b = c->bench;
    char *payload = b->payload_buf;
    uint32_t pub = c->index;
    uint32_t seq = c->seq++;

    memcpy(payload, &pub, 4);
    memcpy(payload + 4, &seq, 4);
    memcpy(payload + 8, &scheduled_ns, 8);

    size_t chan_len = strlen(channel);
    size_t plen = b->opt.payload;
    char stack[1024];
    // "*3", "$7 PUBLISH", two length lines of at most 20 digits and the CRLFs.
    if (chan_len + plen + 96 > sizeof(stack)) {
        const char *argv[] = {"PUBLISH", channel, payload};
        size_t lens[] = {7, chan_len, plen};
        bconn_send_command(c, 3, argv, lens);
        c->sent++;
        return;
    }

    char *p = stack;
    memcpy(p, "*3\r\n", 4);
    p = put_bulk(p + 4, "PUBLISH", 7);
    p = put_bulk(p, channel, chan_len);
    p = put_bulk(p, payload, plen);
    rp_net_conn_write(c->conn, stack, (size_t)(p - stack));
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
    // One clock reading per received chunk rather than per message. In a
    // fanout-100 run on a KVM guest this cut the generator's CPU use from
    // 0.9 to 0.7 cores. A message's latency then ends when its chunk is
    // handled, which adds at most the time to parse one chunk.
    if (b->chunk_now_ns == 0)
        b->chunk_now_ns = now_ns();
    uint64_t now = b->chunk_now_ns;

    c->received++;
    b->delivered_total++;
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

// Reads one bulk string at p[*off..len). Returns 1 and advances *off, 0 when
// the bytes are not a bulk string of at most 9 length digits, -1 when they
// stop before its end.
static int fast_bulk(const char *p, size_t len, size_t *off, const char **str, size_t *slen)
{
    size_t i = *off;
    if (i >= len)
        return -1;
    if (p[i] != '$')
        return 0;
    i++;
    size_t n = 0;
    unsigned digits = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        if (++digits > 9)
            return 0;
        n = n * 10 + (size_t)(p[i] - '0');
        i++;
    }
    if (i + 2 > len)
        return -1;
    if (digits == 0 || p[i] != '\r' || p[i + 1] != '\n')
        return 0;
    i += 2;
    if (len - i < n + 2)
        return -1;
    if (p[i + n] != '\r' || p[i + n + 1] != '\n')
        return 0;
    *str = p + i;
    *slen = n;
    *off = i + n + 2;
    return 1;
}

// Recognises the frames that make up nearly all of a run's input, a pushed
// message or pmessage (RESP2 array or RESP3 push) and an integer PUBLISH
// reply, without the generic reply parser, which took about three times as
// many instructions per frame (callgrind). Returns the frame's length and
// handles it, 0 when p does not start with such a frame (the generic parser
// then takes it), or -1 when it may be one that is still incomplete.
static ssize_t fast_frame(struct bconn *c, const char *p, size_t len)
{
    if (len < 4)
        return p[0] == ':' || p[0] == '*' || p[0] == '>' ? -1 : 0;

    if (p[0] == ':' && c->publisher) {
        uint64_t v = 0;
        size_t i = 1;
        while (i < len && i < 20 && p[i] >= '0' && p[i] <= '9')
            v = v * 10 + (uint64_t)(p[i++] - '0');
        if (i + 2 > len)
            return -1;
        if (i == 1 || p[i] != '\r' || p[i + 1] != '\n')
            return 0;
        c->replies++;
        c->bench->receivers_total += v;
        return (ssize_t)(i + 2);
    }

    if ((p[0] != '*' && p[0] != '>') || (p[1] != '3' && p[1] != '4') || p[2] != '\r' || p[3] != '\n')
        return 0;
    unsigned count = (unsigned)(p[1] - '0');
    size_t off = 4;
    const char *s[4];
    size_t sl[4];
    for (unsigned k = 0; k < count; k++) {
        int rc = fast_bulk(p, len, &off, &s[k], &sl[k]);
        if (rc <= 0)
            return rc;
        if (k == 0) {
            int is_message = (count == 3 && sl[0] == 7 && memcmp(s[0], "message", 7) == 0) ||
                             (count == 3 && sl[0] == 8 && memcmp(s[0], "smessage", 8) == 0) ||
                             (count == 4 && sl[0] == 8 && memcmp(s[0], "pmessage", 8) == 0);
            if (!is_message)
                return 0;
        }
    }
    on_message(c, s[count - 1], sl[count - 1]);
    return (ssize_t)off;
}

size_t bconn_on_data(void *ctx, rp_net_conn_t *conn, const char *data, size_t len)
{
    struct bconn *c = ctx;
    size_t used = 0;

    c->bench->chunk_now_ns = 0;
    while (used < len) {
        // The generic parser resumes a partial reply from the same start,
        // so once it has begun one it must see that reply to its end.
        if (!c->generic_pending) {
            ssize_t f = fast_frame(c, data + used, len - used);
            if (f > 0) {
                used += (size_t)f;
                continue;
            }
            if (f < 0)
                break;
        }

        struct rp_resp_reply reply;
        ssize_t n = rp_resp_reply_parse(c->parser, data + used, len - used, &reply);
        if (n == RP_NEED_MORE) {
            c->generic_pending = true;
            break;
        }
        if (n < 0) {
            fprintf(stderr, "ringpub-bench: unparsable reply: %s\n", rp_strerror((int)n));
            c->bench->protocol_errors++;
            rp_net_conn_close(conn, 0);
            return len;
        }
        c->generic_pending = false;
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

