// SPDX-License-Identifier: BSD-3-Clause
// The command table and dispatch. commands_init builds the lookup index from
// every command file's rp_cmds_* table. client_run_command checks a parsed
// request (lookup, arity, authentication, RESP2 subscribed mode) in redis
// 7.0 processCommand's order and with its error texts, then runs it.

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "server/db.h"
#include "server/multi.h"
#include "server/server.h"

// Maximum length of a command name; longer names are unknown.
#define MAX_NAME_LEN 64

struct command_index {
    const struct command **cmds;   // sorted by name
    size_t count;
};

static const struct command *const *all_tables(size_t *count)
{
    static const struct command *const tables[] = {
        rp_cmds_conn, rp_cmds_pubsub, rp_cmds_config, rp_cmds_info, rp_cmds_client, rp_cmds_command,
        rp_cmds_keys, rp_cmds_stream, rp_cmds_multi, rp_cmds_server,
    };
    *count = sizeof tables / sizeof tables[0];
    return tables;
}

static int compare_commands(const void *a, const void *b)
{
    const struct command *ca = *(const struct command *const *)a;
    const struct command *cb = *(const struct command *const *)b;
    return strcmp(ca->name, cb->name);
}

int commands_init(struct server *srv)
{
    size_t ntables;
    const struct command *const *tables = all_tables(&ntables);

    size_t total = 0;
    for (size_t t = 0; t < ntables; t++) {
        for (const struct command *cmd = tables[t]; cmd->name != NULL; cmd++)
            total++;
    }

    struct command_index *index = rp_calloc(1, sizeof *index);
    if (index == NULL)
        return RP_ERR_NOMEM;
    index->cmds = rp_calloc(total ? total : 1, sizeof *index->cmds);
    if (index->cmds == NULL) {
        rp_free(index);
        return RP_ERR_NOMEM;
    }

    for (size_t t = 0; t < ntables; t++) {
        for (const struct command *cmd = tables[t]; cmd->name != NULL; cmd++)
            index->cmds[index->count++] = cmd;
    }
    qsort(index->cmds, index->count, sizeof *index->cmds, compare_commands);

    // Two files defining the same command is a build mistake. The lookup
    // would pick either one, so the first is kept and a warning logged.
    size_t kept = 0;
    for (size_t i = 0; i < index->count; i++) {
        if (kept > 0 && strcmp(index->cmds[kept - 1]->name, index->cmds[i]->name) == 0) {
            rp_log(RP_LOG_WARNING, "Command '%s' is defined twice; using the first definition", index->cmds[i]->name);
            continue;
        }
        index->cmds[kept++] = index->cmds[i];
    }
    index->count = kept;

    srv->command_index = index;
    return 0;
}

void commands_free(struct server *srv)
{
    struct command_index *index = srv->command_index;
    if (index == NULL)
        return;
    rp_free(index->cmds);
    rp_free(index);
    srv->command_index = NULL;
}

const struct command *command_lookup(const struct server *srv, const char *name, size_t len)
{
    const struct command_index *index = srv->command_index;
    if (index == NULL || len == 0 || len > MAX_NAME_LEN)
        return NULL;

    char key[MAX_NAME_LEN + 1];
    for (size_t i = 0; i < len; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    key[len] = '\0';
    // A NUL inside the name cannot match: table names have none.
    if (memchr(name, '\0', len) != NULL)
        return NULL;

    size_t lo = 0, hi = index->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(index->cmds[mid]->name, key);
        if (cmp == 0)
            return index->cmds[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct command *command_lookup_subcommand(const struct command *container, const char *name, size_t len)
{
    if (container->subcommands == NULL)
        return NULL;
    for (const struct command *sub = container->subcommands; sub->name != NULL; sub++) {
        if (strlen(sub->name) == len && strncasecmp(sub->name, name, len) == 0)
            return sub;
    }
    return NULL;
}

void command_foreach(const struct server *srv, void (*fn)(void *ctx, const struct command *cmd), void *ctx)
{
    const struct command_index *index = srv->command_index;
    if (index == NULL)
        return;
    for (size_t i = 0; i < index->count; i++)
        fn(ctx, index->cmds[i]);
}

// "ERR unknown command 'foo', with args beginning with: 'a' 'b' ". As redis
// 7.0, the name is cut at 128 bytes and arguments are added while the list
// is under 128 bytes, each cut to what is left of those 128.
static void reply_unknown_command(struct client *c)
{
    char args[160 + 8];
    size_t used = 0;
    args[0] = '\0';
    for (size_t i = 1; i < c->argc && used < 128; i++) {
        int room = (int)(128 - used);
        const struct rp_resp_str *a = &c->argv[i];
        int n = snprintf(args + used, sizeof args - used, "'%.*s' ", (int)(a->len < (size_t)room ? a->len : (size_t)room),
                         a->ptr);
        if (n < 0)
            break;
        used += (size_t)n < sizeof args - used ? (size_t)n : sizeof args - used - 1;
    }

    const struct rp_resp_str *name = &c->argv[0];
    reply_errorf(c, "ERR unknown command '%.*s', with args beginning with: %s", (int)(name->len < 128 ? name->len : 128),
                 name->ptr, args);
}

static int arity_ok(const struct command *cmd, size_t argc)
{
    if (cmd->arity >= 0)
        return argc == (size_t)cmd->arity;
    return argc >= (size_t)-cmd->arity;
}

// Runs for every command, so it only keeps pointers; CLIENT LIST formats them.
static void remember_last_command(struct client *c)
{
    c->last_cmd = c->cmd;
    c->last_parent = c->parent_cmd;
}

const char *client_last_command_name(const struct client *c, char *dst, size_t size)
{
    if (c->last_cmd == NULL)
        snprintf(dst, size, "NULL");
    else if (c->last_parent != NULL)
        snprintf(dst, size, "%s|%s", c->last_parent->name, c->last_cmd->name);
    else
        snprintf(dst, size, "%s", c->last_cmd->name);
    return dst;
}

static int denies_on_oom(const struct client *c, const struct command *cmd)
{
    if (cmd->flags & RP_CMD_DENYOOM)
        return 1;
    if (multi_is_exec(cmd))
        return multi_has_denyoom(c);
    if (!(c->flags & RP_CLIENT_MULTI))
        return 0;
    return c->parent_cmd != NULL || (strcmp(cmd->name, "discard") != 0 && strcmp(cmd->name, "quit") != 0 &&
                                     strcmp(cmd->name, "reset") != 0);
}

// Looks the command up and checks it; returns the command to run, or NULL
// after replying with the error.
static const struct command *check_command(struct client *c)
{
    const struct command *cmd = command_lookup(c->srv, c->argv[0].ptr, c->argv[0].len);
    if (cmd == NULL) {
        reply_unknown_command(c);
        return NULL;
    }
    c->cmd = cmd;

    // A container with a handler of its own runs it when given no
    // subcommand (COMMAND), as redis 7.0 does.
    if (cmd->subcommands != NULL && !(c->argc < 2 && cmd->fn != NULL)) {
        // A container alone (CLIENT) is an arity error for the container.
        if (c->argc < 2) {
            remember_last_command(c);
            reply_wrong_arity(c);
            return NULL;
        }
        const struct command *sub = command_lookup_subcommand(cmd, c->argv[1].ptr, c->argv[1].len);
        if (sub == NULL) {
            remember_last_command(c);
            reply_unknown_subcommand(c);
            return NULL;
        }
        c->parent_cmd = cmd;
        c->cmd = cmd = sub;
    }
    remember_last_command(c);

    if (!arity_ok(cmd, c->argc)) {
        reply_wrong_arity(c);
        return NULL;
    }

    if (c->srv->cfg.requirepass != NULL && !c->authenticated && !(cmd->flags & RP_CMD_NO_AUTH)) {
        reply_error(c, "NOAUTH Authentication required.");
        return NULL;
    }

    if ((c->flags & RP_CLIENT_MULTI) && (cmd->flags & RP_CMD_NO_MULTI)) {
        reply_error(c, "ERR Command not allowed inside a transaction");
        return NULL;
    }

    // maxmemory with the noeviction policy: commands that may grow memory
    // are rejected once over the limit, after the auth check as in redis.
    // Inside MULTI every command but EXEC, DISCARD, QUIT and RESET counts as
    // growing memory (the queue grows), and EXEC counts when it queued one.
    if (c->srv->cfg.maxmemory != 0 && denies_on_oom(c, cmd) && db_used_memory(c->srv) > c->srv->cfg.maxmemory) {
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
        return NULL;
    }

    if (c->proto == 2 && client_in_pubsub_mode(c) && !(cmd->flags & RP_CMD_PUBSUB_OK)) {
        char name[80];
        if (c->parent_cmd != NULL)
            snprintf(name, sizeof name, "%s|%s", c->parent_cmd->name, cmd->name);
        else
            snprintf(name, sizeof name, "%s", cmd->name);
        reply_errorf(c,
                     "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                     "allowed in this context",
                     name);
        return NULL;
    }

    if (cmd->fn == NULL) {
        // A container listed without a handler for this form: a table bug.
        reply_unknown_subcommand(c);
        return NULL;
    }
    return cmd;
}

void client_run_command(struct client *c)
{
    c->cmd = NULL;
    c->parent_cmd = NULL;
    c->last_interaction_ms = rp_net_loop_now_ms(c->srv->loop);

    // A command rejected inside MULTI makes EXEC fail. EXEC rejected itself
    // discards the transaction with the error in an EXECABORT, as redis 7.0.
    size_t reply_len = c->reply.len;
    const struct command *cmd = check_command(c);
    if (cmd == NULL) {
        if (multi_is_exec(c->cmd) && c->parent_cmd == NULL)
            multi_abort_exec(c, reply_len);
        else
            multi_flag_error(c);
    } else if (!multi_queue_command(c, cmd)) {
        c->commands_processed++;
        c->srv->stats.total_commands_processed++;
        cmd->fn(c);
    }

    // CLIENT REPLY SKIP silences the reply of the command after it, as redis
    // resetClient: drop SKIP after each command, and arm it when the command
    // just run asked for it.
    c->flags &= ~(uint32_t)RP_CLIENT_REPLY_SKIP;
    if (c->flags & RP_CLIENT_REPLY_SKIP_NEXT) {
        c->flags |= RP_CLIENT_REPLY_SKIP;
        c->flags &= ~(uint32_t)RP_CLIENT_REPLY_SKIP_NEXT;
    }
    c->cmd = NULL;
    c->parent_cmd = NULL;
}
