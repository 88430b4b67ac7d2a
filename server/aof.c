// SPDX-License-Identifier: BSD-3-Clause
// The append-only file (see aof.h). Commands are encoded in RESP into a
// buffer as they execute, and the buffer is written once per loop turn
// before replies are sent. appendfsync always fsyncs right after that write.
// With everysec a background thread runs fdatasync once per second, so the
// loop waits only for write(), not for the disk. With no the kernel decides.
//
// A rewrite forks: the child writes a snapshot of the keyspace (XADD with
// explicit ids, XSETID, PEXPIREAT) to a temporary file, while the parent
// keeps logging and also copies new commands into a rewrite buffer. When the
// child exits successfully the parent appends that buffer to the temporary
// file, fsyncs it and renames it over the AOF, so no write is lost.

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ringpub/alloc.h"
#include "ringpub/err.h"
#include "server/aof.h"
#include "server/db.h"
#include "server/multi.h"
#include "server/server.h"

// everysec fsyncs at most once per this many milliseconds.
#define FSYNC_INTERVAL_MS 1000

// Write errors are logged at most once per this many milliseconds.
#define WRITE_ERROR_LOG_INTERVAL_MS 1000

// Buffer size of the rewrite child's stdio stream.
#define REWRITE_STDIO_BUFFER (1 << 20)

struct aof {
    int fd;                          // open for appending, or -1 when appendonly is off
    char *path;                      // appendfilename, relative to dir (the working directory)
    struct rp_buf buf;               // encoded commands not yet written
    int selected_db;                 // database of the last SELECT logged; -1 forces a SELECT next
    uint64_t last_fsync_ms;
    uint64_t last_error_log_ms;

    // everysec fsync thread: fsync_fd is fsynced when fsync_requested is set.
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int fsync_fd;
    int fsync_requested;
    int fsync_running;
    int stop;

    // Background rewrite.
    pid_t child;                     // 0 when no rewrite runs
    char tmp_path[64];
    struct rp_buf rewrite_buf;       // commands logged since the fork

    // EXEC in progress: its writes collect in tx_buf until it ends.
    int in_transaction;
    struct rp_buf tx_buf;
    size_t tx_commands;              // writes in tx_buf
    size_t tx_first_command;         // offset of the first write, after its SELECT
};

// ---- RESP encoding ----------------------------------------------------------------

static int append_fmt(struct rp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int append_fmt(struct rp_buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return RP_ERR_NOMEM;
    return rp_buf_append(b, tmp, (size_t)n);
}

static int encode_command(struct rp_buf *b, size_t argc, const struct rp_resp_str *argv)
{
    if (append_fmt(b, "*%zu\r\n", argc) != 0)
        return RP_ERR_NOMEM;
    for (size_t i = 0; i < argc; i++) {
        if (append_fmt(b, "$%zu\r\n", argv[i].len) != 0 || rp_buf_append(b, argv[i].ptr, argv[i].len) != 0 ||
            rp_buf_append(b, "\r\n", 2) != 0)
            return RP_ERR_NOMEM;
    }
    return 0;
}

static int encode_select(struct rp_buf *b, int dbi)
{
    char num[16];
    int n = snprintf(num, sizeof num, "%d", dbi);
    struct rp_resp_str argv[2] = {{"SELECT", 6}, {num, (size_t)n}};
    return encode_command(b, 2, argv);
}

// ---- The fsync thread ---------------------------------------------------------------

static void *fsync_thread_main(void *arg)
{
    struct aof *a = arg;

    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->fsync_requested && !a->stop)
            pthread_cond_wait(&a->cond, &a->lock);
        if (a->stop && !a->fsync_requested)
            break;
        int fd = a->fsync_fd;
        a->fsync_requested = 0;
        a->fsync_running = 1;
        pthread_mutex_unlock(&a->lock);

        fdatasync(fd);

        pthread_mutex_lock(&a->lock);
        a->fsync_running = 0;
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

// Waits until the fsync thread is idle, so that its descriptor can be closed.
static void wait_fsync_idle(struct aof *a)
{
    if (!a->thread_started)
        return;
    pthread_mutex_lock(&a->lock);
    while (a->fsync_requested || a->fsync_running)
        pthread_cond_wait(&a->cond, &a->lock);
    pthread_mutex_unlock(&a->lock);
}

// Asks the thread for an fsync of fd. Returns 0, or -1 when the previous
// one is still running (the request is then skipped for this tick).
static int request_fsync(struct aof *a, int fd)
{
    int rc = 0;
    pthread_mutex_lock(&a->lock);
    if (a->fsync_requested || a->fsync_running) {
        rc = -1;
    } else {
        a->fsync_fd = fd;
        a->fsync_requested = 1;
        pthread_cond_signal(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

// ---- Writing ------------------------------------------------------------------------

static int write_all(int fd, const char *p, size_t len, size_t *written)
{
    *written = 0;
    while (*written < len) {
        ssize_t n = write(fd, p + *written, len - *written);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        *written += (size_t)n;
    }
    return 0;
}

// Writes the pending buffer. Returns 0 or a negative errno (what was
// written is dropped from the buffer, the rest stays for the next try).
static int flush_buffer(struct server *srv)
{
    struct aof *a = srv->aof;
    if (a->fd < 0 || a->buf.len == 0)
        return 0;

    size_t written;
    int err = write_all(a->fd, a->buf.data, a->buf.len, &written);
    rp_buf_consume(&a->buf, written);
    srv->aof_info.current_size += written;
    if (err != 0) {
        // With appendfsync always the caller exits, as redis 7.0 does.
        // Otherwise the bytes stay for the next loop turn's try.
        srv->aof_info.last_write_ok = 0;
        uint64_t now = time_mono_ms();
        if (now - a->last_error_log_ms >= WRITE_ERROR_LOG_INTERVAL_MS) {
            rp_log(RP_LOG_WARNING, "Could not write to the AOF %s: %s; %zu bytes wait for the next try", a->path,
                   rp_strerror(err), a->buf.len);
            a->last_error_log_ms = now;
        }
        return err;
    }
    srv->aof_info.last_write_ok = 1;
    return 0;
}

void aof_feed(struct server *srv, int dbi, size_t argc, const struct rp_resp_str *argv)
{
    struct aof *a = srv->aof;
    if (a == NULL || srv->aof_info.loading || (a->fd < 0 && a->child == 0))
        return;

    int err = 0;
    int select = dbi != a->selected_db;
    if (a->in_transaction) {
        if (select)
            err |= encode_select(&a->tx_buf, dbi);
        if (a->tx_commands == 0)
            a->tx_first_command = a->tx_buf.len;
        err |= encode_command(&a->tx_buf, argc, argv);
        a->tx_commands++;
    } else if (a->fd >= 0) {
        if (select)
            err |= encode_select(&a->buf, dbi);
        err |= encode_command(&a->buf, argc, argv);
    }
    if (a->child != 0 && !a->in_transaction) {
        if (select)
            err |= encode_select(&a->rewrite_buf, dbi);
        err |= encode_command(&a->rewrite_buf, argc, argv);
    }
    a->selected_db = dbi;
    if (err != 0) {
        rp_log(RP_LOG_WARNING, "Out of memory while logging a write to the AOF %s; the AOF misses it", a->path);
        srv->aof_info.last_write_ok = 0;
    }
}

void aof_transaction_begin(struct server *srv)
{
    struct aof *a = srv->aof;
    if (a == NULL)
        return;
    a->in_transaction = 1;
    a->tx_commands = 0;
    rp_buf_clear(&a->tx_buf);
}

// Appends the transaction's writes to b, wrapped when there are several.
static int append_transaction(struct aof *a, struct rp_buf *b)
{
    static const char multi[] = "*1\r\n$5\r\nMULTI\r\n";
    static const char exec[] = "*1\r\n$4\r\nEXEC\r\n";
    if (a->tx_commands < 2)
        return rp_buf_append(b, a->tx_buf.data, a->tx_buf.len);
    if (rp_buf_append(b, a->tx_buf.data, a->tx_first_command) != 0 || rp_buf_append(b, multi, sizeof multi - 1) != 0 ||
        rp_buf_append(b, a->tx_buf.data + a->tx_first_command, a->tx_buf.len - a->tx_first_command) != 0 ||
        rp_buf_append(b, exec, sizeof exec - 1) != 0)
        return RP_ERR_NOMEM;
    return 0;
}

void aof_transaction_end(struct server *srv)
{
    struct aof *a = srv->aof;
    if (a == NULL)
        return;
    a->in_transaction = 0;
    if (a->tx_commands == 0)
        return;

    int err = 0;
    if (a->fd >= 0)
        err |= append_transaction(a, &a->buf);
    if (a->child != 0)
        err |= append_transaction(a, &a->rewrite_buf);
    if (err != 0) {
        rp_log(RP_LOG_WARNING, "Out of memory while logging a transaction to the AOF %s; the AOF misses it", a->path);
        srv->aof_info.last_write_ok = 0;
    }
    if (a->tx_buf.cap > (1u << 20))
        rp_buf_free(&a->tx_buf);
    else
        rp_buf_clear(&a->tx_buf);
    a->tx_commands = 0;
}

void aof_before_send(struct server *srv)
{
    struct aof *a = srv->aof;
    if (a == NULL || a->fd < 0 || a->buf.len == 0)
        return;
    int err = flush_buffer(srv);
    if (srv->cfg.appendfsync != RP_FSYNC_ALWAYS)
        return;

    // The replies to this turn's writes go out after this returns, so an
    // acknowledged write must be on disk. When it cannot be, redis 7.0 exits
    // rather than acknowledge it, and so does ringpub.
    if (err != 0) {
        rp_log(RP_LOG_WARNING, "Could not write to the AOF %s with appendfsync always: %s. Exiting so that no "
               "write is acknowledged without being on disk.", a->path, rp_strerror(err));
        _exit(1);   // skip atexit work: nothing more may reach the disk or the clients
    }
    if (fdatasync(a->fd) != 0) {
        rp_log(RP_LOG_WARNING, "Could not fsync the AOF %s with appendfsync always: %s. Exiting so that no "
               "write is acknowledged without being on disk.", a->path, strerror(errno));
        _exit(1);
    }
    a->last_fsync_ms = time_mono_ms();
}

// ---- Rewrite ------------------------------------------------------------------------

struct snapshot_ctx {
    FILE *out;
    const struct key *key;
    int failed;
};

static void put_bulk(FILE *out, const char *p, size_t len)
{
    fprintf(out, "$%zu\r\n", len);
    fwrite(p, 1, len, out);
    fputs("\r\n", out);
}

static void put_id(FILE *out, struct stream_id id)
{
    char text[48];
    int n = snprintf(text, sizeof text, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
    put_bulk(out, text, (size_t)n);
}

static int snapshot_entry(void *ctx, const struct stream_entry *e)
{
    struct snapshot_ctx *sc = ctx;
    fprintf(sc->out, "*%zu\r\n", 3 + e->field_count * 2);
    put_bulk(sc->out, "XADD", 4);
    put_bulk(sc->out, sc->key->name, sc->key->name_len);
    put_id(sc->out, e->id);
    for (size_t i = 0; i < e->field_count * 2; i++)
        put_bulk(sc->out, e->ptrs[i], e->lens[i]);
    return ferror(sc->out) != 0;
}

static int capture_top(void *ctx, const struct stream_entry *e)
{
    *(struct stream_id *)ctx = e->id;
    return 1;
}

static void snapshot_key(void *ctx, struct rp_ps_dict_entry *entry)
{
    struct snapshot_ctx *sc = ctx;
    const struct key *k = (const struct key *)entry;
    const struct stream *s = k->stream;
    struct stream_id all_start = {0, 0}, all_end = {UINT64_MAX, UINT64_MAX};
    struct stream_id last = stream_last_id(s);

    sc->key = k;
    if (stream_len(s) == 0) {
        // An empty stream is made by adding its last id and trimming it away.
        fputs("*7\r\n", sc->out);
        put_bulk(sc->out, "XADD", 4);
        put_bulk(sc->out, k->name, k->name_len);
        put_bulk(sc->out, "MAXLEN", 6);
        put_bulk(sc->out, "0", 1);
        put_id(sc->out, last);
        put_bulk(sc->out, "x", 1);
        put_bulk(sc->out, "y", 1);
    } else {
        stream_range(s, all_start, all_end, 0, 0, snapshot_entry, sc);
        struct stream_id top = {0, 0};
        stream_range(s, all_start, all_end, 1, 1, capture_top, &top);
        if (stream_id_cmp(top, last) != 0) {
            fputs("*3\r\n", sc->out);
            put_bulk(sc->out, "XSETID", 6);
            put_bulk(sc->out, k->name, k->name_len);
            put_id(sc->out, last);
        }
    }
    if (k->expire_ms != DB_NO_EXPIRE) {
        char when[24];
        int n = snprintf(when, sizeof when, "%" PRId64, k->expire_ms);
        fputs("*3\r\n", sc->out);
        put_bulk(sc->out, "PEXPIREAT", 9);
        put_bulk(sc->out, k->name, k->name_len);
        put_bulk(sc->out, when, (size_t)n);
    }
    if (ferror(sc->out))
        sc->failed = 1;
}

// Runs in the child: writes the snapshot to path and exits.
static void __attribute__((noreturn)) rewrite_child(struct server *srv, const char *path)
{
    FILE *out = fopen(path, "w");
    if (out == NULL)
        _exit(1);
    setvbuf(out, NULL, _IOFBF, REWRITE_STDIO_BUFFER);

    struct snapshot_ctx sc = {out, NULL, 0};
    struct keyspace *ks = srv->keyspace;
    for (int i = 0; i < ks->count && !sc.failed; i++) {
        if (ks->dbs[i].keys.count == 0)
            continue;
        char num[16];
        int n = snprintf(num, sizeof num, "%d", i);
        fputs("*2\r\n", out);
        put_bulk(out, "SELECT", 6);
        put_bulk(out, num, (size_t)n);
        rp_ps_dict_foreach(&ks->dbs[i].keys, snapshot_key, &sc);
    }
    if (sc.failed || fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0)
        _exit(1);
    _exit(0);
}

int aof_rewrite_start(struct server *srv)
{
    struct aof *a = srv->aof;
    if (a->child != 0)
        return 1;

    // The pending writes go to the old file first; the child's snapshot
    // already contains their effect.
    flush_buffer(srv);
    snprintf(a->tmp_path, sizeof a->tmp_path, "temp-rewriteaof-bg-%d.aof", (int)getpid());

    pid_t pid = fork();
    if (pid < 0) {
        rp_log(RP_LOG_WARNING, "Could not start the AOF rewrite: fork failed: %s", strerror(errno));
        srv->aof_info.last_bgrewrite_ok = 0;
        return -1;
    }
    if (pid == 0)
        rewrite_child(srv, a->tmp_path);

    a->child = pid;
    rp_buf_clear(&a->rewrite_buf);
    // The next logged command starts with a SELECT in both the file and the
    // rewrite buffer, whatever database the snapshot ended on.
    a->selected_db = -1;
    srv->aof_info.rewrite_in_progress = 1;
    srv->aof_info.rewrite_start_ms = time_mono_ms();
    rp_log(RP_LOG_NOTICE, "Background AOF rewrite started by pid %d", (int)pid);
    return 0;
}

static void rewrite_failed(struct server *srv, const char *why)
{
    struct aof *a = srv->aof;
    rp_log(RP_LOG_WARNING, "Background AOF rewrite failed: %s; the AOF %s is unchanged", why, a->path);
    unlink(a->tmp_path);
    srv->aof_info.last_bgrewrite_ok = 0;
}

// Completes a rewrite whose child exited with status: appends what was
// logged meanwhile to the new file and renames it over the AOF.
static void finish_rewrite(struct server *srv, int status)
{
    struct aof *a = srv->aof;
    uint64_t took_ms = time_mono_ms() - srv->aof_info.rewrite_start_ms;

    a->child = 0;
    srv->aof_info.rewrite_in_progress = 0;
    srv->aof_info.last_rewrite_time_sec = (int64_t)(took_ms / 1000);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rewrite_failed(srv, WIFSIGNALED(status) ? "the child was killed by a signal" : "the child could not write");
        rp_buf_free(&a->rewrite_buf);
        return;
    }

    flush_buffer(srv);
    int fd = open(a->tmp_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        rewrite_failed(srv, strerror(errno));
        rp_buf_free(&a->rewrite_buf);
        return;
    }
    size_t written;
    int err = write_all(fd, a->rewrite_buf.data, a->rewrite_buf.len, &written);
    if (err == 0 && fdatasync(fd) != 0)
        err = -errno;
    if (err == 0 && rename(a->tmp_path, a->path) != 0)
        err = -errno;
    rp_buf_free(&a->rewrite_buf);
    if (err != 0) {
        close(fd);
        rewrite_failed(srv, rp_strerror(err));
        return;
    }

    struct stat st;
    uint64_t size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (a->fd >= 0) {
        wait_fsync_idle(a);
        close(a->fd);
        a->fd = fd;
    } else {
        // BGREWRITEAOF with appendonly off writes the file and keeps nothing open.
        close(fd);
    }
    srv->aof_info.current_size = size;
    srv->aof_info.base_size = size;
    srv->aof_info.last_bgrewrite_ok = 1;
    srv->aof_info.rewrites++;
    rp_log(RP_LOG_NOTICE, "Background AOF rewrite finished: %s is %" PRIu64 " bytes", a->path, size);
}

// ---- Loading --------------------------------------------------------------------------

static void discard_delivery(void *ctx, struct rp_rcbuf *frame)
{
    (void)ctx;
    (void)frame;
}

// Reads the whole file at path into *data. Returns 0, or a negative errno.
static int read_file(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    size_t size = (size_t)st.st_size;
    char *p = rp_malloc(size ? size : 1);
    if (p == NULL) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, p + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *data = p;
    *len = got;
    return 0;
}

// Replays the commands in data through a client without a connection.
// Returns 0 and sets *valid to the length of the complete commands (less
// than len for a torn tail), or -1 after logging a corrupt command.
static int replay(struct server *srv, const char *path, const char *data, size_t len, size_t *valid,
                  uint64_t *commands)
{
    struct client c;
    memset(&c, 0, sizeof c);
    c.srv = srv;
    c.proto = 2;
    c.authenticated = 1;
    c.sub = rp_ps_sub_create(srv->pubsub, 2, discard_delivery, &c);
    struct rp_resp_limits limits;
    rp_resp_limits_default(&limits);
    limits.max_bulk_len = srv->cfg.proto_max_bulk_len;
    rp_resp_request_parser_t *parser = rp_resp_request_parser_create(&limits);
    if (c.sub == NULL || parser == NULL) {
        rp_log(RP_LOG_WARNING, "Out of memory while loading the AOF %s", path);
        rp_ps_sub_free(c.sub);
        rp_resp_request_parser_free(parser);
        return -1;
    }

    int rc = 0;
    size_t off = 0;
    size_t valid_before_multi = 0;
    *commands = 0;
    while (off < len) {
        struct rp_resp_request req;
        ssize_t n = rp_resp_request_parse(parser, data + off, len - off, &req);
        if (n == RP_NEED_MORE)
            break;
        if (n < 0 || req.inline_cmd || req.argc == 0) {
            rp_log(RP_LOG_WARNING,
                   "The AOF %s is corrupt: invalid RESP at offset %zu. Restore it from a backup or cut it at that "
                   "offset after checking what follows.",
                   path, off);
            rc = -1;
            break;
        }

        // A transaction is applied at its EXEC: remember where it started,
        // so that a file ending inside one is cut there.
        if (!(c.flags & RP_CLIENT_MULTI))
            valid_before_multi = off;
        c.argc = req.argc;
        c.argv = req.argv;
        client_run_command(&c);
        if (c.reply.len > 0 && c.reply.data[0] == '-') {
            char name[64];
            copy_printable(name, sizeof name, req.argv[0].ptr, req.argv[0].len);
            char why[160];
            copy_printable(why, sizeof why, c.reply.data + 1, c.reply.len - 1);
            rp_log(RP_LOG_WARNING, "The AOF %s is corrupt: the command %s at offset %zu failed: %s", path, name, off,
                   why);
            rc = -1;
            break;
        }
        rp_buf_clear(&c.reply);
        off += (size_t)n;
        (*commands)++;
    }

    // As redis, a transaction without its EXEC is left out, as if torn.
    if (rc == 0 && (c.flags & RP_CLIENT_MULTI)) {
        rp_log(RP_LOG_WARNING, "The AOF %s ends inside a transaction (MULTI at offset %zu without EXEC): it is not applied",
               path, valid_before_multi);
        off = valid_before_multi;
    }
    multi_reset(&c);

    *valid = off;
    rp_buf_free(&c.reply);
    rp_resp_request_parser_free(parser);
    rp_ps_sub_free(c.sub);
    return rc;
}

// Loads the AOF at path into the keyspace. Returns 0 or -1 (logged).
static int load(struct server *srv, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int err = read_file(path, &data, &len);
    if (err == -ENOENT)
        return 0;
    if (err != 0) {
        rp_log(RP_LOG_WARNING, "Could not read the AOF %s: %s", path, rp_strerror(err));
        return -1;
    }

    // Replay must not be stopped by maxmemory, as in redis: the data was
    // accepted once already.
    uint64_t maxmemory = srv->cfg.maxmemory;
    srv->cfg.maxmemory = 0;
    srv->aof_info.loading = 1;
    uint64_t start = time_mono_ms();
    size_t valid = 0;
    uint64_t commands = 0;
    int rc = replay(srv, path, data, len, &valid, &commands);
    srv->aof_info.loading = 0;
    srv->cfg.maxmemory = maxmemory;
    rp_free(data);
    if (rc != 0)
        return -1;

    if (valid < len) {
        size_t dropped = len - valid;
        if (!srv->cfg.aof_load_truncated) {
            rp_log(RP_LOG_WARNING,
                   "The AOF %s ends with an incomplete command: the last %zu bytes, from offset %zu, were cut off "
                   "(a crash during a write). Set aof-load-truncated yes to drop them, or truncate the file at "
                   "offset %zu.",
                   path, dropped, valid, valid);
            return -1;
        }
        if (truncate(path, (off_t)valid) != 0) {
            rp_log(RP_LOG_WARNING, "Could not truncate the AOF %s at offset %zu to drop an incomplete command: %s",
                   path, valid, strerror(errno));
            return -1;
        }
        rp_log(RP_LOG_WARNING,
               "The AOF %s ended with an incomplete command: dropped its last %zu bytes and truncated it at offset "
               "%zu, because aof-load-truncated is yes",
               path, dropped, valid);
    }
    rp_log(RP_LOG_NOTICE, "Loaded %" PRIu64 " commands from the AOF %s in %.3f seconds", commands, path,
           (double)(time_mono_ms() - start) / 1000.0);
    return 0;
}

// Opens the AOF for appending and starts the fsync thread. Returns 0 or a negative errno.
static int open_for_append(struct server *srv)
{
    struct aof *a = srv->aof;
    int fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    uint64_t size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    a->fd = fd;
    a->selected_db = -1;
    srv->aof_info.current_size = size;
    srv->aof_info.base_size = size;
    srv->aof_info.enabled = 1;

    if (!a->thread_started) {
        if (pthread_create(&a->thread, NULL, fsync_thread_main, a) != 0) {
            rp_log(RP_LOG_WARNING, "Could not start the AOF fsync thread; appendfsync everysec fsyncs in the loop");
        } else {
            a->thread_started = 1;
        }
    }
    return 0;
}

int aof_start(struct server *srv)
{
    srv->aof_info.last_bgrewrite_ok = 1;
    srv->aof_info.last_write_ok = 1;
    srv->aof_info.last_rewrite_time_sec = -1;

    const char *name = srv->cfg.appendfilename;
    if (name == NULL || strchr(name, '/') != NULL) {
        rp_log(RP_LOG_WARNING, "appendfilename must be a file name without a directory (got '%s'); set dir for the "
                               "directory",
               name != NULL ? name : "");
        return -1;
    }

    struct aof *a = rp_calloc(1, sizeof *a);
    if (a == NULL)
        return -1;
    a->path = rp_malloc(strlen(name) + 1);
    if (a->path == NULL) {
        rp_free(a);
        return -1;
    }
    strcpy(a->path, name);
    a->fd = -1;
    a->selected_db = -1;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    srv->aof = a;

    if (!srv->cfg.appendonly)
        return 0;
    if (load(srv, a->path) != 0)
        return -1;
    int err = open_for_append(srv);
    if (err != 0) {
        rp_log(RP_LOG_WARNING, "Could not open the AOF %s for appending: %s", a->path, rp_strerror(err));
        return -1;
    }
    return 0;
}

// Follows CONFIG SET appendonly: yes opens the file and rewrites it from the
// keyspace, no writes what is buffered and closes it.
static void apply_appendonly_setting(struct server *srv)
{
    struct aof *a = srv->aof;
    if (srv->cfg.appendonly && a->fd < 0) {
        int err = open_for_append(srv);
        if (err != 0) {
            rp_log(RP_LOG_WARNING, "Could not open the AOF %s for appending: %s", a->path, rp_strerror(err));
            return;
        }
        // The file may hold an older history: a rewrite replaces it.
        if (a->child == 0)
            aof_rewrite_start(srv);
    } else if (!srv->cfg.appendonly && a->fd >= 0) {
        flush_buffer(srv);
        wait_fsync_idle(a);
        fdatasync(a->fd);
        close(a->fd);
        a->fd = -1;
        rp_buf_free(&a->buf);
        srv->aof_info.enabled = 0;
    }
}

void aof_tick(struct server *srv)
{
    struct aof *a = srv->aof;
    if (a == NULL)
        return;

    if (a->child != 0) {
        int status;
        pid_t pid = waitpid(a->child, &status, WNOHANG);
        if (pid == a->child)
            finish_rewrite(srv, status);
        else if (pid < 0 && errno == ECHILD)
            finish_rewrite(srv, 1 << 8);
    }

    apply_appendonly_setting(srv);
    if (a->fd < 0)
        return;

    uint64_t now = time_mono_ms();
    if (srv->cfg.appendfsync == RP_FSYNC_EVERYSEC && now - a->last_fsync_ms >= FSYNC_INTERVAL_MS) {
        if (!a->thread_started) {
            fdatasync(a->fd);
            a->last_fsync_ms = now;
        } else if (request_fsync(a, a->fd) == 0) {
            a->last_fsync_ms = now;
        } else {
            srv->aof_info.delayed_fsync++;
        }
    }

    // Automatic rewrite once the file grew by the percentage over its size
    // after the last rewrite (or load), as redis does.
    int percent = srv->cfg.auto_aof_rewrite_percentage;
    uint64_t size = srv->aof_info.current_size;
    if (a->child == 0 && percent > 0 && size > srv->cfg.auto_aof_rewrite_min_size) {
        uint64_t base = srv->aof_info.base_size ? srv->aof_info.base_size : 1;
        uint64_t growth = size * 100 / base - 100;
        if (size * 100 / base >= 100 && growth >= (uint64_t)percent) {
            rp_log(RP_LOG_NOTICE, "Starting an automatic AOF rewrite: %" PRIu64 "%% growth over %" PRIu64 " bytes",
                   growth, base);
            aof_rewrite_start(srv);
        }
    }
}

void aof_shutdown(struct server *srv)
{
    struct aof *a = srv->aof;
    if (a == NULL)
        return;

    if (a->child != 0) {
        kill(a->child, SIGKILL);
        waitpid(a->child, NULL, 0);
        unlink(a->tmp_path);
        a->child = 0;
    }
    if (a->fd >= 0) {
        flush_buffer(srv);
        wait_fsync_idle(a);
        fdatasync(a->fd);
        close(a->fd);
        a->fd = -1;
    }
    if (a->thread_started) {
        pthread_mutex_lock(&a->lock);
        a->stop = 1;
        pthread_cond_signal(&a->cond);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
    }
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    rp_buf_free(&a->buf);
    rp_buf_free(&a->rewrite_buf);
    rp_buf_free(&a->tx_buf);
    rp_free(a->path);
    rp_free(a);
    srv->aof = NULL;
}
