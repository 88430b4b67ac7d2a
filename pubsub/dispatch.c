// SPDX-License-Identifier: BSD-3-Clause
// Dispatcher: PUBLISH and SPUBLISH fan-out. Each frame shape (message,
// pmessage for each matching pattern, smessage) is encoded at most once per
// protocol version per publish, into a reference-counted buffer that every
// subscriber of that version receives.
//
// The frames are encoded here rather than through resp_writer.h: their
// shapes are fixed, so the exact length is known before writing, and one
// pass into one right-sized allocation is all a frame costs.

#include <assert.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "pubsub/pubsub_internal.h"

// Frames up to this size are assembled on the stack and copied into an
// rp_rcbuf (one allocation). Larger ones are written into an rp_buf whose
// memory the rp_rcbuf adopts (two allocations, no copy of the payload).
#define SMALL_FRAME 512

struct frame_parts {
    const char *head;        // "*3\r\n$7\r\nmessage\r\n" and the like
    size_t head_len;
    const char *bulk[3];     // pattern (pmessage only), channel, message
    size_t bulk_len[3];
    int nbulk;
};

static size_t count_digits(size_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static char *put_bulk(char *p, const char *s, size_t len)
{
    char digits[24];
    size_t n = 0;
    size_t v = len;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);

    *p++ = '$';
    while (n > 0)
        *p++ = digits[--n];
    *p++ = '\r';
    *p++ = '\n';
    if (len)
        memcpy(p, s, len);
    p += len;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static void write_frame(char *dst, const struct frame_parts *f)
{
    memcpy(dst, f->head, f->head_len);
    char *p = dst + f->head_len;
    for (int i = 0; i < f->nbulk; i++)
        p = put_bulk(p, f->bulk[i], f->bulk_len[i]);
}

// Builds one frame. Returns NULL when out of memory or when the frame
// length would overflow size_t.
static struct rp_rcbuf *encode_frame(rp_ps_registry_t *reg, const struct frame_parts *f)
{
    size_t total = f->head_len;
    for (int i = 0; i < f->nbulk; i++) {
        size_t overhead = 1 + count_digits(f->bulk_len[i]) + 4;  // "$<len>\r\n" and "\r\n"
        if (f->bulk_len[i] > SIZE_MAX - overhead - total)
            return NULL;
        total += overhead + f->bulk_len[i];
    }

    struct rp_rcbuf *rb;
    if (total <= SMALL_FRAME) {
        char tmp[SMALL_FRAME];
        write_frame(tmp, f);
        rb = rp_rcbuf_create(tmp, total);
    } else {
        struct rp_buf b = RP_BUF_INIT;
        if (rp_buf_reserve(&b, total) != 0)
            return NULL;
        write_frame(b.data, f);
        b.len = total;
        rb = rp_rcbuf_from_buf(&b);
        if (rb == NULL)
            rp_buf_free(&b);
    }
    if (rb != NULL)
        reg->stats.frames_encoded++;
    return rb;
}

static const struct {
    const char *s;
    size_t len;
} frame_heads[3][2] = {
    [RP_PS_CHANNEL] = {{"*3\r\n$7\r\nmessage\r\n", 17}, {">3\r\n$7\r\nmessage\r\n", 17}},
    [RP_PS_PATTERN] = {{"*4\r\n$8\r\npmessage\r\n", 18}, {">4\r\n$8\r\npmessage\r\n", 18}},
    [RP_PS_SHARD] = {{"*3\r\n$8\r\nsmessage\r\n", 18}, {">3\r\n$8\r\nsmessage\r\n", 18}},
};

// Encodes the frames of topic for each protocol version it has subscribers
// of. Returns 0, or RP_ERR_NOMEM with frame[] left holding what was built.
static int encode_topic_frames(rp_ps_registry_t *reg, const struct rp_ps_topic *topic,
                               const char *channel, size_t channel_len, const char *message,
                               size_t message_len, struct rp_rcbuf *frame[2])
{
    struct frame_parts f = {0};
    if (topic->kind == RP_PS_PATTERN) {
        f.bulk[f.nbulk] = topic->name;
        f.bulk_len[f.nbulk++] = topic->name_len;
    }
    f.bulk[f.nbulk] = channel;
    f.bulk_len[f.nbulk++] = channel_len;
    f.bulk[f.nbulk] = message;
    f.bulk_len[f.nbulk++] = message_len;

    for (int slot = 0; slot < 2; slot++) {
        if (topic->nsubs_proto[slot] == 0)
            continue;
        f.head = frame_heads[topic->kind][slot].s;
        f.head_len = frame_heads[topic->kind][slot].len;
        frame[slot] = encode_frame(reg, &f);
        if (frame[slot] == NULL)
            return RP_ERR_NOMEM;
    }
    return 0;
}

struct match_ctx {
    rp_ps_registry_t *reg;
    const char *channel;
    size_t channel_len;
    const char *message;
    size_t message_len;
    size_t nmatches;
    int err;
};

// Pattern index callback: runs the glob on one candidate, and on a match
// records it with its frames. Returns nonzero to stop on failure.
static int collect_match(void *arg, struct rp_ps_topic *pattern)
{
    struct match_ctx *mc = arg;
    rp_ps_registry_t *reg = mc->reg;

    reg->stats.pattern_tests++;
    if (!rp_ps_glob_match(pattern->name, pattern->name_len, mc->channel, mc->channel_len, 0))
        return 0;

    if (mc->nmatches == reg->cap_matches) {
        size_t cap = reg->cap_matches ? reg->cap_matches * 2 : 16;
        struct rp_ps_match *m = rp_reallocarray(reg->matches, cap, sizeof(*m));
        if (m == NULL) {
            mc->err = RP_ERR_NOMEM;
            return 1;
        }
        reg->matches = m;
        reg->cap_matches = cap;
    }

    struct rp_ps_match *m = &reg->matches[mc->nmatches++];
    m->pattern = pattern;
    m->frame[0] = m->frame[1] = NULL;
    mc->err = encode_topic_frames(reg, pattern, mc->channel, mc->channel_len, mc->message,
                                  mc->message_len, m->frame);
    return mc->err != 0;
}

static uint64_t deliver_to(const struct rp_ps_topic *topic, struct rp_rcbuf *const frame[2])
{
    uint64_t n = 0;
    for (const struct rp_ps_link *l = topic->head; l != NULL; l = l->topic_next) {
        rp_ps_sub_t *sub = l->sub;
        // A subscriber freed by an earlier callback gets nothing more.
        if (sub->freed)
            continue;
        sub->deliver(sub->ctx, frame[rp_ps_proto_slot(sub->proto)]);
        n++;
    }
    return n;
}

static void release_frames(rp_ps_registry_t *reg, struct rp_rcbuf *channel_frame[2], size_t nmatches)
{
    rp_rcbuf_unref(channel_frame[0]);
    rp_rcbuf_unref(channel_frame[1]);
    for (size_t i = 0; i < nmatches; i++) {
        rp_rcbuf_unref(reg->matches[i].frame[0]);
        rp_rcbuf_unref(reg->matches[i].frame[1]);
    }
}

int64_t rp_ps_publish(rp_ps_registry_t *reg, enum rp_ps_kind kind, const char *channel, size_t channel_len,
                      const char *message, size_t message_len)
{
    assert(!reg->delivering);
    assert(kind == RP_PS_CHANNEL || kind == RP_PS_SHARD);
    if (reg->delivering || (kind != RP_PS_CHANNEL && kind != RP_PS_SHARD))
        return RP_ERR_INVAL;
    reg->stats.published++;

    // Build every frame before the first delivery, so that running out of
    // memory delivers nothing rather than a part of the fan-out. The cost
    // is that the frames of all matching patterns are alive at once.
    struct rp_rcbuf *channel_frame[2] = {NULL, NULL};
    const struct rp_ps_dict *topics = &reg->topics[kind];
    uint64_t hash = rp_ps_dict_hash(topics, channel, channel_len);
    struct rp_ps_topic *topic = (struct rp_ps_topic *)rp_ps_dict_find(topics, channel, channel_len, hash);
    if (topic != NULL &&
        encode_topic_frames(reg, topic, channel, channel_len, message, message_len, channel_frame) != 0) {
        release_frames(reg, channel_frame, 0);
        return RP_ERR_NOMEM;
    }

    struct match_ctx mc = {reg, channel, channel_len, message, message_len, 0, 0};
    if (kind == RP_PS_CHANNEL && reg->topics[RP_PS_PATTERN].count > 0)
        rp_ps_pidx_candidates(&reg->pidx, channel, channel_len, collect_match, &mc);
    if (mc.err != 0) {
        release_frames(reg, channel_frame, mc.nmatches);
        return mc.err;
    }

    uint64_t delivered = 0;
    reg->delivering = 1;
    if (topic != NULL)
        delivered += deliver_to(topic, channel_frame);
    for (size_t i = 0; i < mc.nmatches; i++)
        delivered += deliver_to(reg->matches[i].pattern, reg->matches[i].frame);
    reg->delivering = 0;

    release_frames(reg, channel_frame, mc.nmatches);
    while (reg->freed_subs != NULL) {
        rp_ps_sub_t *sub = reg->freed_subs;
        reg->freed_subs = sub->next_freed;
        rp_ps_sub_release(sub);
    }

    reg->stats.deliveries += delivered;
    return (int64_t)delivered;
}
