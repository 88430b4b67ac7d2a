// SPDX-License-Identifier: BSD-3-Clause
// The append-only file (see aof.h).
// TODO: not written yet: appendonly yes logs nothing and nothing is replayed.

#include "server/aof.h"
#include "server/server.h"

int aof_start(struct server *srv)
{
    srv->aof_info.last_bgrewrite_ok = 1;
    srv->aof_info.last_write_ok = 1;
    srv->aof_info.last_rewrite_time_sec = -1;
    return 0;
}

void aof_feed(struct server *srv, int dbi, size_t argc, const struct rp_resp_str *argv)
{
    (void)srv;
    (void)dbi;
    (void)argc;
    (void)argv;
}

void aof_before_send(struct server *srv)
{
    (void)srv;
}

void aof_tick(struct server *srv)
{
    (void)srv;
}

int aof_rewrite_start(struct server *srv)
{
    (void)srv;
    return -1;
}

void aof_shutdown(struct server *srv)
{
    (void)srv;
}
