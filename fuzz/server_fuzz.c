// SPDX-License-Identifier: BSD-3-Clause
// libFuzzer target for ringpub-server's command layer: the real server/,
// resp/, pubsub/ and common/ sources over the in-memory rp_net of
// fake_net.c, so that every command handler sees untrusted arguments from
// several clients at once (one subscribes, another publishes, kills or
// reconfigures). Each input runs a fresh server, which is freed at the end,
// so LeakSanitizer reports anything a run leaves behind. A malformed reply
// aborts in fake_net.c.
//
// Input format:
//
//   byte 0: bits 0-2 are the number of clients minus 1, and the other bits
//           pick start settings: bit 3 small client-output-buffer-limit
//           values, bit 4 requirepass "pw", bit 5 timeout 1, bit 6
//           maxclients 2, bit 7 unix-socket peers for odd client slots.
//   then segments: the bytes up to the first SEPARATOR go to client 0.
//           Every SEPARATOR is followed by a control byte and the segment's
//           bytes. In the control byte, bits 0-2 pick the client (modulo the
//           count) and bits 3-7 the action, as enum action below says.
//
// A client slot whose connection the server closed (QUIT, CLIENT KILL, a
// protocol error) gets a new connection when it is next used. Time is a
// virtual clock that only the tick action advances, but some handlers also
// read the wall clock (TIME, expiries, INFO), so coverage, never an
// assertion, may vary with it.
//
// SERVER_FUZZ_LOG=path keeps the server's log, at debug level, in path.

#define _GNU_SOURCE   // memmem

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "ringpub/alloc.h"
#include "server/aof.h"
#include "server/blocking.h"
#include "server/db.h"
#include "server/server.h"

#include "fake_net.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEPARATOR "\xfe\xfd"
#define SEPARATOR_LEN 2
#define MAX_CLIENTS 8

enum header_bits {
    HEADER_CLIENTS_MASK = 0x07,
    HEADER_SMALL_OUTPUT_LIMITS = 1 << 3,
    HEADER_REQUIREPASS = 1 << 4,
    HEADER_IDLE_TIMEOUT = 1 << 5,
    HEADER_MAXCLIENTS_2 = 1 << 6,
    HEADER_UNIX_PEERS = 1 << 7,
};

// Actions, from bits 3-7 of a control byte. Values 0-15 and 24-31 share
// the two common actions, so that random control bytes mostly send data.
enum action {
    ACTION_FEED_LAST = 15,         // 0-15: send the bytes, run a turn
    ACTION_FEED_PIECES_FIRST = 16, // 16-19: send them in pieces of 1, 2, 5 or 13 bytes, a turn after each
    ACTION_FEED_PIECES_LAST = 19,
    ACTION_TICK = 20,              // advance (first byte + 1) * 100 ms, tick, then send the rest
    ACTION_STALL = 21,             // toggle whether the peer reads its output, then send
    ACTION_PEER_EOF = 22,          // send, run a turn, then the peer closes
    ACTION_PEER_RESET = 23,        // as 22 with ECONNRESET
    // 24-31: send the bytes without a turn, so several clients' input lands in one turn.
};

static struct server srv;
static int keep_log;   // SERVER_FUZZ_LOG is set
static rp_net_conn_t *client_conns[MAX_CLIENTS];
static int client_unix[MAX_CLIENTS];
static int client_stalled[MAX_CLIENTS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    // Log lines are formatted (so their arguments are checked) and dropped,
    // unless SERVER_FUZZ_LOG names a file to keep them in.
    // CONFIG SET appendonly yes and BGREWRITEAOF write appendonly.aof (and a
    // rewrite's temporary file) in the working directory: make that a
    // scratch directory of this process, never the caller's.
    char scratch[] = "/tmp/server_fuzz.XXXXXX";
    if (mkdtemp(scratch) == NULL || chdir(scratch) != 0) {
        perror("server_fuzz: cannot make a scratch working directory");
        abort();
    }

    const char *path = getenv("SERVER_FUZZ_LOG");
    keep_log = path != NULL && path[0] != '\0';
    if (rp_log_open(keep_log ? path : "/dev/null") != 0) {
        fprintf(stderr, "server_fuzz: cannot open %s for the log\n", keep_log ? path : "/dev/null");
        abort();
    }
    return 0;
}

// The loop tick of main.c, without its signal handling.
static void on_tick(void *loop_ctx)
{
    server_cron(loop_ctx);
}

// The before_send hook of main.c.
static void before_send(void *loop_ctx)
{
    server_before_send(loop_ctx);
}

static void set_config(const char *name, const char *value)
{
    char err[256];
    int idx = config_find(name, strlen(name));
    if (idx < 0 || config_set(&srv.cfg, (size_t)idx, value, strlen(value), err, sizeof err) != 0) {
        fprintf(stderr, "server_fuzz: cannot set %s to '%s'\n", name, value);
        abort();
    }
}

// main.c's version raises the process's open files limit to fit a new
// maxclients. The fuzzer leaves its own limit alone, as if it always fitted.
void server_adjust_open_files_limit(struct server *s)
{
    (void)s;
}

// Starts the server as main.c does, with a fixed run id and hash key so that
// runs are repeatable, and without listeners or an open files limit.
static void start_server(uint8_t header)
{
    memset(&srv, 0, sizeof srv);
    if (config_init(&srv.cfg) != 0)
        abort();
    if (header & HEADER_SMALL_OUTPUT_LIMITS) {
        set_config("client-output-buffer-limit", "normal 4kb 1kb 1 pubsub 4kb 1kb 1");
    }
    if (header & HEADER_REQUIREPASS)
        set_config("requirepass", "pw");
    if (header & HEADER_IDLE_TIMEOUT)
        set_config("timeout", "1");
    if (header & HEADER_MAXCLIENTS_2)
        set_config("maxclients", "2");
    rp_log_min_level = keep_log ? RP_LOG_DEBUG : (enum rp_log_level)srv.cfg.loglevel;

    srv.stats.start_time_ms = time_wall_ms();
    srv.stats.start_mono_ms = time_mono_ms();
    memset(srv.run_id, 'f', sizeof srv.run_id - 1);
    static const uint8_t hash_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    srv.pubsub = rp_ps_registry_create(hash_key);
    if (srv.pubsub == NULL || commands_init(&srv) != 0 || db_init(&srv) != 0 || blocking_init(&srv) != 0)
        abort();

    struct rp_net_config net_cfg;
    rp_net_config_default(&net_cfg);
    struct rp_net_handlers handlers = {
        .on_accept = client_on_accept,
        .on_data = client_on_data,
        .on_close = client_on_close,
        .before_send = before_send,
        .on_tick = on_tick,
    };
    if (rp_net_loop_create(&net_cfg, &handlers, &srv, &srv.loop) != 0)
        abort();
    // The AOF, if a fuzz input turns it on, lands in the scratch directory
    // made by LLVMFuzzerInitialize.
    if (aof_start(&srv) != 0)
        abort();
}

static void stop_server(void)
{
    fake_net_close_all(srv.loop);
    aof_shutdown(&srv);
    rp_net_loop_free(srv.loop);
    rp_ps_registry_free(srv.pubsub);
    blocking_free(&srv);
    db_free(&srv);
    commands_free(&srv);
    config_free(&srv.cfg);
    srv.loop = NULL;
}

// Returns the client's connection, opening a new one when the slot has none.
static rp_net_conn_t *client_conn(int slot)
{
    if (client_conns[slot] == NULL) {
        client_stalled[slot] = 0;
        if (fake_net_connect(srv.loop, client_unix[slot], &client_conns[slot]) != 0)
            abort();
    }
    return client_conns[slot];
}

static void feed(int slot, const uint8_t *p, size_t len)
{
    if (len == 0)
        return;
    if (fake_net_feed(client_conn(slot), p, len) != 0)
        abort();
}

static void run_segment(int nclients, uint8_t control, const uint8_t *p, size_t len)
{
    int slot = (control & 0x07) % nclients;
    unsigned action = control >> 3;

    if (action <= ACTION_FEED_LAST) {
        feed(slot, p, len);
        fake_net_turn(srv.loop);
    } else if (action <= ACTION_FEED_PIECES_LAST) {
        static const size_t pieces[] = {1, 2, 5, 13};
        size_t piece = pieces[action - ACTION_FEED_PIECES_FIRST];
        for (size_t off = 0; off < len; off += piece) {
            feed(slot, p + off, len - off < piece ? len - off : piece);
            fake_net_turn(srv.loop);
        }
    } else if (action == ACTION_TICK) {
        uint64_t ms = len > 0 ? ((uint64_t)p[0] + 1) * 100 : 100;
        fake_net_advance(srv.loop, ms);
        fake_net_turn(srv.loop);
        if (len > 1) {
            feed(slot, p + 1, len - 1);
            fake_net_turn(srv.loop);
        }
    } else if (action == ACTION_STALL) {
        client_stalled[slot] = !client_stalled[slot];
        fake_net_set_stalled(client_conn(slot), client_stalled[slot]);
        feed(slot, p, len);
        fake_net_turn(srv.loop);
    } else if (action == ACTION_PEER_EOF || action == ACTION_PEER_RESET) {
        feed(slot, p, len);
        fake_net_turn(srv.loop);
        if (client_conns[slot] != NULL)
            fake_net_peer_close(client_conns[slot], action == ACTION_PEER_EOF ? 0 : -ECONNRESET);
        fake_net_turn(srv.loop);
    } else {
        feed(slot, p, len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t header = data[0];
    int nclients = (header & HEADER_CLIENTS_MASK) + 1;

    start_server(header);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client_conns[i] = NULL;
        client_stalled[i] = 0;
        client_unix[i] = (header & HEADER_UNIX_PEERS) && (i & 1);
    }
    for (int i = 0; i < nclients; i++)
        client_conn(i);
    fake_net_turn(srv.loop);

    // The first segment has no control byte: it goes to client 0.
    const uint8_t *p = data + 1;
    const uint8_t *end = data + size;
    uint8_t control = 0;
    for (;;) {
        const uint8_t *sep = memmem(p, (size_t)(end - p), SEPARATOR, SEPARATOR_LEN);
        const uint8_t *seg_end = sep != NULL ? sep : end;
        run_segment(nclients, control, p, (size_t)(seg_end - p));
        if (sep == NULL || sep + SEPARATOR_LEN >= end)
            break;
        control = sep[SEPARATOR_LEN];
        p = sep + SEPARATOR_LEN + 1;
    }

    // One more tick and turn serve timeouts and flush what is queued.
    fake_net_advance(srv.loop, 100);
    fake_net_turn(srv.loop);
    stop_server();
    return 0;
}
