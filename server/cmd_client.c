// SPDX-License-Identifier: BSD-3-Clause
// CLIENT and its subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL,
// SETINFO, REPLY, NO-EVICT and HELP, with redis 7.0's replies and errors.
// CLIENT LIST and CLIENT INFO print redis 7.0.15's fields in its order; the
// fields of features ringpub lacks (tracking, ACL users) carry the
// values redis prints when the feature is unused.

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ringpub/alloc.h"
#include "server/multi.h"
#include "server/server.h"

// ---- CLIENT LIST line ------------------------------------------------------

// Client classes of CLIENT LIST TYPE and CLIENT KILL TYPE. ringpub has no
// replication, so no client is ever a master or a replica.
enum client_type { TYPE_NONE = -1, TYPE_NORMAL, TYPE_REPLICA, TYPE_PUBSUB, TYPE_MASTER };

// Parses a client type name as redis 7.0 does ("slave" is "replica").
static enum client_type parse_client_type(const struct rp_resp_str *arg)
{
    if (arg_is(arg, "normal"))
        return TYPE_NORMAL;
    if (arg_is(arg, "slave") || arg_is(arg, "replica"))
        return TYPE_REPLICA;
    if (arg_is(arg, "pubsub"))
        return TYPE_PUBSUB;
    if (arg_is(arg, "master"))
        return TYPE_MASTER;
    return TYPE_NONE;
}

static size_t subscription_count(const struct client *c)
{
    return rp_ps_sub_count(c->sub, RP_PS_CHANNEL) + rp_ps_sub_count(c->sub, RP_PS_PATTERN) +
           rp_ps_sub_count(c->sub, RP_PS_SHARD);
}

// A client with any subscription, in RESP2 or RESP3, is of class pubsub,
// as redis 7.0 sets its pubsub flag on any SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE.
static enum client_type client_type_of(const struct client *c)
{
    return subscription_count(c) > 0 ? TYPE_PUBSUB : TYPE_NORMAL;
}

static size_t argv_bytes(const struct client *c)
{
    size_t sum = 0;

    for (size_t i = 0; i < c->argc; i++)
        sum += c->argv[i].len;
    return sum;
}

// Appends the CLIENT LIST line of c, without its newline, to out. self is
// the client running the command: only its argv is valid, because only one
// command runs at a time. Returns 0 or RP_ERR_NOMEM.
static int append_client_line(struct rp_buf *out, const struct client *c, const struct client *self)
{
    char addr[128], laddr[128], flags[8], events[3], line[1024], last_cmd[64];
    char *f = flags;
    size_t qbuf = rp_net_conn_input_len(c->conn);
    size_t pending = rp_net_conn_pending(c->conn);
    size_t argv_mem = c == self ? argv_bytes(c) : 0;
    size_t name_len = c->name ? strlen(c->name) : 0;
    uint64_t now_s = time_wall_ms() / 1000;
    uint64_t now_mono = rp_net_loop_now_ms(c->srv->loop);
    int64_t age = (int64_t)(now_s - c->ctime_ms / 1000);
    int64_t idle = now_mono > c->last_interaction_ms ? (int64_t)((now_mono - c->last_interaction_ms) / 1000) : 0;

    rp_net_conn_peer_addr(c->conn, addr, sizeof(addr));
    rp_net_conn_local_addr(c->conn, laddr, sizeof(laddr));

    // Flag letters in redis 7.0's order, limited to the states ringpub has.
    if (subscription_count(c) > 0)
        *f++ = 'P';
    if (c->flags & RP_CLIENT_MULTI)
        *f++ = 'x';
    if (c->blocked != NULL)
        *f++ = 'b';
    if (multi_watch_dirty(c))
        *f++ = 'd';
    if (c->flags & RP_CLIENT_CLOSE_AFTER_REPLY)
        *f++ = 'c';
    if (c->flags & RP_CLIENT_CLOSE_ASAP)
        *f++ = 'A';
    if (c->flags & RP_CLIENT_UNIX)
        *f++ = 'U';
    if (c->flags & RP_CLIENT_NO_EVICT)
        *f++ = 'e';
    if (f == flags)
        *f++ = 'N';
    *f = '\0';

    // Every connection is always read from; "w" marks output waiting for the socket.
    f = events;
    *f++ = 'r';
    if (pending > 0)
        *f++ = 'w';
    *f = '\0';

    // The name goes in separately: SETNAME allows no spaces but any length.
    size_t tot_mem = sizeof(*c) + qbuf + c->reply.cap + pending + argv_mem + name_len;
    int n = snprintf(line, sizeof(line), "id=%llu addr=%s laddr=%s fd=%d name=", (unsigned long long)c->id, addr,
                     laddr, rp_net_conn_fd(c->conn));

    if (n < 0 || (size_t)n >= sizeof(line) || rp_buf_append(out, line, (size_t)n) < 0)
        return RP_ERR_NOMEM;
    if (name_len > 0 && rp_buf_append(out, c->name, name_len) < 0)
        return RP_ERR_NOMEM;

    // qbuf-free, rbs, rbp, obl, oll and omem describe redis's buffers; see
    // docs/COMPATIBILITY.md for what ringpub reports in them.
    n = snprintf(line, sizeof(line),
                 " age=%lld idle=%lld flags=%s db=%d sub=%zu psub=%zu ssub=%zu multi=%ld"
                 " qbuf=%zu qbuf-free=0 argv-mem=%zu multi-mem=%zu rbs=%zu rbp=%zu obl=%zu oll=0 omem=%zu"
                 " tot-mem=%zu events=%s cmd=%s user=default redir=-1 resp=%d",
                 (long long)age, (long long)idle, flags, c->db, rp_ps_sub_count(c->sub, RP_PS_CHANNEL),
                 rp_ps_sub_count(c->sub, RP_PS_PATTERN), rp_ps_sub_count(c->sub, RP_PS_SHARD), multi_queued_count(c), qbuf, argv_mem, multi_queued_bytes(c),
                 c->reply.cap, c->reply.len, c->reply.len, pending, tot_mem, events,
                 client_last_command_name(c, last_cmd, sizeof last_cmd), c->proto);
    if (n < 0 || (size_t)n >= sizeof(line) || rp_buf_append(out, line, (size_t)n) < 0)
        return RP_ERR_NOMEM;
    return 0;
}

static int append_client_entry(struct rp_buf *out, const struct client *c, const struct client *self)
{
    if (append_client_line(out, c, self) < 0 || rp_buf_append(out, "\n", 1) < 0)
        return RP_ERR_NOMEM;
    return 0;
}

// Sends out as a verbatim "txt" string (a bulk string in RESP2) and frees it.
static void reply_text(struct client *c, struct rp_buf *out)
{
    reply_verbatim(c, out->data ? out->data : "", out->len, "txt");
    rp_buf_free(out);
}

// Sends an out-of-memory error and frees out (NULL for none).
static void reply_nomem(struct client *c, struct rp_buf *out)
{
    if (out != NULL)
        rp_buf_free(out);
    rp_log(RP_LOG_WARNING, "CLIENT from client %llu failed: out of memory", (unsigned long long)c->id);
    reply_error(c, "ERR out of memory");
}

// Sends "ERR <prefix><arg><suffix>" as redis's addReplyErrorFormat does with
// a %s argument: the text stops at a NUL byte, and CR and LF become spaces.
static void reply_error_with_arg(struct client *c, const char *prefix, const struct rp_resp_str *arg,
                                 const char *suffix)
{
    struct rp_buf msg = RP_BUF_INIT;
    size_t len = strnlen(arg->ptr, arg->len);

    if (rp_buf_append(&msg, prefix, strlen(prefix)) < 0 || rp_buf_reserve(&msg, len + strlen(suffix) + 1) < 0) {
        reply_nomem(c, &msg);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = arg->ptr[i];

        msg.data[msg.len++] = ch == '\r' || ch == '\n' ? ' ' : ch;
    }
    memcpy(msg.data + msg.len, suffix, strlen(suffix) + 1);
    reply_error(c, msg.data);
    rp_buf_free(&msg);
}

// ---- Subcommands -------------------------------------------------------------

static void client_id(struct client *c)
{
    reply_integer(c, (int64_t)c->id);
}

// redis 7.0 accepts names of the printable ASCII characters '!' to '~', so
// that CLIENT LIST stays one space-separated line per client.
static int valid_client_name(const struct rp_resp_str *arg)
{
    for (size_t i = 0; i < arg->len; i++) {
        unsigned char ch = (unsigned char)arg->ptr[i];

        if (ch < '!' || ch > '~')
            return 0;
    }
    return 1;
}

// Replaces *slot with a copy of arg, or with NULL when arg is empty.
// Returns 0, or RP_ERR_NOMEM leaving *slot unchanged.
static int set_string(char **slot, const struct rp_resp_str *arg)
{
    char *copy = NULL;

    if (arg->len > 0) {
        copy = rp_malloc(arg->len + 1);
        if (copy == NULL)
            return RP_ERR_NOMEM;
        memcpy(copy, arg->ptr, arg->len);
        copy[arg->len] = '\0';
    }
    rp_free(*slot);
    *slot = copy;
    return 0;
}

// CLIENT SETNAME name: an empty name removes the name.
static void client_setname(struct client *c)
{
    if (!valid_client_name(&c->argv[2])) {
        reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    if (set_string(&c->name, &c->argv[2]) < 0) {
        reply_nomem(c, NULL);
        return;
    }
    reply_ok(c);
}

static void client_getname(struct client *c)
{
    if (c->name == NULL)
        reply_null(c);
    else
        reply_bulk_cstr(c, c->name);
}

// CLIENT SETINFO LIB-NAME name | LIB-VER version. Added in redis 7.2 and
// rejected by 7.0 as an unknown subcommand; ringpub accepts it because
// redis-py 5 and node-redis send it on connect.
// NOTE: the error texts follow redis 7.2 as remembered; no 7.2 server was at
// hand to compare against.
static void client_setinfo(struct client *c)
{
    char **slot;

    if (arg_is(&c->argv[2], "lib-name"))
        slot = &c->lib_name;
    else if (arg_is(&c->argv[2], "lib-ver"))
        slot = &c->lib_ver;
    else {
        reply_error_with_arg(c, "ERR Unrecognized option '", &c->argv[2], "'");
        return;
    }
    if (!valid_client_name(&c->argv[3])) {
        reply_error_with_arg(c, "ERR ", &c->argv[2], " cannot contain spaces, newlines or special characters.");
        return;
    }
    if (set_string(slot, &c->argv[3]) < 0) {
        reply_nomem(c, NULL);
        return;
    }
    reply_ok(c);
}

// CLIENT LIST [TYPE type | ID id ...]
static void client_list(struct client *c)
{
    struct rp_buf out = RP_BUF_INIT;
    enum client_type type = TYPE_NONE;

    if (c->argc == 4 && arg_is(&c->argv[2], "type")) {
        type = parse_client_type(&c->argv[3]);
        if (type == TYPE_NONE) {
            reply_error_with_arg(c, "ERR Unknown client type '", &c->argv[3], "'");
            return;
        }
    } else if (c->argc > 3 && arg_is(&c->argv[2], "id")) {
        // Every ID is checked before anything is listed, as redis does.
        for (size_t i = 3; i < c->argc; i++) {
            int64_t id;

            if (arg_to_int64(&c->argv[i], &id) < 0) {
                reply_error(c, "ERR Invalid client ID");
                return;
            }
        }
        // Each ID is listed as often as it is given, in the order given.
        for (size_t i = 3; i < c->argc; i++) {
            int64_t id;
            struct client *other;

            arg_to_int64(&c->argv[i], &id);
            other = id > 0 ? server_find_client(c->srv, (uint64_t)id) : NULL;
            if (other != NULL && append_client_entry(&out, other, c) < 0) {
                reply_nomem(c, &out);
                return;
            }
        }
        reply_text(c, &out);
        return;
    } else if (c->argc != 2) {
        reply_syntax_error(c);
        return;
    }

    for (const struct client *other = c->srv->clients_head; other != NULL; other = other->next) {
        if (type != TYPE_NONE && client_type_of(other) != type)
            continue;
        if (append_client_entry(&out, other, c) < 0) {
            reply_nomem(c, &out);
            return;
        }
    }
    reply_text(c, &out);
}

static void client_info(struct client *c)
{
    struct rp_buf out = RP_BUF_INIT;

    if (append_client_entry(&out, c, c) < 0) {
        reply_nomem(c, &out);
        return;
    }
    reply_text(c, &out);
}

// Filters of CLIENT KILL; a NULL or TYPE_NONE field matches every client.
struct kill_filter {
    const struct rp_resp_str *addr;
    const struct rp_resp_str *laddr;
    enum client_type type;
    uint64_t id;               // 0 matches any
    int skipme;
};

static int addr_equals(size_t (*format)(const rp_net_conn_t *, char *, size_t), const struct client *c,
                       const struct rp_resp_str *want)
{
    char addr[128];
    size_t len = format(c->conn, addr, sizeof(addr));

    return len == want->len && memcmp(addr, want->ptr, len) == 0;
}

static int kill_matches(const struct kill_filter *filter, const struct client *other, const struct client *self)
{
    if (filter->addr && !addr_equals(rp_net_conn_peer_addr, other, filter->addr))
        return 0;
    if (filter->laddr && !addr_equals(rp_net_conn_local_addr, other, filter->laddr))
        return 0;
    if (filter->type != TYPE_NONE && client_type_of(other) != filter->type)
        return 0;
    if (filter->id != 0 && other->id != filter->id)
        return 0;
    if (other == self && filter->skipme)
        return 0;
    return 1;
}

// Parses the option/value pairs of CLIENT KILL's filter form. Returns 0, or
// -1 after sending the error.
static int parse_kill_filter(struct client *c, struct kill_filter *filter)
{
    for (size_t i = 2; i < c->argc; i += 2) {
        // An option without its value is a syntax error, as in redis 7.0.
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return -1;
        }

        const struct rp_resp_str *opt = &c->argv[i];
        const struct rp_resp_str *val = &c->argv[i + 1];

        if (arg_is(opt, "id")) {
            int64_t id;

            if (arg_to_int64(val, &id) < 0 || id < 1) {
                reply_error(c, "ERR client-id should be greater than 0");
                return -1;
            }
            filter->id = (uint64_t)id;
        } else if (arg_is(opt, "type")) {
            filter->type = parse_client_type(val);
            if (filter->type == TYPE_NONE) {
                reply_error_with_arg(c, "ERR Unknown client type '", val, "'");
                return -1;
            }
        } else if (arg_is(opt, "addr")) {
            filter->addr = val;
        } else if (arg_is(opt, "laddr")) {
            filter->laddr = val;
        } else if (arg_is(opt, "user")) {
            // ringpub has one user, "default", that every connection runs as.
            if (!(val->len == 7 && memcmp(val->ptr, "default", 7) == 0)) {
                reply_error_with_arg(c, "ERR No such user '", val, "'");
                return -1;
            }
        } else if (arg_is(opt, "skipme")) {
            if (arg_is(val, "yes"))
                filter->skipme = 1;
            else if (arg_is(val, "no"))
                filter->skipme = 0;
            else {
                reply_syntax_error(c);
                return -1;
            }
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    return 0;
}

// CLIENT KILL addr (old form: "+OK", or an error when no client matched, and
// the caller may kill itself) or CLIENT KILL option value ... (new form: the
// number killed, skipping the caller unless SKIPME no). A caller that kills
// itself gets its reply, then the connection closes.
static void client_kill(struct client *c)
{
    struct kill_filter filter = {.type = TYPE_NONE, .skipme = 1};
    int old_form = c->argc == 3;
    int64_t killed = 0;
    int kill_self = 0;

    if (old_form) {
        filter.addr = &c->argv[2];
        filter.skipme = 0;
    } else if (parse_kill_filter(c, &filter) < 0) {
        return;
    }

    struct client *next;

    for (struct client *other = c->srv->clients_head; other != NULL; other = next) {
        next = other->next;
        // A client already being closed is gone as far as redis would show.
        if (other->flags & (RP_CLIENT_CLOSE_ASAP | RP_CLIENT_CLOSE_AFTER_REPLY) && other != c)
            continue;
        if (!kill_matches(&filter, other, c))
            continue;
        killed++;
        if (other == c)
            kill_self = 1;
        else
            client_close_now(other);
    }

    if (old_form) {
        if (killed == 0)
            reply_error(c, "ERR No such client");
        else
            reply_ok(c);
    } else {
        reply_integer(c, killed);
    }
    if (kill_self)
        client_close_after_reply(c);
}

// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP send nothing. ON clears both modes
// before its "+OK", so that reply is sent even when a SKIP applied to ON.
static void client_reply(struct client *c)
{
    if (arg_is(&c->argv[2], "on")) {
        c->flags &= ~(uint32_t)(RP_CLIENT_REPLY_OFF | RP_CLIENT_REPLY_SKIP);
        reply_ok(c);
    } else if (arg_is(&c->argv[2], "off")) {
        c->flags |= RP_CLIENT_REPLY_OFF;
    } else if (arg_is(&c->argv[2], "skip")) {
        if (!(c->flags & RP_CLIENT_REPLY_OFF))
            c->flags |= RP_CLIENT_REPLY_SKIP_NEXT;
    } else {
        reply_syntax_error(c);
    }
}

// CLIENT NO-EVICT ON|OFF. ringpub evicts no clients, so the flag only shows
// in CLIENT LIST, as "e".
static void client_no_evict(struct client *c)
{
    if (arg_is(&c->argv[2], "on")) {
        c->flags |= RP_CLIENT_NO_EVICT;
        reply_ok(c);
    } else if (arg_is(&c->argv[2], "off")) {
        c->flags &= ~(uint32_t)RP_CLIENT_NO_EVICT;
        reply_ok(c);
    } else {
        reply_syntax_error(c);
    }
}

static void client_help(struct client *c)
{
    static const char *const lines[] = {
        "GETNAME",
        "    Return the name of this connection.",
        "ID",
        "    Return the ID of this connection.",
        "INFO",
        "    Return the CLIENT LIST line of this connection.",
        "KILL <ip:port>",
        "    Close the connection from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Close every connection that matches all the options:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Peer address of the connection.",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Local address the connection was accepted on.",
        "    * ID <client-id>",
        "      ID of the connection.",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Class of the connection.",
        "    * USER <username>",
        "      User of the connection.",
        "    * SKIPME (YES|NO)",
        "      Whether to spare this connection (default: yes).",
        "LIST [options ...]",
        "    Return one line per connection. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Only connections of this class.",
        "    * ID <client-id> [<client-id> ...]",
        "      Only the connections with these IDs.",
        "REPLY (ON|OFF|SKIP)",
        "    Turn replies to this connection on or off, or skip the next one.",
        "SETNAME <name>",
        "    Name this connection.",
        "SETINFO (LIB-NAME|LIB-VER) <value>",
        "    Record the client library name or version.",
        "NO-EVICT (ON|OFF)",
        "    Mark this connection as exempt from client eviction.",
        NULL,
    };

    reply_help(c, lines);
}

static const struct command client_subcommands[] = {
    {"getname", 2, 0, client_getname, NULL},
    {"help", 2, 0, client_help, NULL},
    {"id", 2, 0, client_id, NULL},
    {"info", 2, 0, client_info, NULL},
    {"kill", -3, 0, client_kill, NULL},
    {"list", -2, 0, client_list, NULL},
    {"no-evict", 3, 0, client_no_evict, NULL},
    {"reply", 3, 0, client_reply, NULL},
    {"setinfo", 4, 0, client_setinfo, NULL},
    {"setname", 3, 0, client_setname, NULL},
    {NULL, 0, 0, NULL, NULL},
};

const struct command rp_cmds_client[] = {
    {"client", -2, RP_CMD_CONTAINER, NULL, client_subcommands},
    {NULL, 0, 0, NULL, NULL},
};
