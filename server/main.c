// SPDX-License-Identifier: BSD-3-Clause
// ringpub-server's entry point: reads the settings (config file, then
// --options), opens the log, listens on TCP and the unix socket, runs the
// event loop, and on SIGINT or SIGTERM closes the listeners, sends what is
// queued, and exits 0.

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ringpub/err.h"
#include "ringpub/version.h"
#include "server/aof.h"
#include "server/blocking.h"
#include "server/db.h"
#include "server/server.h"

// File descriptors kept free beyond maxclients for listeners, the ring, the
// log and pid files; redis reserves 32 as well.
#define RESERVED_FDS 32

// The protocol version ringpub implements, reported by --version.
#define REDIS_COMPAT_VERSION "7.0.15"

#ifdef RP_HAVE_URING
#define IO_BACKENDS "io_uring,epoll"
#else
#define IO_BACKENDS "epoll"
#endif

// Set by the signal handler, read by the loop tick.
static volatile sig_atomic_t pending_signal;

static void on_signal(int sig)
{
    pending_signal = sig;
}

static void print_usage(FILE *out)
{
    fprintf(out,
            "Usage: ringpub-server [/path/to/ringpub.conf] [--name value ...]\n"
            "       ringpub-server -v | --version\n"
            "       ringpub-server -h | --help\n"
            "\n"
            "Settings come from the config file first (redis.conf syntax, see ringpub.conf),\n"
            "then from the command line, where each --name takes the words up to the next\n"
            "option, so --bind 127.0.0.1 ::1 sets two addresses.\n"
            "\n"
            "Examples:\n"
            "       ringpub-server --port 7777\n"
            "       ringpub-server /etc/ringpub.conf --loglevel verbose\n"
            "       ringpub-server --port 0 --unixsocket /run/ringpub.sock --unixsocketperm 700\n"
            "       ringpub-server --io-backend epoll --client-output-buffer-limit \"pubsub 32mb 8mb 60\"\n");
}

static void print_version(void)
{
    printf("ringpub-server v=%s redis-compat=%s bits=%d io=%s\n", rp_version(), REDIS_COMPAT_VERSION,
           (int)(sizeof(void *) * 8), IO_BACKENDS);
}

void server_adjust_open_files_limit(struct server *srv)
{
    // Each client takes one descriptor, so the open files limit must cover
    // maxclients plus the reserve. When it cannot be raised, maxclients is
    // lowered to fit, as redis does, with a warning.
    rlim_t want = (rlim_t)srv->cfg.maxclients + RESERVED_FDS;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= want)
        return;

    struct rlimit raised = lim;
    raised.rlim_cur = want;
    if (raised.rlim_max != RLIM_INFINITY && raised.rlim_max < want)
        raised.rlim_cur = raised.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
        lim = raised;
    if (lim.rlim_cur >= want)
        return;

    unsigned fit = lim.rlim_cur > RESERVED_FDS ? (unsigned)(lim.rlim_cur - RESERVED_FDS) : 1;
    rp_log(RP_LOG_WARNING,
           "The open files limit is %llu, too low for maxclients %u: maxclients is lowered to %u. Raise the limit "
           "(ulimit -n) to accept more clients.",
           (unsigned long long)lim.rlim_cur, srv->cfg.maxclients, fit);
    srv->cfg.maxclients = fit;
}

static void on_tick(void *loop_ctx)
{
    struct server *srv = loop_ctx;

    if (pending_signal != 0 && !srv->shutdown_requested) {
        srv->shutdown_requested = 1;
        srv->shutdown_signal = pending_signal;
        rp_log(RP_LOG_WARNING, "Received %s, shutting down: closing listeners and sending queued output",
               pending_signal == SIGINT ? "SIGINT" : "SIGTERM");
        rp_net_loop_stop(srv->loop);
        return;
    }
    server_cron(srv);
}

static void before_send(void *loop_ctx)
{
    server_before_send(loop_ctx);
}

static int fill_random(void *buf, size_t len)
{
    size_t done = 0;
    // getrandom returns at most 32 MiB per call, and may be interrupted.
    for (int tries = 0; done < len && tries < 16; tries++) {
        ssize_t n = getrandom((char *)buf + done, len - done, 0);
        if (n > 0)
            done += (size_t)n;
        else if (n < 0 && errno != EINTR)
            return -1;
    }
    return done == len ? 0 : -1;
}

// Returns 0 when at least the required listeners are open, -1 otherwise
// (after logging why).
static int open_listeners(struct server *srv, char *addresses, size_t addresses_size)
{
    const struct config *cfg = &srv->cfg;
    size_t off = 0;
    int listening = 0;
    addresses[0] = '\0';

    if (cfg->port != 0) {
        for (int i = 0; i < cfg->bind_count; i++) {
            // A leading '-' marks an optional address, skipped when this
            // host cannot have it (no IPv6, address not configured).
            const char *addr = cfg->bind[i];
            int optional = addr[0] == '-';
            if (optional)
                addr++;

            int err = rp_net_listen_tcp(srv->loop, addr, cfg->port, cfg->tcp_backlog);
            if (err == 0) {
                off += (size_t)snprintf(addresses + off, addresses_size - off, "%s%s", listening ? "," : "", addr);
                if (off >= addresses_size)
                    off = addresses_size - 1;
                listening++;
                continue;
            }
            if (optional && (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT)) {
                rp_log(RP_LOG_NOTICE, "Skipping optional address %s: %s", addr, rp_strerror(err));
                continue;
            }
            rp_log(RP_LOG_WARNING, "Could not listen on %s port %d: %s", addr, cfg->port, rp_strerror(err));
            return -1;
        }
        srv->tcp_port_bound = cfg->port;
    }

    if (cfg->unixsocket != NULL) {
        int err = rp_net_listen_unix(srv->loop, cfg->unixsocket, cfg->unixsocketperm, cfg->tcp_backlog);
        if (err != 0) {
            rp_log(RP_LOG_WARNING, "Could not listen on unix socket %s: %s", cfg->unixsocket, rp_strerror(err));
            return -1;
        }
        srv->unixsocket_bound = 1;
        listening++;
    }

    if (listening == 0) {
        rp_log(RP_LOG_WARNING, "No address to listen on: port is 0 (or every bind address was skipped) and no "
                               "unixsocket is set. Set --port or --unixsocket.");
        return -1;
    }
    return 0;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -errno;
    fprintf(f, "%d\n", (int)getpid());
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

static int init_server(struct server *srv)
{
    srv->stats.start_time_ms = time_wall_ms();
    srv->stats.start_mono_ms = time_mono_ms();

    unsigned char id[20], replid[20];
    uint8_t hash_key[16];
    if (fill_random(id, sizeof id) != 0 || fill_random(replid, sizeof replid) != 0 ||
        fill_random(hash_key, sizeof hash_key) != 0) {
        rp_log(RP_LOG_WARNING, "Could not read random bytes for the run id and hash key: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof id; i++) {
        snprintf(srv->run_id + i * 2, 3, "%02x", id[i]);
        snprintf(srv->replid + i * 2, 3, "%02x", replid[i]);
    }

    srv->pubsub = rp_ps_registry_create(hash_key);
    if (srv->pubsub == NULL || commands_init(srv) != 0 || db_init(srv) != 0 || blocking_init(srv) != 0) {
        rp_log(RP_LOG_WARNING, "Out of memory while creating the server");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
            print_version();
            return 0;
        }
    }

    static struct server srv;
    char err[512];
    if (config_init(&srv.cfg) != 0) {
        fprintf(stderr, "ringpub-server: out of memory while reading the configuration\n");
        return 1;
    }
    if (config_load_args(&srv.cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "ringpub-server: %s\n", err);
        fprintf(stderr, "Run 'ringpub-server --help' for usage; ringpub.conf lists every setting.\n");
        return 1;
    }

    rp_log_min_level = (enum rp_log_level)srv.cfg.loglevel;
    int rc = rp_log_open(srv.cfg.logfile);
    if (rc != 0) {
        fprintf(stderr, "ringpub-server: cannot open logfile '%s': %s\n", srv.cfg.logfile, rp_strerror(rc));
        return 1;
    }
    if (chdir(srv.cfg.dir) != 0) {
        rp_log(RP_LOG_WARNING, "Cannot change to dir '%s': %s", srv.cfg.dir, strerror(errno));
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    // Sends use MSG_NOSIGNAL; this covers any write to a closed pipe or socket.
    signal(SIGPIPE, SIG_IGN);

    if (init_server(&srv) != 0)
        return 1;
    server_adjust_open_files_limit(&srv);

    struct rp_net_config net_cfg;
    rp_net_config_default(&net_cfg);
    net_cfg.backend = srv.cfg.io_backend;
    net_cfg.tick_ms = server_tick_ms(srv.cfg.hz);
    struct rp_net_handlers handlers = {
        .on_accept = client_on_accept,
        .on_data = client_on_data,
        .on_close = client_on_close,
        .before_send = before_send,
        .on_tick = on_tick,
    };
    rc = rp_net_loop_create(&net_cfg, &handlers, &srv, &srv.loop);
    if (rc != 0) {
        const char *backend = srv.cfg.io_backend == RP_NET_URING   ? "io_uring"
                              : srv.cfg.io_backend == RP_NET_EPOLL ? "epoll"
                                                                   : "io_uring or epoll";
        rp_log(RP_LOG_WARNING, "Could not start the %s event loop: %s%s", backend, rp_strerror(rc),
               srv.cfg.io_backend == RP_NET_URING ? ". Use --io-backend auto to fall back to epoll." : "");
        return 1;
    }

    // The AOF is replayed before any client can connect.
    if (aof_start(&srv) != 0) {
        rp_net_loop_free(srv.loop);
        return 1;
    }

    char addresses[512];
    if (open_listeners(&srv, addresses, sizeof addresses) != 0) {
        rp_net_loop_free(srv.loop);
        return 1;
    }
    if (srv.cfg.pidfile != NULL && (rc = write_pidfile(srv.cfg.pidfile)) != 0)
        rp_log(RP_LOG_WARNING, "Could not write pidfile %s: %s", srv.cfg.pidfile, rp_strerror(rc));

    rp_log(RP_LOG_NOTICE, "ringpub-server %s (redis %s protocol) started: pid=%d io-backend=%s bind=%s port=%d%s%s",
           rp_version(), REDIS_COMPAT_VERSION, (int)getpid(), rp_net_loop_backend_name(srv.loop),
           addresses[0] ? addresses : "-", srv.cfg.port, srv.cfg.unixsocket ? " unixsocket=" : "",
           srv.cfg.unixsocket ? srv.cfg.unixsocket : "");
    if (srv.cfg.config_file != NULL)
        rp_log(RP_LOG_NOTICE, "Configuration loaded from %s", srv.cfg.config_file);
    rp_log(RP_LOG_NOTICE, "Ready to accept connections");

    rc = rp_net_loop_run(srv.loop);
    if (rc != 0)
        rp_log(RP_LOG_WARNING, "The event loop stopped on an error: %s", rp_strerror(rc));

    // rp_net_loop_run returns once every connection is closed, so every
    // subscriber is freed before the registry.
    aof_shutdown(&srv);
    rp_net_loop_free(srv.loop);
    rp_ps_registry_free(srv.pubsub);
    blocking_free(&srv);
    db_free(&srv);
    commands_free(&srv);
    if (srv.unixsocket_bound && unlink(srv.cfg.unixsocket) != 0 && errno != ENOENT)
        rp_log(RP_LOG_WARNING, "Could not remove unix socket %s: %s", srv.cfg.unixsocket, strerror(errno));
    if (srv.cfg.pidfile != NULL)
        unlink(srv.cfg.pidfile);

    rp_log(RP_LOG_WARNING, "ringpub-server is exiting%s", rc == 0 ? ", goodbye" : " after an error");
    config_free(&srv.cfg);
    rp_log_close();
    return rc == 0 ? 0 : 1;
}
