// SPDX-License-Identifier: BSD-3-Clause
// Google Benchmark micro-benchmarks of the pub/sub registry, dispatcher and
// glob matcher. The rows cover fan-out of one publish to many subscribers,
// publishes with many patterns, subscribe churn and the glob on a
// star-heavy pattern. The pattern rows compare patterns indexed by literal
// prefix with patterns in the empty-prefix group, which every publish tests
// as redis tests every pattern.
//
// Rows report bytes/s: frame bytes handed to subscribers for publishes,
// string bytes scanned for the glob.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "ringpub/buf.h"
#include "ringpub/pubsub.h"

namespace {

const uint8_t kHashKey[16] = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

struct Sink {
    uint64_t bytes = 0;
};

void count_bytes(void *ctx, struct rp_rcbuf *frame)
{
    static_cast<Sink *>(ctx)->bytes += rp_rcbuf_len(frame);
}

// One channel with state.range(0) RESP2 subscribers, 64-byte messages.
void BM_pubsub_publish_fanout(benchmark::State &state)
{
    rp_ps_registry_t *reg = rp_ps_registry_create(kHashKey);
    Sink sink;
    std::vector<rp_ps_sub_t *> subs;
    for (int64_t i = 0; i < state.range(0); i++) {
        rp_ps_sub_t *sub = rp_ps_sub_create(reg, 2, count_bytes, &sink);
        rp_ps_subscribe(sub, RP_PS_CHANNEL, "news.sports.scores", 18);
        subs.push_back(sub);
    }
    const std::string message(64, 'x');

    for (auto _ : state)
        benchmark::DoNotOptimize(rp_ps_publish(reg, RP_PS_CHANNEL, "news.sports.scores", 18, message.data(),
                                               message.size()));
    state.SetBytesProcessed(static_cast<int64_t>(sink.bytes));

    for (rp_ps_sub_t *sub : subs)
        rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}
BENCHMARK(BM_pubsub_publish_fanout)->Arg(1)->Arg(100)->Arg(10000);

// state.range(0) patterns, one subscriber each. With indexed=1 they are
// "user:<i>:*", so a publish tests one of them. With indexed=0 they are
// "*:<i>:x", all in the empty-prefix group, so a publish tests every one.
void BM_pubsub_publish_patterns(benchmark::State &state)
{
    const bool indexed = state.range(1) != 0;
    rp_ps_registry_t *reg = rp_ps_registry_create(kHashKey);
    Sink sink;
    std::vector<rp_ps_sub_t *> subs;
    char name[64];
    for (int64_t i = 0; i < state.range(0); i++) {
        rp_ps_sub_t *sub = rp_ps_sub_create(reg, 2, count_bytes, &sink);
        int n = std::snprintf(name, sizeof(name), indexed ? "user:%lld:*" : "*:%lld:x", static_cast<long long>(i));
        rp_ps_subscribe(sub, RP_PS_PATTERN, name, static_cast<size_t>(n));
        subs.push_back(sub);
    }
    const std::string message(64, 'x');

    for (auto _ : state)
        benchmark::DoNotOptimize(rp_ps_publish(reg, RP_PS_CHANNEL, "user:5:x", 8, message.data(), message.size()));
    state.SetBytesProcessed(static_cast<int64_t>(sink.bytes));

    for (rp_ps_sub_t *sub : subs)
        rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}
BENCHMARK(BM_pubsub_publish_patterns)->Args({1000, 1})->Args({1000, 0});

// Subscribe and unsubscribe one channel out of 1000 held by the subscriber.
void BM_pubsub_subscribe_churn(benchmark::State &state)
{
    rp_ps_registry_t *reg = rp_ps_registry_create(kHashKey);
    Sink sink;
    rp_ps_sub_t *sub = rp_ps_sub_create(reg, 2, count_bytes, &sink);
    char name[32];
    for (int i = 0; i < 1000; i++) {
        int n = std::snprintf(name, sizeof(name), "chan:%d", i);
        rp_ps_subscribe(sub, RP_PS_CHANNEL, name, static_cast<size_t>(n));
    }

    uint64_t bytes = 0;
    for (auto _ : state) {
        rp_ps_subscribe(sub, RP_PS_CHANNEL, "churn", 5);
        rp_ps_unsubscribe(sub, RP_PS_CHANNEL, "churn", 5);
        bytes += 5;
    }
    state.SetBytesProcessed(static_cast<int64_t>(bytes));

    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}
BENCHMARK(BM_pubsub_subscribe_churn);

// 30 groups of "*a" then 'b' against 4000 'a's: no match.
void BM_pubsub_glob_star_heavy(benchmark::State &state)
{
    std::string pattern;
    for (int i = 0; i < 30; i++)
        pattern += "*a";
    pattern += "b";
    const std::string str(4000, 'a');

    for (auto _ : state)
        benchmark::DoNotOptimize(rp_ps_glob_match(pattern.data(), pattern.size(), str.data(), str.size(), 0));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * str.size()));
}
BENCHMARK(BM_pubsub_glob_star_heavy);

}  // namespace

BENCHMARK_MAIN();
