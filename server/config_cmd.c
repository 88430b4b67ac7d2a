// SPDX-License-Identifier: BSD-3-Clause
// The CONFIG command: GET with glob patterns (several at once, as redis 7.0),
// SET with several name/value pairs applied all or nothing, RESETSTAT,
// REWRITE and HELP. Parsing and printing values is config.c's; this file checks the
// request, applies the change, and runs what a changed setting needs now.

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ringpub/alloc.h"
#include "server/server.h"

// Upper bound of the settings table (config_count() is below it), for the
// per-setting arrays below. CONFIG SET takes at most this many pairs: each
// setting may appear once, so a longer call always has a duplicate or an
// unknown name.
#define MAX_SETTINGS 64
#define MAX_SET_PAIRS MAX_SETTINGS

static int has_glob_chars(const struct rp_resp_str *arg)
{
    for (size_t i = 0; i < arg->len; i++) {
        char ch = arg->ptr[i];
        if (ch == '*' || ch == '?' || ch == '[' || ch == '\\')
            return 1;
    }
    return 0;
}

static void cmd_config_get(struct client *c)
{
    size_t count = config_count();
    // The name each matched setting is listed under: as redis 7.0, an exact
    // name is echoed as the client wrote it (CONFIG GET MAXCLIENTS lists
    // "MAXCLIENTS"), a pattern match under the setting's own name.
    const struct rp_resp_str *shown[MAX_SETTINGS] = {NULL};
    unsigned char matched[MAX_SETTINGS] = {0};
    size_t matches = 0;

    // A setting matched by several arguments is listed once, under the first.
    for (size_t j = 2; j < c->argc; j++) {
        const struct rp_resp_str *arg = &c->argv[j];
        if (!has_glob_chars(arg)) {
            int idx = config_find(arg->ptr, arg->len);
            if (idx >= 0 && idx < MAX_SETTINGS && !matched[idx]) {
                matched[idx] = 1;
                shown[idx] = arg;
                matches++;
            }
            continue;
        }
        for (size_t i = 0; i < count && i < MAX_SETTINGS; i++) {
            const char *name = config_name(i);
            if (!matched[i] && rp_ps_glob_match(arg->ptr, arg->len, name, strlen(name), 1)) {
                matched[i] = 1;
                matches++;
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
        if (shown[i] != NULL)
            reply_bulk(c, shown[i]->ptr, shown[i]->len);
        else
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
    if (cfg->hz != old->hz && srv->loop != NULL)
        rp_net_loop_set_tick(srv->loop, server_tick_ms(cfg->hz));
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
    // redis 7.0's CONFIG HELP text, byte for byte.
    static const char *const lines[] = {
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        NULL,
    };
    reply_help(c, lines);
}

// Marks where CONFIG REWRITE appends settings the file did not have.
#define REWRITE_MARKER "# Settings added by CONFIG REWRITE"

// Returns the index of the setting a config file line sets, or -1 for
// comments, blank lines and unknown names.
static int line_setting(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t start = i;
    while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
        i++;
    if (i == start || line[start] == '#')
        return -1;
    return config_find(line + start, i - start);
}

static int config_is_obuf_limit(size_t index)
{
    return strcmp(config_name(index), "client-output-buffer-limit") == 0;
}

// Builds the new file text. The old lines stay in place, except that each
// setting's first line gets its current value and its repeats are dropped.
// client-output-buffer-limit is per class, as in redis 7.0: its old lines
// take the normal, replica and pubsub lines in turn, whatever class they
// named, and classes left over are appended only when not the defaults.
// Comments and unknown lines are kept. After the marker come the settings
// the file lacked whose value is not the default, and dir, which redis
// always writes.
static int build_rewrite(const struct config *cfg, const char *old, size_t old_len, struct rp_buf *out)
{
    size_t count = config_count();
    unsigned char written[MAX_SETTINGS] = {0};
    int obuf_classes_written = 0;
    int has_marker = 0;
    int err = 0;

    size_t pos = 0;
    while (err == 0 && pos < old_len) {
        const char *nl = memchr(old + pos, '\n', old_len - pos);
        size_t len = nl != NULL ? (size_t)(nl - (old + pos)) + 1 : old_len - pos;
        const char *line = old + pos;
        pos += len;

        int idx = line_setting(line, len);
        if (idx < 0 || (size_t)idx >= MAX_SETTINGS) {
            if (len >= strlen(REWRITE_MARKER) && strncmp(line, REWRITE_MARKER, strlen(REWRITE_MARKER)) == 0)
                has_marker = 1;
            err = rp_buf_append(out, line, len);
            if (err == 0 && nl == NULL)
                err = rp_buf_append(out, "\n", 1);
            continue;
        }
        if (config_is_obuf_limit((size_t)idx)) {
            if (obuf_classes_written < CONFIG_OBUF_CLASSES)
                err = config_format_obuf_line(cfg, obuf_classes_written++, 1, out);
            continue;
        }
        if (!written[idx])
            err = config_format_lines(cfg, (size_t)idx, out);
        written[idx] = 1;
    }

    for (size_t i = 0; err == 0 && i < count && i < MAX_SETTINGS; i++) {
        if (written[i] || (config_is_default(cfg, i) && strcmp(config_name(i), "dir") != 0))
            continue;

        // The classes the file's lines did not take, those not at their defaults.
        struct rp_buf lines = RP_BUF_INIT;
        if (config_is_obuf_limit(i)) {
            for (int k = obuf_classes_written; err == 0 && k < CONFIG_OBUF_CLASSES; k++)
                err = config_format_obuf_line(cfg, k, 0, &lines);
        } else {
            err = config_format_lines(cfg, i, &lines);
        }
        if (err == 0 && lines.len > 0 && !has_marker) {
            err = rp_buf_append(out, "\n" REWRITE_MARKER "\n", strlen(REWRITE_MARKER) + 2);
            has_marker = 1;
        }
        if (err == 0 && lines.len > 0)
            err = rp_buf_append(out, lines.data, lines.len);
        rp_buf_free(&lines);
    }
    return err;
}

// Reads the whole file into out. A missing file reads as empty, as redis
// then writes a new one. Returns 0 or a negative errno.
static int read_file(const char *path, struct rp_buf *out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? 0 : -errno;
    char chunk[4096];
    size_t n;
    int err = 0;
    while (err == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        err = rp_buf_append(out, chunk, n) != 0 ? -ENOMEM : 0;
    if (err == 0 && ferror(f))
        err = -EIO;
    fclose(f);
    return err;
}

// Writes data to path through a temporary file in the same directory and a
// rename, so that a crash leaves the old file or the new one, never half.
static int replace_file(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    int n = snprintf(tmp, sizeof tmp, "%s.rewrite-%d", path, (int)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -ENAMETOOLONG;

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int saved = errno;
            close(fd);
            unlink(tmp);
            return -saved;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int saved = errno;
        unlink(tmp);
        return -saved;
    }
    if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        return -saved;
    }
    return 0;
}

static void cmd_config_rewrite(struct client *c)
{
    const char *path = c->srv->cfg.config_file;
    if (path == NULL) {
        reply_error(c, "ERR The server is running without a config file");
        return;
    }

    struct rp_buf old = RP_BUF_INIT, updated = RP_BUF_INIT;
    int err = read_file(path, &old);
    if (err == 0)
        err = build_rewrite(&c->srv->cfg, old.data != NULL ? old.data : "", old.len, &updated) != 0 ? -ENOMEM : 0;
    if (err == 0)
        err = replace_file(path, updated.data != NULL ? updated.data : "", updated.len);
    rp_buf_free(&old);
    rp_buf_free(&updated);

    if (err != 0) {
        rp_log(RP_LOG_WARNING, "CONFIG REWRITE of %s failed: %s", path, strerror(-err));
        reply_errorf(c, "ERR Rewriting config file: %s", strerror(-err));
        return;
    }
    rp_log(RP_LOG_NOTICE, "CONFIG REWRITE wrote the current settings to %s", path);
    reply_ok(c);
}

static const struct command config_subcommands[] = {
    {"get", -3, 0, cmd_config_get, NULL},
    {"set", -4, 0, cmd_config_set, NULL},
    {"resetstat", 2, 0, cmd_config_resetstat, NULL},
    {"rewrite", 2, 0, cmd_config_rewrite, NULL},
    {"help", 2, 0, cmd_config_help, NULL},
    {NULL, 0, 0, NULL, NULL},
};

const struct command rp_cmds_config[] = {
    {"config", -2, RP_CMD_CONTAINER, NULL, config_subcommands},
    {NULL, 0, 0, NULL, NULL},
};
