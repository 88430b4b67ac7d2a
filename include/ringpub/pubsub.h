/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pub/sub registry and dispatcher: channels, glob patterns and shard
 * channels, and the fan-out of published messages to subscribers. It knows
 * nothing of sockets: a subscriber is an opaque handle with a delivery
 * callback, and a published message reaches every subscriber of one protocol
 * version as the same reference-counted frame, encoded once.
 */
#ifndef RINGPUB_PUBSUB_H
#define RINGPUB_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

#include "ringpub/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rp_ps_kind {
    RP_PS_CHANNEL = 0,   /* SUBSCRIBE / PUBLISH, frames "message" */
    RP_PS_PATTERN = 1,   /* PSUBSCRIBE, frames "pmessage" */
    RP_PS_SHARD = 2,     /* SSUBSCRIBE / SPUBLISH, frames "smessage" */
};

typedef struct rp_ps_registry rp_ps_registry_t;
typedef struct rp_ps_sub rp_ps_sub_t;

/*
 * Called once per delivery with a complete RESP frame for the subscriber's
 * protocol: RESP2 "*3\r\n$7\r\nmessage\r\n..." or RESP3 ">3\r\n...". The
 * frame is borrowed for the duration of the call; take rp_rcbuf_ref() to keep
 * it. The callback must not subscribe, unsubscribe or free any subscriber: to
 * drop a slow subscriber, mark it and free it after rp_ps_publish returns.
 * Debug builds assert on a violation. Release builds reject the change
 * (RP_ERR_INVAL, NULL or no effect), except rp_ps_sub_free, which takes
 * effect once the delivery loop ends, the subscriber getting no more frames.
 */
typedef void (*rp_ps_deliver_fn)(void *ctx, struct rp_rcbuf *frame);

/*
 * Creates a registry. hash_key (16 bytes) keys the SipHash used for channel
 * and pattern tables, so that clients cannot pick colliding names; pass
 * random bytes. NULL if out of memory.
 */
rp_ps_registry_t *rp_ps_registry_create(const uint8_t hash_key[16]);

/* Frees the registry. Every subscriber must have been freed first. */
void rp_ps_registry_free(rp_ps_registry_t *reg);

/* Creates a subscriber with no subscriptions. proto is 2 or 3. */
rp_ps_sub_t *rp_ps_sub_create(rp_ps_registry_t *reg, int proto, rp_ps_deliver_fn deliver, void *ctx);

/* Removes every subscription of the subscriber, then frees it. NULL is ignored. */
void rp_ps_sub_free(rp_ps_sub_t *sub);

/* Switches the frame format used for later deliveries (HELLO 2/3). */
void rp_ps_sub_set_proto(rp_ps_sub_t *sub, int proto);

/*
 * Adds a subscription. Returns 1 if added, 0 if the subscriber already had
 * it, RP_ERR_NOMEM on failure. Names are copied, and may hold any bytes.
 */
int rp_ps_subscribe(rp_ps_sub_t *sub, enum rp_ps_kind kind, const char *name, size_t len);

/* Removes a subscription. Returns 1 if removed, 0 if the subscriber did not have it. */
int rp_ps_unsubscribe(rp_ps_sub_t *sub, enum rp_ps_kind kind, const char *name, size_t len);

/* Number of subscriptions of this kind the subscriber has. */
size_t rp_ps_sub_count(const rp_ps_sub_t *sub, enum rp_ps_kind kind);

/*
 * Sets *name and *len to one of the subscriber's subscriptions of this kind
 * (the oldest) and returns 1, or returns 0 if it has none. The name stays
 * valid until that subscription is removed. Used to unsubscribe from all.
 */
int rp_ps_sub_first(const rp_ps_sub_t *sub, enum rp_ps_kind kind, const char **name, size_t *len);

/*
 * Publishes to a channel (RP_PS_CHANNEL: its subscribers, then every
 * subscriber of each matching pattern; RP_PS_SHARD: its shard subscribers).
 * Deliveries happen before this returns, channel subscribers in subscription
 * order. Returns the number of deliveries, as PUBLISH replies, or
 * RP_ERR_NOMEM if a frame could not be encoded (nothing is delivered then).
 */
int64_t rp_ps_publish(rp_ps_registry_t *reg, enum rp_ps_kind kind, const char *channel, size_t channel_len,
                      const char *message, size_t message_len);

/* Number of subscribers of one channel or shard channel (PUBSUB NUMSUB). */
size_t rp_ps_numsub(const rp_ps_registry_t *reg, enum rp_ps_kind kind, const char *name, size_t len);

/* Number of channels (or distinct patterns, or shard channels) with subscribers. */
size_t rp_ps_count(const rp_ps_registry_t *reg, enum rp_ps_kind kind);

/*
 * Calls fn for each channel (or pattern, or shard channel) with at least one
 * subscriber, in no particular order. fn must not change the registry.
 */
void rp_ps_foreach(const rp_ps_registry_t *reg, enum rp_ps_kind kind,
                   void (*fn)(void *ctx, const char *name, size_t len), void *ctx);

/*
 * Matches a string against a glob pattern with redis 7.0 stringmatchlen()
 * semantics: * ? [abc] [^a] [a-z] (reversed ranges too), \ escapes, binary
 * bytes. Runs in O(pattern * string) time at worst, never exponential.
 * Returns 1 on a match, 0 otherwise.
 */
int rp_ps_glob_match(const char *pattern, size_t pattern_len, const char *str, size_t str_len, int nocase);

/* Delivery counters since creation (INFO stats). */
struct rp_ps_stats {
    uint64_t published;        /* rp_ps_publish calls */
    uint64_t deliveries;       /* frames handed to subscribers */
    uint64_t frames_encoded;   /* frames built; deliveries / frames_encoded is the sharing ratio */
    uint64_t pattern_tests;    /* glob matches run while publishing */
};

void rp_ps_get_stats(const rp_ps_registry_t *reg, struct rp_ps_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
