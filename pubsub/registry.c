// SPDX-License-Identifier: BSD-3-Clause
// Pub/sub registry: channels, patterns and shard channels, each with its
// subscribers in subscription order, and each subscriber with its own table
// of subscriptions so that unsubscribing by name is O(1).
//
// A subscription is one rp_ps_link allocation. A topic (channel, pattern or
// shard channel) is one allocation that also stores its name, made on its
// first subscriber and freed with its last. Every fallible allocation of a
// subscribe happens before the registry is changed, so running out of
// memory leaves it as it was.

#include <assert.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "pubsub/pubsub_internal.h"

static int valid_kind(enum rp_ps_kind kind)
{
    return kind == RP_PS_CHANNEL || kind == RP_PS_PATTERN || kind == RP_PS_SHARD;
}

rp_ps_registry_t *rp_ps_registry_create(const uint8_t hash_key[16])
{
    rp_ps_registry_t *reg = rp_calloc(1, sizeof(*reg));
    if (reg == NULL)
        return NULL;

    memcpy(reg->hash_key, hash_key, sizeof(reg->hash_key));
    for (int k = 0; k < 3; k++)
        rp_ps_dict_init(&reg->topics[k], reg->hash_key);
    rp_ps_pidx_init(&reg->pidx, reg->hash_key);
    return reg;
}

void rp_ps_registry_free(rp_ps_registry_t *reg)
{
    if (reg == NULL)
        return;

    // With no subscriber left, every topic and index group is gone too.
    assert(reg->nsubs == 0);
    for (int k = 0; k < 3; k++) {
        assert(reg->topics[k].count == 0);
        rp_ps_dict_release(&reg->topics[k]);
    }
    rp_ps_pidx_release(&reg->pidx);
    rp_free(reg->matches);
    rp_free(reg);
}

rp_ps_sub_t *rp_ps_sub_create(rp_ps_registry_t *reg, int proto, rp_ps_deliver_fn deliver, void *ctx)
{
    assert(!reg->delivering);
    assert(proto == 2 || proto == 3);
    if (reg->delivering)
        return NULL;

    rp_ps_sub_t *sub = rp_calloc(1, sizeof(*sub));
    if (sub == NULL)
        return NULL;

    sub->reg = reg;
    sub->proto = proto;
    sub->deliver = deliver;
    sub->ctx = ctx;
    for (int k = 0; k < 3; k++)
        rp_ps_dict_init(&sub->kinds[k].links, reg->hash_key);
    reg->nsubs++;
    return sub;
}

// Unlinks a subscription from both sides and frees it, and frees its topic
// when that was the topic's last subscriber.
static void remove_link(rp_ps_registry_t *reg, struct rp_ps_link *link)
{
    rp_ps_sub_t *sub = link->sub;
    struct rp_ps_topic *topic = link->topic;
    struct rp_ps_sub_kind *sk = &sub->kinds[topic->kind];

    rp_ps_dict_remove(&sk->links, &link->entry);
    if (link->sub_prev != NULL)
        link->sub_prev->sub_next = link->sub_next;
    else
        sk->head = link->sub_next;
    if (link->sub_next != NULL)
        link->sub_next->sub_prev = link->sub_prev;
    else
        sk->tail = link->sub_prev;

    if (link->topic_prev != NULL)
        link->topic_prev->topic_next = link->topic_next;
    else
        topic->head = link->topic_next;
    if (link->topic_next != NULL)
        link->topic_next->topic_prev = link->topic_prev;
    else
        topic->tail = link->topic_prev;
    topic->nsubs--;
    topic->nsubs_proto[rp_ps_proto_slot(sub->proto)]--;
    rp_free(link);

    if (topic->nsubs > 0)
        return;
    rp_ps_dict_remove(&reg->topics[topic->kind], &topic->entry);
    if (topic->kind == RP_PS_PATTERN)
        rp_ps_pidx_remove(&reg->pidx, topic);
    rp_free(topic);
}

void rp_ps_sub_free(rp_ps_sub_t *sub)
{
    if (sub == NULL)
        return;

    // Callbacks must not free subscribers. A release build survives it
    // anyway: the subscriber gets no further frames and is released once
    // the delivery loop is done with the lists it walks.
    rp_ps_registry_t *reg = sub->reg;
    assert(!reg->delivering);
    if (reg->delivering) {
        if (!sub->freed) {
            sub->freed = 1;
            sub->next_freed = reg->freed_subs;
            reg->freed_subs = sub;
        }
        return;
    }
    rp_ps_sub_release(sub);
}

void rp_ps_sub_release(rp_ps_sub_t *sub)
{
    rp_ps_registry_t *reg = sub->reg;
    for (int k = 0; k < 3; k++) {
        while (sub->kinds[k].head != NULL)
            remove_link(reg, sub->kinds[k].head);
        assert(sub->kinds[k].links.count == 0);
        rp_ps_dict_release(&sub->kinds[k].links);
    }
    reg->nsubs--;
    rp_free(sub);
}

void rp_ps_sub_set_proto(rp_ps_sub_t *sub, int proto)
{
    assert(!sub->reg->delivering);
    assert(proto == 2 || proto == 3);
    if (proto == sub->proto || sub->reg->delivering)
        return;

    // Each topic counts its subscribers per protocol so that a publish
    // encodes only the frames someone will receive.
    int from = rp_ps_proto_slot(sub->proto);
    int to = rp_ps_proto_slot(proto);
    for (int k = 0; k < 3; k++) {
        for (struct rp_ps_link *l = sub->kinds[k].head; l != NULL; l = l->sub_next) {
            l->topic->nsubs_proto[from]--;
            l->topic->nsubs_proto[to]++;
        }
    }
    sub->proto = proto;
}

// Creates a topic with no subscribers and adds it to the registry (and to
// the prefix index for a pattern). Returns NULL, with nothing changed, when
// out of memory.
static struct rp_ps_topic *create_topic(rp_ps_registry_t *reg, enum rp_ps_kind kind, const char *name,
                                        size_t len, uint64_t hash)
{
    if (len > SIZE_MAX - sizeof(struct rp_ps_topic))
        return NULL;
    if (rp_ps_dict_reserve(&reg->topics[kind]) != 0)
        return NULL;

    struct rp_ps_topic *topic = rp_malloc(sizeof(*topic) + len);
    if (topic == NULL)
        return NULL;
    memset(topic, 0, sizeof(*topic));
    topic->kind = kind;
    topic->name_len = len;
    if (len)
        memcpy(topic->name, name, len);

    if (kind == RP_PS_PATTERN && rp_ps_pidx_add(&reg->pidx, topic) != 0) {
        rp_free(topic);
        return NULL;
    }

    topic->entry.key = topic->name;
    topic->entry.key_len = len;
    topic->entry.hash = hash;
    rp_ps_dict_insert(&reg->topics[kind], &topic->entry);
    return topic;
}

int rp_ps_subscribe(rp_ps_sub_t *sub, enum rp_ps_kind kind, const char *name, size_t len)
{
    rp_ps_registry_t *reg = sub->reg;
    assert(!reg->delivering);
    assert(valid_kind(kind));
    // Checked in release builds too: kind indexes sub->kinds.
    if (reg->delivering || !valid_kind(kind))
        return RP_ERR_INVAL;

    // The subscriber's table and the registry's share the hash key, so one
    // hash serves both lookups.
    struct rp_ps_sub_kind *sk = &sub->kinds[kind];
    uint64_t hash = rp_ps_dict_hash(&sk->links, name, len);
    if (rp_ps_dict_find(&sk->links, name, len, hash) != NULL)
        return 0;

    if (rp_ps_dict_reserve(&sk->links) != 0)
        return RP_ERR_NOMEM;
    struct rp_ps_link *link = rp_malloc(sizeof(*link));
    if (link == NULL)
        return RP_ERR_NOMEM;

    struct rp_ps_dict_entry *e = rp_ps_dict_find(&reg->topics[kind], name, len, hash);
    struct rp_ps_topic *topic = (struct rp_ps_topic *)e;
    if (topic == NULL) {
        topic = create_topic(reg, kind, name, len, hash);
        if (topic == NULL) {
            rp_free(link);
            return RP_ERR_NOMEM;
        }
    }

    link->topic = topic;
    link->sub = sub;
    link->topic_next = NULL;
    link->topic_prev = topic->tail;
    if (topic->tail != NULL)
        topic->tail->topic_next = link;
    else
        topic->head = link;
    topic->tail = link;
    topic->nsubs++;
    topic->nsubs_proto[rp_ps_proto_slot(sub->proto)]++;

    link->entry.key = topic->name;
    link->entry.key_len = len;
    link->entry.hash = hash;
    rp_ps_dict_insert(&sk->links, &link->entry);
    link->sub_next = NULL;
    link->sub_prev = sk->tail;
    if (sk->tail != NULL)
        sk->tail->sub_next = link;
    else
        sk->head = link;
    sk->tail = link;
    return 1;
}

int rp_ps_unsubscribe(rp_ps_sub_t *sub, enum rp_ps_kind kind, const char *name, size_t len)
{
    rp_ps_registry_t *reg = sub->reg;
    assert(!reg->delivering);
    assert(valid_kind(kind));
    // Checked in release builds too: kind indexes sub->kinds.
    if (reg->delivering || !valid_kind(kind))
        return RP_ERR_INVAL;

    struct rp_ps_dict *links = &sub->kinds[kind].links;
    struct rp_ps_dict_entry *e = rp_ps_dict_find(links, name, len, rp_ps_dict_hash(links, name, len));
    if (e == NULL)
        return 0;
    remove_link(reg, (struct rp_ps_link *)e);
    return 1;
}

size_t rp_ps_sub_count(const rp_ps_sub_t *sub, enum rp_ps_kind kind)
{
    assert(valid_kind(kind));
    return sub->kinds[kind].links.count;
}

int rp_ps_sub_first(const rp_ps_sub_t *sub, enum rp_ps_kind kind, const char **name, size_t *len)
{
    assert(valid_kind(kind));
    const struct rp_ps_link *l = sub->kinds[kind].head;
    if (l == NULL)
        return 0;
    *name = l->topic->name;
    *len = l->topic->name_len;
    return 1;
}

size_t rp_ps_numsub(const rp_ps_registry_t *reg, enum rp_ps_kind kind, const char *name, size_t len)
{
    assert(valid_kind(kind));
    const struct rp_ps_dict *d = &reg->topics[kind];
    struct rp_ps_dict_entry *e = rp_ps_dict_find(d, name, len, rp_ps_dict_hash(d, name, len));
    return e != NULL ? ((struct rp_ps_topic *)e)->nsubs : 0;
}

size_t rp_ps_count(const rp_ps_registry_t *reg, enum rp_ps_kind kind)
{
    assert(valid_kind(kind));
    return reg->topics[kind].count;
}

struct foreach_ctx {
    void (*fn)(void *ctx, const char *name, size_t len);
    void *ctx;
};

static void foreach_topic(void *arg, struct rp_ps_dict_entry *e)
{
    struct foreach_ctx *fc = arg;
    struct rp_ps_topic *t = (struct rp_ps_topic *)e;
    fc->fn(fc->ctx, t->name, t->name_len);
}

void rp_ps_foreach(const rp_ps_registry_t *reg, enum rp_ps_kind kind,
                   void (*fn)(void *ctx, const char *name, size_t len), void *ctx)
{
    assert(valid_kind(kind));
    struct foreach_ctx fc = {fn, ctx};
    rp_ps_dict_foreach(&reg->topics[kind], foreach_topic, &fc);
}

void rp_ps_get_stats(const rp_ps_registry_t *reg, struct rp_ps_stats *stats)
{
    *stats = reg->stats;
}
