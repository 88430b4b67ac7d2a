// SPDX-License-Identifier: BSD-3-Clause
// Transactions: MULTI queues a client's commands until EXEC runs them in
// one go or DISCARD drops them, and WATCH makes EXEC fail with a null reply
// when a watched key was modified, deleted, expired or flushed since. The
// command layer calls multi_* at dispatch; the keyspace calls watch_touch_*
// at every point where a key changes.

#ifndef RINGPUB_SERVER_MULTI_H
#define RINGPUB_SERVER_MULTI_H

#include <stddef.h>

struct server;
struct client;
struct command;

// Queues the checked command of c (c->argc, c->argv, c->cmd) when c is in
// MULTI and the command is not one that runs at once there (EXEC, DISCARD,
// MULTI, WATCH, QUIT, RESET), replying +QUEUED. The arguments are copied.
// Returns 1 if queued, 0 if the caller runs the command now.
int multi_queue_command(struct client *c, const struct command *cmd);

// Marks c's transaction as failed (EXEC replies EXECABORT) after a queued
// command was rejected. Does nothing outside MULTI.
void multi_flag_error(struct client *c);

// Returns 1 if cmd is EXEC.
int multi_is_exec(const struct command *cmd);

// Returns 1 if EXEC must be rejected on maxmemory: c is in MULTI and one
// of its queued commands may grow memory (RP_CMD_DENYOOM).
int multi_has_denyoom(const struct client *c);

// Rewrites the error just written to c->reply from reply_len on as EXEC's
// "EXECABORT Transaction discarded because of: <error>" and discards the
// transaction and the watched keys, as redis does when EXEC itself is
// rejected (wrong arity, NOAUTH, maxmemory).
void multi_abort_exec(struct client *c, size_t reply_len);

// Number of queued commands (CLIENT LIST multi=), or -1 outside MULTI.
long multi_queued_count(const struct client *c);

// Bytes held by queued commands (CLIENT LIST multi-mem=).
size_t multi_queued_bytes(const struct client *c);

// Returns 1 if a watched key of c was modified (CLIENT LIST flag d).
int multi_watch_dirty(const struct client *c);

// Drops the transaction and every watched key (RESET, client close).
// Frees c->tx; c may be a client without a connection (AOF replay).
void multi_reset(struct client *c);

// Marks every client watching key name of database dbi as dirty. Call
// after the key was modified or deleted (including deletion on expiry).
void watch_touch_key(struct server *srv, int dbi, const char *name, size_t len);

// Marks as dirty every client watching a key that exists in database dbi
// (every database when dbi is -1). Call before the databases are emptied.
void watch_touch_flush(struct server *srv, int dbi);

#endif
