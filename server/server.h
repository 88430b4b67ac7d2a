// SPDX-License-Identifier: BSD-3-Clause
// Shared state of ringpub-server: the server, its clients, the command table
// and the reply helpers every command file uses. One struct server holds all
// mutable state, so a later design can run one per event loop.

#ifndef RINGPUB_SERVER_H
#define RINGPUB_SERVER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "ringpub/buf.h"
#include "ringpub/net.h"
#include "ringpub/pubsub.h"
#include "ringpub/resp.h"

#include "server/config.h"

struct server;
struct client;

// ---- Commands ---------------------------------------------------------

// Flags of struct command. RP_CMD_PUBSUB_OK marks what a RESP2 client may
// run in subscribed mode.
enum {
    RP_CMD_WRITE = 1 << 0,         // changes the keyspace: logged to the AOF
    RP_CMD_READONLY = 1 << 1,
    RP_CMD_PUBSUB_OK = 1 << 2,
    RP_CMD_NO_AUTH = 1 << 3,       // runs before AUTH (HELLO, AUTH, QUIT...)
    RP_CMD_DENYOOM = 1 << 4,       // rejected when maxmemory is reached
    RP_CMD_CONTAINER = 1 << 5,     // dispatches to subcommands
    RP_CMD_NO_MULTI = 1 << 6,      // rejected inside MULTI (SHUTDOWN)
    RP_CMD_RUNS_IN_MULTI = 1 << 7, // runs at once inside MULTI, never queued (EXEC, DISCARD, QUIT...)
};

typedef void rp_cmd_fn(struct client *c);

struct command {
    const char *name;              // lower case; subcommands: "id" under "client"
    int arity;                     // redis convention: n exact, -n at least n, name included
    uint32_t flags;
    rp_cmd_fn *fn;                 // NULL for containers
    const struct command *subcommands;   // NULL-name terminated, for containers
};

// Each command file exports a table ending with an entry whose name is NULL.
extern const struct command rp_cmds_conn[];      // cmd_conn.c: PING ECHO HELLO AUTH SELECT QUIT RESET TIME
extern const struct command rp_cmds_pubsub[];    // cmd_pubsub.c
extern const struct command rp_cmds_config[];    // config_cmd.c
extern const struct command rp_cmds_info[];      // cmd_info.c
extern const struct command rp_cmds_client[];    // cmd_client.c
extern const struct command rp_cmds_command[];   // cmd_command.c
extern const struct command rp_cmds_keys[];      // cmd_keys.c: DEL EXISTS EXPIRE TTL SCAN FLUSHALL...
extern const struct command rp_cmds_stream[];    // cmd_stream.c: XADD XRANGE XREAD XTRIM...
extern const struct command rp_cmds_multi[];     // multi.c: MULTI EXEC DISCARD WATCH UNWATCH
extern const struct command rp_cmds_server[];    // cmd_server.c: SHUTDOWN ROLE

// Builds the lookup table from every rp_cmds_* table. Returns 0 or RP_ERR_NOMEM.
int commands_init(struct server *srv);
void commands_free(struct server *srv);

// Writes the client's last command as CLIENT LIST prints cmd= ("publish",
// "client|list", "NULL" before the first). Returns dst.
const char *client_last_command_name(const struct client *c, char *dst, size_t size);

// Looks up a top-level command by name, case-insensitively. NULL if unknown.
const struct command *command_lookup(const struct server *srv, const char *name, size_t len);

// Looks up a subcommand of a container by name, case-insensitively. NULL if unknown.
const struct command *command_lookup_subcommand(const struct command *container, const char *name, size_t len);

// Calls fn for every top-level command (COMMAND, COMMAND COUNT, COMMAND LIST).
void command_foreach(const struct server *srv, void (*fn)(void *ctx, const struct command *cmd), void *ctx);

// ---- Clients ------------------------------------------------------------

enum {
    RP_CLIENT_CLOSE_AFTER_REPLY = 1 << 0,  // QUIT, protocol error, CLIENT KILL of self
    RP_CLIENT_CLOSE_ASAP = 1 << 1,         // output buffer limit: drop queued output
    RP_CLIENT_REPLY_OFF = 1 << 2,          // CLIENT REPLY OFF
    RP_CLIENT_REPLY_SKIP_NEXT = 1 << 3,    // CLIENT REPLY SKIP, for the next command
    RP_CLIENT_REPLY_SKIP = 1 << 4,         // set while running the skipped command
    RP_CLIENT_NO_EVICT = 1 << 5,
    RP_CLIENT_UNIX = 1 << 6,
    RP_CLIENT_MULTI = 1 << 7,              // between MULTI and EXEC/DISCARD: commands are queued
    RP_CLIENT_IN_EXEC = 1 << 8,            // running EXEC's queue: XREAD does not block
};

struct client {
    struct server *srv;
    uint64_t id;                       // CLIENT ID: 1, 2, 3... never reused
    rp_net_conn_t *conn;
    rp_resp_request_parser_t *parser;
    rp_ps_sub_t *sub;                  // pub/sub subscriptions; never NULL
    int proto;                         // 2 or 3
    int db;                            // SELECT
    int authenticated;
    uint32_t flags;                    // RP_CLIENT_*
    char *name;                        // CLIENT SETNAME; NULL when unset
    char *lib_name;                    // CLIENT SETINFO LIB-NAME
    char *lib_ver;                     // CLIENT SETINFO LIB-VER
    uint64_t ctime_ms;                 // connection time, wall clock
    uint64_t last_interaction_ms;      // monotonic, for idle= and timeout
    const struct command *last_cmd;    // cmd= of CLIENT LIST; NULL before the first
    const struct command *last_parent; // its container (CLIENT for client|list), or NULL
    uint64_t soft_limit_since_ms;      // 0, or when output first stayed over the soft limit
    size_t argc;                       // the command being run
    const struct rp_resp_str *argv;
    const struct command *cmd;         // the command (or subcommand) being run, NULL between commands
    const struct command *parent_cmd;  // its container when cmd is a subcommand, else NULL
    struct rp_buf reply;               // replies not yet handed to the connection
    uint64_t commands_processed;
    struct client *prev, *next;        // server's list of clients, oldest first
    struct client *close_asap_next;    // server's list of clients marked RP_CLIENT_CLOSE_ASAP
    struct blocked_state *blocked;     // XREAD BLOCK state (blocking.c); NULL when not blocked
    struct tx_state *tx;               // MULTI queue and WATCHed keys (multi.c); NULL when neither is in use
};

// ---- Server -------------------------------------------------------------

// Append-only file state that INFO persistence prints; aof.c keeps it current.
struct aof_info {
    int enabled;                       // aof_enabled
    int loading;                       // loading: 1 while the AOF is replayed at start
    int rewrite_in_progress;           // aof_rewrite_in_progress
    int rewrite_scheduled;             // aof_rewrite_scheduled
    int64_t last_rewrite_time_sec;     // aof_last_rewrite_time_sec, -1 before the first rewrite
    uint64_t rewrite_start_ms;         // monotonic start of the running rewrite (aof_current_rewrite_time_sec)
    int last_bgrewrite_ok;             // aof_last_bgrewrite_status: 1 ok, 0 err
    int last_write_ok;                 // aof_last_write_status: 1 ok, 0 err
    uint64_t current_size;             // aof_current_size, bytes
    uint64_t base_size;                // aof_base_size: size after the last rewrite or load
    uint64_t rewrites;                 // aof_rewrites (INFO stats)
    uint64_t delayed_fsync;            // aof_delayed_fsync: everysec fsyncs found still running
};

// Rates and recent peaks that INFO reports, sampled by info_tick() (cmd_info.c).
#define RP_INFO_RATE_SAMPLES 16        // averaged, as redis's STATS_METRIC_SAMPLES
#define RP_INFO_PEAK_SLOTS 8           // one per second, as redis's CLIENTS_PEAK_MEM_USAGE_SLOTS

struct info_samples {
    uint64_t last_ms;                  // monotonic time of the last sample; 0 before the first
    uint64_t last_commands;            // counters at the last sample
    uint64_t last_net_in;
    uint64_t last_net_out;
    uint64_t ops_per_sec[RP_INFO_RATE_SAMPLES];
    uint64_t in_bytes_per_sec[RP_INFO_RATE_SAMPLES];
    uint64_t out_bytes_per_sec[RP_INFO_RATE_SAMPLES];
    unsigned next_sample;              // slot the next sample is written to
    uint64_t peak_second;              // wall-clock second of the current peak slot
    size_t peak_input[RP_INFO_PEAK_SLOTS];    // largest query buffer seen in that second
    size_t peak_output[RP_INFO_PEAK_SLOTS];   // largest output held for a client in that second
    size_t used_memory_peak;
};

struct server_stats {
    uint64_t start_time_ms;            // wall clock
    uint64_t start_mono_ms;
    uint64_t total_connections_received;
    uint64_t total_commands_processed;
    uint64_t rejected_connections;
    uint64_t total_net_input_bytes;
    uint64_t total_net_output_bytes;
    uint64_t output_limit_disconnections;   // client_output_buffer_limit_disconnections
    uint64_t protocol_error_disconnections;
    uint64_t total_error_replies;
    uint64_t unexpected_error_replies;
};

struct server {
    struct config cfg;
    rp_net_loop_t *loop;
    rp_ps_registry_t *pubsub;
    struct client *clients_head, *clients_tail;
    size_t client_count;
    uint64_t next_client_id;
    struct server_stats stats;
    void *command_index;               // owned by commands.c
    volatile int shutdown_requested;   // set from the signal handler
    char run_id[41];
    char replid[41];                   // INFO replication master_replid: random, as redis's
    int tcp_port_bound;                // the port actually listened on
    int shutdown_signal;               // the signal that requested the shutdown
    struct client *close_asap_head;    // clients to close once the current publish returns
    uint64_t proto_error_log_ms;       // when the last protocol error was logged
    uint64_t proto_errors_not_logged;  // protocol errors since then, not logged to limit the rate
    int unixsocket_bound;              // 1 when cfg.unixsocket is listened on (removed at exit)
    struct info_samples info;          // written only by info_tick() and INFO; zero at start
    struct keyspace *keyspace;         // databases and keys (db.c)
    struct blocking *blocking;         // clients blocked in XREAD, by key (blocking.c)
    struct aof *aof;                   // the append-only file state, its fd closed when appendonly is off (aof.c)
    size_t blocked_clients;            // INFO clients blocked_clients
    struct aof_info aof_info;          // INFO persistence
    struct tx_state *watching;         // clients with WATCHed keys, linked through their tx (multi.c)
};

// Samples the rates and peaks that INFO reports (instantaneous_ops_per_sec,
// client_recent_max_input_buffer...). The core calls it on every loop tick.
void info_tick(struct server *srv);

// rp_net callbacks for client connections (client.c). loop_ctx is the server.
void *client_on_accept(void *loop_ctx, rp_net_conn_t *conn);
size_t client_on_data(void *conn_ctx, rp_net_conn_t *conn, const char *data, size_t len);
void client_on_close(void *conn_ctx, rp_net_conn_t *conn, int err);

// Periodic client work, called from the loop tick: idle timeouts and soft
// output limits of clients that stopped receiving output.
void clients_cron(struct server *srv);

// Runs every periodic task of the server (cron.c): client timeouts and limits,
// INFO samples, active expiry, XREAD BLOCK timeouts, AOF fsync and rewrites.
void server_cron(struct server *srv);

// Runs the work due before each turn's output is sent (cron.c): the AOF
// write, then closing the clients marked to close.
void server_before_send(struct server *srv);

// Runs argv (c->argc, c->argv) through lookup, arity, auth and subscribed
// mode checks, then the command. Used for every parsed request.
void client_run_command(struct client *c);

// Hands the bytes in c->reply to the connection; called before a pub/sub frame
// is queued, so replies and pushes keep their order, and after each input chunk.
void client_flush_reply(struct client *c);

// Closes the client after its pending replies are sent (QUIT, protocol errors).
void client_close_after_reply(struct client *c);

// Closes the client now, dropping queued output (output buffer limit, CLIENT KILL).
void client_close_now(struct client *c);

// Output bytes held for the client: queued in the connection plus c->reply.
size_t client_output_bytes(const struct client *c);

// Closes every client marked RP_CLIENT_CLOSE_ASAP. Runs after a publish
// returns and before each send, never inside a delivery callback.
void server_close_pending(struct server *srv);

// Checks the client's output against client-output-buffer-limit for its class
// (pubsub when it has any subscription, else normal). Over the hard limit, or
// over the soft limit for longer than its seconds, the client is marked
// RP_CLIENT_CLOSE_ASAP and closed by server_close_pending. Returns 1 if marked.
int client_check_output_limits(struct client *c);

// Raises the open files limit to fit maxclients, or lowers maxclients to fit
// the limit (with a warning) when it cannot be raised (main.c).
void server_adjust_open_files_limit(struct server *srv);

// The loop tick in milliseconds for hz (1..500, as config.c clamps it).
static inline unsigned server_tick_ms(int hz)
{
    return hz > 0 ? (unsigned)(1000 / hz) : 100;
}

// Finds a client by id; NULL if there is none.
struct client *server_find_client(struct server *srv, uint64_t id);

// Returns 1 if the client is in RESP2 subscribed mode (any subscription).
int client_in_pubsub_mode(const struct client *c);

// Sets the client's name (HELLO SETNAME, CLIENT SETNAME); an empty name
// clears it. Names with bytes outside '!'..'~' get redis's error reply and
// -1; out of memory closes the client and returns -1. Returns 0 on success.
int client_set_name(struct client *c, const struct rp_resp_str *name);

// Removes every subscription of the client (RESET). With notify, sends the
// unsubscribe replies as UNSUBSCRIBE and friends with no arguments do.
void pubsub_unsubscribe_all(struct client *c, int notify);

// ---- Replies (reply.c) ------------------------------------------------
// Encode into c->reply in the client's protocol, unless replies are off or
// skipped. Out of memory closes the client.

void reply_simple(struct client *c, const char *s);
void reply_ok(struct client *c);
// Sends "-" s CRLF; s includes its code ("ERR ...", "WRONGTYPE ...").
void reply_error(struct client *c, const char *s);
void reply_errorf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_integer(struct client *c, int64_t v);
void reply_bulk(struct client *c, const void *p, size_t len);
void reply_bulk_cstr(struct client *c, const char *s);
void reply_bulk_int(struct client *c, int64_t v);
void reply_null(struct client *c);          // RESP2 $-1, RESP3 _
void reply_null_array(struct client *c);    // RESP2 *-1, RESP3 _
void reply_array_len(struct client *c, uint64_t n);
void reply_map_len(struct client *c, uint64_t pairs);
void reply_set_len(struct client *c, uint64_t n);
void reply_push_len(struct client *c, uint64_t n);
void reply_double(struct client *c, double v);
void reply_bool(struct client *c, int v);
void reply_verbatim(struct client *c, const char *s, size_t len, const char *format);
void reply_raw(struct client *c, const void *p, size_t len);   // pre-encoded bytes

// Standard errors, with redis 7.0's exact texts.
void reply_wrong_arity(struct client *c);           // for c->argv's command (or subcommand)
void reply_unknown_subcommand(struct client *c);    // "... Try X HELP."
void reply_syntax_error(struct client *c);          // "ERR syntax error"
// "ERR unknown subcommand or wrong number of arguments for 'x'. Try X HELP.",
// for a known subcommand given the wrong arguments (PUBSUB CHANNELS a b).
void reply_subcommand_syntax_error(struct client *c);
// X HELP: lines is NULL-terminated and holds the subcommand lines only. As
// redis addReplyHelp, the reply starts with "X <subcommand> [<arg> [value]
// [opt] ...]. Subcommands are:" and ends with "HELP" / "    Prints this help.".
void reply_help(struct client *c, const char *const *lines);

// ---- Logging (log.c) ----------------------------------------------------

enum rp_log_level { RP_LOG_DEBUG, RP_LOG_VERBOSE, RP_LOG_NOTICE, RP_LOG_WARNING };

// Logs in redis's format ("pid:M 04 Dec 2026 20:00:00.123 * text").
void rp_log_write(enum rp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern enum rp_log_level rp_log_min_level;
// Sends later lines to path (appending), or to stdout when path is NULL or "".
// Returns 0 or a negative errno, keeping the previous destination on failure.
int rp_log_open(const char *path);
void rp_log_close(void);
// The arguments are evaluated only when the level is enabled.
#define rp_log(level, ...)                          \
    do {                                            \
        if ((level) >= rp_log_min_level)            \
            rp_log_write((level), __VA_ARGS__);     \
    } while (0)

// ---- Misc helpers (util.c) ---------------------------------------------

// Case-insensitive comparison of a protocol argument with a C string.
int arg_is(const struct rp_resp_str *arg, const char *s);

// Parses a whole argument as a signed 64-bit integer, as redis string2ll.
// Returns 0 on success, -1 if it is not an integer or is out of range.
int arg_to_int64(const struct rp_resp_str *arg, int64_t *out);
// The same for p[0..len).
int parse_int64(const char *p, size_t len, int64_t *out);

// Copies at most size - 1 bytes of src into dst for a log line, replacing
// bytes that are not printable ASCII with '?'. dst is always NUL-terminated.
void copy_printable(char *dst, size_t size, const char *src, size_t len);

uint64_t time_wall_ms(void);
uint64_t time_mono_ms(void);

#endif
