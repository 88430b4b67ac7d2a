// SPDX-License-Identifier: BSD-3-Clause
// Clients blocked in XREAD BLOCK. A blocked client waits on one or more
// keys. An XADD to one of them serves the clients waiting on it in the order
// they blocked, and a tick sends a null reply to those whose timeout passed.
// While blocked, a client's further input stays unparsed.

#ifndef RINGPUB_SERVER_BLOCKING_H
#define RINGPUB_SERVER_BLOCKING_H

#include <stddef.h>
#include <stdint.h>

#include "ringpub/resp.h"
#include "server/stream.h"

struct server;
struct client;

// Creates the table of waited-on keys in srv->blocking. Returns 0 or RP_ERR_NOMEM.
int blocking_init(struct server *srv);
void blocking_free(struct server *srv);

// Blocks c on nkeys keys of its database, each waiting for an id greater
// than ids[i]. timeout_ms is 0 for forever; count is XREAD's COUNT (0 for
// no limit). Key names are copied. Returns 0, or RP_ERR_NOMEM (the client
// is then not blocked and the caller replies with an error).
int blocking_block_xread(struct client *c, uint64_t timeout_ms, size_t nkeys, const struct rp_resp_str *keys,
                         const struct stream_id *ids, uint64_t count);

// Serves the clients blocked on key name in database dbi whose id is now
// below the stream's last id, first blocked first. Call after an XADD.
void blocking_signal_key(struct server *srv, int dbi, const char *name, size_t len);

// Unblocks the client without a reply and frees its state; for a client
// that is being freed (disconnect, CLIENT KILL). Harmless when not blocked.
void blocking_remove(struct client *c);

// Returns 1 if the stream holds an entry with an id greater than after.
// Defined in cmd_stream.c, as the next function.
int stream_has_entries_after(const struct stream *s, struct stream_id after);

// Sends one stream of an XREAD reply: [key, entries after the id] in
// RESP2, or the key => entries pair of a map in RESP3 (the caller sends the
// array or map header). count 0 is no limit. Defined in cmd_stream.c.
void stream_reply_read(struct client *c, const char *name, size_t len, const struct stream *s,
                       struct stream_id after, uint64_t count);

// Sends a null reply to each blocked client whose timeout passed.
void blocking_tick(struct server *srv);

#endif
