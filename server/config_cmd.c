// SPDX-License-Identifier: BSD-3-Clause
// The CONFIG command: GET with glob patterns (several at once, as redis 7.0),
// SET with several name/value pairs applied all or nothing, RESETSTAT and
// HELP. Parsing and printing values is config.c's; this file checks the
// request, applies the change, and runs what a changed setting needs now.

#include <stdio.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "server/server.h"

// Upper bound of the settings table (config_count() is below it), for the
// per-setting arrays below. CONFIG SET takes at most this many pairs: each
// setting may appear once, so a longer call always has a duplicate or an
// unknown name.
#define MAX_SETTINGS 64
#define MAX_SET_PAIRS MAX_SETTINGS

static void cmd_config_get(struct client *c)
{
    size_t count = config_count();
    unsigned char matched[MAX_SETTINGS] = {0};
    size_t matches = 0;

    // A setting matched by several patterns is listed once.
    for (size_t i = 0; i < count && i < MAX_SETTINGS; i++) {
        const char *name = config_name(i);
        for (size_t j = 2; j < c->argc; j++) {
            if (rp_ps_glob_match(c->argv[j].ptr, c->argv[j].len, name, strlen(name), 1)) {
                matched[i] = 1;
                matches++;
                break;
            }
        }
    }

    // NOTE: redis 7.0 lists the matches in the order of its internal hash
    // table; ringpub lists them in table order. Clients read the reply as a
    // map, so only the order differs.
    struct rp_buf value = RP_BUF_INIT;
    reply_map_len(c, matches);
    for (size_t i = 0; i < count && i < MAX_SETTINGS; i++) {
        if (!matched[i])
            continue;
        rp_buf_clear(&value);
        if (config_format(&c->srv->cfg, i, &value) != 0) {
            rp_buf_free(&value);
            client_close_now(c);
            return;
        }
        reply_bulk_cstr(c, config_name(i));
        reply_bulk(c, value.data != NULL ? value.data : "", value.len);
    }
    rp_buf_free(&value);
}

// Puts a changed configuration into effect where a value is cached outside
// struct config: the log level and every client's request parser limits.
static void apply_config_changes(struct server *srv, const struct config *old)
{
    const struct config *cfg = &srv->cfg;
    rp_log_min_level = (enum rp_log_level)cfg->loglevel;

    if (cfg->proto_max_bulk_len != old->proto_max_bulk_len) {
        struct rp_resp_limits limits;
        rp_resp_limits_default(&limits);
        limits.max_bulk_len = cfg->proto_max_bulk_len;
        for (struct client *c = srv->clients_head; c != NULL; c = c->next)
            rp_resp_request_parser_set_limits(c->parser, &limits);
    }

    if (cfg->maxclients != old->maxclients)
        server_adjust_open_files_limit(srv);
    // NOTE: hz is stored and reported, but the loop tick is fixed when the
    // loop is created, so a new hz takes effect at the next start.
}

static void cmd_config_set(struct client *c)
{
    if ((c->argc - 2) % 2 != 0) {
        reply_syntax_error(c);
        return;
    }
    size_t pairs = (c->argc - 2) / 2;
    int index[MAX_SET_PAIRS];

    // First every name, as redis does: unknown, immutable, protected or
    // repeated settings fail the whole call before any value is parsed.
    for (size_t i = 0; i < pairs; i++) {
        const struct rp_resp_str *name = &c->argv[2 + i * 2];
        int shown = (int)(name->len < 200 ? name->len : 200);
        int idx = i < MAX_SET_PAIRS ? config_find(name->ptr, name->len) : -1;
        if (idx < 0) {
            reply_errorf(c, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'", shown, name->ptr);
            return;
        }
        const char *why = NULL;
        if (config_flags((size_t)idx) & CONFIG_IMMUTABLE)
            why = "can't set immutable config";
        else if (config_flags((size_t)idx) & CONFIG_PROTECTED)
            why = "can't set protected config";
        for (size_t j = 0; j < i && why == NULL; j++) {
            if (index[j] == idx)
                why = "duplicate parameter";
        }
        if (why != NULL) {
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s", shown, name->ptr, why);
            return;
        }
        index[i] = idx;
    }

    // Then the values, into a copy, so that one bad value changes nothing.
    struct config updated;
    if (config_copy(&updated, &c->srv->cfg) != 0) {
        reply_error(c, "ERR out of memory");
        return;
    }
    for (size_t i = 0; i < pairs; i++) {
        const struct rp_resp_str *name = &c->argv[2 + i * 2];
        const struct rp_resp_str *value = &c->argv[3 + i * 2];
        char why[256];
        if (config_set(&updated, (size_t)index[i], value->ptr, value->len, why, sizeof why) != 0) {
            config_free(&updated);
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
                         (int)(name->len < 200 ? name->len : 200), name->ptr, why);
            return;
        }
    }

    struct config old = c->srv->cfg;
    c->srv->cfg = updated;
    apply_config_changes(c->srv, &old);
    config_free(&old);
    reply_ok(c);
}

static void cmd_config_resetstat(struct client *c)
{
    struct server_stats *st = &c->srv->stats;
    uint64_t start_time_ms = st->start_time_ms;
    uint64_t start_mono_ms = st->start_mono_ms;
    memset(st, 0, sizeof *st);
    st->start_time_ms = start_time_ms;
    st->start_mono_ms = start_mono_ms;
    reply_ok(c);
}

static void cmd_config_help(struct client *c)
{
    // redis 7.0's CONFIG HELP, without REWRITE, which ringpub lacks.
    static const char *const lines[] = {
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        NULL,
    };
    reply_help(c, lines);
}

// TODO: CONFIG REWRITE is missing: a changed setting is lost at restart
// unless the config file is edited by hand.
static const struct command config_subcommands[] = {
    {"get", -3, 0, cmd_config_get, NULL},
    {"set", -4, 0, cmd_config_set, NULL},
    {"resetstat", 2, 0, cmd_config_resetstat, NULL},
    {"help", 2, 0, cmd_config_help, NULL},
    {NULL, 0, 0, NULL, NULL},
};

const struct command rp_cmds_config[] = {
    {"config", -2, RP_CMD_CONTAINER, NULL, config_subcommands},
    {NULL, 0, 0, NULL, NULL},
};
