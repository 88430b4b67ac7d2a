// SPDX-License-Identifier: BSD-3-Clause
// Tests of the pub/sub registry and dispatcher: subscriptions, delivery
// order and counts, frame bytes (checked against redis-server 7.0.15),
// frame sharing, the prefix index, allocation accounting with a counting
// allocator, and registry consistency when allocations fail.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ringpub/alloc.h"
#include "ringpub/buf.h"
#include "ringpub/err.h"
#include "ringpub/pubsub.h"
#include "pubsub/pubsub_internal.h"

// ---- Counting and failing allocator ---------------------------------------

static long live_allocs;      // allocations not yet freed
static long alloc_calls;      // malloc and realloc calls since the last reset
static long fail_at = -1;     // alloc_calls value whose call fails, or -1

static int should_fail(void)
{
    alloc_calls++;
    return fail_at >= 0 && alloc_calls == fail_at;
}

static void *count_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n);
    if (p != NULL)
        live_allocs++;
    return p;
}

static void *count_realloc(void *ptr, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = realloc(ptr, n);
    if (p != NULL && ptr == NULL)
        live_allocs++;
    return p;
}

static void count_free(void *p)
{
    if (p != NULL)
        live_allocs--;
    free(p);
}

static const struct rp_alloc_hooks counting_hooks = {count_malloc, count_realloc, count_free};

static int setup_counting(void **state)
{
    (void)state;
    live_allocs = 0;
    alloc_calls = 0;
    fail_at = -1;
    rp_set_alloc_hooks(&counting_hooks);
    return 0;
}

static int teardown_counting(void **state)
{
    (void)state;
    rp_set_alloc_hooks(NULL);
    assert_int_equal(live_allocs, 0);
    return 0;
}

// ---- Recording subscriber ------------------------------------------------

#define MAX_RECORDED 64

struct recorder {
    int id;
    size_t count;                         // deliveries, all of them
    char frames[MAX_RECORDED][256];       // the first MAX_RECORDED frames, NUL-terminated
    size_t lens[MAX_RECORDED];
};

static int order_log[32];
static size_t order_len;

static void record(void *ctx, struct rp_rcbuf *frame)
{
    struct recorder *r = ctx;
    if (r->count < MAX_RECORDED) {
        size_t len = rp_rcbuf_len(frame);
        assert_true(len < sizeof(r->frames[0]));
        memcpy(r->frames[r->count], rp_rcbuf_data(frame), len);
        r->frames[r->count][len] = '\0';
        r->lens[r->count] = len;
    }
    r->count++;
    if (order_len < sizeof(order_log) / sizeof(order_log[0]))
        order_log[order_len++] = r->id;
}

static const uint8_t test_key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                     0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

static rp_ps_registry_t *new_registry(void)
{
    rp_ps_registry_t *reg = rp_ps_registry_create(test_key);
    assert_non_null(reg);
    return reg;
}

static rp_ps_sub_t *new_sub(rp_ps_registry_t *reg, int proto, struct recorder *r)
{
    rp_ps_sub_t *sub = rp_ps_sub_create(reg, proto, record, r);
    assert_non_null(sub);
    return sub;
}

static int sub_str(rp_ps_sub_t *sub, enum rp_ps_kind kind, const char *name)
{
    return rp_ps_subscribe(sub, kind, name, strlen(name));
}

static int unsub_str(rp_ps_sub_t *sub, enum rp_ps_kind kind, const char *name)
{
    return rp_ps_unsubscribe(sub, kind, name, strlen(name));
}

static int64_t publish_str(rp_ps_registry_t *reg, enum rp_ps_kind kind, const char *channel, const char *msg)
{
    return rp_ps_publish(reg, kind, channel, strlen(channel), msg, strlen(msg));
}

static uint64_t pattern_tests(const rp_ps_registry_t *reg)
{
    struct rp_ps_stats st;
    rp_ps_get_stats(reg, &st);
    return st.pattern_tests;
}

static uint64_t frames_encoded(const rp_ps_registry_t *reg)
{
    struct rp_ps_stats st;
    rp_ps_get_stats(reg, &st);
    return st.frames_encoded;
}

// ---- SipHash ---------------------------------------------------------------

// Vectors from the SipHash paper (key 00..0f, message 00..len-1).
static void test_siphash24_matches_paper_vectors(void **state)
{
    (void)state;
    uint8_t msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    assert_int_equal(rp_ps_siphash24(test_key, msg, 0), UINT64_C(0x726fdb47dd0e0e31));
    assert_int_equal(rp_ps_siphash24(test_key, msg, 15), UINT64_C(0xa129ca6149be45e5));
}

static void test_siphash_depends_on_key(void **state)
{
    (void)state;
    uint8_t other[16] = {0};
    assert_int_not_equal(rp_ps_siphash(test_key, "channel", 7), rp_ps_siphash(other, "channel", 7));
    assert_int_not_equal(rp_ps_siphash(test_key, "channel", 7), rp_ps_siphash(test_key, "channem", 7));
    assert_int_equal(rp_ps_siphash(test_key, "channel", 7), rp_ps_siphash(test_key, "channel", 7));
}

// ---- Subscribe and unsubscribe ---------------------------------------------

static void test_subscribe_duplicate_returns_zero(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r = {0};
    rp_ps_sub_t *sub = new_sub(reg, 2, &r);

    assert_int_equal(sub_str(sub, RP_PS_CHANNEL, "news"), 1);
    assert_int_equal(sub_str(sub, RP_PS_CHANNEL, "news"), 0);
    assert_int_equal(sub_str(sub, RP_PS_PATTERN, "news"), 1);
    assert_int_equal(sub_str(sub, RP_PS_SHARD, "news"), 1);
    assert_int_equal(rp_ps_sub_count(sub, RP_PS_CHANNEL), 1);
    assert_int_equal(rp_ps_numsub(reg, RP_PS_CHANNEL, "news", 4), 1);

    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}

static void test_unsubscribe_unknown_returns_zero(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r = {0};
    rp_ps_sub_t *sub = new_sub(reg, 2, &r);

    assert_int_equal(unsub_str(sub, RP_PS_CHANNEL, "never"), 0);
    assert_int_equal(sub_str(sub, RP_PS_CHANNEL, "a"), 1);
    assert_int_equal(unsub_str(sub, RP_PS_PATTERN, "a"), 0);
    assert_int_equal(unsub_str(sub, RP_PS_CHANNEL, "a"), 1);
    assert_int_equal(unsub_str(sub, RP_PS_CHANNEL, "a"), 0);
    assert_int_equal(rp_ps_count(reg, RP_PS_CHANNEL), 0);

    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}

static void test_empty_and_binary_names(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r = {0};
    rp_ps_sub_t *sub = new_sub(reg, 2, &r);
    const char bin[] = {'a', '\0', '\xff', '\r', '\n'};

    assert_int_equal(rp_ps_subscribe(sub, RP_PS_CHANNEL, "", 0), 1);
    assert_int_equal(rp_ps_subscribe(sub, RP_PS_CHANNEL, bin, sizeof(bin)), 1);
    assert_int_equal(rp_ps_subscribe(sub, RP_PS_CHANNEL, bin, 1), 1);
    assert_int_equal(rp_ps_subscribe(sub, RP_PS_PATTERN, "", 0), 1);
    assert_int_equal(rp_ps_count(reg, RP_PS_CHANNEL), 3);

    // The empty pattern matches only the empty channel.
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, "", 0, "m", 1), 2);
    assert_string_equal(r.frames[0], "*3\r\n$7\r\nmessage\r\n$0\r\n\r\n$1\r\nm\r\n");
    assert_string_equal(r.frames[1], "*4\r\n$8\r\npmessage\r\n$0\r\n\r\n$0\r\n\r\n$1\r\nm\r\n");
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, bin, sizeof(bin), "", 0), 1);
    assert_int_equal(r.lens[2], 17 + 4 + sizeof(bin) + 2 + 6);
    assert_memory_equal(r.frames[2] + 17 + 4, bin, sizeof(bin));
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, bin, 2, "", 0), 0);

    assert_int_equal(rp_ps_unsubscribe(sub, RP_PS_CHANNEL, "", 0), 1);
    assert_int_equal(rp_ps_numsub(reg, RP_PS_CHANNEL, "", 0), 0);
    assert_int_equal(rp_ps_numsub(reg, RP_PS_CHANNEL, bin, sizeof(bin)), 1);

    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}

static void test_sub_first_returns_oldest(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r = {0};
    rp_ps_sub_t *sub = new_sub(reg, 2, &r);
    const char *name;
    size_t len;

    assert_int_equal(rp_ps_sub_first(sub, RP_PS_CHANNEL, &name, &len), 0);
    sub_str(sub, RP_PS_CHANNEL, "one");
    sub_str(sub, RP_PS_CHANNEL, "two");
    sub_str(sub, RP_PS_CHANNEL, "three");
    assert_int_equal(rp_ps_sub_first(sub, RP_PS_CHANNEL, &name, &len), 1);
    assert_int_equal(len, 3);
    assert_memory_equal(name, "one", 3);

    // Unsubscribing from all, the way the server does it.
    size_t removed = 0;
    while (rp_ps_sub_first(sub, RP_PS_CHANNEL, &name, &len) && removed < 10) {
        assert_int_equal(rp_ps_unsubscribe(sub, RP_PS_CHANNEL, name, len), 1);
        removed++;
    }
    assert_int_equal(removed, 3);
    assert_int_equal(rp_ps_sub_count(sub, RP_PS_CHANNEL), 0);
    assert_int_equal(rp_ps_count(reg, RP_PS_CHANNEL), 0);

    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}

static void test_sub_free_removes_all_subscriptions(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r1 = {0}, r2 = {0};
    rp_ps_sub_t *a = new_sub(reg, 2, &r1);
    rp_ps_sub_t *b = new_sub(reg, 2, &r2);

    sub_str(a, RP_PS_CHANNEL, "c");
    sub_str(a, RP_PS_PATTERN, "p*");
    sub_str(a, RP_PS_SHARD, "s");
    sub_str(b, RP_PS_CHANNEL, "c");
    rp_ps_sub_free(a);

    assert_int_equal(rp_ps_numsub(reg, RP_PS_CHANNEL, "c", 1), 1);
    assert_int_equal(rp_ps_count(reg, RP_PS_PATTERN), 0);
    assert_int_equal(rp_ps_count(reg, RP_PS_SHARD), 0);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "c", "x"), 1);
    assert_int_equal(r1.count, 0);

    rp_ps_sub_free(b);
    rp_ps_sub_free(NULL);
    rp_ps_registry_free(reg);
}

// ---- Delivery -------------------------------------------------------------

static void test_delivery_in_subscription_order(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r[5] = {{0}};
    rp_ps_sub_t *subs[5];
    for (int i = 0; i < 5; i++) {
        r[i].id = i;
        subs[i] = new_sub(reg, 2, &r[i]);
    }
    // Subscribe in the order 3 1 4 0 2, then drop 4 and re-add it: it goes last.
    const int order[5] = {3, 1, 4, 0, 2};
    for (int i = 0; i < 5; i++)
        assert_int_equal(sub_str(subs[order[i]], RP_PS_CHANNEL, "ch"), 1);
    assert_int_equal(unsub_str(subs[4], RP_PS_CHANNEL, "ch"), 1);
    assert_int_equal(sub_str(subs[4], RP_PS_CHANNEL, "ch"), 1);

    order_len = 0;
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "ch", "hi"), 5);
    const int expected[5] = {3, 1, 0, 2, 4};
    assert_int_equal(order_len, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(order_log[i], expected[i]);

    for (int i = 0; i < 5; i++)
        rp_ps_sub_free(subs[i]);
    rp_ps_registry_free(reg);
}

static void test_frames_match_redis_bytes(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r2 = {0}, r3 = {0};
    rp_ps_sub_t *s2 = new_sub(reg, 2, &r2);
    rp_ps_sub_t *s3 = new_sub(reg, 3, &r3);
    rp_ps_sub_t *subs[2] = {s2, s3};
    for (int i = 0; i < 2; i++) {
        sub_str(subs[i], RP_PS_CHANNEL, "ch");
        sub_str(subs[i], RP_PS_PATTERN, "c*");
        sub_str(subs[i], RP_PS_SHARD, "ch");
    }

    // Bytes captured from redis-server 7.0.15 after HELLO 2 and HELLO 3.
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "ch", "hello"), 4);
    assert_int_equal(publish_str(reg, RP_PS_SHARD, "ch", ""), 2);
    assert_string_equal(r2.frames[0], "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
    assert_string_equal(r2.frames[1], "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$5\r\nhello\r\n");
    assert_string_equal(r2.frames[2], "*3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$0\r\n\r\n");
    assert_string_equal(r3.frames[0], ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
    assert_string_equal(r3.frames[1], ">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$5\r\nhello\r\n");
    assert_string_equal(r3.frames[2], ">3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$0\r\n\r\n");

    rp_ps_sub_free(s2);
    rp_ps_sub_free(s3);
    rp_ps_registry_free(reg);
}

struct share_check {
    struct rp_rcbuf *first;
    size_t calls;
    size_t same;
    size_t refs_one;
    int keep;
    struct rp_rcbuf **kept;
    size_t len;         // of the last frame
    int prefix_ok;      // the last frame starts as a RESP2 message for "c"
};

static void check_shared(void *ctx, struct rp_rcbuf *frame)
{
    struct share_check *c = ctx;
    if (c->first == NULL)
        c->first = frame;
    if (frame == c->first)
        c->same++;
    if (rp_rcbuf_refs(frame) == 1)
        c->refs_one++;
    if (c->keep)
        c->kept[c->calls] = rp_rcbuf_ref(frame);
    c->len = rp_rcbuf_len(frame);
    c->prefix_ok = c->len > 32 && memcmp(rp_rcbuf_data(frame), "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$100000\r\n", 33) == 0;
    c->calls++;
}

static void test_large_message_frame(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct share_check check = {0};
    rp_ps_sub_t *sub = rp_ps_sub_create(reg, 2, check_shared, &check);
    assert_non_null(sub);
    sub_str(sub, RP_PS_CHANNEL, "c");

    // Past the on-stack frame size, so the frame is built in an rp_buf.
    enum { LEN = 100000 };
    char *msg = malloc(LEN);
    assert_non_null(msg);
    memset(msg, 'x', LEN);
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, "c", 1, msg, LEN), 1);
    assert_int_equal(check.calls, 1);
    assert_int_equal(check.len, 4 + 13 + 4 + 3 + 9 + LEN + 2);
    assert_true(check.prefix_ok);

    free(msg);
    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}

static void test_pattern_and_channel_reach_same_subscriber(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r = {0};
    rp_ps_sub_t *sub = new_sub(reg, 2, &r);
    sub_str(sub, RP_PS_CHANNEL, "news.tech");
    sub_str(sub, RP_PS_PATTERN, "news.*");

    // As in redis: one message frame, then one pmessage frame.
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "news.tech", "x"), 2);
    assert_int_equal(r.count, 2);
    assert_memory_equal(r.frames[0], "*3\r\n$7\r\nmessage", 15);
    assert_memory_equal(r.frames[1], "*4\r\n$8\r\npmessage\r\n$6\r\nnews.*", 25);

    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}

static void test_multiple_patterns_each_deliver(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r1 = {0}, r2 = {0};
    rp_ps_sub_t *a = new_sub(reg, 2, &r1);
    rp_ps_sub_t *b = new_sub(reg, 2, &r2);
    sub_str(a, RP_PS_PATTERN, "*");
    sub_str(a, RP_PS_PATTERN, "n*");
    sub_str(a, RP_PS_PATTERN, "news.?");
    sub_str(a, RP_PS_PATTERN, "x*");
    sub_str(b, RP_PS_PATTERN, "n*");
    sub_str(b, RP_PS_PATTERN, "[mn]ews.a");

    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "news.a", "m"), 5);
    assert_int_equal(r1.count, 3);
    assert_int_equal(r2.count, 2);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "xyz", "m"), 2);
    assert_int_equal(rp_ps_count(reg, RP_PS_PATTERN), 5);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "", "m"), 0);

    rp_ps_sub_free(a);
    rp_ps_sub_free(b);
    rp_ps_registry_free(reg);
}

static void test_shard_channels_are_separate(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder rc = {0}, rs = {0};
    rp_ps_sub_t *c = new_sub(reg, 2, &rc);
    rp_ps_sub_t *s = new_sub(reg, 2, &rs);
    sub_str(c, RP_PS_CHANNEL, "orders");
    sub_str(c, RP_PS_PATTERN, "ord*");
    sub_str(s, RP_PS_SHARD, "orders");

    assert_int_equal(publish_str(reg, RP_PS_SHARD, "orders", "x"), 1);
    assert_int_equal(rc.count, 0);
    assert_int_equal(rs.count, 1);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "orders", "x"), 2);
    assert_int_equal(rs.count, 1);
    assert_int_equal(rp_ps_numsub(reg, RP_PS_SHARD, "orders", 6), 1);
    assert_int_equal(rp_ps_numsub(reg, RP_PS_CHANNEL, "orders", 6), 1);
    assert_int_equal(rp_ps_count(reg, RP_PS_SHARD), 1);

    rp_ps_sub_free(c);
    rp_ps_sub_free(s);
    rp_ps_registry_free(reg);
}

static void test_set_proto_switches_frames(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r = {0}, other = {0};
    rp_ps_sub_t *sub = new_sub(reg, 2, &r);
    rp_ps_sub_t *sub2 = new_sub(reg, 2, &other);
    sub_str(sub, RP_PS_CHANNEL, "c");
    sub_str(sub, RP_PS_PATTERN, "c*");
    sub_str(sub2, RP_PS_CHANNEL, "c");

    uint64_t before = frames_encoded(reg);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "c", "1"), 3);
    assert_int_equal(frames_encoded(reg) - before, 2);   // message and pmessage, RESP2 only

    rp_ps_sub_set_proto(sub, 3);
    before = frames_encoded(reg);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "c", "2"), 3);
    assert_int_equal(frames_encoded(reg) - before, 3);   // message in both, pmessage RESP3
    assert_int_equal(r.frames[2][0], '>');
    assert_int_equal(r.frames[3][0], '>');
    assert_int_equal(other.frames[1][0], '*');

    rp_ps_sub_set_proto(sub, 2);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "c", "3"), 3);
    assert_int_equal(r.frames[4][0], '*');

    rp_ps_sub_free(sub);
    rp_ps_sub_free(sub2);
    rp_ps_registry_free(reg);
}

struct name_tally {
    int seen[100];
    int total;
};

// Counts a name "c<i>" (not NUL-terminated) in tally->seen[i].
static void tally_name(void *ctx, const char *name, size_t len)
{
    struct name_tally *tally = ctx;
    char digits[8];
    assert_true(len >= 2);
    assert_true(len - 1 < sizeof(digits));
    assert_int_equal(name[0], 'c');
    memcpy(digits, name + 1, len - 1);
    digits[len - 1] = '\0';
    tally->seen[atoi(digits)]++;
    tally->total++;
}

static void test_foreach_lists_each_name_once(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r = {0};
    rp_ps_sub_t *a = new_sub(reg, 2, &r);
    rp_ps_sub_t *b = new_sub(reg, 2, &r);
    for (int i = 0; i < 100; i++) {
        char name[16];
        int n = snprintf(name, sizeof(name), "c%d", i);
        rp_ps_subscribe(a, RP_PS_CHANNEL, name, (size_t)n);
        rp_ps_subscribe(b, RP_PS_CHANNEL, name, (size_t)n);
    }

    struct name_tally tally = {{0}, 0};
    rp_ps_foreach(reg, RP_PS_CHANNEL, tally_name, &tally);
    assert_int_equal(tally.total, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(tally.seen[i], 1);

    rp_ps_sub_free(a);
    rp_ps_sub_free(b);
    rp_ps_registry_free(reg);
}


// ---- Scale and the prefix index ------------------------------------------

static size_t plain_deliveries;

static void count_delivery(void *ctx, struct rp_rcbuf *frame)
{
    (void)ctx;
    (void)frame;
    plain_deliveries++;
}

static void test_ten_thousand_subscribers(void **state)
{
    (void)state;
    enum { N = 10000 };
    rp_ps_registry_t *reg = new_registry();
    rp_ps_sub_t **subs = calloc(N, sizeof(*subs));
    assert_non_null(subs);
    for (int i = 0; i < N; i++) {
        subs[i] = rp_ps_sub_create(reg, 2, count_delivery, NULL);
        assert_non_null(subs[i]);
        assert_int_equal(rp_ps_subscribe(subs[i], RP_PS_CHANNEL, "big", 3), 1);
    }
    assert_int_equal(rp_ps_numsub(reg, RP_PS_CHANNEL, "big", 3), N);

    plain_deliveries = 0;
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, "big", 3, "m", 1), N);
    assert_int_equal(plain_deliveries, N);

    // Drop every other subscriber, in O(1) each.
    for (int i = 0; i < N; i += 2)
        assert_int_equal(rp_ps_unsubscribe(subs[i], RP_PS_CHANNEL, "big", 3), 1);
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, "big", 3, "m", 1), N / 2);

    for (int i = 0; i < N; i++)
        rp_ps_sub_free(subs[i]);
    free(subs);
    rp_ps_registry_free(reg);
}

static void test_ten_thousand_channels_and_patterns(void **state)
{
    (void)state;
    enum { N = 10000 };
    rp_ps_registry_t *reg = new_registry();
    rp_ps_sub_t *sub = rp_ps_sub_create(reg, 2, count_delivery, NULL);
    assert_non_null(sub);
    char name[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(name, sizeof(name), "chan:%d", i);
        assert_int_equal(rp_ps_subscribe(sub, RP_PS_CHANNEL, name, (size_t)n), 1);
        n = snprintf(name, sizeof(name), "pat:%d:*", i);
        assert_int_equal(rp_ps_subscribe(sub, RP_PS_PATTERN, name, (size_t)n), 1);
    }
    assert_int_equal(rp_ps_count(reg, RP_PS_CHANNEL), N);
    assert_int_equal(rp_ps_count(reg, RP_PS_PATTERN), N);
    assert_int_equal(rp_ps_sub_count(sub, RP_PS_PATTERN), N);

    plain_deliveries = 0;
    for (int i = 0; i < N; i += 997) {
        int n = snprintf(name, sizeof(name), "chan:%d", i);
        assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, name, (size_t)n, "m", 1), 1);
        n = snprintf(name, sizeof(name), "pat:%d:x", i);
        assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, name, (size_t)n, "m", 1), 1);
    }

    for (int i = 0; i < N; i++) {
        int n = snprintf(name, sizeof(name), "chan:%d", i);
        assert_int_equal(rp_ps_unsubscribe(sub, RP_PS_CHANNEL, name, (size_t)n), 1);
    }
    assert_int_equal(rp_ps_count(reg, RP_PS_CHANNEL), 0);
    assert_int_equal(rp_ps_count(reg, RP_PS_PATTERN), N);

    rp_ps_sub_free(sub);
    assert_int_equal(rp_ps_count(reg, RP_PS_PATTERN), 0);
    rp_ps_registry_free(reg);
}

static void test_prefix_index_limits_glob_tests(void **state)
{
    (void)state;
    rp_ps_registry_t *reg = new_registry();
    struct recorder r = {0};
    rp_ps_sub_t *sub = new_sub(reg, 2, &r);
    for (int i = 0; i < 1000; i++) {
        char name[32];
        int n = snprintf(name, sizeof(name), "user:%d:*", i);
        assert_int_equal(rp_ps_subscribe(sub, RP_PS_PATTERN, name, (size_t)n), 1);
    }

    uint64_t before = pattern_tests(reg);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "user:5:x", "m"), 1);
    assert_int_equal(pattern_tests(reg) - before, 1);
    assert_string_equal(r.frames[0], "*4\r\n$8\r\npmessage\r\n$8\r\nuser:5:*\r\n$8\r\nuser:5:x\r\n$1\r\nm\r\n");

    before = pattern_tests(reg);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "other", "m"), 0);
    assert_int_equal(pattern_tests(reg) - before, 0);

    // A pattern starting with a metacharacter is tested on every publish.
    assert_int_equal(sub_str(sub, RP_PS_PATTERN, "*:5:*"), 1);
    before = pattern_tests(reg);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "user:5:x", "m"), 2);
    assert_int_equal(pattern_tests(reg) - before, 2);
    before = pattern_tests(reg);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "other", "m"), 0);
    assert_int_equal(pattern_tests(reg) - before, 1);

    // Escapes end the prefix too, and the glob still decides.
    assert_int_equal(sub_str(sub, RP_PS_PATTERN, "user:\\5:x"), 1);
    assert_int_equal(publish_str(reg, RP_PS_CHANNEL, "user:5:x", "m"), 3);

    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
}

static void test_prefix_of_pattern(void **state)
{
    (void)state;
    assert_int_equal(rp_ps_pattern_prefix_len("user:*", 6), 5);
    assert_int_equal(rp_ps_pattern_prefix_len("a?b", 3), 1);
    assert_int_equal(rp_ps_pattern_prefix_len("[a]", 3), 0);
    assert_int_equal(rp_ps_pattern_prefix_len("ab\\*", 4), 2);
    assert_int_equal(rp_ps_pattern_prefix_len("literal", 7), 7);
    assert_int_equal(rp_ps_pattern_prefix_len("", 0), 0);
}

// ---- Memory ---------------------------------------------------------------

static void test_subscribe_unsubscribe_leaves_nothing(void **state)
{
    (void)state;
    enum { N = 2000 };
    rp_ps_registry_t *reg = new_registry();
    rp_ps_sub_t *sub = rp_ps_sub_create(reg, 2, count_delivery, NULL);
    assert_non_null(sub);
    long baseline = live_allocs;

    char name[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(name, sizeof(name), "c%d", i);
        assert_int_equal(rp_ps_subscribe(sub, RP_PS_CHANNEL, name, (size_t)n), 1);
        n = snprintf(name, sizeof(name), "p%d*", i % 50);
        rp_ps_subscribe(sub, RP_PS_PATTERN, name, (size_t)n);
    }
    print_message("%d channels and 50 patterns: %ld allocations live\n", N, live_allocs - baseline);
    assert_true(live_allocs > baseline);

    for (int i = 0; i < N; i++) {
        int n = snprintf(name, sizeof(name), "c%d", i);
        assert_int_equal(rp_ps_unsubscribe(sub, RP_PS_CHANNEL, name, (size_t)n), 1);
    }
    for (int i = 0; i < 50; i++) {
        int n = snprintf(name, sizeof(name), "p%d*", i);
        assert_int_equal(rp_ps_unsubscribe(sub, RP_PS_PATTERN, name, (size_t)n), 1);
    }
    assert_int_equal(live_allocs, baseline);

    rp_ps_sub_free(sub);
    rp_ps_registry_free(reg);
    assert_int_equal(live_allocs, 0);
}

static void test_publish_to_many_makes_one_frame(void **state)
{
    (void)state;
    enum { N = 1000 };
    rp_ps_registry_t *reg = new_registry();
    struct share_check check = {0};
    check.kept = calloc(N, sizeof(*check.kept));
    assert_non_null(check.kept);
    rp_ps_sub_t *subs[N];
    for (int i = 0; i < N; i++) {
        subs[i] = rp_ps_sub_create(reg, 3, check_shared, &check);
        assert_non_null(subs[i]);
        assert_int_equal(rp_ps_subscribe(subs[i], RP_PS_CHANNEL, "fan", 3), 1);
    }

    // A callback that keeps nothing observes only the publisher's reference.
    long before = live_allocs;
    uint64_t frames_before = frames_encoded(reg);
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, "fan", 3, "payload", 7), N);
    assert_int_equal(frames_encoded(reg) - frames_before, 1);
    assert_int_equal(check.calls, N);
    assert_int_equal(check.same, N);
    assert_int_equal(check.refs_one, N);
    assert_int_equal(live_allocs, before);

    // Callbacks that keep a reference share the one frame.
    memset(&check, 0, offsetof(struct share_check, keep));
    check.keep = 1;
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, "fan", 3, "payload", 7), N);
    assert_int_equal(check.same, N);
    assert_int_equal(live_allocs, before + 1);
    assert_int_equal(rp_rcbuf_refs(check.first), N);
    for (int i = 0; i < N; i++)
        rp_rcbuf_unref(check.kept[i]);
    assert_int_equal(live_allocs, before);

    for (int i = 0; i < N; i++)
        rp_ps_sub_free(subs[i]);
    free(check.kept);
    rp_ps_registry_free(reg);
}

// ---- Allocation failures --------------------------------------------------

// Checks that the registry contains exactly the subscriptions that the
// scenario below made, with or without the one that may have failed.
static void check_consistent(rp_ps_registry_t *reg, rp_ps_sub_t *a, rp_ps_sub_t *b, int added)
{
    assert_int_equal(rp_ps_sub_count(a, RP_PS_PATTERN), 2);
    assert_int_equal(rp_ps_sub_count(b, RP_PS_PATTERN), (size_t)(added ? 1 : 0));
    assert_int_equal(rp_ps_count(reg, RP_PS_PATTERN), (size_t)(added ? 3 : 2));
    assert_int_equal(rp_ps_numsub(reg, RP_PS_CHANNEL, "news", 4), 1);

    plain_deliveries = 0;
    assert_int_equal(rp_ps_publish(reg, RP_PS_CHANNEL, "news.x", 6, "m", 1), added ? 2 : 1);
    assert_int_equal(plain_deliveries, added ? 2 : 1);
}

static void test_failed_subscribe_leaves_registry_consistent(void **state)
{
    (void)state;
    int failures = 0;

    // Fail each allocation of the subscribe in turn, until one run needs no failure.
    for (long k = 1; k < 50; k++) {
        fail_at = -1;
        rp_ps_registry_t *reg = new_registry();
        rp_ps_sub_t *a = rp_ps_sub_create(reg, 2, count_delivery, NULL);
        rp_ps_sub_t *b = rp_ps_sub_create(reg, 2, count_delivery, NULL);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(rp_ps_subscribe(a, RP_PS_PATTERN, "news.*", 6), 1);
        assert_int_equal(rp_ps_subscribe(a, RP_PS_PATTERN, "sport.*", 7), 1);
        assert_int_equal(rp_ps_subscribe(a, RP_PS_CHANNEL, "news", 4), 1);

        alloc_calls = 0;
        fail_at = k;
        int rc = rp_ps_subscribe(b, RP_PS_PATTERN, "n*", 2);
        fail_at = -1;
        int done = alloc_calls < k;
        if (done) {
            assert_int_equal(rc, 1);
        } else {
            assert_int_equal(rc, RP_ERR_NOMEM);
            failures++;
        }
        check_consistent(reg, a, b, rc == 1);

        rp_ps_sub_free(a);
        rp_ps_sub_free(b);
        rp_ps_registry_free(reg);
        assert_int_equal(live_allocs, 0);
        if (done)
            break;
    }
    print_message("subscribe failed cleanly at %d allocation points\n", failures);
    assert_true(failures >= 3);
}

static void test_failed_publish_delivers_nothing(void **state)
{
    (void)state;
    int failures = 0;

    for (long k = 1; k < 50; k++) {
        fail_at = -1;
        rp_ps_registry_t *reg = new_registry();
        struct recorder r2 = {0}, r3 = {0};
        rp_ps_sub_t *a = new_sub(reg, 2, &r2);
        rp_ps_sub_t *b = new_sub(reg, 3, &r3);
        sub_str(a, RP_PS_CHANNEL, "c");
        sub_str(b, RP_PS_CHANNEL, "c");
        // More matching patterns than the first scratch array holds:
        // "c*", "c**", ... all match "c".
        char name[32] = "c";
        for (int i = 1; i <= 20; i++) {
            name[i] = '*';
            assert_int_equal(rp_ps_subscribe(a, RP_PS_PATTERN, name, (size_t)i + 1), 1);
        }
        assert_int_equal(sub_str(b, RP_PS_PATTERN, "?"), 1);

        alloc_calls = 0;
        fail_at = k;
        int64_t rc = publish_str(reg, RP_PS_CHANNEL, "c", "m");
        fail_at = -1;
        int done = alloc_calls < k;
        if (done) {
            assert_int_equal(rc, 2 + 21);
            assert_int_equal(r2.count, 21);
            assert_int_equal(r3.count, 2);
        } else {
            assert_int_equal(rc, RP_ERR_NOMEM);
            assert_int_equal(r2.count, 0);
            assert_int_equal(r3.count, 0);
            failures++;
        }

        rp_ps_sub_free(a);
        rp_ps_sub_free(b);
        rp_ps_registry_free(reg);
        assert_int_equal(live_allocs, 0);
        if (done)
            break;
    }
    assert_true(failures >= 3);
}

static void test_failed_registry_and_sub_create_return_null(void **state)
{
    (void)state;
    alloc_calls = 0;
    fail_at = 1;
    assert_null(rp_ps_registry_create(test_key));
    rp_ps_registry_t *reg = new_registry();
    alloc_calls = 0;
    fail_at = 1;
    assert_null(rp_ps_sub_create(reg, 2, count_delivery, NULL));
    fail_at = -1;
    rp_ps_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash24_matches_paper_vectors),
        cmocka_unit_test(test_siphash_depends_on_key),
        cmocka_unit_test_setup_teardown(test_subscribe_duplicate_returns_zero, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_unsubscribe_unknown_returns_zero, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_empty_and_binary_names, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_sub_first_returns_oldest, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_sub_free_removes_all_subscriptions, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_delivery_in_subscription_order, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_frames_match_redis_bytes, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_large_message_frame, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_pattern_and_channel_reach_same_subscriber, setup_counting,
                                        teardown_counting),
        cmocka_unit_test_setup_teardown(test_multiple_patterns_each_deliver, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_shard_channels_are_separate, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_set_proto_switches_frames, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_foreach_lists_each_name_once, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_ten_thousand_subscribers, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_ten_thousand_channels_and_patterns, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_prefix_index_limits_glob_tests, setup_counting, teardown_counting),
        cmocka_unit_test(test_prefix_of_pattern),
        cmocka_unit_test_setup_teardown(test_subscribe_unsubscribe_leaves_nothing, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_publish_to_many_makes_one_frame, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_failed_subscribe_leaves_registry_consistent, setup_counting,
                                        teardown_counting),
        cmocka_unit_test_setup_teardown(test_failed_publish_delivers_nothing, setup_counting, teardown_counting),
        cmocka_unit_test_setup_teardown(test_failed_registry_and_sub_create_return_null, setup_counting,
                                        teardown_counting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
