// SPDX-License-Identifier: BSD-3-Clause
// Results of a run: a table for people, one JSON line for machines, and the
// latency histogram as CSV.

#include <stdio.h>

#include "bench.h"

struct summary {
    double seconds;            // publishing time
    uint64_t published;
    uint64_t replies;
    uint64_t delivered;
    uint64_t expected;         // deliveries the PUBLISH replies promised
    uint64_t lost;
    uint64_t duplicated;
    uint64_t out_of_order;
    double busy;               // generator CPU seconds per wall second while publishing
    double server_busy;        // the same for the server, 0 when its pid is unknown
    bool generator_bound;
    double subscribe_rate;     // subscriptions confirmed per second
    double mem_per_conn;       // bytes of server RSS per subscriber connection
};

static void summarise(const struct bench *b, struct summary *s)
{
    *s = (struct summary){0};
    s->seconds = b->stop_ns > b->start_ns ? (double)(b->stop_ns - b->start_ns) / 1e9 : 0;
    for (unsigned i = 0; i < b->pub_count; i++) {
        s->published += b->pubs[i].sent;
        s->replies += b->pubs[i].replies;
    }
    for (unsigned i = 0; i < b->sub_count; i++) {
        if (b->subs[i].slow)
            continue;
        s->delivered += b->subs[i].received;
        s->duplicated += b->subs[i].duplicated;
        s->out_of_order += b->subs[i].out_of_order;
    }
    s->expected = b->receivers_total;
    if (b->opt.scenario == SC_SLOW)
        s->expected = s->published * (uint64_t)(b->sub_count - 1);
    s->lost = s->expected > s->delivered ? s->expected - s->delivered : 0;
    if (s->seconds > 0) {
        s->busy = (b->cpu_stop_s - b->cpu_start_s) / s->seconds;
        s->server_busy = (b->server_cpu_stop_s - b->server_cpu_start_s) / s->seconds;
    }
    // One core saturated, or paced sends more than a millisecond late at p99:
    // the figures then measure the generator as much as the server.
    s->generator_bound = s->busy > 0.9 || hist_quantile(&b->lag, 0.99) > 1000000;

    // Connect and subscribe time per subscriber connection.
    if (b->subscribed_ns > b->subscribe_start_ns)
        s->subscribe_rate = b->sub_count / ((double)(b->subscribed_ns - b->subscribe_start_ns) / 1e9);
    if (b->rss_after_kb > b->rss_before_kb && b->sub_count > 0)
        s->mem_per_conn = (double)(b->rss_after_kb - b->rss_before_kb) * 1024.0 / b->sub_count;
}

static double per_s(uint64_t n, double seconds)
{
    return seconds > 0 ? (double)n / seconds : 0;
}

void report_print(const struct bench *b)
{
    struct summary s;
    const struct hist *h = &b->latency;

    summarise(b, &s);
    printf("%s on %s: %u subscribers, %u publishers, %u-byte payloads, %.1f s\n", scenario_name(b->opt.scenario),
           b->opt.label, b->opt.subscribers, b->pub_count, b->opt.payload, s.seconds);
    if (b->opt.scenario == SC_CONNECTIONS) {
        printf("  subscribe rate      %12.0f /s\n", s.subscribe_rate);
        printf("  server RSS          %12llu KiB -> %llu KiB\n", (unsigned long long)b->rss_before_kb,
               (unsigned long long)b->rss_after_kb);
        printf("  memory per conn     %12.0f bytes\n", s.mem_per_conn);
        return;
    }
    printf("  publishes           %12.0f /s (%llu)\n", per_s(s.published, s.seconds),
           (unsigned long long)s.published);
    printf("  deliveries          %12.0f /s (%llu)\n", per_s(s.delivered, s.seconds),
           (unsigned long long)s.delivered);
    printf("  latency us          p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
           hist_quantile(h, 0.5) / 1e3, hist_quantile(h, 0.9) / 1e3, hist_quantile(h, 0.99) / 1e3,
           hist_quantile(h, 0.999) / 1e3, h->total ? h->max / 1e3 : 0.0);
    printf("  lost / dup / order  %llu / %llu / %llu\n", (unsigned long long)s.lost,
           (unsigned long long)s.duplicated, (unsigned long long)s.out_of_order);
    printf("  generator busy      %12.2f%s\n", s.busy,
           s.generator_bound ? "  (generator-bound: the client limits this result)" : "");
    if (b->opt.server_pid > 0)
        printf("  server busy         %12.2f cores\n", s.server_busy);
    if (b->opt.scenario == SC_SLOW)
        printf("  slow subscriber     %s; server RSS max %llu KiB\n",
               b->slow_disconnected ? "disconnected by the server" : "still connected",
               (unsigned long long)b->rss_max_kb);
}

int report_json(const struct bench *b, const char *path)
{
    struct summary s;
    const struct hist *h = &b->latency;

    summarise(b, &s);
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fprintf(f,
            "{\"scenario\":\"%s\",\"server\":\"%s\",\"subscribers\":%u,\"publishers\":%u,\"channels\":%u,"
            "\"patterns\":%u,\"payload\":%u,\"rate\":%.0f,\"seconds\":%.3f,\"published\":%llu,"
            "\"delivered\":%llu,\"publishes_per_s\":%.1f,\"delivered_per_s\":%.1f,"
            "\"latency_ns\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu},"
            "\"lost\":%llu,\"duplicated\":%llu,\"out_of_order\":%llu,"
            "\"generator\":{\"busy\":%.3f,\"lag_p99_ns\":%llu,\"bound\":%s},\"server_busy\":%.3f,"
            "\"subscribe_per_s\":%.1f,\"rss_before_kb\":%llu,\"rss_after_kb\":%llu,\"rss_max_kb\":%llu,"
            "\"mem_per_conn\":%.1f,\"slow_disconnected\":%s,\"rss_samples_kb\":[",
            scenario_name(b->opt.scenario), b->opt.label, b->opt.subscribers, b->pub_count, b->opt.channels,
            b->opt.patterns, b->opt.payload, b->opt.rate, s.seconds, (unsigned long long)s.published,
            (unsigned long long)s.delivered, per_s(s.published, s.seconds), per_s(s.delivered, s.seconds),
            (unsigned long long)hist_quantile(h, 0.5), (unsigned long long)hist_quantile(h, 0.9),
            (unsigned long long)hist_quantile(h, 0.99), (unsigned long long)hist_quantile(h, 0.999),
            (unsigned long long)(h->total ? h->max : 0), (unsigned long long)s.lost,
            (unsigned long long)s.duplicated, (unsigned long long)s.out_of_order, s.busy,
            (unsigned long long)hist_quantile(&b->lag, 0.99), s.generator_bound ? "true" : "false", s.server_busy,
            s.subscribe_rate, (unsigned long long)b->rss_before_kb, (unsigned long long)b->rss_after_kb,
            (unsigned long long)b->rss_max_kb, s.mem_per_conn, b->slow_disconnected ? "true" : "false");
    for (unsigned i = 0; i < b->rss_sample_count; i++)
        fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)b->rss_samples[i]);
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : -1;
}

int report_hist(const struct bench *b, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    hist_write_csv(&b->latency, f);
    return fclose(f) == 0 ? 0 : -1;
}
