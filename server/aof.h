// SPDX-License-Identifier: BSD-3-Clause
// The append-only file: write commands are logged in RESP as they executed
// (XADD with its resolved id, expiries as absolute PEXPIREAT), written before
// replies go out, and fsynced as appendfsync says. At start the file is
// replayed through the normal command path. BGREWRITEAOF forks a child that
// writes a compact snapshot while the parent buffers new writes.
//
// Unlike redis 7.0, which keeps a multi-part AOF in appenddirname, ringpub
// keeps one file named by appendfilename in dir.

#ifndef RINGPUB_SERVER_AOF_H
#define RINGPUB_SERVER_AOF_H

#include <stddef.h>

#include "ringpub/resp.h"

struct server;

// Replays the file when appendonly is yes, then opens it for appending.
// Returns 0, or -1 after logging why the server must not start (a corrupt
// file, a torn tail with aof-load-truncated no, an I/O error).
int aof_start(struct server *srv);

// Logs one write command run on database dbi. argv is copied. Does nothing
// when appendonly is off and no rewrite is running, or while loading.
void aof_feed(struct server *srv, int dbi, size_t argc, const struct rp_resp_str *argv);

// Bracket the commands EXEC runs. As redis 7.0, the writes logged between
// them are wrapped in MULTI/EXEC when there are two or more (one write is
// atomic already), with the SELECT of the first write before the MULTI.
void aof_transaction_begin(struct server *srv);
void aof_transaction_end(struct server *srv);

// Writes what aof_feed buffered; with appendfsync always also fsyncs. Runs
// once per loop turn before replies are sent, so an acknowledged write is
// already in the file (and on disk with always).
void aof_before_send(struct server *srv);

// Periodic work: everysec fsync (in a background thread), reaping a rewrite
// child, automatic rewrites by size, and CONFIG SET appendonly changes.
void aof_tick(struct server *srv);

// Starts a background rewrite. Returns 0, 1 when one is already running, or
// -1 when the child could not be started (logged).
int aof_rewrite_start(struct server *srv);

// Writes and fsyncs what is buffered and stops a running rewrite; at exit.
void aof_shutdown(struct server *srv);

#endif
