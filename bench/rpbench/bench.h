// SPDX-License-Identifier: BSD-3-Clause
// ringpub-bench: a pub/sub load generator for any RESP server, built on
// ringpub's own event loop (net/) and reply parser (resp/). Shared types of
// the scenario runner (main.c), the connections (conn.c) and the reports
// (report.c).

#ifndef RPBENCH_BENCH_H
#define RPBENCH_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "ringpub/net.h"
#include "ringpub/resp.h"

#include "hist.h"

enum scenario {
    SC_FANOUT,           // S subscribers on one channel, one pipelined publisher
    SC_FANIN,            // P paced publishers, C channels, S subscribers
    SC_MANYCHANNELS,     // N channels with one subscriber each, round-robin publishes
    SC_PATTERNS,         // K distinct patterns per subscriber, publishes match one
    SC_PATTERNS_SHARED,  // K patterns shared by every subscriber
    SC_CONNECTIONS,      // N idle subscribers: memory per connection, subscribe rate
    SC_SLOW,             // one subscriber stops reading among fast ones
};

struct options {
    enum scenario scenario;
    const char *host;
    int port;
    unsigned subscribers;
    unsigned publishers;
    unsigned channels;
    unsigned patterns;
    double rate;              // fanin and slow: total messages per second
    unsigned payload;         // bytes, 16 to 65536
    double duration;          // seconds of publishing
    unsigned window;          // closed-loop scenarios: publishes in flight per publisher
    uint64_t max_messages;    // stop after this many publishes (0: duration only)
    int server_pid;           // for RSS readings, 0 if unknown
    const char *label;        // server name in the output
    const char *json_path;    // append one JSON line per run
    const char *hist_path;    // latency histogram CSV
    enum rp_net_backend backend;
};

enum phase { PH_SUBSCRIBING, PH_RUNNING, PH_DRAINING, PH_DONE };

struct bench;

// One client connection, subscriber or publisher.
struct bconn {
    struct bench *bench;
    rp_net_conn_t *conn;
    rp_resp_reply_parser_t *parser;
    bool publisher;
    bool closed;
    bool slow;                 // stopped reading on purpose (scenario slow)
    unsigned index;
    unsigned expected_acks;    // subscriptions requested, not yet confirmed
    // Publisher state.
    uint64_t sent;
    uint64_t replies;
    uint64_t next_due_ns;      // paced: scheduled time of the next publish
    uint32_t seq;
    unsigned channel_cursor;
    bool generic_pending;      // the generic reply parser holds a partial reply
    // Subscriber state.
    uint64_t received;
    uint64_t duplicated;
    uint64_t out_of_order;
    uint32_t *max_seq;         // per publisher: highest sequence seen + 1 (0: none)
};

struct bench {
    struct options opt;
    rp_net_loop_t *loop;
    enum phase phase;
    struct bconn *subs;
    unsigned sub_count;
    struct bconn *pubs;
    unsigned pub_count;
    char **channel_names;      // what publishers send to, round-robin
    unsigned channel_count;
    uint64_t start_ns;         // publishing began
    uint64_t stop_ns;          // publishing ended
    uint64_t drain_deadline_ns;
    uint64_t subscribe_start_ns;
    uint64_t subscribed_ns;    // every subscription confirmed
    uint64_t receivers_total;  // sum of PUBLISH replies
    uint64_t delivered_total;  // messages received by all subscribers
    uint64_t chunk_now_ns;     // clock reading for the chunk being parsed, 0 before the first message
    uint64_t protocol_errors;
    uint64_t unexpected_closes;
    struct hist latency;       // scheduled send time to delivery
    struct hist lag;           // how late the generator sent, paced scenarios
    char *payload_buf;         // payload template
    // Server memory, from /proc/<pid>/status.
    uint64_t rss_before_kb;
    uint64_t rss_after_kb;
    uint64_t rss_max_kb;
    uint64_t rss_samples[600];
    unsigned rss_sample_count;
    uint64_t next_rss_sample_ns;
    // Generator CPU use while publishing, to flag a client-bound result.
    double cpu_start_s;
    double cpu_stop_s;
    // The server's CPU time over the same span, when --server-pid is given:
    // a server below 1.0 core was not the bottleneck.
    double server_cpu_start_s;
    double server_cpu_stop_s;
    bool slow_disconnected;
};

uint64_t now_ns(void);
double process_cpu_seconds(void);
uint64_t read_rss_kb(int pid);
double read_cpu_seconds(int pid);

// conn.c
int bconn_open(struct bench *b, struct bconn *c, bool publisher, unsigned index);
void bconn_send_command(struct bconn *c, unsigned argc, const char *const *argv, const size_t *lens);
void bconn_publish(struct bconn *c, const char *channel, uint64_t scheduled_ns);
size_t bconn_on_data(void *ctx, rp_net_conn_t *conn, const char *data, size_t len);
void bconn_on_close(void *ctx, rp_net_conn_t *conn, int err);

// report.c
void report_print(const struct bench *b);
int report_json(const struct bench *b, const char *path);
int report_hist(const struct bench *b, const char *path);
const char *scenario_name(enum scenario sc);

#endif
