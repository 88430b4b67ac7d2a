// SPDX-License-Identifier: BSD-3-Clause
// The settings table and its three readers: the redis.conf-syntax config
// file, "--name value" command-line options, and CONFIG GET/SET. One table
// row per setting gives its name, type, limits, flags and default, so the
// three agree on what exists and how values parse and print. The reason
// texts are redis 7.0's, because clients and tools match on them.

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "server/config.h"
#include "server/server.h"

enum config_type {
    CFG_BOOL,          // "yes" / "no", an int field
    CFG_INT,           // an int field
    CFG_UINT,          // an unsigned field
    CFG_MEMORY,        // a uint64_t field; accepts 1k, 1kb, 1m, 1mb, 1g, 1gb
    CFG_OCTAL,         // an unsigned field, written and printed in octal
    CFG_STRING,        // a char * field, NULL when empty
    CFG_ENUM,          // an int field holding the index of the name
    CFG_BIND,          // bind[] and bind_count
    CFG_OBUF_LIMIT,    // client-output-buffer-limit: three classes
    CFG_SAVE,          // save: pairs of integers, stored as text
};

struct config_entry {
    const char *name;
    enum config_type type;
    unsigned flags;                    // CONFIG_*
    size_t offset;                     // of the field in struct config
    int64_t min, max;                  // CFG_INT, CFG_UINT, CFG_MEMORY, CFG_OCTAL
    const char *const *enum_names;     // CFG_ENUM, NULL-terminated
    const char *default_value;         // as written in a config file
};

static const char *const loglevel_names[] = {"debug", "verbose", "notice", "warning", NULL};
// The order matches enum rp_net_backend.
static const char *const io_backend_names[] = {"auto", "uring", "epoll", NULL};
// The order matches enum rp_appendfsync and redis 7.0's error text listing them.
static const char *const appendfsync_names[] = {"everysec", "always", "no", NULL};
// ringpub evicts nothing: writes that need memory fail over maxmemory.
static const char *const maxmemory_policy_names[] = {"noeviction", NULL};

#define FIELD(f) offsetof(struct config, f)
#define MB (1024LL * 1024)

// NOTE: bind and port are mutable in redis 7.0 (CONFIG SET re-listens), but
// rp_net has no call to close one listener, so ringpub rejects them as
// immutable until it does.
static const struct config_entry config_table[] = {
    {"bind", CFG_BIND, CONFIG_IMMUTABLE | CONFIG_MULTI_ARG, 0, 0, 0, NULL, "127.0.0.1 -::1"},
    {"port", CFG_INT, CONFIG_IMMUTABLE, FIELD(port), 0, 65535, NULL, "6379"},
    {"unixsocket", CFG_STRING, CONFIG_IMMUTABLE, FIELD(unixsocket), 0, 0, NULL, ""},
    {"unixsocketperm", CFG_OCTAL, CONFIG_IMMUTABLE, FIELD(unixsocketperm), 0, 0777, NULL, "0"},
    {"tcp-backlog", CFG_INT, CONFIG_IMMUTABLE, FIELD(tcp_backlog), 0, INT_MAX, NULL, "511"},
    {"io-backend", CFG_ENUM, CONFIG_IMMUTABLE, FIELD(io_backend), 0, 0, io_backend_names, "auto"},
    {"maxclients", CFG_UINT, 0, FIELD(maxclients), 1, UINT_MAX, NULL, "10000"},
    {"timeout", CFG_INT, 0, FIELD(timeout), 0, INT_MAX, NULL, "0"},
    {"tcp-keepalive", CFG_INT, 0, FIELD(tcp_keepalive), 0, INT_MAX, NULL, "300"},
    {"proto-max-bulk-len", CFG_MEMORY, 0, FIELD(proto_max_bulk_len), MB, INT64_MAX, NULL, "512mb"},
    {"client-query-buffer-limit", CFG_MEMORY, 0, FIELD(client_query_buffer_limit), MB, INT64_MAX, NULL, "1gb"},
    {"client-output-buffer-limit", CFG_OBUF_LIMIT, CONFIG_MULTI_ARG, 0, 0, 0, NULL,
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
    {"requirepass", CFG_STRING, 0, FIELD(requirepass), 0, 0, NULL, ""},
    {"databases", CFG_INT, CONFIG_IMMUTABLE, FIELD(databases), 1, INT_MAX, NULL, "16"},
    {"hz", CFG_INT, 0, FIELD(hz), 0, INT_MAX, NULL, "10"},
    {"loglevel", CFG_ENUM, 0, FIELD(loglevel), 0, 0, loglevel_names, "notice"},
    {"logfile", CFG_STRING, CONFIG_IMMUTABLE, FIELD(logfile), 0, 0, NULL, ""},
    {"pidfile", CFG_STRING, CONFIG_IMMUTABLE, FIELD(pidfile), 0, 0, NULL, ""},
    {"daemonize", CFG_BOOL, CONFIG_IMMUTABLE, FIELD(daemonize), 0, 0, NULL, "no"},
    {"dir", CFG_STRING, CONFIG_PROTECTED, FIELD(dir), 0, 0, NULL, ""},
    {"save", CFG_SAVE, CONFIG_MULTI_ARG, FIELD(save), 0, 0, NULL, ""},
    {"appendonly", CFG_BOOL, 0, FIELD(appendonly), 0, 0, NULL, "no"},
    {"appendfilename", CFG_STRING, CONFIG_IMMUTABLE, FIELD(appendfilename), 0, 0, NULL, "appendonly.aof"},
    {"appendfsync", CFG_ENUM, 0, FIELD(appendfsync), 0, 0, appendfsync_names, "everysec"},
    {"aof-load-truncated", CFG_BOOL, 0, FIELD(aof_load_truncated), 0, 0, NULL, "yes"},
    {"auto-aof-rewrite-percentage", CFG_INT, 0, FIELD(auto_aof_rewrite_percentage), 0, INT_MAX, NULL, "100"},
    {"auto-aof-rewrite-min-size", CFG_MEMORY, 0, FIELD(auto_aof_rewrite_min_size), 0, INT64_MAX, NULL, "64mb"},
    {"maxmemory", CFG_MEMORY, 0, FIELD(maxmemory), 0, INT64_MAX, NULL, "0"},
    {"maxmemory-policy", CFG_ENUM, 0, FIELD(maxmemory_policy), 0, 0, maxmemory_policy_names, "noeviction"},
};

#define CONFIG_COUNT (sizeof config_table / sizeof config_table[0])

size_t config_count(void)
{
    return CONFIG_COUNT;
}

const char *config_name(size_t index)
{
    return index < CONFIG_COUNT ? config_table[index].name : NULL;
}

unsigned config_flags(size_t index)
{
    return index < CONFIG_COUNT ? config_table[index].flags : 0;
}

int config_find(const char *name, size_t len)
{
    for (size_t i = 0; i < CONFIG_COUNT; i++) {
        const char *n = config_table[i].name;
        if (strlen(n) == len && strncasecmp(n, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static void *field_ptr(struct config *cfg, const struct config_entry *e)
{
    return (char *)cfg + e->offset;
}

static const void *field_cptr(const struct config *cfg, const struct config_entry *e)
{
    return (const char *)cfg + e->offset;
}

static char *dup_string(const char *s, size_t len)
{
    char *p = rp_malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void set_error(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t err_size, const char *fmt, ...)
{
    if (err_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

// Parses a memory value as redis memtoull: digits and an optional unit
// (b, k, kb, m, mb, g, gb, case-insensitive). k, m and g are powers of 1000,
// kb, mb and gb powers of 1024. Returns 0 or -1.
static int parse_memory(const char *s, size_t len, uint64_t *out)
{
    size_t digits = 0;
    while (digits < len && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0)
        return -1;

    char unit[3];
    size_t unit_len = len - digits;
    if (unit_len > 2)
        return -1;
    for (size_t i = 0; i < unit_len; i++)
        unit[i] = (char)tolower((unsigned char)s[digits + i]);
    unit[unit_len] = '\0';

    uint64_t mul;
    if (unit_len == 0 || strcmp(unit, "b") == 0)
        mul = 1;
    else if (strcmp(unit, "k") == 0)
        mul = 1000;
    else if (strcmp(unit, "kb") == 0)
        mul = 1024;
    else if (strcmp(unit, "m") == 0)
        mul = 1000 * 1000;
    else if (strcmp(unit, "mb") == 0)
        mul = 1024 * 1024;
    else if (strcmp(unit, "g") == 0)
        mul = 1000ULL * 1000 * 1000;
    else if (strcmp(unit, "gb") == 0)
        mul = 1024ULL * 1024 * 1024;
    else
        return -1;

    uint64_t v = 0;
    for (size_t i = 0; i < digits; i++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    if (v != 0 && mul > UINT64_MAX / v)
        return -1;
    *out = v * mul;
    return 0;
}

// Finds the next space-separated word of value[0..len) from *pos. Returns 1
// and sets word (pointing into value), or 0 when no word is left.
static int next_word(const char *value, size_t len, size_t *pos, struct rp_resp_str *word)
{
    size_t i = *pos;
    while (i < len && isspace((unsigned char)value[i]))
        i++;
    if (i == len) {
        *pos = i;
        return 0;
    }
    size_t start = i;
    while (i < len && !isspace((unsigned char)value[i]))
        i++;
    word->ptr = value + start;
    word->len = i - start;
    *pos = i;
    return 1;
}

// Splits value at spaces into at most max words. Returns the count, or -1
// when there are more. Words point into value and are not NUL-terminated.
static int split_words(const char *value, size_t len, struct rp_resp_str *words, int max)
{
    int n = 0;
    size_t pos = 0;
    struct rp_resp_str word;
    while (next_word(value, len, &pos, &word)) {
        if (n == max)
            return -1;
        words[n++] = word;
    }
    return n;
}

static int set_integer(struct config *cfg, const struct config_entry *e, const char *value, size_t len, char *err,
                       size_t err_size)
{
    int64_t v;
    if (e->type == CFG_MEMORY) {
        uint64_t u;
        if (parse_memory(value, len, &u) != 0 || u > INT64_MAX) {
            set_error(err, err_size, "argument must be a memory value");
            return -1;
        }
        v = (int64_t)u;
    } else if (e->type == CFG_OCTAL) {
        // Octal digits only, as the values written for file modes (700, 0770).
        if (len == 0 || len > 12) {
            set_error(err, err_size, "argument couldn't be parsed into an integer");
            return -1;
        }
        v = 0;
        for (size_t i = 0; i < len; i++) {
            if (value[i] < '0' || value[i] > '7') {
                set_error(err, err_size, "argument couldn't be parsed into an integer");
                return -1;
            }
            v = v * 8 + (value[i] - '0');
        }
    } else if (parse_int64(value, len, &v) != 0) {
        set_error(err, err_size, "argument couldn't be parsed into an integer");
        return -1;
    }

    if (v < e->min || v > e->max) {
        if (e->type == CFG_OCTAL)
            set_error(err, err_size, "argument must be between %llo and %llo inclusive", (unsigned long long)e->min,
                      (unsigned long long)e->max);
        else
            set_error(err, err_size, "argument must be between %lld and %lld inclusive", (long long)e->min,
                      (long long)e->max);
        return -1;
    }

    void *field = field_ptr(cfg, e);
    switch (e->type) {
    case CFG_INT:
        // redis updateHZ clamps hz to 1..500; CONFIG GET then shows the clamped value.
        if (strcmp(e->name, "hz") == 0 && v < 1)
            v = 1;
        if (strcmp(e->name, "hz") == 0 && v > 500)
            v = 500;
        *(int *)field = (int)v;
        break;
    case CFG_UINT:
    case CFG_OCTAL:
        *(unsigned *)field = (unsigned)v;
        break;
    default:
        *(uint64_t *)field = (uint64_t)v;
        break;
    }
    return 0;
}

static int set_bind(struct config *cfg, const char *value, size_t len, char *err, size_t err_size)
{
    struct rp_resp_str words[RP_CONFIG_MAX_BIND];
    int n = split_words(value, len, words, RP_CONFIG_MAX_BIND);
    if (n < 0) {
        set_error(err, err_size, "Too many bind addresses specified.");
        return -1;
    }

    char *copies[RP_CONFIG_MAX_BIND] = {NULL};
    for (int i = 0; i < n; i++) {
        copies[i] = dup_string(words[i].ptr, words[i].len);
        if (copies[i] == NULL) {
            for (int j = 0; j < i; j++)
                rp_free(copies[j]);
            set_error(err, err_size, "out of memory");
            return -1;
        }
    }

    for (int i = 0; i < cfg->bind_count; i++)
        rp_free(cfg->bind[i]);
    memcpy(cfg->bind, copies, sizeof copies);
    cfg->bind_count = n;
    return 0;
}

static int set_obuf_limit(struct config *cfg, const char *value, size_t len, char *err, size_t err_size)
{
    // Each class takes four words; 3 classes may be given in one value.
    struct rp_resp_str words[12];
    int n = split_words(value, len, words, 12);
    if (n < 0 || n % 4 != 0) {
        set_error(err, err_size, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }

    // Parse every class first, so that an error leaves all of them unchanged.
    uint64_t hard[4], soft[4];
    int64_t seconds[4];
    int class_of[4];
    for (int i = 0; i < n / 4; i++) {
        const struct rp_resp_str *w = &words[i * 4];
        if (arg_is(&w[0], "normal"))
            class_of[i] = 0;
        else if (arg_is(&w[0], "slave") || arg_is(&w[0], "replica"))
            class_of[i] = 1;
        else if (arg_is(&w[0], "pubsub"))
            class_of[i] = 2;
        else {
            set_error(err, err_size, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        if (parse_memory(w[1].ptr, w[1].len, &hard[i]) != 0 || parse_memory(w[2].ptr, w[2].len, &soft[i]) != 0 ||
            parse_int64(w[3].ptr, w[3].len, &seconds[i]) != 0 || seconds[i] < 0 || seconds[i] > INT_MAX) {
            set_error(err, err_size, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            return -1;
        }
    }

    for (int i = 0; i < n / 4; i++) {
        switch (class_of[i]) {
        case 0:
            cfg->normal_hard_limit = hard[i];
            cfg->normal_soft_limit = soft[i];
            cfg->normal_soft_seconds = (int)seconds[i];
            break;
        case 1:
            cfg->replica_hard_limit = hard[i];
            cfg->replica_soft_limit = soft[i];
            cfg->replica_soft_seconds = (int)seconds[i];
            break;
        default:
            cfg->pubsub_hard_limit = hard[i];
            cfg->pubsub_soft_limit = soft[i];
            cfg->pubsub_soft_seconds = (int)seconds[i];
            break;
        }
    }
    return 0;
}

static int set_save(struct config *cfg, const char *value, size_t len, char *err, size_t err_size)
{
    // "seconds changes" pairs separated by single spaces: redis 7.0 splits
    // the value at each space and rejects the empty word that a double or
    // trailing space makes. "" means no snapshots, and since ringpub never
    // takes any, the checked text is all that is kept.
    int words = 0;
    size_t start = 0;
    while (len > 0 && start <= len) {
        const char *space = memchr(value + start, ' ', len - start);
        size_t end = space != NULL ? (size_t)(space - value) : len;
        int64_t v;
        if (parse_int64(value + start, end - start, &v) != 0 || v < 0) {
            set_error(err, err_size, "Invalid save parameters");
            return -1;
        }
        words++;
        start = end + 1;
    }
    if (words % 2 != 0) {
        set_error(err, err_size, "Invalid save parameters");
        return -1;
    }

    char *copy = dup_string(value, len);
    if (copy == NULL) {
        set_error(err, err_size, "out of memory");
        return -1;
    }
    rp_free(cfg->save);
    cfg->save = copy;
    return 0;
}

int config_set(struct config *cfg, size_t index, const char *value, size_t len, char *err, size_t err_size)
{
    if (index >= CONFIG_COUNT) {
        set_error(err, err_size, "unknown setting");
        return -1;
    }
    const struct config_entry *e = &config_table[index];

    switch (e->type) {
    case CFG_BOOL: {
        struct rp_resp_str arg = {value, len};
        int v;
        if (arg_is(&arg, "yes"))
            v = 1;
        else if (arg_is(&arg, "no"))
            v = 0;
        else {
            set_error(err, err_size, "argument must be 'yes' or 'no'");
            return -1;
        }
        if (v && strcmp(e->name, "daemonize") == 0) {
            set_error(err, err_size, "ringpub-server does not daemonize: run it in the foreground under a supervisor");
            return -1;
        }
        *(int *)field_ptr(cfg, e) = v;
        return 0;
    }

    case CFG_INT:
    case CFG_UINT:
    case CFG_MEMORY:
    case CFG_OCTAL:
        return set_integer(cfg, e, value, len, err, err_size);

    case CFG_STRING: {
        if (strcmp(e->name, "dir") == 0 && len == 0) {
            set_error(err, err_size, "dir must not be empty");
            return -1;
        }
        char *copy = NULL;
        if (len > 0) {
            copy = dup_string(value, len);
            if (copy == NULL) {
                set_error(err, err_size, "out of memory");
                return -1;
            }
        }
        char **field = field_ptr(cfg, e);
        rp_free(*field);
        *field = copy;
        return 0;
    }

    case CFG_ENUM: {
        struct rp_resp_str arg = {value, len};
        for (int i = 0; e->enum_names[i] != NULL; i++) {
            if (arg_is(&arg, e->enum_names[i])) {
                *(int *)field_ptr(cfg, e) = i;
                return 0;
            }
        }
        // "argument(s) must be one of the following: a, b, c", as redis 7.0.
        size_t off = (size_t)snprintf(err, err_size, "argument(s) must be one of the following: ");
        for (int i = 0; e->enum_names[i] != NULL && off < err_size; i++)
            off += (size_t)snprintf(err + off, err_size - off, "%s%s", i ? ", " : "", e->enum_names[i]);
        return -1;
    }

    case CFG_BIND:
        return set_bind(cfg, value, len, err, err_size);
    case CFG_OBUF_LIMIT:
        return set_obuf_limit(cfg, value, len, err, err_size);
    case CFG_SAVE:
        return set_save(cfg, value, len, err, err_size);
    }
    return -1;
}

static int append_str(struct rp_buf *out, const char *s)
{
    return rp_buf_append(out, s, strlen(s));
}

static int append_fmt(struct rp_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int append_fmt(struct rp_buf *out, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return RP_ERR_INVAL;
    return rp_buf_append(out, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

int config_format(const struct config *cfg, size_t index, struct rp_buf *out)
{
    if (index >= CONFIG_COUNT)
        return RP_ERR_INVAL;
    const struct config_entry *e = &config_table[index];
    const void *field = field_cptr(cfg, e);

    switch (e->type) {
    case CFG_BOOL:
        return append_str(out, *(const int *)field ? "yes" : "no");
    case CFG_INT:
        return append_fmt(out, "%d", *(const int *)field);
    case CFG_UINT:
        return append_fmt(out, "%u", *(const unsigned *)field);
    case CFG_OCTAL:
        return append_fmt(out, "%o", *(const unsigned *)field);
    case CFG_MEMORY:
        return append_fmt(out, "%llu", (unsigned long long)*(const uint64_t *)field);
    case CFG_STRING:
    case CFG_SAVE: {
        const char *s = *(char *const *)field;
        return s != NULL ? append_str(out, s) : 0;
    }
    case CFG_ENUM:
        return append_str(out, e->enum_names[*(const int *)field]);
    case CFG_BIND:
        for (int i = 0; i < cfg->bind_count; i++) {
            int err = append_fmt(out, "%s%s", i ? " " : "", cfg->bind[i]);
            if (err)
                return err;
        }
        return 0;
    case CFG_OBUF_LIMIT:
        return append_fmt(out, "normal %llu %llu %d slave %llu %llu %d pubsub %llu %llu %d",
                          (unsigned long long)cfg->normal_hard_limit, (unsigned long long)cfg->normal_soft_limit,
                          cfg->normal_soft_seconds, (unsigned long long)cfg->replica_hard_limit,
                          (unsigned long long)cfg->replica_soft_limit, cfg->replica_soft_seconds,
                          (unsigned long long)cfg->pubsub_hard_limit, (unsigned long long)cfg->pubsub_soft_limit,
                          cfg->pubsub_soft_seconds);
    }
    return RP_ERR_INVAL;
}

// Appends a memory size as redis CONFIG REWRITE writes it: in gb, mb or kb
// when the size is a whole number of them, else in bytes.
static int append_memory(struct rp_buf *out, uint64_t bytes)
{
    static const struct {
        uint64_t unit;
        const char *suffix;
    } units[] = {{1024ULL * 1024 * 1024, "gb"}, {1024 * 1024, "mb"}, {1024, "kb"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (bytes != 0 && bytes % units[i].unit == 0)
            return append_fmt(out, "%llu%s", (unsigned long long)(bytes / units[i].unit), units[i].suffix);
    }
    return append_fmt(out, "%llu", (unsigned long long)bytes);
}

// Appends s in double quotes, escaping what the config file reader
// unescapes, so that any string reads back unchanged.
static int append_quoted(struct rp_buf *out, const char *s)
{
    int err = rp_buf_append(out, "\"", 1);
    for (; err == 0 && *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '\\': err = append_str(out, "\\\\"); break;
        case '"': err = append_str(out, "\\\""); break;
        case '\n': err = append_str(out, "\\n"); break;
        case '\r': err = append_str(out, "\\r"); break;
        case '\t': err = append_str(out, "\\t"); break;
        default:
            if (isprint(ch))
                err = rp_buf_append(out, s, 1);
            else
                err = append_fmt(out, "\\x%02x", ch);
            break;
        }
    }
    return err != 0 ? err : rp_buf_append(out, "\"", 1);
}

// Appends one "client-output-buffer-limit <class> ..." line, unless the
// class has its default limits and force is 0.
static int append_obuf_line(struct rp_buf *out, const char *class_name, uint64_t hard, uint64_t soft, int seconds,
                            uint64_t default_hard, uint64_t default_soft, int default_seconds, int force)
{
    if (!force && hard == default_hard && soft == default_soft && seconds == default_seconds)
        return 0;
    int err = append_fmt(out, "client-output-buffer-limit %s ", class_name);
    if (err == 0)
        err = append_memory(out, hard);
    if (err == 0)
        err = rp_buf_append(out, " ", 1);
    if (err == 0)
        err = append_memory(out, soft);
    if (err == 0)
        err = append_fmt(out, " %d\n", seconds);
    return err;
}

int config_format_obuf_line(const struct config *cfg, int class_index, int force, struct rp_buf *out)
{
    struct config defaults;
    if (class_index < 0 || class_index >= CONFIG_OBUF_CLASSES)
        return RP_ERR_INVAL;
    if (config_init(&defaults) != 0)
        return RP_ERR_NOMEM;

    // redis 7.0 writes the replica class as "replica" and reads "slave" too.
    int err;
    if (class_index == 0)
        err = append_obuf_line(out, "normal", cfg->normal_hard_limit, cfg->normal_soft_limit, cfg->normal_soft_seconds,
                               defaults.normal_hard_limit, defaults.normal_soft_limit, defaults.normal_soft_seconds,
                               force);
    else if (class_index == 1)
        err = append_obuf_line(out, "replica", cfg->replica_hard_limit, cfg->replica_soft_limit,
                               cfg->replica_soft_seconds, defaults.replica_hard_limit, defaults.replica_soft_limit,
                               defaults.replica_soft_seconds, force);
    else
        err = append_obuf_line(out, "pubsub", cfg->pubsub_hard_limit, cfg->pubsub_soft_limit, cfg->pubsub_soft_seconds,
                               defaults.pubsub_hard_limit, defaults.pubsub_soft_limit, defaults.pubsub_soft_seconds,
                               force);
    config_free(&defaults);
    return err;
}

int config_format_lines(const struct config *cfg, size_t index, struct rp_buf *out)
{
    if (index >= CONFIG_COUNT)
        return RP_ERR_INVAL;
    const struct config_entry *e = &config_table[index];
    const void *field = field_cptr(cfg, e);
    int err = 0;

    switch (e->type) {
    case CFG_OBUF_LIMIT:
        for (int i = 0; err == 0 && i < CONFIG_OBUF_CLASSES; i++)
            err = config_format_obuf_line(cfg, i, 0, out);
        return err;

    case CFG_SAVE: {
        // One "save <seconds> <changes>" line per pair, or save "" for none.
        const char *save = cfg->save != NULL ? cfg->save : "";
        if (save[0] == '\0')
            return append_str(out, "save \"\"\n");
        const char *p = save;
        for (int word = 0; err == 0 && *p != '\0'; word++) {
            const char *space = strchr(p, ' ');
            size_t len = space != NULL ? (size_t)(space - p) : strlen(p);
            if (word % 2 == 0)
                err = append_str(out, "save ");
            if (err == 0)
                err = rp_buf_append(out, p, len);
            if (err == 0)
                err = rp_buf_append(out, word % 2 == 0 ? " " : "\n", 1);
            p += len;
            if (*p == ' ')
                p++;
        }
        return err;
    }

    case CFG_STRING: {
        const char *s = *(char *const *)field;
        err = append_fmt(out, "%s ", e->name);
        if (err == 0)
            err = append_quoted(out, s != NULL ? s : "");
        return err != 0 ? err : rp_buf_append(out, "\n", 1);
    }

    case CFG_MEMORY:
        err = append_fmt(out, "%s ", e->name);
        if (err == 0)
            err = append_memory(out, *(const uint64_t *)field);
        return err != 0 ? err : rp_buf_append(out, "\n", 1);

    default:
        err = append_fmt(out, "%s ", e->name);
        if (err == 0)
            err = config_format(cfg, index, out);
        return err != 0 ? err : rp_buf_append(out, "\n", 1);
    }
}

int config_is_default(const struct config *cfg, size_t index)
{
    struct config defaults;
    if (config_init(&defaults) != 0)
        return 0;
    struct rp_buf a = RP_BUF_INIT, b = RP_BUF_INIT;
    int same = config_format(cfg, index, &a) == 0 && config_format(&defaults, index, &b) == 0 && a.len == b.len &&
               (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
    rp_buf_free(&a);
    rp_buf_free(&b);
    config_free(&defaults);
    return same;
}

// The char * fields of struct config besides bind[], for copying and freeing.
static const size_t string_fields[] = {
    FIELD(unixsocket), FIELD(requirepass), FIELD(logfile), FIELD(pidfile),
    FIELD(dir), FIELD(config_file), FIELD(save), FIELD(appendfilename),
};

#define STRING_FIELD(cfg, i) ((char **)((char *)(cfg) + string_fields[i]))

void config_free(struct config *cfg)
{
    for (int i = 0; i < cfg->bind_count; i++)
        rp_free(cfg->bind[i]);
    cfg->bind_count = 0;
    for (size_t i = 0; i < sizeof string_fields / sizeof string_fields[0]; i++) {
        rp_free(*STRING_FIELD(cfg, i));
        *STRING_FIELD(cfg, i) = NULL;
    }
}

int config_copy(struct config *dst, const struct config *src)
{
    *dst = *src;
    dst->bind_count = 0;
    for (size_t i = 0; i < sizeof string_fields / sizeof string_fields[0]; i++)
        *STRING_FIELD(dst, i) = NULL;

    for (int i = 0; i < src->bind_count; i++) {
        dst->bind[i] = dup_string(src->bind[i], strlen(src->bind[i]));
        if (dst->bind[i] == NULL)
            goto fail;
        dst->bind_count = i + 1;
    }
    for (size_t i = 0; i < sizeof string_fields / sizeof string_fields[0]; i++) {
        const char *s = *STRING_FIELD(src, i);
        if (s == NULL)
            continue;
        *STRING_FIELD(dst, i) = dup_string(s, strlen(s));
        if (*STRING_FIELD(dst, i) == NULL)
            goto fail;
    }
    return 0;

fail:
    config_free(dst);
    return -1;
}

int config_init(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < CONFIG_COUNT; i++) {
        const char *def = config_table[i].default_value;
        char err[128];
        if (strcmp(config_table[i].name, "dir") == 0)
            continue;
        if (config_set(cfg, i, def, strlen(def), err, sizeof err) != 0) {
            config_free(cfg);
            return -1;
        }
    }

    // dir defaults to the working directory, as redis-server's does.
    char cwd[4096];
    const char *dir = getcwd(cwd, sizeof cwd) != NULL ? cwd : "/";
    cfg->dir = dup_string(dir, strlen(dir));
    if (cfg->dir == NULL) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

// ---- Config file and command-line options ------------------------------

// Words of one config line, split as redis sdssplitargs does: spaces
// separate words, "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes,
// 'single quotes' take \'. A closing quote must end the word.
struct line_words {
    char *word[64];
    size_t len[64];
    int count;
    struct rp_buf text;   // the unescaped words, each NUL-terminated
};

static int hex_value(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

// Returns 0, -1 for unbalanced quotes, -2 for too many words, -3 out of memory.
static int split_line(const char *line, size_t len, struct line_words *out)
{
    size_t offsets[64];
    out->count = 0;
    rp_buf_clear(&out->text);

    size_t i = 0;
    for (;;) {
        while (i < len && isspace((unsigned char)line[i]))
            i++;
        if (i == len)
            break;
        if (out->count == 64)
            return -2;

        size_t start = out->text.len;
        char quote = 0;
        if (line[i] == '"' || line[i] == '\'')
            quote = line[i++];
        for (;;) {
            if (i == len) {
                if (quote)
                    return -1;
                break;
            }
            char ch = line[i];
            if (!quote && isspace((unsigned char)ch))
                break;
            if (quote && ch == quote) {
                i++;
                // The closing quote must be followed by a space or the end.
                if (i < len && !isspace((unsigned char)line[i]))
                    return -1;
                break;
            }
            if (quote == '"' && ch == '\\' && i + 1 < len) {
                char next = line[i + 1];
                int hi, lo;
                if (next == 'x' && i + 3 < len && (hi = hex_value(line[i + 2])) >= 0 &&
                    (lo = hex_value(line[i + 3])) >= 0) {
                    ch = (char)(hi * 16 + lo);
                    i += 4;
                } else {
                    switch (next) {
                    case 'n': ch = '\n'; break;
                    case 'r': ch = '\r'; break;
                    case 't': ch = '\t'; break;
                    case 'b': ch = '\b'; break;
                    case 'a': ch = '\a'; break;
                    default: ch = next; break;
                    }
                    i += 2;
                }
            } else if (quote == '\'' && ch == '\\' && i + 1 < len && line[i + 1] == '\'') {
                ch = '\'';
                i += 2;
            } else {
                i++;
            }
            if (rp_buf_append(&out->text, &ch, 1) != 0)
                return -3;
        }
        if (rp_buf_append(&out->text, "", 1) != 0)
            return -3;
        offsets[out->count] = start;
        out->len[out->count] = out->text.len - 1 - start;
        out->count++;
    }

    // Pointers are set last because the buffer may move while it grows.
    for (int w = 0; w < out->count; w++)
        out->word[w] = out->text.data + offsets[w];
    return 0;
}

// State of one config_load_args run. save lines accumulate, as in redis.conf,
// where "save 900 1" and "save 300 10" on two lines set both pairs.
struct loader {
    struct config *cfg;
    int save_seen;
    char *err;
    size_t err_size;
};

// Applies one directive. On failure writes the reason into reason.
static int apply_directive(struct loader *ld, struct line_words *w, char *reason, size_t reason_size)
{
    // TODO: redis.conf's include and rename-command directives are not
    // supported: a file using them fails to load with "unknown setting".
    int index = config_find(w->word[0], w->len[0]);
    if (index < 0) {
        set_error(reason, reason_size, "unknown setting '%s'", w->word[0]);
        return -1;
    }
    const struct config_entry *e = &config_table[index];
    if (!(e->flags & CONFIG_MULTI_ARG) && w->count != 2) {
        set_error(reason, reason_size, "wrong number of arguments for '%s'", e->name);
        return -1;
    }

    // Multi-word settings get their words joined by single spaces.
    struct rp_buf value = RP_BUF_INIT;
    if (e->type == CFG_SAVE && ld->save_seen && ld->cfg->save != NULL && ld->cfg->save[0] != '\0' &&
        rp_buf_append(&value, ld->cfg->save, strlen(ld->cfg->save)) != 0)
        goto nomem;
    for (int i = 1; i < w->count; i++) {
        if (value.len > 0 && rp_buf_append(&value, " ", 1) != 0)
            goto nomem;
        if (rp_buf_append(&value, w->word[i], w->len[i]) != 0)
            goto nomem;
    }

    // save "" clears every pair given before it.
    if (e->type == CFG_SAVE && w->count == 2 && w->len[1] == 0)
        value.len = 0;

    int rc = config_set(ld->cfg, (size_t)index, value.data != NULL ? value.data : "", value.len, reason, reason_size);
    rp_buf_free(&value);
    if (rc == 0 && e->type == CFG_SAVE)
        ld->save_seen = 1;
    return rc;

nomem:
    rp_buf_free(&value);
    set_error(reason, reason_size, "out of memory");
    return -1;
}

static int load_file(struct loader *ld, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        set_error(ld->err, ld->err_size, "cannot open config file '%s': %s", path, strerror(errno));
        return -1;
    }

    struct line_words w = {.text = RP_BUF_INIT};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int line_no = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        line_no++;
        size_t len = (size_t)n;
        while (len > 0 && isspace((unsigned char)line[len - 1]))
            len--;
        size_t start = 0;
        while (start < len && isspace((unsigned char)line[start]))
            start++;
        if (start == len || line[start] == '#')
            continue;

        char reason[256];
        int split = split_line(line + start, len - start, &w);
        if (split == -1)
            set_error(reason, sizeof reason, "unbalanced quotes");
        else if (split == -2)
            set_error(reason, sizeof reason, "too many arguments");
        else if (split == -3)
            set_error(reason, sizeof reason, "out of memory");
        if (split == 0 && apply_directive(ld, &w, reason, sizeof reason) == 0)
            continue;

        char shown[128];
        copy_printable(shown, sizeof shown, line + start, len - start);
        set_error(ld->err, ld->err_size, "invalid config file %s, line %d: '%s': %s", path, line_no, shown, reason);
        rc = -1;
        break;
    }
    if (rc == 0 && ferror(f)) {
        set_error(ld->err, ld->err_size, "cannot read config file '%s': %s", path, strerror(errno));
        rc = -1;
    }

    free(line);   // allocated by getline, so released with the C library's free
    rp_buf_free(&w.text);
    fclose(f);
    return rc;
}

// Applies "--name value ..." options from argv[first..argc). Each option
// takes the words up to the next one that starts with "--".
static int load_options(struct loader *ld, int first, int argc, char **argv)
{
    struct line_words w = {.text = RP_BUF_INIT};
    int rc = 0;
    int i = first;
    while (i < argc) {
        const char *opt = argv[i];
        if (strncmp(opt, "--", 2) != 0 || opt[2] == '\0') {
            set_error(ld->err, ld->err_size, "invalid argument '%s': options are written --name value", opt);
            rc = -1;
            break;
        }

        // Build the words as a config line would give them: name, values.
        rp_buf_clear(&w.text);
        size_t offsets[64];
        int count = 0;
        int j = i;
        do {
            const char *word = j == i ? opt + 2 : argv[j];
            if (count == 64) {
                rc = -2;
                break;
            }
            offsets[count] = w.text.len;
            w.len[count] = strlen(word);
            if (rp_buf_append(&w.text, word, w.len[count] + 1) != 0) {
                rc = -3;
                break;
            }
            count++;
            j++;
        } while (j < argc && strncmp(argv[j], "--", 2) != 0);
        w.count = count;
        for (int k = 0; k < count; k++)
            w.word[k] = w.text.data + offsets[k];

        char reason[256];
        if (rc == -2)
            set_error(reason, sizeof reason, "too many arguments");
        else if (rc == -3)
            set_error(reason, sizeof reason, "out of memory");
        if (rc == 0 && apply_directive(ld, &w, reason, sizeof reason) == 0) {
            i = j;
            continue;
        }

        // Show the option as it was typed, values included.
        char shown[160];
        size_t off = 0;
        for (int k = i; k < j && off < sizeof shown - 1; k++) {
            char part[128];
            copy_printable(part, sizeof part, argv[k], strlen(argv[k]));
            off += (size_t)snprintf(shown + off, sizeof shown - off, "%s%s", k > i ? " " : "", part);
        }
        set_error(ld->err, ld->err_size, "invalid option '%s': %s", shown, reason);
        rc = -1;
        break;
    }
    rp_buf_free(&w.text);
    return rc;
}

int config_load_args(struct config *cfg, int argc, char **argv, char *err, size_t err_size)
{
    struct loader ld = {cfg, 0, err, err_size};
    int first = 1;

    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        // The config file comes first; remember its absolute path (INFO
        // config_file), because the server may chdir to dir.
        char *abs = realpath(argv[1], NULL);
        if (abs == NULL) {
            set_error(err, err_size, "cannot open config file '%s': %s", argv[1], strerror(errno));
            return -1;
        }
        rp_free(cfg->config_file);
        cfg->config_file = dup_string(abs, strlen(abs));
        free(abs);   // allocated by realpath
        if (cfg->config_file == NULL) {
            set_error(err, err_size, "out of memory");
            return -1;
        }
        if (load_file(&ld, cfg->config_file) != 0)
            return -1;
        first = 2;
    }

    // Options given after a config file override it; save lines from the file
    // are replaced by a --save option rather than extended.
    ld.save_seen = 0;
    return load_options(&ld, first, argc, argv);
}
