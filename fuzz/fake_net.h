// SPDX-License-Identifier: BSD-3-Clause
// In-memory stand-in for the rp_net API (include/ringpub/net.h), for fuzzing
// the server without sockets. The harness plays the peers: it opens
// connections, feeds them bytes, runs loop turns and advances a virtual
// clock. Output is checked to be well-formed RESP and then discarded.

#ifndef RINGPUB_FUZZ_FAKE_NET_H
#define RINGPUB_FUZZ_FAKE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "ringpub/net.h"

// Maximum open connections per fake loop. fake_net_connect fails past it.
#define FAKE_NET_MAX_CONNS 64

// Opens a connection as if a listener had accepted it and calls on_accept.
// *handle is set to the connection and reset to NULL when the connection is
// freed (after its on_close), so the caller is never left with a dangling pointer.
// unix selects a unix-socket peer address. Returns 0 or -ENOMEM (no slot).
int fake_net_connect(rp_net_loop_t *loop, int unix_socket, rp_net_conn_t **handle);

// Appends bytes the peer sent. They reach on_data at the next turn, unless
// the connection is paused or closing.
int fake_net_feed(rp_net_conn_t *conn, const void *data, size_t len);

// The peer stops reading (stalled != 0) or resumes: while stalled, output
// stays queued, so rp_net_conn_pending grows as it would against a slow client.
void fake_net_set_stalled(rp_net_conn_t *conn, int stalled);

// The peer closes (err 0) or the connection fails (negative errno). on_close
// runs at the next turn.
void fake_net_peer_close(rp_net_conn_t *conn, int err);

// Runs one loop turn: input to on_data, before_send, one send per
// connection that is not stalled, then the on_close of finished connections.
void fake_net_turn(rp_net_loop_t *loop);

// Advances the virtual clock by ms and calls on_tick once.
void fake_net_advance(rp_net_loop_t *loop, uint64_t ms);

// Closes every connection (on_close with err 0), for the end of a run.
void fake_net_close_all(rp_net_loop_t *loop);

#endif
