// SPDX-License-Identifier: BSD-3-Clause
// Google Benchmark micro-benchmarks of the RESP request parser, the reply
// parser and the writers, on the frames a pub/sub server handles most:
// pipelined PUBLISH requests in, message frames out. Where hiredis is found,
// the same bytes go through hiredis's reader and formatter as comparison rows.
//
// Every row reports bytes/s and items/s (one item is one request or frame).
// Our rows also report allocs_per_item, counted through the rp_alloc hooks, to
// show that steady-state parsing and encoding allocate nothing.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "ringpub/alloc.h"
#include "ringpub/buf.h"
#include "ringpub/resp.h"
#include "ringpub/resp_writer.h"

#ifdef RP_BENCH_HIREDIS
#include <hiredis/hiredis.h>
#endif

namespace {

// Requests or frames per buffer: one parse pass covers a whole pipeline.
constexpr int kPipeline = 1000;

// A realistic dotted channel name (18 bytes).
const std::string kChannel = "news.sports.scores";

// The hiredis reader moves its unread bytes to the front after every reply
// once 1 KiB is consumed (redisReaderGetReply). Feeding it a 1 MB pipeline in
// one call would measure that memmove, not parsing, so the hiredis rows feed
// 16 KiB chunks, as a client feeds what each socket read returns.
constexpr size_t kHiredisChunk = 16 * 1024;

uint64_t alloc_count;

void *counting_malloc(size_t size)
{
    alloc_count++;
    return std::malloc(size);
}

void *counting_realloc(void *ptr, size_t size)
{
    alloc_count++;
    return std::realloc(ptr, size);
}

const rp_alloc_hooks kCountingHooks = {counting_malloc, counting_realloc, std::free};

std::string payload_of(size_t size)
{
    std::string payload(size, 'x');
    for (size_t i = 0; i < size; i++)
        payload[i] = static_cast<char>('a' + i % 26);
    return payload;
}

void append_bulk(std::string *out, const std::string &s)
{
    *out += "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// kPipeline "PUBLISH <channel> <payload>" requests as RESP arrays.
std::string publish_pipeline(size_t payload_size)
{
    std::string payload = payload_of(payload_size);
    std::string out;
    for (int i = 0; i < kPipeline; i++) {
        out += "*3\r\n";
        append_bulk(&out, "PUBLISH");
        append_bulk(&out, kChannel);
        append_bulk(&out, payload);
    }
    return out;
}

// kPipeline "message" frames: "*3" (RESP2 array) or ">3" (RESP3 push).
std::string message_frames(size_t payload_size, const char *header)
{
    std::string payload = payload_of(payload_size);
    std::string out;
    for (int i = 0; i < kPipeline; i++) {
        out += header;
        append_bulk(&out, "message");
        append_bulk(&out, kChannel);
        append_bulk(&out, payload);
    }
    return out;
}

void report(benchmark::State &state, size_t bytes_per_iteration, int items_per_iteration,
            uint64_t allocs)
{
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iteration));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * items_per_iteration));
    state.counters["allocs_per_item"] = benchmark::Counter(
        static_cast<double>(allocs) /
        (static_cast<double>(state.iterations()) * items_per_iteration));
}

void BM_request_publish(benchmark::State &state)
{
    const std::string input = publish_pipeline(static_cast<size_t>(state.range(0)));
    rp_resp_request_parser_t *parser = rp_resp_request_parser_create(nullptr);
    rp_resp_request req;

    // Check the parse once, outside the timed loop.
    ssize_t first = rp_resp_request_parse(parser, input.data(), input.size(), &req);
    if (first <= 0 || req.argc != 3 || req.argv[2].len != static_cast<size_t>(state.range(0))) {
        state.SkipWithError("request parser rejected the PUBLISH pipeline");
        rp_resp_request_parser_free(parser);
        return;
    }

    uint64_t allocs_before = alloc_count;
    for (auto _ : state) {
        size_t offset = 0;
        while (offset < input.size()) {
            ssize_t n = rp_resp_request_parse(parser, input.data() + offset,
                                              input.size() - offset, &req);
            if (n <= 0) {
                state.SkipWithError("request parse failed");
                break;
            }
            benchmark::DoNotOptimize(req.argv);
            offset += static_cast<size_t>(n);
        }
    }
    report(state, input.size(), kPipeline, alloc_count - allocs_before);
    rp_resp_request_parser_free(parser);
}

// Parses kPipeline reply frames from input with the reply parser.
void parse_replies(benchmark::State &state, const std::string &input, rp_resp_type top)
{
    rp_resp_reply_parser_t *parser = rp_resp_reply_parser_create(nullptr);
    rp_resp_reply reply;

    ssize_t first = rp_resp_reply_parse(parser, input.data(), input.size(), &reply);
    if (first <= 0 || reply.count != 4 || reply.nodes[0].type != top ||
        reply.nodes[3].str.len != static_cast<size_t>(state.range(0))) {
        state.SkipWithError("reply parser rejected the message frames");
        rp_resp_reply_parser_free(parser);
        return;
    }

    uint64_t allocs_before = alloc_count;
    for (auto _ : state) {
        size_t offset = 0;
        while (offset < input.size()) {
            ssize_t n = rp_resp_reply_parse(parser, input.data() + offset, input.size() - offset,
                                            &reply);
            if (n <= 0) {
                state.SkipWithError("reply parse failed");
                break;
            }
            benchmark::DoNotOptimize(reply.nodes);
            offset += static_cast<size_t>(n);
        }
    }
    report(state, input.size(), kPipeline, alloc_count - allocs_before);
    rp_resp_reply_parser_free(parser);
}

void BM_reply_message_resp2(benchmark::State &state)
{
    parse_replies(state, message_frames(static_cast<size_t>(state.range(0)), "*3\r\n"),
                  RP_RESP_ARRAY);
}

void BM_reply_push_resp3(benchmark::State &state)
{
    parse_replies(state, message_frames(static_cast<size_t>(state.range(0)), ">3\r\n"),
                  RP_RESP_PUSH);
}

// Encodes one "message" frame per iteration into a reused buffer: the frame
// a server encodes once per protocol version and shares among subscribers.
void encode_messages(benchmark::State &state, int proto)
{
    const std::string payload = payload_of(static_cast<size_t>(state.range(0)));
    rp_buf buf = RP_BUF_INIT;
    size_t frame_len = 0;

    uint64_t allocs_before = alloc_count;
    for (auto _ : state) {
        rp_buf_clear(&buf);
        int err = rp_resp_write_push_len(&buf, proto, 3);
        err |= rp_resp_write_bulk(&buf, "message", 7);
        err |= rp_resp_write_bulk(&buf, kChannel.data(), kChannel.size());
        err |= rp_resp_write_bulk(&buf, payload.data(), payload.size());
        if (err != 0) {
            state.SkipWithError("writer failed");
            break;
        }
        benchmark::DoNotOptimize(buf.data);
        benchmark::ClobberMemory();
        frame_len = buf.len;
    }
    // The first iteration grows the empty buffer; that is the only allocation.
    report(state, frame_len, 1, alloc_count - allocs_before);
    rp_buf_free(&buf);
}

void BM_writer_message_resp2(benchmark::State &state)
{
    encode_messages(state, 2);
}

void BM_writer_message_resp3(benchmark::State &state)
{
    encode_messages(state, 3);
}

#ifdef RP_BENCH_HIREDIS

// Feeds input to a hiredis reader in kHiredisChunk pieces and frees every
// reply; the hiredis counterpart of one pass of our parser over input.
void hiredis_parse(benchmark::State &state, const std::string &input)
{
    redisReader *reader = redisReaderCreate();
    int replies = 0;

    for (auto _ : state) {
        replies = 0;
        for (size_t offset = 0; offset < input.size(); offset += kHiredisChunk) {
            size_t len = input.size() - offset < kHiredisChunk ? input.size() - offset
                                                                : kHiredisChunk;
            if (redisReaderFeed(reader, input.data() + offset, len) != REDIS_OK) {
                state.SkipWithError("redisReaderFeed failed");
                break;
            }
            void *reply = nullptr;
            while (redisReaderGetReply(reader, &reply) == REDIS_OK && reply != nullptr) {
                freeReplyObject(reply);
                replies++;
            }
            if (reader->err) {
                state.SkipWithError(reader->errstr);
                break;
            }
        }
    }
    if (replies != kPipeline && !state.error_occurred())
        state.SkipWithError("hiredis did not return every reply");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPipeline));
    redisReaderFree(reader);
}

void BM_hiredis_publish(benchmark::State &state)
{
    hiredis_parse(state, publish_pipeline(static_cast<size_t>(state.range(0))));
}

void BM_hiredis_message_resp2(benchmark::State &state)
{
    hiredis_parse(state, message_frames(static_cast<size_t>(state.range(0)), "*3\r\n"));
}

// redisFormatCommandArgv writes a RESP2 array of bulk strings, the same bytes
// as a RESP2 "message" frame, into memory it allocates per call.
void BM_hiredis_format_message(benchmark::State &state)
{
    const std::string payload = payload_of(static_cast<size_t>(state.range(0)));
    const char *argv[3] = {"message", kChannel.data(), payload.data()};
    const size_t argvlen[3] = {7, kChannel.size(), payload.size()};
    int frame_len = 0;

    for (auto _ : state) {
        char *cmd = nullptr;
        frame_len = redisFormatCommandArgv(&cmd, 3, argv, argvlen);
        if (frame_len < 0) {
            state.SkipWithError("redisFormatCommandArgv failed");
            break;
        }
        benchmark::DoNotOptimize(cmd);
        redisFreeCommand(cmd);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * frame_len);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

#endif

}  // namespace

BENCHMARK(BM_request_publish)->Arg(16)->Arg(128)->Arg(1024);
BENCHMARK(BM_reply_message_resp2)->Arg(16)->Arg(128)->Arg(1024);
BENCHMARK(BM_reply_push_resp3)->Arg(16)->Arg(128)->Arg(1024);
BENCHMARK(BM_writer_message_resp2)->Arg(16)->Arg(128)->Arg(1024);
BENCHMARK(BM_writer_message_resp3)->Arg(16)->Arg(128)->Arg(1024);
#ifdef RP_BENCH_HIREDIS
BENCHMARK(BM_hiredis_publish)->Arg(16)->Arg(128)->Arg(1024);
BENCHMARK(BM_hiredis_message_resp2)->Arg(16)->Arg(128)->Arg(1024);
BENCHMARK(BM_hiredis_format_message)->Arg(16)->Arg(128)->Arg(1024);
#endif

int main(int argc, char **argv)
{
    // The hooks must be in place before any rp_ call allocates.
    rp_set_alloc_hooks(&kCountingHooks);

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
