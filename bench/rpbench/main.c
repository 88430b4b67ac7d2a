// SPDX-License-Identifier: BSD-3-Clause
// ringpub-bench: runs one pub/sub scenario against a RESP server and reports
// throughput, end-to-end latency, message loss and order, and server memory.
// Every run is bounded by --duration (and --max-messages), plus a drain of at
// most two seconds, and stops by itself.

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ringpub/alloc.h"

#include "bench.h"

#define NS_PER_S 1000000000ull
#define SUBSCRIBE_TIMEOUT_NS (60 * NS_PER_S)
#define DRAIN_NS (2 * NS_PER_S)
#define RSS_SAMPLE_NS (NS_PER_S / 4)

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

double process_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

uint64_t read_rss_kb(int pid)
{
    if (pid <= 0)
        return 0;

    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    uint64_t kb = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

double read_cpu_seconds(int pid)
{
    if (pid <= 0)
        return 0;

    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char *got = fgets(line, sizeof(line), f);
    fclose(f);
    if (got == NULL)
        return 0;

    // utime and stime are fields 14 and 15. The command name (field 2) may
    // hold spaces, so the fields are counted from its closing parenthesis.
    char *p = strrchr(line, ')');
    if (p == NULL)
        return 0;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static const struct {
    const char *name;
    enum scenario sc;
} scenarios[] = {
    {"fanout", SC_FANOUT},           {"fanin", SC_FANIN},
    {"manychannels", SC_MANYCHANNELS}, {"patterns", SC_PATTERNS},
    {"patterns-shared", SC_PATTERNS_SHARED}, {"connections", SC_CONNECTIONS},
    {"slow", SC_SLOW},
};

const char *scenario_name(enum scenario sc)
{
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (scenarios[i].sc == sc)
            return scenarios[i].name;
    return "unknown";
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ringpub-bench --scenario NAME [options]\n"
            "Runs one pub/sub scenario against a RESP server (ringpub-server, redis-server).\n\n"
            "Scenarios:\n"
            "  fanout           S subscribers on one channel, one pipelined publisher\n"
            "  fanin            P publishers paced at --rate in total (open loop) to C channels,\n"
            "                   S subscribers on every channel; latency from the scheduled time\n"
            "  manychannels     C channels, each with one subscriber (spread over S connections)\n"
            "  patterns         K distinct patterns per subscriber; each publish matches one\n"
            "  patterns-shared  K patterns, all subscribed by each of S subscribers\n"
            "  connections      S idle subscribers: subscribe rate, server memory per connection\n"
            "  slow             one subscriber stops reading among S fast ones (paced at --rate)\n\n"
            "Options (defaults depend on the scenario):\n"
            "  -h, --host ADDR        server address (default 127.0.0.1)\n"
            "  -p, --port N           server port (default 6379)\n"
            "  -s, --subscribers N    subscriber connections\n"
            "  -P, --publishers N     publisher connections (default 1; fanin 50)\n"
            "  -c, --channels N       channels\n"
            "  -k, --patterns N       patterns (per subscriber for 'patterns')\n"
            "  -r, --rate N           messages per second in total (fanin, slow)\n"
            "  -z, --payload BYTES    payload size, 16 to 65536 (default 64)\n"
            "  -d, --duration SEC     seconds of publishing (default 3)\n"
            "  -w, --window N         publishes in flight per publisher, closed loop (default 64)\n"
            "  -n, --max-messages N   stop publishing after N messages in all\n"
            "      --server-pid PID   read the server's RSS from /proc/PID/status\n"
            "      --label NAME       server name in the output (default 'server')\n"
            "      --json FILE        append one JSON line with the results\n"
            "      --hist-csv FILE    write the latency histogram as CSV\n"
            "      --io-backend B     event loop backend: auto, uring or epoll\n");
}

static int parse_uint(const char *s, const char *what, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-') {
        fprintf(stderr, "ringpub-bench: invalid %s '%s': expected an integer from 0 to %llu\n", what, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

static void apply_defaults(struct options *o, const unsigned char *given)
{
    // given[] marks options set on the command line, indexed by option letter.
    switch (o->scenario) {
    case SC_FANOUT:
        if (!given['s'])
            o->subscribers = 100;
        if (!given['P'])
            o->publishers = 1;
        break;
    case SC_FANIN:
        if (!given['s'])
            o->subscribers = 10;
        if (!given['P'])
            o->publishers = 50;
        if (!given['c'])
            o->channels = 10;
        if (!given['r'])
            o->rate = 100000;
        break;
    case SC_MANYCHANNELS:
        if (!given['s'])
            o->subscribers = 100;
        if (!given['c'])
            o->channels = 10000;
        if (!given['P'])
            o->publishers = 1;
        break;
    case SC_PATTERNS:
        if (!given['s'])
            o->subscribers = 100;
        if (!given['k'])
            o->patterns = 10;
        if (!given['P'])
            o->publishers = 1;
        break;
    case SC_PATTERNS_SHARED:
        if (!given['s'])
            o->subscribers = 10;
        if (!given['k'])
            o->patterns = 1000;
        if (!given['P'])
            o->publishers = 1;
        break;
    case SC_CONNECTIONS:
        if (!given['s'])
            o->subscribers = 10000;
        o->publishers = 0;
        break;
    case SC_SLOW:
        if (!given['s'])
            o->subscribers = 10;
        if (!given['r'])
            o->rate = 20000;
        if (!given['z'])
            o->payload = 1024;
        if (!given['P'])
            o->publishers = 1;
        break;
    }
    if (o->channels == 0)
        o->channels = 1;
    if (o->patterns == 0)
        o->patterns = 1;
    if (o->publishers > 0 && o->rate > 0 && o->scenario != SC_FANIN && o->scenario != SC_SLOW)
        o->rate = 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"scenario", required_argument, NULL, 'S'}, {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},     {"subscribers", required_argument, NULL, 's'},
        {"publishers", required_argument, NULL, 'P'}, {"channels", required_argument, NULL, 'c'},
        {"patterns", required_argument, NULL, 'k'}, {"rate", required_argument, NULL, 'r'},
        {"payload", required_argument, NULL, 'z'},  {"duration", required_argument, NULL, 'd'},
        {"window", required_argument, NULL, 'w'},   {"max-messages", required_argument, NULL, 'n'},
        {"server-pid", required_argument, NULL, 1}, {"label", required_argument, NULL, 2},
        {"json", required_argument, NULL, 3},       {"hist-csv", required_argument, NULL, 4},
        {"io-backend", required_argument, NULL, 5}, {"help", no_argument, NULL, 6},
        {NULL, 0, NULL, 0},
    };
    unsigned char given[256] = {0};
    bool have_scenario = false;
    unsigned long long v;
    int ch;

    *o = (struct options){
        .host = "127.0.0.1", .port = 6379, .payload = 64, .duration = 3.0, .window = 64,
        .label = "server", .backend = RP_NET_AUTO,
    };
    while ((ch = getopt_long(argc, argv, "S:h:p:s:P:c:k:r:z:d:w:n:", longopts, NULL)) != -1) {
        if (ch > 0 && ch < 256)
            given[ch] = 1;
        switch (ch) {
        case 'S':
            have_scenario = false;
            for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
                if (strcmp(optarg, scenarios[i].name) == 0) {
                    o->scenario = scenarios[i].sc;
                    have_scenario = true;
                }
            }
            if (!have_scenario) {
                fprintf(stderr, "ringpub-bench: unknown scenario '%s' (see --help)\n", optarg);
                return -1;
            }
            break;
        case 'h': o->host = optarg; break;
        case 'p':
            if (parse_uint(optarg, "port", 65535, &v)) return -1;
            o->port = (int)v;
            break;
        case 's':
            if (parse_uint(optarg, "subscriber count", 1000000, &v)) return -1;
            o->subscribers = (unsigned)v;
            break;
        case 'P':
            if (parse_uint(optarg, "publisher count", 10000, &v)) return -1;
            o->publishers = (unsigned)v;
            break;
        case 'c':
            if (parse_uint(optarg, "channel count", 10000000, &v)) return -1;
            o->channels = (unsigned)v;
            break;
        case 'k':
            if (parse_uint(optarg, "pattern count", 10000000, &v)) return -1;
            o->patterns = (unsigned)v;
            break;
        case 'r':
            if (parse_uint(optarg, "rate", 100000000, &v)) return -1;
            o->rate = (double)v;
            break;
        case 'z':
            if (parse_uint(optarg, "payload size", 65536, &v)) return -1;
            if (v < 16) {
                fprintf(stderr, "ringpub-bench: invalid payload size %llu: at least 16 bytes carry the "
                                "publisher, sequence and timestamp\n", v);
                return -1;
            }
            o->payload = (unsigned)v;
            break;
        case 'd': {
            char *end;
            o->duration = strtod(optarg, &end);
            if (*end != '\0' || !(o->duration > 0 && o->duration <= 3600)) {
                fprintf(stderr, "ringpub-bench: invalid duration '%s': expected seconds, above 0 and at most 3600\n",
                        optarg);
                return -1;
            }
            break;
        }
        case 'w':
            if (parse_uint(optarg, "window", 1000000, &v) || v == 0) return -1;
            o->window = (unsigned)v;
            break;
        case 'n':
            if (parse_uint(optarg, "message count", UINT64_MAX, &v)) return -1;
            o->max_messages = v;
            break;
        case 1:
            if (parse_uint(optarg, "server pid", 4194304, &v)) return -1;
            o->server_pid = (int)v;
            break;
        case 2: o->label = optarg; break;
        case 3: o->json_path = optarg; break;
        case 4: o->hist_path = optarg; break;
        case 5:
            if (strcmp(optarg, "auto") == 0)
                o->backend = RP_NET_AUTO;
            else if (strcmp(optarg, "uring") == 0)
                o->backend = RP_NET_URING;
            else if (strcmp(optarg, "epoll") == 0)
                o->backend = RP_NET_EPOLL;
            else {
                fprintf(stderr, "ringpub-bench: invalid --io-backend '%s': expected auto, uring or epoll\n", optarg);
                return -1;
            }
            break;
        case 6:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (!given['S']) {
        fprintf(stderr, "ringpub-bench: missing --scenario (see --help)\n");
        return -1;
    }
    apply_defaults(o, given);
    return 0;
}

static char *format_name(const char *fmt, unsigned a, unsigned b)
{
    char tmp[96];
    int n = snprintf(tmp, sizeof(tmp), fmt, a, b);
    char *s = rp_malloc((size_t)n + 1);
    if (s != NULL)
        memcpy(s, tmp, (size_t)n + 1);
    return s;
}

// Fills b->channel_names with what publishers send to, round-robin.
static int make_channels(struct bench *b)
{
    const struct options *o = &b->opt;
    unsigned n;

    switch (o->scenario) {
    case SC_PATTERNS:
        n = o->subscribers * o->patterns;
        break;
    case SC_PATTERNS_SHARED:
        n = o->patterns;
        break;
    case SC_FANIN:
    case SC_MANYCHANNELS:
        n = o->channels;
        break;
    default:
        n = 1;
        break;
    }

    b->channel_names = rp_calloc(n, sizeof(char *));
    if (b->channel_names == NULL)
        return -ENOMEM;
    b->channel_count = n;
    for (unsigned i = 0; i < n; i++) {
        switch (o->scenario) {
        case SC_PATTERNS:
            b->channel_names[i] = format_name("user:%u:%u:x", i / o->patterns, i % o->patterns);
            break;
        case SC_PATTERNS_SHARED:
            b->channel_names[i] = format_name("room:%u:x", i, 0);
            break;
        case SC_FANIN:
        case SC_MANYCHANNELS:
            b->channel_names[i] = format_name("bench:ch:%u", i, 0);
            break;
        default:
            b->channel_names[i] = format_name("bench:one", 0, 0);
            break;
        }
        if (b->channel_names[i] == NULL)
            return -ENOMEM;
    }
    return 0;
}

// Sends one SUBSCRIBE or PSUBSCRIBE command with `count` names made by fmt.
static void subscribe_many(struct bconn *c, const char *verb, const char *fmt, unsigned first, unsigned step,
                           unsigned count, unsigned fixed)
{
    const char **argv = rp_calloc((size_t)count + 1, sizeof(char *));
    size_t *lens = rp_calloc((size_t)count + 1, sizeof(size_t));
    char **names = rp_calloc(count, sizeof(char *));
    if (argv == NULL || lens == NULL || names == NULL)
        goto out;

    argv[0] = verb;
    lens[0] = strlen(verb);
    for (unsigned i = 0; i < count; i++) {
        names[i] = fixed != UINT32_MAX ? format_name(fmt, fixed, first + i * step)
                                       : format_name(fmt, first + i * step, 0);
        if (names[i] == NULL)
            goto out;
        argv[i + 1] = names[i];
        lens[i + 1] = strlen(names[i]);
    }
    bconn_send_command(c, count + 1, argv, lens);
    c->expected_acks += count;
out:
    if (names != NULL)
        for (unsigned i = 0; i < count; i++)
            rp_free(names[i]);
    rp_free(names);
    rp_free(argv);
    rp_free(lens);
}

static void subscribe_all(struct bench *b)
{
    const struct options *o = &b->opt;

    for (unsigned i = 0; i < b->sub_count; i++) {
        struct bconn *c = &b->subs[i];
        switch (o->scenario) {
        case SC_FANIN:
            subscribe_many(c, "SUBSCRIBE", "bench:ch:%u", 0, 1, o->channels, UINT32_MAX);
            break;
        case SC_MANYCHANNELS: {
            // Channel k belongs to subscriber k % S.
            unsigned count = o->channels / b->sub_count + (i < o->channels % b->sub_count);
            if (count > 0)
                subscribe_many(c, "SUBSCRIBE", "bench:ch:%u", i, b->sub_count, count, UINT32_MAX);
            break;
        }
        case SC_PATTERNS:
            subscribe_many(c, "PSUBSCRIBE", "user:%u:%u:*", 0, 1, o->patterns, i);
            break;
        case SC_PATTERNS_SHARED:
            subscribe_many(c, "PSUBSCRIBE", "room:%u:*", 0, 1, o->patterns, UINT32_MAX);
            break;
        default:
            subscribe_many(c, "SUBSCRIBE", "bench:one", 0, 0, 1, UINT32_MAX);
            break;
        }
    }
}

static bool paced(const struct bench *b)
{
    return b->opt.rate > 0;
}

static void start_publishing(struct bench *b, uint64_t now)
{
    b->subscribed_ns = now;
    b->start_ns = now;
    b->cpu_start_s = process_cpu_seconds();
    b->server_cpu_start_s = read_cpu_seconds(b->opt.server_pid);
    b->rss_before_kb = b->rss_before_kb ? b->rss_before_kb : read_rss_kb(b->opt.server_pid);

    // Publisher i starts i/rate seconds in, so the total stream is evenly spaced.
    for (unsigned i = 0; i < b->pub_count; i++) {
        b->pubs[i].next_due_ns = now + (paced(b) ? (uint64_t)((double)i * 1e9 / b->opt.rate) : 0);
        b->pubs[i].channel_cursor = i % b->channel_count;
    }
    for (unsigned i = 0; i < b->sub_count; i++) {
        if (b->subs[i].slow && b->subs[i].conn != NULL)
            rp_net_conn_pause_read(b->subs[i].conn, 1);
    }
    b->phase = PH_RUNNING;
}

static uint64_t total_sent(const struct bench *b)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < b->pub_count; i++)
        n += b->pubs[i].sent;
    return n;
}

static uint64_t total_replies(const struct bench *b)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < b->pub_count; i++)
        n += b->pubs[i].replies;
    return n;
}

static void publish_from(struct bench *b, struct bconn *c, uint64_t now, uint64_t *budget)
{
    const char *channel;

    if (paced(b)) {
        // Per-publisher interval: publishers / rate seconds.
        uint64_t interval = (uint64_t)((double)b->pub_count * 1e9 / b->opt.rate);
        while (c->next_due_ns <= now && *budget > 0) {
            channel = b->channel_names[c->channel_cursor];
            c->channel_cursor = (c->channel_cursor + 1) % b->channel_count;
            hist_record(&b->lag, now - c->next_due_ns);
            bconn_publish(c, channel, c->next_due_ns);
            c->next_due_ns += interval ? interval : 1;
            (*budget)--;
        }
        return;
    }
    // The window also bounds deliveries in flight: window publishes times
    // the receivers per publish seen so far. A PUBLISH reply only means the
    // message was queued. With a window of replies alone, the server's
    // output queues grow until it disconnects the subscribers for their
    // output buffer limit, and the run measures that rather than delivery.
    uint64_t per_publish = b->receivers_total > 0 && total_replies(b) > 0 ? b->receivers_total / total_replies(b) : 1;
    if (per_publish == 0)
        per_publish = 1;
    uint64_t delivery_window = (uint64_t)b->opt.window * b->pub_count * per_publish;
    if (b->receivers_total > b->delivered_total && b->receivers_total - b->delivered_total > delivery_window)
        return;
    while (c->sent - c->replies < b->opt.window && *budget > 0) {
        channel = b->channel_names[c->channel_cursor];
        c->channel_cursor = (c->channel_cursor + 1) % b->channel_count;
        bconn_publish(c, channel, now);
        (*budget)--;
    }
}

static uint64_t delivered(const struct bench *b)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < b->sub_count; i++)
        n += b->subs[i].received;
    return n;
}

static void finish_running(struct bench *b, uint64_t now)
{
    b->stop_ns = now;
    b->cpu_stop_s = process_cpu_seconds();
    b->server_cpu_stop_s = read_cpu_seconds(b->opt.server_pid);
    b->drain_deadline_ns = now + DRAIN_NS;
    b->phase = PH_DRAINING;
}

static void sample_rss(struct bench *b, uint64_t now)
{
    if (b->opt.server_pid <= 0 || now < b->next_rss_sample_ns)
        return;
    b->next_rss_sample_ns = now + RSS_SAMPLE_NS;
    uint64_t kb = read_rss_kb(b->opt.server_pid);
    if (kb > b->rss_max_kb)
        b->rss_max_kb = kb;
    if (b->rss_sample_count < sizeof(b->rss_samples) / sizeof(b->rss_samples[0]))
        b->rss_samples[b->rss_sample_count++] = kb;
}

// Moves the run forward; called once per loop turn and on every tick.
static void drive(void *ctx)
{
    struct bench *b = ctx;
    uint64_t now = now_ns();

    switch (b->phase) {
    case PH_SUBSCRIBING: {
        unsigned pending = 0;
        for (unsigned i = 0; i < b->sub_count; i++)
            pending += b->subs[i].expected_acks;
        if (pending == 0) {
            if (b->opt.scenario == SC_CONNECTIONS) {
                b->subscribed_ns = now;
                b->rss_after_kb = read_rss_kb(b->opt.server_pid);
                b->phase = PH_DONE;
                rp_net_loop_stop(b->loop);
                return;
            }
            start_publishing(b, now);
        } else if (now - b->subscribe_start_ns > SUBSCRIBE_TIMEOUT_NS || b->unexpected_closes > 0) {
            fprintf(stderr, "ringpub-bench: %u subscriptions still unconfirmed, %llu connections lost; giving up\n",
                    pending, (unsigned long long)b->unexpected_closes);
            b->phase = PH_DONE;
            rp_net_loop_stop(b->loop);
        }
        break;
    }
    case PH_RUNNING: {
        sample_rss(b, now);
        uint64_t sent = total_sent(b);
        bool out_of_time = now - b->start_ns >= (uint64_t)(b->opt.duration * 1e9);
        bool out_of_count = b->opt.max_messages > 0 && sent >= b->opt.max_messages;
        if (out_of_time || out_of_count) {
            finish_running(b, now);
            break;
        }
        // Cap one turn's sends so replies are read between bursts.
        uint64_t budget = 4096;
        if (b->opt.max_messages > 0 && b->opt.max_messages - sent < budget)
            budget = b->opt.max_messages - sent;
        for (unsigned i = 0; i < b->pub_count && budget > 0; i++)
            if (!b->pubs[i].closed)
                publish_from(b, &b->pubs[i], now, &budget);
        break;
    }
    case PH_DRAINING: {
        sample_rss(b, now);
        uint64_t replies = 0;
        for (unsigned i = 0; i < b->pub_count; i++)
            replies += b->pubs[i].replies;
        // Every publish has its reply and every delivery it counted has
        // arrived. The slow subscriber never reads its share, so there the
        // fast subscribers' count decides: each of them gets every message.
        uint64_t sent = total_sent(b);
        bool all_in = replies == sent && delivered(b) >= b->receivers_total;
        if (b->opt.scenario == SC_SLOW)
            all_in = replies == sent && delivered(b) >= sent * (uint64_t)(b->sub_count - 1);
        if (all_in || now >= b->drain_deadline_ns) {
            b->phase = PH_DONE;
            rp_net_loop_stop(b->loop);
        }
        break;
    }
    case PH_DONE:
        break;
    }
}

static void raise_fd_limit(unsigned wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)wanted + 64;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int run(struct bench *b)
{
    const struct options *o = &b->opt;
    struct rp_net_config cfg;
    struct rp_net_handlers handlers = {
        .on_data = bconn_on_data,
        .on_close = bconn_on_close,
        .before_send = drive,
        .on_tick = drive,
    };

    rp_net_config_default(&cfg);
    cfg.backend = o->backend;
    cfg.tick_ms = 1;
    int err = rp_net_loop_create(&cfg, &handlers, b, &b->loop);
    if (err < 0) {
        fprintf(stderr, "ringpub-bench: cannot create the event loop: %s\n", rp_strerror(err));
        return err;
    }

    err = make_channels(b);
    if (err < 0)
        return err;
    b->payload_buf = rp_malloc(o->payload);
    if (b->payload_buf == NULL)
        return -ENOMEM;
    memset(b->payload_buf, 'x', o->payload);

    unsigned slow_extra = o->scenario == SC_SLOW ? 1 : 0;
    b->sub_count = o->subscribers + slow_extra;
    b->pub_count = o->publishers;
    b->subs = rp_calloc(b->sub_count ? b->sub_count : 1, sizeof(*b->subs));
    b->pubs = rp_calloc(b->pub_count ? b->pub_count : 1, sizeof(*b->pubs));
    if (b->subs == NULL || b->pubs == NULL)
        return -ENOMEM;
    raise_fd_limit(b->sub_count + b->pub_count);

    b->rss_before_kb = read_rss_kb(o->server_pid);
    b->subscribe_start_ns = now_ns();
    for (unsigned i = 0; i < b->sub_count; i++) {
        err = bconn_open(b, &b->subs[i], false, i);
        if (err < 0) {
            fprintf(stderr, "ringpub-bench: failed to connect subscriber %u to %s:%d: %s\n", i, o->host, o->port,
                    rp_strerror(err));
            return err;
        }
        b->subs[i].slow = slow_extra && i == b->sub_count - 1;
    }
    for (unsigned i = 0; i < b->pub_count; i++) {
        err = bconn_open(b, &b->pubs[i], true, i);
        if (err < 0) {
            fprintf(stderr, "ringpub-bench: failed to connect publisher %u to %s:%d: %s\n", i, o->host, o->port,
                    rp_strerror(err));
            return err;
        }
    }
    subscribe_all(b);
    b->phase = PH_SUBSCRIBING;

    err = rp_net_loop_run(b->loop);
    if (err < 0)
        fprintf(stderr, "ringpub-bench: event loop failed: %s\n", rp_strerror(err));
    return err;
}

static void bench_free(struct bench *b)
{
    for (unsigned i = 0; i < b->sub_count; i++) {
        rp_resp_reply_parser_free(b->subs[i].parser);
        rp_free(b->subs[i].max_seq);
    }
    for (unsigned i = 0; i < b->pub_count; i++)
        rp_resp_reply_parser_free(b->pubs[i].parser);
    for (unsigned i = 0; i < b->channel_count; i++)
        rp_free(b->channel_names[i]);
    rp_free(b->channel_names);
    rp_free(b->subs);
    rp_free(b->pubs);
    rp_free(b->payload_buf);
    if (b->loop != NULL)
        rp_net_loop_free(b->loop);
}

int main(int argc, char **argv)
{
    static struct bench b;

    if (parse_options(argc, argv, &b.opt) != 0)
        return 2;
    hist_init(&b.latency);
    hist_init(&b.lag);

    int err = run(&b);
    if (err == 0) {
        report_print(&b);
        if (b.opt.json_path != NULL && report_json(&b, b.opt.json_path) != 0)
            err = -EIO;
        if (b.opt.hist_path != NULL && report_hist(&b, b.opt.hist_path) != 0)
            err = -EIO;
    }
    bench_free(&b);
    if (err == 0 && (b.protocol_errors > 0 || b.unexpected_closes > 0))
        return 1;
    return err == 0 ? 0 : 1;
}
