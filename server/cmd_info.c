// SPDX-License-Identifier: BSD-3-Clause
// INFO [section ...]: the server, clients, memory, persistence, stats,
// replication, cpu and keyspace sections with redis 7.0.15's field names, in its order, so
// that tools written for redis (redis_exporter, Datadog) read them. Fields of
// features ringpub lacks (RDB snapshots, replicas, Lua, jemalloc
// statistics) are left out rather than faked; docs/COMPATIBILITY.md lists them.
// info_tick() samples the rates and recent peaks, as redis's serverCron does.

#define _GNU_SOURCE    // RUSAGE_THREAD

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ringpub/version.h"
#include "server/db.h"
#include "server/server.h"

// The redis version whose interface ringpub follows; INFO reports it as
// redis_version because clients pick features by that field.
#define REDIS_COMPAT_VERSION "7.0.15"

// ---- Text building -----------------------------------------------------------

struct info_text {
    struct rp_buf buf;
    int failed;                // an append ran out of memory
};

static void add_line(struct info_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Appends one formatted line and its CRLF.
static void add_line(struct info_text *t, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    // Lines are short; a path longer than the buffer (executable, config_file) is cut.
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    if (t->failed || rp_buf_append(&t->buf, line, (size_t)n) < 0 || rp_buf_append(&t->buf, "\r\n", 2) < 0)
        t->failed = 1;
}

// Formats a byte count as redis's bytesToHuman: "918.94K", "11.81M", "0B".
static void bytes_to_human(char *dst, size_t size, uint64_t n)
{
    static const char units[] = "KMGTP";
    double d = (double)n;

    if (n < 1024) {
        snprintf(dst, size, "%lluB", (unsigned long long)n);
        return;
    }
    for (int i = 0; i < 5; i++) {
        d /= 1024;
        if (d < 1024 || i == 4) {
            snprintf(dst, size, "%.2f%c", d, units[i]);
            return;
        }
    }
}

// ---- Measurements ----------------------------------------------------------------

// Bytes the C library's allocator has handed out and not had back. Returns 0
// when the allocator does not report it (under AddressSanitizer, for one).
static size_t allocated_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

// Resident set size from /proc/self/statm, in bytes; 0 if it cannot be read.
static size_t resident_bytes(void)
{
    unsigned long pages_total = 0, pages_resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &pages_total, &pages_resident) != 2)
        pages_resident = 0;
    fclose(f);
    return (size_t)pages_resident * (size_t)sysconf(_SC_PAGESIZE);
}

// used_memory: the allocator's figure, or the RSS when it reports none.
static size_t used_memory(void)
{
    size_t used = allocated_bytes();

    return used > 0 ? used : resident_bytes();
}

// Memory held for one client: its struct, name, query buffer and output.
static size_t client_memory(const struct client *c)
{
    return sizeof(*c) + (c->name ? strlen(c->name) + 1 : 0) + rp_net_conn_input_len(c->conn) + c->reply.cap +
           rp_net_conn_pending(c->conn);
}

static double timeval_seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

// Bytes received and sent since start. The net layer counts them; the
// server_stats fields of the same names are not kept up to date by the core.
// TODO: CONFIG RESETSTAT does not zero these two, unlike redis.
static void net_totals(const struct server *srv, uint64_t *in, uint64_t *out)
{
    struct rp_net_stats net = {0};

    if (srv->loop != NULL)
        rp_net_get_stats(srv->loop, &net);
    *in = net.bytes_in;
    *out = net.bytes_out;
}

// ---- Sampling -----------------------------------------------------------------------

static uint64_t rate_average(const uint64_t samples[RP_INFO_RATE_SAMPLES])
{
    uint64_t sum = 0;

    for (int i = 0; i < RP_INFO_RATE_SAMPLES; i++)
        sum += samples[i];
    return sum / RP_INFO_RATE_SAMPLES;
}

static size_t peak_max(const size_t slots[RP_INFO_PEAK_SLOTS])
{
    size_t max = 0;

    for (int i = 0; i < RP_INFO_PEAK_SLOTS; i++) {
        if (slots[i] > max)
            max = slots[i];
    }
    return max;
}

static void update_memory_peak(struct server *srv, size_t used)
{
    if (used > srv->info.used_memory_peak)
        srv->info.used_memory_peak = used;
}

void info_tick(struct server *srv)
{
    struct info_samples *s = &srv->info;
    uint64_t now = time_mono_ms();
    uint64_t second = time_wall_ms() / 1000;
    uint64_t net_in, net_out;

    net_totals(srv, &net_in, &net_out);

    // Rates: the counters' growth since the last tick, per second, kept in a
    // ring of RP_INFO_RATE_SAMPLES that INFO averages.
    if (s->last_ms != 0 && now > s->last_ms) {
        uint64_t elapsed = now - s->last_ms;
        unsigned i = s->next_sample;

        s->ops_per_sec[i] = (srv->stats.total_commands_processed - s->last_commands) * 1000 / elapsed;
        s->in_bytes_per_sec[i] = (net_in - s->last_net_in) * 1000 / elapsed;
        s->out_bytes_per_sec[i] = (net_out - s->last_net_out) * 1000 / elapsed;
        s->next_sample = (i + 1) % RP_INFO_RATE_SAMPLES;
    }
    if (s->last_ms == 0 || now > s->last_ms) {
        s->last_ms = now;
        s->last_commands = srv->stats.total_commands_processed;
        s->last_net_in = net_in;
        s->last_net_out = net_out;
    }

    // Peaks: one slot per wall-clock second, so INFO reports the largest
    // buffer of the last RP_INFO_PEAK_SLOTS seconds. A slot is cleared when
    // its second comes round again.
    unsigned slot = (unsigned)(second % RP_INFO_PEAK_SLOTS);

    if (second != s->peak_second) {
        uint64_t gap = second - s->peak_second;

        // Clear the slots of the seconds skipped since the last tick too.
        for (uint64_t k = 1; k <= gap && k <= RP_INFO_PEAK_SLOTS; k++) {
            unsigned clear = (unsigned)((s->peak_second + k) % RP_INFO_PEAK_SLOTS);

            s->peak_input[clear] = 0;
            s->peak_output[clear] = 0;
        }
        s->peak_second = second;
    }
    for (const struct client *c = srv->clients_head; c != NULL; c = c->next) {
        size_t input = rp_net_conn_input_len(c->conn);
        size_t output = client_output_bytes(c);

        if (input > s->peak_input[slot])
            s->peak_input[slot] = input;
        if (output > s->peak_output[slot])
            s->peak_output[slot] = output;
    }

    update_memory_peak(srv, used_memory());
}

// ---- Sections ------------------------------------------------------------------------

static void section_server(struct info_text *t, struct server *srv)
{
    struct utsname uts;
    char exe[4096];
    uint64_t now_us;
    struct timespec ts;
    uint64_t uptime = (time_mono_ms() - srv->stats.start_mono_ms) / 1000;
    ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *backend = srv->loop ? rp_net_loop_backend_name(srv->loop) : "none";

    if (uname(&uts) < 0) {
        strcpy(uts.sysname, "unknown");
        uts.release[0] = '\0';
        uts.machine[0] = '\0';
    }
    exe[exe_len > 0 ? exe_len : 0] = '\0';
    clock_gettime(CLOCK_REALTIME, &ts);
    now_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;

    add_line(t, "# Server");
    add_line(t, "redis_version:%s", REDIS_COMPAT_VERSION);
    add_line(t, "redis_mode:standalone");
    add_line(t, "os:%s %s %s", uts.sysname, uts.release, uts.machine);
    add_line(t, "arch_bits:%d", (int)sizeof(long) * 8);
    add_line(t, "monotonic_clock:POSIX clock_gettime");
    add_line(t, "multiplexing_api:%s", backend);
#ifdef __GNUC__
    add_line(t, "gcc_version:%d.%d.%d", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
    add_line(t, "gcc_version:0.0.0");
#endif
    add_line(t, "process_id:%ld", (long)getpid());
    add_line(t, "process_supervised:no");
    add_line(t, "run_id:%s", srv->run_id);
    add_line(t, "tcp_port:%d", srv->tcp_port_bound);
    add_line(t, "server_time_usec:%llu", (unsigned long long)now_us);
    add_line(t, "uptime_in_seconds:%llu", (unsigned long long)uptime);
    add_line(t, "uptime_in_days:%llu", (unsigned long long)(uptime / 86400));
    add_line(t, "hz:%d", srv->cfg.hz);
    add_line(t, "configured_hz:%d", srv->cfg.hz);
    add_line(t, "executable:%s", exe);
    add_line(t, "config_file:%s", srv->cfg.config_file ? srv->cfg.config_file : "");
    add_line(t, "io_threads_active:0");
    add_line(t, "ringpub_version:%s", rp_version());
    add_line(t, "io_backend:%s", backend);
}

static void section_clients(struct info_text *t, struct server *srv)
{
    add_line(t, "# Clients");
    add_line(t, "connected_clients:%zu", srv->client_count);
    add_line(t, "maxclients:%u", srv->cfg.maxclients);
    add_line(t, "client_recent_max_input_buffer:%zu", peak_max(srv->info.peak_input));
    add_line(t, "client_recent_max_output_buffer:%zu", peak_max(srv->info.peak_output));
    add_line(t, "blocked_clients:%zu", srv->blocked_clients);
}

static void section_memory(struct info_text *t, struct server *srv)
{
    char used_h[32], rss_h[32], peak_h[32], system_h[32], maxmemory_h[32];
    size_t used = used_memory();
    // NOTE: db_memory walks every key, so INFO memory costs time in
    // proportion to the keyspace, where redis's figure is O(1).
    size_t dataset = db_memory(srv);
    size_t rss = resident_bytes();
    uint64_t system = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    size_t clients_mem = 0;

    update_memory_peak(srv, used);
    for (const struct client *c = srv->clients_head; c != NULL; c = c->next)
        clients_mem += client_memory(c);
    bytes_to_human(used_h, sizeof(used_h), used);
    bytes_to_human(rss_h, sizeof(rss_h), rss);
    bytes_to_human(peak_h, sizeof(peak_h), srv->info.used_memory_peak);
    bytes_to_human(system_h, sizeof(system_h), system);
    bytes_to_human(maxmemory_h, sizeof(maxmemory_h), srv->cfg.maxmemory);

    add_line(t, "# Memory");
    add_line(t, "used_memory:%zu", used);
    add_line(t, "used_memory_human:%s", used_h);
    add_line(t, "used_memory_rss:%zu", rss);
    add_line(t, "used_memory_rss_human:%s", rss_h);
    add_line(t, "used_memory_peak:%zu", srv->info.used_memory_peak);
    add_line(t, "used_memory_peak_human:%s", peak_h);
    add_line(t, "used_memory_peak_perc:%.2f%%", srv->info.used_memory_peak ? (double)used * 100 / (double)srv->info.used_memory_peak : 0.0);
    // The keyspace's own count is the dataset, and everything else the
    // overhead. Under AddressSanitizer used_memory is the RSS, which still
    // holds the dataset, so the difference stays meaningful.
    add_line(t, "used_memory_overhead:%zu", used > dataset ? used - dataset : 0);
    add_line(t, "used_memory_dataset:%zu", dataset);
    add_line(t, "total_system_memory:%llu", (unsigned long long)system);
    add_line(t, "total_system_memory_human:%s", system_h);
    add_line(t, "maxmemory:%llu", (unsigned long long)srv->cfg.maxmemory);
    add_line(t, "maxmemory_human:%s", maxmemory_h);
    // noeviction is the only policy ringpub has.
    add_line(t, "maxmemory_policy:noeviction");
    add_line(t, "mem_fragmentation_ratio:%.2f", used ? (double)rss / (double)used : 0.0);
    add_line(t, "mem_fragmentation_bytes:%lld", (long long)rss - (long long)used);
    add_line(t, "mem_clients_normal:%zu", clients_mem);
    add_line(t, "mem_allocator:libc");
}

static void section_stats(struct info_text *t, struct server *srv)
{
    const struct server_stats *st = &srv->stats;
    uint64_t net_in, net_out;

    net_totals(srv, &net_in, &net_out);
    add_line(t, "# Stats");
    add_line(t, "total_connections_received:%llu", (unsigned long long)st->total_connections_received);
    add_line(t, "total_commands_processed:%llu", (unsigned long long)st->total_commands_processed);
    add_line(t, "instantaneous_ops_per_sec:%llu", (unsigned long long)rate_average(srv->info.ops_per_sec));
    add_line(t, "total_net_input_bytes:%llu", (unsigned long long)net_in);
    add_line(t, "total_net_output_bytes:%llu", (unsigned long long)net_out);
    add_line(t, "instantaneous_input_kbps:%.2f", (double)rate_average(srv->info.in_bytes_per_sec) / 1024);
    add_line(t, "instantaneous_output_kbps:%.2f", (double)rate_average(srv->info.out_bytes_per_sec) / 1024);
    add_line(t, "rejected_connections:%llu", (unsigned long long)st->rejected_connections);
    add_line(t, "expired_keys:%llu", (unsigned long long)(srv->keyspace ? srv->keyspace->expired_keys : 0));
    // Nothing is ever evicted: noeviction is the only maxmemory-policy.
    add_line(t, "evicted_keys:0");
    add_line(t, "pubsub_channels:%zu", rp_ps_count(srv->pubsub, RP_PS_CHANNEL));
    add_line(t, "pubsub_patterns:%zu", rp_ps_count(srv->pubsub, RP_PS_PATTERN));
    add_line(t, "pubsubshard_channels:%zu", rp_ps_count(srv->pubsub, RP_PS_SHARD));
    add_line(t, "unexpected_error_replies:%llu", (unsigned long long)st->unexpected_error_replies);
    add_line(t, "total_error_replies:%llu", (unsigned long long)st->total_error_replies);
    // redis 7.0.15 has no such counter. Later redis versions added it under
    // this name, after the fields above.
    add_line(t, "client_output_buffer_limit_disconnections:%llu",
             (unsigned long long)st->output_limit_disconnections);
}

static void section_cpu(struct info_text *t, struct server *srv)
{
    struct rusage self, children, thread;

    (void)srv;
    memset(&self, 0, sizeof(self));
    memset(&children, 0, sizeof(children));
    memset(&thread, 0, sizeof(thread));
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_THREAD, &thread);

    add_line(t, "# CPU");
    add_line(t, "used_cpu_sys:%.6f", timeval_seconds(&self.ru_stime));
    add_line(t, "used_cpu_user:%.6f", timeval_seconds(&self.ru_utime));
    add_line(t, "used_cpu_sys_children:%.6f", timeval_seconds(&children.ru_stime));
    add_line(t, "used_cpu_user_children:%.6f", timeval_seconds(&children.ru_utime));
    add_line(t, "used_cpu_sys_main_thread:%.6f", timeval_seconds(&thread.ru_stime));
    add_line(t, "used_cpu_user_main_thread:%.6f", timeval_seconds(&thread.ru_utime));
}

static const char *ok_or_err(int ok)
{
    return ok ? "ok" : "err";
}

// The AOF fields of redis's persistence section that describe ringpub's
// single-file AOF, in redis's order; the RDB, copy-on-write and module fork
// fields are left out. As redis, the size fields appear only while the AOF is on.
static void section_persistence(struct info_text *t, struct server *srv)
{
    const struct aof_info *aof = &srv->aof_info;
    int64_t rewrite_sec = -1;

    if (aof->rewrite_in_progress)
        rewrite_sec = (int64_t)((time_mono_ms() - aof->rewrite_start_ms) / 1000);

    add_line(t, "# Persistence");
    add_line(t, "loading:%d", aof->loading);
    add_line(t, "aof_enabled:%d", aof->enabled);
    add_line(t, "aof_rewrite_in_progress:%d", aof->rewrite_in_progress);
    add_line(t, "aof_rewrite_scheduled:%d", aof->rewrite_scheduled);
    add_line(t, "aof_last_rewrite_time_sec:%lld", (long long)aof->last_rewrite_time_sec);
    add_line(t, "aof_current_rewrite_time_sec:%lld", (long long)rewrite_sec);
    add_line(t, "aof_last_bgrewrite_status:%s", ok_or_err(aof->last_bgrewrite_ok));
    add_line(t, "aof_rewrites:%llu", (unsigned long long)aof->rewrites);
    add_line(t, "aof_last_write_status:%s", ok_or_err(aof->last_write_ok));
    if (!aof->enabled)
        return;
    add_line(t, "aof_current_size:%llu", (unsigned long long)aof->current_size);
    add_line(t, "aof_base_size:%llu", (unsigned long long)aof->base_size);
    // redis prints aof_rewrite_scheduled a second time under this name.
    add_line(t, "aof_pending_rewrite:%d", aof->rewrite_scheduled);
    add_line(t, "aof_delayed_fsync:%llu", (unsigned long long)aof->delayed_fsync);
}

// Keys with an expiry that avg_ttl looks at, at most, per database.
#define AVG_TTL_SAMPLE_MAX 1024

// Mean remaining time to live in ms of the keys with an expiry in d, 0 when
// none is left. redis keeps a running estimate from its expiry sampling; here
// it is the exact mean up to AVG_TTL_SAMPLE_MAX keys, and above that the mean
// of AVG_TTL_SAMPLE_MAX keys taken at even steps through volatile_keys, so
// INFO costs the same whatever the number of keys.
static long long average_ttl_ms(const struct db *d, int64_t now_ms)
{
    size_t count = d->volatile_count;
    size_t step = count > AVG_TTL_SAMPLE_MAX ? count / AVG_TTL_SAMPLE_MAX : 1;
    long double sum = 0;
    size_t live = 0;

    for (size_t i = 0; i < count && i / step < AVG_TTL_SAMPLE_MAX; i += step) {
        int64_t ttl = d->volatile_keys[i]->expire_ms - now_ms;

        // A key whose time has passed but that is not removed yet has no TTL left.
        if (ttl <= 0)
            continue;
        sum += (long double)ttl;
        live++;
    }
    return live ? (long long)(sum / (long double)live) : 0;
}

// One line per database that has keys, as redis prints them; none when empty.
static void section_keyspace(struct info_text *t, struct server *srv)
{
    int64_t now = db_now_ms();

    add_line(t, "# Keyspace");
    for (int i = 0; srv->keyspace != NULL && i < srv->keyspace->count; i++) {
        size_t keys = db_size(srv, i);

        if (keys == 0)
            continue;
        add_line(t, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld", i, keys, db_expires(srv, i),
                 average_ttl_ms(&srv->keyspace->dbs[i], now));
    }
}

// A standalone master without replicas, as redis 7.0 prints it, so that
// health checks looking for role:master work. The backlog size is redis's
// default; ringpub keeps no backlog.
static void section_replication(struct info_text *t, struct server *srv)
{
    add_line(t, "# Replication");
    add_line(t, "role:master");
    add_line(t, "connected_slaves:0");
    add_line(t, "master_failover_state:no-failover");
    add_line(t, "master_replid:%s", srv->replid);
    add_line(t, "master_replid2:0000000000000000000000000000000000000000");
    add_line(t, "master_repl_offset:0");
    add_line(t, "second_repl_offset:-1");
    add_line(t, "repl_backlog_active:0");
    add_line(t, "repl_backlog_size:1048576");
    add_line(t, "repl_backlog_first_byte_offset:0");
    add_line(t, "repl_backlog_histlen:0");
}

// Sections in the order redis 7.0 prints them.
static const struct {
    const char *name;
    void (*fn)(struct info_text *t, struct server *srv);
} sections[] = {
    {"server", section_server},
    {"clients", section_clients},
    {"memory", section_memory},
    {"persistence", section_persistence},
    {"stats", section_stats},
    {"replication", section_replication},
    {"cpu", section_cpu},
    {"keyspace", section_keyspace},
};

#define SECTION_COUNT (sizeof(sections) / sizeof(sections[0]))

// INFO [section ...]. Without arguments, or with "default", "all" or
// "everything", every section; otherwise the named ones, case-insensitively,
// once each and in redis's order whatever the order asked. Unknown names add
// nothing, so INFO of only unknown sections is an empty string.
static void info_command(struct client *c)
{
    int wanted[SECTION_COUNT] = {0};
    struct info_text t = {RP_BUF_INIT, 0};
    int any = 0;

    for (size_t i = 1; i < c->argc; i++) {
        const struct rp_resp_str *arg = &c->argv[i];

        if (arg_is(arg, "default") || arg_is(arg, "all") || arg_is(arg, "everything")) {
            for (size_t s = 0; s < SECTION_COUNT; s++)
                wanted[s] = 1;
            continue;
        }
        for (size_t s = 0; s < SECTION_COUNT; s++) {
            if (arg_is(arg, sections[s].name))
                wanted[s] = 1;
        }
    }
    if (c->argc == 1) {
        for (size_t s = 0; s < SECTION_COUNT; s++)
            wanted[s] = 1;
    }

    // A blank line separates sections.
    for (size_t s = 0; s < SECTION_COUNT; s++) {
        if (!wanted[s])
            continue;
        if (any && rp_buf_append(&t.buf, "\r\n", 2) < 0)
            t.failed = 1;
        sections[s].fn(&t, c->srv);
        any = 1;
    }

    if (t.failed) {
        rp_buf_free(&t.buf);
        reply_error(c, "ERR out of memory");
        return;
    }
    reply_verbatim(c, t.buf.data ? t.buf.data : "", t.buf.len, "txt");
    rp_buf_free(&t.buf);
}

const struct command rp_cmds_info[] = {
    {"info", -1, 0, info_command, NULL},
    {NULL, 0, 0, NULL, NULL},
};
