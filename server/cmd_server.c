// SPDX-License-Identifier: BSD-3-Clause
// SHUTDOWN and ROLE. ringpub is always a standalone master without
// replicas, so ROLE always returns the same reply and SHUTDOWN never waits
// for replicas. SHUTDOWN stops the loop the way SIGTERM does: listeners
// close, queued output is sent, the AOF is written and fsynced, and the
// exit status is 0.

#include <stdio.h>
#include <string.h>

#include "server/server.h"

enum {
    SHUTDOWN_NOSAVE = 1 << 0,
    SHUTDOWN_SAVE = 1 << 1,
    SHUTDOWN_NOW = 1 << 2,
    SHUTDOWN_FORCE = 1 << 3,
};

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], parsed as redis 7.0 does:
// any order and repeats, ABORT alone, never NOSAVE with SAVE.
static void cmd_shutdown(struct client *c)
{
    unsigned flags = 0;
    int abort_shutdown = 0;
    for (size_t i = 1; i < c->argc; i++) {
        const struct rp_resp_str *a = &c->argv[i];
        if (arg_is(a, "nosave")) {
            flags |= SHUTDOWN_NOSAVE;
        } else if (arg_is(a, "save")) {
            flags |= SHUTDOWN_SAVE;
        } else if (arg_is(a, "now")) {
            flags |= SHUTDOWN_NOW;
        } else if (arg_is(a, "force")) {
            flags |= SHUTDOWN_FORCE;
        } else if (arg_is(a, "abort")) {
            abort_shutdown = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if ((abort_shutdown && flags != 0) || ((flags & SHUTDOWN_NOSAVE) && (flags & SHUTDOWN_SAVE))) {
        reply_syntax_error(c);
        return;
    }

    // A shutdown never waits for replicas here, so none can be in progress.
    if (abort_shutdown) {
        reply_error(c, "ERR No shutdown in progress.");
        return;
    }

    struct server *srv = c->srv;
    char addr[128];
    rp_net_conn_peer_addr(c->conn, addr, sizeof addr);

    // ringpub writes no RDB snapshot. With appendonly yes the AOF already
    // holds every write and is fsynced at exit, which satisfies SAVE. Without
    // it SAVE cannot be honoured, and fails as a failed save does in redis
    // unless FORCE is given.
    if ((flags & SHUTDOWN_SAVE) && !srv->cfg.appendonly) {
        if (!(flags & SHUTDOWN_FORCE)) {
            rp_log(RP_LOG_WARNING,
                   "SHUTDOWN SAVE from client id=%llu addr=%s refused: ringpub writes no RDB snapshot and appendonly "
                   "is no, so the keys would be lost. Use SHUTDOWN NOSAVE, SHUTDOWN SAVE FORCE, or appendonly yes.",
                   (unsigned long long)c->id, addr);
            reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
            return;
        }
        rp_log(RP_LOG_WARNING, "SHUTDOWN SAVE FORCE: ringpub writes no RDB snapshot and appendonly is no; the keys are "
                               "not saved");
    }

    rp_log(RP_LOG_WARNING,
           "Received SHUTDOWN from client id=%llu addr=%s, shutting down: closing listeners and sending queued output",
           (unsigned long long)c->id, addr);
    srv->shutdown_requested = 1;
    // redis sends no reply: the connection closes with the others, and this
    // client's further pipelined commands are not run.
    client_close_after_reply(c);
    rp_net_loop_stop(srv->loop);
}

static void cmd_role(struct client *c)
{
    reply_array_len(c, 3);
    reply_bulk_cstr(c, "master");
    reply_integer(c, 0);    // replication offset: ringpub never replicates
    reply_array_len(c, 0);  // no replicas
}

const struct command rp_cmds_server[] = {
    {"shutdown", -1, RP_CMD_NO_MULTI, cmd_shutdown, NULL},
    {"role", 1, 0, cmd_role, NULL},
    {NULL, 0, 0, NULL, NULL},
};
