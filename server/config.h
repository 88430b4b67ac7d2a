// SPDX-License-Identifier: BSD-3-Clause
// ringpub-server settings: their values, the redis.conf-syntax file reader,
// command-line flags, and CONFIG GET/SET. Every setting is in one table in
// config.c, which is what CONFIG GET lists and the file and flags accept.

#ifndef RINGPUB_SERVER_CONFIG_H
#define RINGPUB_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ringpub/buf.h"
#include "ringpub/net.h"

#define RP_CONFIG_MAX_BIND 16

// String settings are NULL when empty, except save ("" for no snapshots) and
// dir (always set). Every string is owned by the struct.
struct config {
    char *bind[RP_CONFIG_MAX_BIND];    // "127.0.0.1", "-::1" (a leading '-' makes it optional)
    int bind_count;
    int port;                          // 0 disables TCP
    char *unixsocket;                  // NULL for none
    unsigned unixsocketperm;
    int tcp_backlog;
    enum rp_net_backend io_backend;
    unsigned maxclients;
    int timeout;                       // idle seconds before closing, 0 for never
    int tcp_keepalive;                 // seconds
    uint64_t proto_max_bulk_len;
    uint64_t client_query_buffer_limit;
    uint64_t pubsub_hard_limit;        // client-output-buffer-limit pubsub, bytes; 0 for none
    uint64_t pubsub_soft_limit;
    int pubsub_soft_seconds;
    uint64_t normal_hard_limit;        // client-output-buffer-limit normal
    uint64_t normal_soft_limit;
    int normal_soft_seconds;
    char *requirepass;                 // NULL for none
    int databases;
    int hz;                            // clamped to 1..500 as redis does
    int loglevel;                      // enum rp_log_level
    char *logfile;                     // NULL for stdout
    char *pidfile;                     // NULL for none
    int daemonize;                     // accepted for compatibility; must be "no"
    char *dir;
    char *config_file;                 // absolute path, NULL when started without one
    // Accepted and reported so that redis tools that query them work.
    char *save;                        // "" : ringpub takes no snapshots
    int appendonly;
    // Append-only file and memory limit (aof.c, db.c).
    char *appendfilename;              // a file name inside dir
    int appendfsync;                   // enum rp_appendfsync
    int aof_load_truncated;            // drop a torn tail at start instead of refusing to start
    int auto_aof_rewrite_percentage;   // growth over the last rewrite that starts one; 0 disables
    uint64_t auto_aof_rewrite_min_size;
    uint64_t maxmemory;                // bytes; 0 for no limit
    int maxmemory_policy;              // always 0: noeviction is the only policy
    // client-output-buffer-limit replica (alias slave): stored and reported
    // only, since ringpub has no replicas.
    uint64_t replica_hard_limit;
    uint64_t replica_soft_limit;
    int replica_soft_seconds;
};

enum rp_appendfsync { RP_FSYNC_EVERYSEC, RP_FSYNC_ALWAYS, RP_FSYNC_NO };

// Sets every setting to its default. Returns 0, or -1 when out of memory.
int config_init(struct config *cfg);
void config_free(struct config *cfg);

// Applies argv as redis-server does: an optional config file first, then
// "--name value ..." options. On error writes one line saying where (file
// and line, or the option), which setting and why into err and returns -1.
int config_load_args(struct config *cfg, int argc, char **argv, char *err, size_t err_size);

// ---- Table access for CONFIG GET / SET (config_cmd.c) ------------------

enum {
    CONFIG_IMMUTABLE = 1 << 0,   // set only at start: "can't set immutable config"
    CONFIG_PROTECTED = 1 << 1,   // redis enable-protected-configs no: "can't set protected config"
    CONFIG_MULTI_ARG = 1 << 2,   // takes several words on a config file line (bind, save...)
};

// Number of settings; index them 0 .. config_count() - 1.
size_t config_count(void);
// The setting's name, lower case, a static string.
const char *config_name(size_t index);
unsigned config_flags(size_t index);
// Returns the index of the setting called name (case-insensitive), or -1.
int config_find(const char *name, size_t len);

// Parses value and stores it in cfg. On error writes redis's reason text
// ("argument couldn't be parsed into an integer") into err, leaves cfg
// unchanged and returns -1. Returns 0 on success.
int config_set(struct config *cfg, size_t index, const char *value, size_t len, char *err, size_t err_size);

// Appends the setting's value as CONFIG GET prints it to out. Returns 0 or RP_ERR_NOMEM.
int config_format(const struct config *cfg, size_t index, struct rp_buf *out);

// Appends the setting as config file lines (each ending in "\n") to out, as
// CONFIG REWRITE writes it. Strings are quoted and memory sizes use kb, mb
// or gb where exact. save gets one line per pair, and
// client-output-buffer-limit one line per class whose limits differ from
// the defaults (none when all are). Returns 0 or RP_ERR_NOMEM.
int config_format_lines(const struct config *cfg, size_t index, struct rp_buf *out);

// client-output-buffer-limit classes in the order redis 7.0 rewrites them:
// 0 normal, 1 replica, 2 pubsub.
#define CONFIG_OBUF_CLASSES 3

// Appends the "client-output-buffer-limit <class> <hard> <soft> <seconds>"
// line of one class, as CONFIG REWRITE writes it: always when force is set
// (the line replaces one in the file), else only when the class's limits
// differ from the defaults. Returns 0, RP_ERR_INVAL or RP_ERR_NOMEM.
int config_format_obuf_line(const struct config *cfg, int class_index, int force, struct rp_buf *out);

// Returns 1 when the setting has its default value, as CONFIG GET prints it.
int config_is_default(const struct config *cfg, size_t index);

// Makes dst a deep copy of src (for all-or-nothing CONFIG SET). Returns 0, or
// -1 when out of memory (dst is then empty and needs no config_free).
int config_copy(struct config *dst, const struct config *src);

#endif
