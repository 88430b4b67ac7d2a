// SPDX-License-Identifier: BSD-3-Clause
// Stream commands: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XSETID and
// XREAD (with BLOCK through blocking.c), over the block storage of stream.c,
// with redis 7.0's id rules, option parsing order and error texts. Writes
// are logged to the AOF deterministically: XADD with its resolved id, and a
// trim as an exact XTRIM MAXLEN to the length it left.

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ringpub/alloc.h"
#include "server/aof.h"
#include "server/blocking.h"
#include "server/db.h"
#include "server/multi.h"
#include "server/server.h"

#define ERR_NOT_INTEGER "ERR value is not an integer or out of range"
#define ERR_INVALID_ID "ERR Invalid stream ID specified as stream command argument"

// Maximum length of an id text redis parses; longer ones are invalid.
#define MAX_ID_TEXT 127

// LIMIT used by an approximate trim that names none: 100 times redis's
// stream-node-max-entries default of 100.
#define DEFAULT_TRIM_LIMIT (100 * STREAM_BLOCK_ENTRIES)

// Largest length of "ms-seq" for two 64-bit numbers, with its NUL.
#define ID_TEXT_SIZE 42

static int format_id(struct stream_id id, char *dst)
{
    return snprintf(dst, ID_TEXT_SIZE, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

// Parses an unsigned 64-bit number as redis string2ull does: a signed
// decimal that must not be negative, or else whatever strtoull accepts
// whole (leading zeros and '+' included).
static int parse_u64(const char *p, size_t len, uint64_t *out)
{
    int64_t v;
    if (parse_int64(p, len, &v) == 0) {
        if (v < 0)
            return -1;
        *out = (uint64_t)v;
        return 0;
    }
    if (len == 0 || len > MAX_ID_TEXT)
        return -1;

    char text[MAX_ID_TEXT + 1];
    memcpy(text, p, len);
    text[len] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long long u = strtoull(text, &end, 10);
    if (errno != 0 || end != text + len)
        return -1;
    *out = u;
    return 0;
}

// Parses a stream id. Without a '-', the sequence is missing_seq. With
// seq_auto non-NULL, "ms-*" is accepted and sets *seq_auto to 1. With
// strict, "-" and "+" are rejected. Returns 0 or -1 (invalid).
static int parse_id(const struct rp_resp_str *arg, uint64_t missing_seq, int strict, struct stream_id *id,
                    int *seq_auto)
{
    if (seq_auto != NULL)
        *seq_auto = 0;
    if (arg->len > MAX_ID_TEXT)
        return -1;
    if (arg->len == 1 && (arg->ptr[0] == '-' || arg->ptr[0] == '+')) {
        if (strict)
            return -1;
        *id = arg->ptr[0] == '-' ? (struct stream_id){0, 0} : (struct stream_id){UINT64_MAX, UINT64_MAX};
        return 0;
    }

    const char *dash = memchr(arg->ptr, '-', arg->len);
    if (dash == NULL) {
        if (parse_u64(arg->ptr, arg->len, &id->ms) != 0)
            return -1;
        id->seq = missing_seq;
        return 0;
    }

    size_t ms_len = (size_t)(dash - arg->ptr);
    const char *seq = dash + 1;
    size_t seq_len = arg->len - ms_len - 1;
    if (parse_u64(arg->ptr, ms_len, &id->ms) != 0)
        return -1;
    if (seq_auto != NULL && seq_len == 1 && seq[0] == '*') {
        id->seq = 0;
        *seq_auto = 1;
        return 0;
    }
    return parse_u64(seq, seq_len, &id->seq);
}

// Parses an XRANGE bound: an id, "-", "+", or an exclusive "(id". Returns
// 0, or -1 after replying with the error.
static int parse_range_bound(struct client *c, const struct rp_resp_str *arg, int is_start, struct stream_id *id)
{
    uint64_t missing_seq = is_start ? 0 : UINT64_MAX;
    if (arg->len > 1 && arg->ptr[0] == '(') {
        struct rp_resp_str rest = {arg->ptr + 1, arg->len - 1};
        if (parse_id(&rest, missing_seq, 1, id, NULL) != 0) {
            reply_error(c, ERR_INVALID_ID);
            return -1;
        }
        // The exclusive bound is the next id up (start) or down (end).
        if (is_start) {
            if (id->seq == UINT64_MAX && id->ms == UINT64_MAX) {
                reply_error(c, "ERR invalid start ID for the interval");
                return -1;
            }
            if (id->seq == UINT64_MAX) {
                id->ms++;
                id->seq = 0;
            } else {
                id->seq++;
            }
        } else {
            if (id->seq == 0 && id->ms == 0) {
                reply_error(c, "ERR invalid end ID for the interval");
                return -1;
            }
            if (id->seq == 0) {
                id->ms--;
                id->seq = UINT64_MAX;
            } else {
                id->seq--;
            }
        }
        return 0;
    }
    if (parse_id(arg, missing_seq, 0, id, NULL) != 0) {
        reply_error(c, ERR_INVALID_ID);
        return -1;
    }
    return 0;
}

// ---- Entry replies -----------------------------------------------------------

static int count_entry(void *ctx, const struct stream_entry *e)
{
    (void)ctx;
    (void)e;
    return 0;
}

static int reply_entry(void *ctx, const struct stream_entry *e)
{
    struct client *c = ctx;
    char text[ID_TEXT_SIZE];
    int n = format_id(e->id, text);

    reply_array_len(c, 2);
    reply_bulk(c, text, (size_t)n);
    reply_array_len(c, e->field_count * 2);
    for (size_t i = 0; i < e->field_count * 2; i++)
        reply_bulk(c, e->ptrs[i], e->lens[i]);
    return 0;
}

static int capture_id(void *ctx, const struct stream_entry *e)
{
    *(struct stream_id *)ctx = e->id;
    return 1;
}

int stream_has_entries_after(const struct stream *s, struct stream_id after)
{
    struct stream_id top;
    if (stream_len(s) == 0)
        return 0;
    stream_range(s, (struct stream_id){0, 0}, (struct stream_id){UINT64_MAX, UINT64_MAX}, 1, 1, capture_id, &top);
    return stream_id_cmp(top, after) > 0;
}

// Replies with the entries from start to end (both included), at most count
// (0 for all), as an array of [id, [field, value...]]. Returns the number sent.
static size_t reply_range(struct client *c, const struct stream *s, struct stream_id start, struct stream_id end,
                          uint64_t count, int reverse)
{
    // Counted first, because a RESP array's length precedes its elements.
    size_t n = stream_range(s, start, end, (size_t)count, reverse, count_entry, NULL);
    reply_array_len(c, n);
    if (n > 0)
        stream_range(s, start, end, n, reverse, reply_entry, c);
    return n;
}

void stream_reply_read(struct client *c, const char *name, size_t len, const struct stream *s,
                       struct stream_id after, uint64_t count)
{
    struct stream_id start = after;
    if (start.seq == UINT64_MAX) {
        start.ms++;
        start.seq = 0;
    } else {
        start.seq++;
    }
    if (c->proto == 2)
        reply_array_len(c, 2);
    reply_bulk(c, name, len);
    reply_range(c, s, start, (struct stream_id){UINT64_MAX, UINT64_MAX}, count, 0);
}

// ---- XADD and XTRIM options ------------------------------------------------------

enum trim_strategy { TRIM_NONE, TRIM_MAXLEN, TRIM_MINID };

struct trim_args {
    enum trim_strategy strategy;
    int approx;
    uint64_t maxlen;
    struct stream_id minid;
    uint64_t limit;                  // 0 for none
    int limit_given;
    int nomkstream;                  // XADD only
    int id_auto;                     // XADD "*"
    int seq_auto;                    // XADD "ms-*"
    struct stream_id id;             // XADD explicit id
};

// Parses the value of MAXLEN or LIMIT (named by option in the error), which
// must be an integer >= 0. Returns 0, or -1 after replying with the error.
static int parse_count_arg(struct client *c, const struct rp_resp_str *arg, const char *option, uint64_t *out)
{
    int64_t v;
    if (arg_to_int64(arg, &v) != 0) {
        reply_error(c, ERR_NOT_INTEGER);
        return -1;
    }
    if (v < 0) {
        reply_errorf(c, "ERR The %s argument must be >= 0.", option);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

// Parses the options of XADD (xadd set, stopping at the id, which it also
// parses) or XTRIM (every argument after the key). Returns the index of the
// id for XADD or argc for XTRIM, or -1 after replying with the error.
static int parse_trim_args(struct client *c, int xadd, struct trim_args *t)
{
    memset(t, 0, sizeof *t);
    size_t i = 2;

    for (; i < c->argc; i++) {
        size_t more = c->argc - 1 - i;
        const struct rp_resp_str *opt = &c->argv[i];

        if (xadd && opt->len == 1 && opt->ptr[0] == '*') {
            break;
        } else if ((arg_is(opt, "maxlen") || arg_is(opt, "minid")) && more >= 1) {
            int is_maxlen = arg_is(opt, "maxlen");
            // Redis 7.0 sends the same error for a repeated MAXLEN or MINID.
            if (t->strategy != TRIM_NONE) {
                reply_error(c, "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return -1;
            }
            t->approx = 0;
            const struct rp_resp_str *next = &c->argv[i + 1];
            if (more >= 2 && next->len == 1 && (next->ptr[0] == '~' || next->ptr[0] == '=')) {
                t->approx = next->ptr[0] == '~';
                i++;
            }
            const struct rp_resp_str *value = &c->argv[i + 1];
            if (is_maxlen) {
                if (parse_count_arg(c, value, "MAXLEN", &t->maxlen) != 0)
                    return -1;
                t->strategy = TRIM_MAXLEN;
            } else {
                if (parse_id(value, 0, 1, &t->minid, NULL) != 0) {
                    reply_error(c, ERR_INVALID_ID);
                    return -1;
                }
                t->strategy = TRIM_MINID;
            }
            i++;
        } else if (arg_is(opt, "limit") && more >= 1) {
            if (parse_count_arg(c, &c->argv[i + 1], "LIMIT", &t->limit) != 0)
                return -1;
            t->limit_given = 1;
            i++;
        } else if (xadd && arg_is(opt, "nomkstream")) {
            t->nomkstream = 1;
        } else if (xadd) {
            break;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }

    if (xadd && i < c->argc) {
        // The loop stopped at the id ("*", "ms-seq" or "ms-*").
        const struct rp_resp_str *id = &c->argv[i];
        if (id->len == 1 && id->ptr[0] == '*') {
            t->id_auto = 1;
        } else if (parse_id(id, 0, 1, &t->id, &t->seq_auto) != 0) {
            reply_error(c, ERR_INVALID_ID);
            return -1;
        }
    }

    if (t->limit_given && t->strategy == TRIM_NONE) {
        reply_error(c, "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (t->limit_given && !t->approx) {
        reply_error(c, "ERR syntax error, LIMIT cannot be used without the special ~ option");
        return -1;
    }
    // Options that used every argument leave XADD no id; redis checks LIMIT
    // first and then replies with the arity error.
    if (xadd && i >= c->argc) {
        reply_wrong_arity(c);
        return -1;
    }
    if (!xadd && t->strategy == TRIM_NONE) {
        reply_syntax_error(c);
        return -1;
    }
    if (t->approx && !t->limit_given)
        t->limit = DEFAULT_TRIM_LIMIT;
    if (!t->approx)
        t->limit = 0;
    return (int)i;
}

// Trims as t requests and logs an exact XTRIM to the length left, so that a
// replay ends with the same entries whatever its block layout.
static uint64_t trim_and_log(struct client *c, struct key *k, const struct trim_args *t)
{
    uint64_t removed;
    if (t->strategy == TRIM_MAXLEN)
        removed = stream_trim_maxlen(k->stream, t->maxlen, t->approx, t->limit);
    else
        removed = stream_trim_minid(k->stream, t->minid, t->approx, t->limit);

    if (removed > 0) {
        char len_text[24];
        int n = snprintf(len_text, sizeof len_text, "%" PRIu64, stream_len(k->stream));
        struct rp_resp_str argv[5] = {
            {"XTRIM", 5}, {k->name, k->name_len}, {"MAXLEN", 6}, {"=", 1}, {len_text, (size_t)n},
        };
        aof_feed(c->srv, c->db, 5, argv);
        watch_touch_key(c->srv, c->db, k->name, k->name_len);
    }
    return removed;
}

static int id_is_max(struct stream_id id)
{
    return id.ms == UINT64_MAX && id.seq == UINT64_MAX;
}

static void cmd_xadd(struct client *c)
{
    struct trim_args t;
    int idpos = parse_trim_args(c, 1, &t);
    if (idpos < 0)
        return;

    size_t field_pos = (size_t)idpos + 1;
    size_t nargs = c->argc - field_pos;
    if (nargs < 2 || nargs % 2 == 1) {
        reply_wrong_arity(c);
        return;
    }
    if (!t.id_auto && !t.seq_auto && t.id.ms == 0 && t.id.seq == 0) {
        reply_error(c, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }

    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    int created = 0;
    if (k == NULL) {
        if (t.nomkstream) {
            reply_null(c);
            return;
        }
        k = db_add_stream(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
        if (k == NULL) {
            reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
            return;
        }
        created = 1;
    }

    struct stream *s = k->stream;
    struct stream_id last = stream_last_id(s);
    if (id_is_max(last)) {
        reply_error(c, "ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }

    struct stream_id id;
    if (t.id_auto) {
        // The current millisecond, or the last id's plus one sequence when
        // the clock has not moved past it (redis streamNextID).
        uint64_t now = (uint64_t)db_now_ms();
        if (now > last.ms)
            id = (struct stream_id){now, 0};
        else if (last.seq == UINT64_MAX)
            id = (struct stream_id){last.ms + 1, 0};
        else
            id = (struct stream_id){last.ms, last.seq + 1};
    } else if (t.seq_auto) {
        if (t.id.ms == last.ms) {
            if (last.seq == UINT64_MAX) {
                reply_error(c, "ERR Elements are too large to be stored");
                goto undo_create;
            }
            id = (struct stream_id){last.ms, last.seq + 1};
        } else if (t.id.ms > last.ms) {
            id = (struct stream_id){t.id.ms, 0};
        } else {
            reply_error(c, "ERR The ID specified in XADD is equal or smaller than the target stream top item");
            goto undo_create;
        }
    } else {
        id = t.id;
        if (stream_id_cmp(id, last) <= 0) {
            reply_error(c, "ERR The ID specified in XADD is equal or smaller than the target stream top item");
            goto undo_create;
        }
    }

    if (stream_append(s, id, &c->argv[field_pos], nargs / 2) != 0) {
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
        goto undo_create;
    }

    // Logged with the id it got, so that a replay adds the same entry.
    char id_text[ID_TEXT_SIZE];
    int n = format_id(id, id_text);
    struct rp_resp_str head[3] = {{"XADD", 4}, c->argv[1], {id_text, (size_t)n}};
    size_t log_argc = 3 + nargs;
    struct rp_resp_str *logged = rp_calloc(log_argc, sizeof *logged);
    if (logged != NULL) {
        memcpy(logged, head, sizeof head);
        memcpy(logged + 3, &c->argv[field_pos], nargs * sizeof *logged);
        aof_feed(c->srv, c->db, log_argc, logged);
        rp_free(logged);
    } else {
        rp_log(RP_LOG_WARNING, "Out of memory while logging an XADD to the AOF; the entry %s is not in the log",
               id_text);
        c->srv->aof_info.last_write_ok = 0;
    }

    reply_bulk(c, id_text, (size_t)n);
    if (t.strategy != TRIM_NONE)
        trim_and_log(c, k, &t);

    watch_touch_key(c->srv, c->db, k->name, k->name_len);
    blocking_signal_key(c->srv, c->db, k->name, k->name_len);
    return;

undo_create:
    // A stream created by this failed XADD would be an empty key that
    // redis never makes: remove it again.
    if (created)
        db_delete_new(c->srv, c->db, k);
}

static void range_generic(struct client *c, int reverse)
{
    struct stream_id start, end;
    const struct rp_resp_str *start_arg = &c->argv[reverse ? 3 : 2];
    const struct rp_resp_str *end_arg = &c->argv[reverse ? 2 : 3];
    if (parse_range_bound(c, start_arg, 1, &start) != 0 || parse_range_bound(c, end_arg, 0, &end) != 0)
        return;

    int64_t count = -1;
    for (size_t i = 4; i < c->argc; i++) {
        if (arg_is(&c->argv[i], "count") && i + 1 < c->argc) {
            if (arg_to_int64(&c->argv[i + 1], &count) != 0) {
                reply_error(c, ERR_NOT_INTEGER);
                return;
            }
            if (count < 0)
                count = 0;
            i++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }

    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    if (k == NULL) {
        reply_array_len(c, 0);
        return;
    }
    // COUNT 0 (or negative) gets a null array from redis 7.0, not an empty one.
    if (count == 0) {
        reply_null_array(c);
        return;
    }
    reply_range(c, k->stream, start, end, count < 0 ? 0 : (uint64_t)count, reverse);
}

static void cmd_xrange(struct client *c)
{
    range_generic(c, 0);
}

static void cmd_xrevrange(struct client *c)
{
    range_generic(c, 1);
}

static void cmd_xlen(struct client *c)
{
    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    reply_integer(c, k != NULL ? (int64_t)stream_len(k->stream) : 0);
}

static void cmd_xdel(struct client *c)
{
    // A missing key gets 0 before the ids are parsed, as in redis 7.0.
    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    if (k == NULL) {
        reply_integer(c, 0);
        return;
    }

    // Every id is checked before anything is deleted.
    for (size_t i = 2; i < c->argc; i++) {
        struct stream_id id;
        if (parse_id(&c->argv[i], 0, 1, &id, NULL) != 0) {
            reply_error(c, ERR_INVALID_ID);
            return;
        }
    }

    int64_t deleted = 0;
    for (size_t i = 2; i < c->argc; i++) {
        struct stream_id id;
        parse_id(&c->argv[i], 0, 1, &id, NULL);
        deleted += stream_delete(k->stream, id);
    }
    if (deleted > 0) {
        aof_feed(c->srv, c->db, c->argc, c->argv);
        watch_touch_key(c->srv, c->db, k->name, k->name_len);
    }
    reply_integer(c, deleted);
}

static void cmd_xtrim(struct client *c)
{
    struct trim_args t;
    if (parse_trim_args(c, 0, &t) < 0)
        return;

    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    if (k == NULL) {
        reply_integer(c, 0);
        return;
    }
    reply_integer(c, (int64_t)trim_and_log(c, k, &t));
}

// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]. ringpub keeps no
// entries-added or max-deleted-id counters (they show only in XINFO), so
// those options are checked and otherwise ignored.
static void cmd_xsetid(struct client *c)
{
    struct stream_id id;
    if (parse_id(&c->argv[2], 0, 1, &id, NULL) != 0) {
        reply_error(c, ERR_INVALID_ID);
        return;
    }

    int64_t entries_added = -1;
    for (size_t i = 3; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        if (arg_is(&c->argv[i], "entriesadded")) {
            if (arg_to_int64(&c->argv[i + 1], &entries_added) != 0) {
                reply_error(c, ERR_NOT_INTEGER);
                return;
            }
            if (entries_added < 0) {
                reply_error(c, "ERR entries_added must be positive");
                return;
            }
        } else if (arg_is(&c->argv[i], "maxdeletedid")) {
            struct stream_id max_deleted;
            if (parse_id(&c->argv[i + 1], 0, 1, &max_deleted, NULL) != 0) {
                reply_error(c, ERR_INVALID_ID);
                return;
            }
            if (stream_id_cmp(id, max_deleted) < 0) {
                reply_error(c, "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }

    struct key *k = db_lookup(c->srv, c->db, c->argv[1].ptr, c->argv[1].len);
    if (k == NULL) {
        reply_error(c, "ERR no such key");
        return;
    }
    struct stream *s = k->stream;
    // The new last id may go below the old one, but not below the newest entry.
    if (stream_len(s) > 0) {
        struct stream_id top = {0, 0};
        stream_range(s, (struct stream_id){0, 0}, (struct stream_id){UINT64_MAX, UINT64_MAX}, 1, 1, capture_id, &top);
        if (stream_id_cmp(id, top) < 0) {
            reply_error(c, "ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
    }
    // Redis 7.0 checks the length after the top item.
    if (entries_added >= 0 && (uint64_t)entries_added < stream_len(s)) {
        reply_error(c, "ERR The entries_added specified in XSETID is smaller than the target stream length");
        return;
    }
    stream_set_last_id(s, id);

    char id_text[ID_TEXT_SIZE];
    int n = format_id(id, id_text);
    struct rp_resp_str logged[3] = {{"XSETID", 6}, c->argv[1], {id_text, (size_t)n}};
    // NOTE: redis 7.0.15's XSETID does not count as a change for WATCH,
    // so ringpub does not mark watchers either.
    aof_feed(c->srv, c->db, 3, logged);
    reply_ok(c);
}

// XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...
static void cmd_xread(struct client *c)
{
    int64_t count = 0;
    int64_t timeout = -1;
    size_t streams_at = 0;

    for (size_t i = 1; i < c->argc; i++) {
        size_t more = c->argc - 1 - i;
        const struct rp_resp_str *opt = &c->argv[i];
        if (arg_is(opt, "block") && more >= 1) {
            if (arg_to_int64(&c->argv[i + 1], &timeout) != 0) {
                reply_error(c, "ERR timeout is not an integer or out of range");
                return;
            }
            if (timeout < 0) {
                reply_error(c, "ERR timeout is negative");
                return;
            }
            i++;
        } else if (arg_is(opt, "count") && more >= 1) {
            if (arg_to_int64(&c->argv[i + 1], &count) != 0) {
                reply_error(c, ERR_NOT_INTEGER);
                return;
            }
            if (count < 0)
                count = 0;
            i++;
        } else if (arg_is(opt, "streams") && more >= 1) {
            streams_at = i + 1;
            break;
        } else if (arg_is(opt, "group") && more >= 2) {
            reply_error(c, "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
            return;
        } else if (arg_is(opt, "noack")) {
            reply_error(c, "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
            return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (streams_at == 0) {
        reply_syntax_error(c);
        return;
    }
    size_t nargs = c->argc - streams_at;
    if (nargs % 2 != 0) {
        reply_error(c, "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
        return;
    }
    size_t nkeys = nargs / 2;
    const struct rp_resp_str *keys = &c->argv[streams_at];
    const struct rp_resp_str *id_args = &c->argv[streams_at + nkeys];

    struct stream_id *ids = rp_calloc(nkeys, sizeof *ids);
    if (ids == NULL) {
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }

    // "$" is the stream's last id now (0-0 for a missing key), so only
    // entries added after this call are returned.
    for (size_t i = 0; i < nkeys; i++) {
        const struct rp_resp_str *a = &id_args[i];
        if (a->len == 1 && a->ptr[0] == '$') {
            struct key *k = db_lookup(c->srv, c->db, keys[i].ptr, keys[i].len);
            ids[i] = k != NULL ? stream_last_id(k->stream) : (struct stream_id){0, 0};
        } else if (a->len == 1 && a->ptr[0] == '>') {
            reply_error(c, "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
                           "<consumer> option.");
            rp_free(ids);
            return;
        } else if (parse_id(a, 0, 1, &ids[i], NULL) != 0) {
            reply_error(c, ERR_INVALID_ID);
            rp_free(ids);
            return;
        }
    }

    size_t ready = 0;
    for (size_t i = 0; i < nkeys; i++) {
        struct key *k = db_lookup(c->srv, c->db, keys[i].ptr, keys[i].len);
        if (k != NULL && stream_has_entries_after(k->stream, ids[i]))
            ready++;
    }

    if (ready > 0) {
        if (c->proto == 2)
            reply_array_len(c, ready);
        else
            reply_map_len(c, ready);
        for (size_t i = 0; i < nkeys; i++) {
            struct key *k = db_lookup(c->srv, c->db, keys[i].ptr, keys[i].len);
            if (k != NULL && stream_has_entries_after(k->stream, ids[i]))
                stream_reply_read(c, keys[i].ptr, keys[i].len, k->stream, ids[i], (uint64_t)count);
        }
        rp_free(ids);
        return;
    }

    // Inside EXEC a blocking read does not block: it replies at once, as redis.
    if (timeout < 0 || (c->flags & RP_CLIENT_IN_EXEC)) {
        reply_null_array(c);
        rp_free(ids);
        return;
    }
    if (blocking_block_xread(c, (uint64_t)timeout, nkeys, keys, ids, (uint64_t)count) != 0)
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
    rp_free(ids);
}

const struct command rp_cmds_stream[] = {
    {"xadd", -5, RP_CMD_WRITE | RP_CMD_DENYOOM, cmd_xadd, NULL},
    {"xrange", -4, RP_CMD_READONLY, cmd_xrange, NULL},
    {"xrevrange", -4, RP_CMD_READONLY, cmd_xrevrange, NULL},
    {"xlen", 2, RP_CMD_READONLY, cmd_xlen, NULL},
    {"xdel", -3, RP_CMD_WRITE, cmd_xdel, NULL},
    {"xtrim", -4, RP_CMD_WRITE, cmd_xtrim, NULL},
    {"xsetid", -3, RP_CMD_WRITE, cmd_xsetid, NULL},
    {"xread", -4, RP_CMD_READONLY, cmd_xread, NULL},
    {NULL, 0, 0, NULL, NULL},
};
