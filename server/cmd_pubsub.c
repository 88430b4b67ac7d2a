// SPDX-License-Identifier: BSD-3-Clause
// Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and
// PUBSUB, over the rp_ps registry, with redis 7.0's reply shapes. The count
// in (un)subscribe replies is channels + patterns for SUBSCRIBE and
// PSUBSCRIBE, and shard channels alone for SSUBSCRIBE, as redis counts them.

#include <string.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "server/server.h"

struct kind_names {
    const char *subscribe;
    const char *unsubscribe;
};

static const struct kind_names kind_names[] = {
    [RP_PS_CHANNEL] = {"subscribe", "unsubscribe"},
    [RP_PS_PATTERN] = {"psubscribe", "punsubscribe"},
    [RP_PS_SHARD] = {"ssubscribe", "sunsubscribe"},
};

// The count a (un)subscribe reply carries for this kind.
static int64_t reply_count(const struct client *c, enum rp_ps_kind kind)
{
    if (kind == RP_PS_SHARD)
        return (int64_t)rp_ps_sub_count(c->sub, RP_PS_SHARD);
    return (int64_t)(rp_ps_sub_count(c->sub, RP_PS_CHANNEL) + rp_ps_sub_count(c->sub, RP_PS_PATTERN));
}

// Replies are pushes in RESP3 and arrays in RESP2: ["subscribe", name, count].
static void reply_subscription(struct client *c, const char *what, const char *name, size_t len, int64_t count)
{
    reply_push_len(c, 3);
    reply_bulk_cstr(c, what);
    if (name != NULL)
        reply_bulk(c, name, len);
    else
        reply_null(c);
    reply_integer(c, count);
}

static void subscribe_kind(struct client *c, enum rp_ps_kind kind)
{
    for (size_t j = 1; j < c->argc; j++) {
        const struct rp_resp_str *name = &c->argv[j];
        if (rp_ps_subscribe(c->sub, kind, name->ptr, name->len) < 0) {
            rp_log(RP_LOG_WARNING, "Out of memory while subscribing client id=%llu, closing it",
                   (unsigned long long)c->id);
            client_close_now(c);
            return;
        }
        reply_subscription(c, kind_names[kind].subscribe, name->ptr, name->len, reply_count(c, kind));
    }
}

// Unsubscribes from every subscription of one kind. With notify, each one
// gets a reply, and a client with none gets one reply with a null name.
static void unsubscribe_all_kind(struct client *c, enum rp_ps_kind kind, int notify)
{
    if (notify && rp_ps_sub_count(c->sub, kind) == 0) {
        reply_subscription(c, kind_names[kind].unsubscribe, NULL, 0, reply_count(c, kind));
        return;
    }

    const char *name;
    size_t len;
    // Each pass removes one subscription, so the loop ends after count passes.
    size_t passes = rp_ps_sub_count(c->sub, kind);
    while (passes-- > 0 && rp_ps_sub_first(c->sub, kind, &name, &len)) {
        // The name is valid until the subscription is removed, so the reply,
        // with the count it will have after removal, is written first.
        if (notify)
            reply_subscription(c, kind_names[kind].unsubscribe, name, len, reply_count(c, kind) - 1);
        rp_ps_unsubscribe(c->sub, kind, name, len);
    }
}

static void unsubscribe_kind(struct client *c, enum rp_ps_kind kind)
{
    if (c->argc == 1) {
        unsubscribe_all_kind(c, kind, 1);
        return;
    }
    for (size_t j = 1; j < c->argc; j++) {
        const struct rp_resp_str *name = &c->argv[j];
        rp_ps_unsubscribe(c->sub, kind, name->ptr, name->len);
        reply_subscription(c, kind_names[kind].unsubscribe, name->ptr, name->len, reply_count(c, kind));
    }
}

void pubsub_unsubscribe_all(struct client *c, int notify)
{
    unsubscribe_all_kind(c, RP_PS_CHANNEL, notify);
    unsubscribe_all_kind(c, RP_PS_PATTERN, notify);
    unsubscribe_all_kind(c, RP_PS_SHARD, notify);
}

static void cmd_subscribe(struct client *c)
{
    subscribe_kind(c, RP_PS_CHANNEL);
}

static void cmd_psubscribe(struct client *c)
{
    subscribe_kind(c, RP_PS_PATTERN);
}

static void cmd_ssubscribe(struct client *c)
{
    // redis 7.0 treats a client running EXEC as one that must get one reply
    // per command, which rules out SSUBSCRIBE (but not SUBSCRIBE/PSUBSCRIBE).
    if (c->flags & RP_CLIENT_IN_EXEC) {
        reply_error(c, "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
        return;
    }
    subscribe_kind(c, RP_PS_SHARD);
}

static void cmd_unsubscribe(struct client *c)
{
    unsubscribe_kind(c, RP_PS_CHANNEL);
}

static void cmd_punsubscribe(struct client *c)
{
    unsubscribe_kind(c, RP_PS_PATTERN);
}

static void cmd_sunsubscribe(struct client *c)
{
    unsubscribe_kind(c, RP_PS_SHARD);
}

static void publish_kind(struct client *c, enum rp_ps_kind kind)
{
    struct server *srv = c->srv;
    const struct rp_resp_str *channel = &c->argv[1];
    const struct rp_resp_str *message = &c->argv[2];

    int64_t receivers = rp_ps_publish(srv->pubsub, kind, channel->ptr, channel->len, message->ptr, message->len);

    // Subscribers that went over their output limit were only marked during
    // delivery; they are closed now that the registry is no longer walked.
    server_close_pending(srv);

    if (receivers < 0) {
        reply_error(c, "ERR out of memory while publishing the message");
        return;
    }
    reply_integer(c, receivers);
}

static void cmd_publish(struct client *c)
{
    publish_kind(c, RP_PS_CHANNEL);
}

static void cmd_spublish(struct client *c)
{
    publish_kind(c, RP_PS_SHARD);
}

// ---- PUBSUB ---------------------------------------------------------------

struct name_list {
    const struct rp_resp_str *pattern;   // NULL: every name
    struct rp_resp_str *names;
    size_t count, cap;
    int nomem;
};

static void collect_name(void *ctx, const char *name, size_t len)
{
    struct name_list *list = ctx;
    if (list->nomem)
        return;
    if (list->pattern != NULL && !rp_ps_glob_match(list->pattern->ptr, list->pattern->len, name, len, 0))
        return;
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct rp_resp_str *grown = rp_reallocarray(list->names, cap, sizeof *grown);
        if (grown == NULL) {
            list->nomem = 1;
            return;
        }
        list->names = grown;
        list->cap = cap;
    }
    list->names[list->count].ptr = name;
    list->names[list->count].len = len;
    list->count++;
}

static void reply_channels(struct client *c, enum rp_ps_kind kind)
{
    if (c->argc > 3) {
        reply_subcommand_syntax_error(c);
        return;
    }

    // The names point into the registry, which stays unchanged while the
    // reply is written.
    struct name_list list = {c->argc == 3 ? &c->argv[2] : NULL, NULL, 0, 0, 0};
    rp_ps_foreach(c->srv->pubsub, kind, collect_name, &list);
    if (list.nomem) {
        rp_free(list.names);
        reply_error(c, "ERR out of memory while listing channels");
        return;
    }
    reply_array_len(c, list.count);
    for (size_t i = 0; i < list.count; i++)
        reply_bulk(c, list.names[i].ptr, list.names[i].len);
    rp_free(list.names);
}

static void reply_numsub(struct client *c, enum rp_ps_kind kind)
{
    reply_array_len(c, (c->argc - 2) * 2);
    for (size_t j = 2; j < c->argc; j++) {
        const struct rp_resp_str *name = &c->argv[j];
        reply_bulk(c, name->ptr, name->len);
        reply_integer(c, (int64_t)rp_ps_numsub(c->srv->pubsub, kind, name->ptr, name->len));
    }
}

static void cmd_pubsub_channels(struct client *c)
{
    reply_channels(c, RP_PS_CHANNEL);
}

static void cmd_pubsub_shardchannels(struct client *c)
{
    reply_channels(c, RP_PS_SHARD);
}

static void cmd_pubsub_numsub(struct client *c)
{
    reply_numsub(c, RP_PS_CHANNEL);
}

static void cmd_pubsub_shardnumsub(struct client *c)
{
    reply_numsub(c, RP_PS_SHARD);
}

static void cmd_pubsub_numpat(struct client *c)
{
    reply_integer(c, (int64_t)rp_ps_count(c->srv->pubsub, RP_PS_PATTERN));
}

static void cmd_pubsub_help(struct client *c)
{
    // redis 7.0's PUBSUB HELP text, byte for byte, since clients may show it.
    static const char *const lines[] = {
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        NULL,
    };
    reply_help(c, lines);
}

static const struct command pubsub_subcommands[] = {
    {"channels", -2, 0, cmd_pubsub_channels, NULL},
    {"numsub", -2, 0, cmd_pubsub_numsub, NULL},
    {"numpat", 2, 0, cmd_pubsub_numpat, NULL},
    {"shardchannels", -2, 0, cmd_pubsub_shardchannels, NULL},
    {"shardnumsub", -2, 0, cmd_pubsub_shardnumsub, NULL},
    {"help", 2, 0, cmd_pubsub_help, NULL},
    {NULL, 0, 0, NULL, NULL},
};

const struct command rp_cmds_pubsub[] = {
    {"subscribe", -2, RP_CMD_PUBSUB_OK, cmd_subscribe, NULL},
    {"psubscribe", -2, RP_CMD_PUBSUB_OK, cmd_psubscribe, NULL},
    {"ssubscribe", -2, RP_CMD_PUBSUB_OK, cmd_ssubscribe, NULL},
    {"unsubscribe", -1, RP_CMD_PUBSUB_OK, cmd_unsubscribe, NULL},
    {"punsubscribe", -1, RP_CMD_PUBSUB_OK, cmd_punsubscribe, NULL},
    {"sunsubscribe", -1, RP_CMD_PUBSUB_OK, cmd_sunsubscribe, NULL},
    {"publish", 3, 0, cmd_publish, NULL},
    {"spublish", 3, 0, cmd_spublish, NULL},
    {"pubsub", -2, RP_CMD_CONTAINER, NULL, pubsub_subcommands},
    {NULL, 0, 0, NULL, NULL},
};
