// SPDX-License-Identifier: BSD-3-Clause
// The server's periodic and per-turn work, shared by ringpub-server's event
// loop (main.c) and the server fuzz target, so both run the same steps.

#include "server/aof.h"
#include "server/blocking.h"
#include "server/db.h"
#include "server/server.h"

void server_cron(struct server *srv)
{
    clients_cron(srv);
    info_tick(srv);
    db_active_expire(srv);
    blocking_tick(srv);
    aof_tick(srv);
}

void server_before_send(struct server *srv)
{
    // The AOF is written (and fsynced with appendfsync always) before any
    // reply of this turn goes out.
    aof_before_send(srv);
    server_close_pending(srv);
}
