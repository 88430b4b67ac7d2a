// SPDX-License-Identifier: BSD-3-Clause
// ringpub-server settings: their values, the redis.conf-syntax file reader,
// command-line flags, and CONFIG GET/SET. Every setting is in one table in
// config.c, which is what CONFIG GET lists and the file and flags accept.

#ifndef RINGPUB_SERVER_CONFIG_H
#define RINGPUB_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ringpub/net.h"

#define RP_CONFIG_MAX_BIND 16

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
    int hz;
    int loglevel;                      // enum rp_log_level
    char *logfile;                     // "" for stdout
    char *pidfile;
    int daemonize;                     // accepted for compatibility; must be "no"
    char *dir;
    char *config_file;                 // absolute path, NULL when started without one
    // Accepted and reported so that redis tools that query them work.
    char *save;                        // "" : ringpub takes no snapshots
    int appendonly;
};

// Sets every setting to its default.
void config_init(struct config *cfg);
void config_free(struct config *cfg);

// Applies argv as redis-server does: an optional config file first, then
// "--name value ..." options. On error writes one line saying which setting
// and why into err and returns -1.
int config_load_args(struct config *cfg, int argc, char **argv, char *err, size_t err_size);

#endif
