// SPDX-License-Identifier: BSD-3-Clause
// COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS,
// GETKEYSANDFLAGS, HELP). They describe the commands of the dispatch table,
// never more: a command is listed only if command_lookup finds it, a
// subcommand only if its container has it. What is printed about each comes
// from command_meta.c (redis 7.0's facts, ringpub's own summaries), except the
// arity, which is the one the dispatcher enforces.

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/command_meta.h"
#include "server/server.h"

// Buffer size for a full name; the longest, "command|getkeysandflags", has 23 bytes.
#define FULLNAME_MAX 128

// Maximum nesting of COMMAND DOCS argument lists. The generated tables nest
// 4 deep at most (CLIENT KILL), and the generator rejects more than this.
#define ARG_DEPTH_MAX 8

// ---- Lookups --------------------------------------------------------------

// Returns the part of a full name after '|', or the name itself.
static const char *short_name(const char *fullname)
{
    const char *bar = strchr(fullname, '|');

    return bar ? bar + 1 : fullname;
}

static int name_equals(const char *name, const char *p, size_t len)
{
    return strncasecmp(name, p, len) == 0 && name[len] == '\0';
}

// Finds the metadata of a subcommand of meta by its short name. NULL if none.
static const struct cmd_meta *find_sub_meta(const struct cmd_meta *meta, const char *name, size_t len)
{
    if (meta == NULL)
        return NULL;
    for (unsigned i = 0; i < meta->subcommand_count; i++) {
        if (name_equals(short_name(meta->subcommands[i].name), name, len))
            return &meta->subcommands[i];
    }
    return NULL;
}

// Finds a subcommand of a container in the dispatch table. NULL if none.
static const struct command *find_sub(const struct command *cmd, const char *name, size_t len)
{
    if (cmd->subcommands == NULL)
        return NULL;
    for (const struct command *sub = cmd->subcommands; sub->name != NULL; sub++) {
        if (name_equals(sub->name, name, len))
            return sub;
    }
    return NULL;
}

// A command or subcommand of the dispatch table with its metadata (NULL when
// ringpub carries none) and, for a subcommand, its container.
struct cmd_view {
    const struct command *cmd;
    const struct cmd_meta *meta;
    const struct command *parent;
};

// Resolves "name" or "container|sub", case-insensitively, to a command of the
// dispatch table. Returns 0 and fills view, or -1 if there is no such command.
static int resolve_fullname(const struct server *srv, const char *p, size_t len, struct cmd_view *view)
{
    const char *bar = memchr(p, '|', len);
    size_t top_len = bar ? (size_t)(bar - p) : len;
    const struct command *top = command_lookup(srv, p, top_len);

    if (top == NULL)
        return -1;
    view->cmd = top;
    view->meta = cmd_meta_find(top->name, strlen(top->name));
    view->parent = NULL;
    if (bar == NULL)
        return 0;

    const char *sub_name = bar + 1;
    size_t sub_len = len - top_len - 1;
    const struct command *sub = find_sub(top, sub_name, sub_len);

    // "client|id|x" names nothing: find_sub compares the whole rest.
    if (sub == NULL)
        return -1;
    view->parent = top;
    view->meta = find_sub_meta(view->meta, sub->name, strlen(sub->name));
    view->cmd = sub;
    return 0;
}

typedef void sub_visit_fn(void *ctx, const struct cmd_view *sub);

// Calls fn for each subcommand of container view->cmd: first those with
// metadata, in its order (by name), then any without, in dispatch order.
static void foreach_subcommand(const struct cmd_view *view, sub_visit_fn *fn, void *ctx)
{
    const struct command *cmd = view->cmd;
    struct cmd_view sub = {.parent = cmd};

    if (cmd->subcommands == NULL)
        return;
    if (view->meta != NULL) {
        for (unsigned i = 0; i < view->meta->subcommand_count; i++) {
            const char *name = short_name(view->meta->subcommands[i].name);

            sub.cmd = find_sub(cmd, name, strlen(name));
            if (sub.cmd == NULL)
                continue;
            sub.meta = &view->meta->subcommands[i];
            fn(ctx, &sub);
        }
    }
    for (const struct command *s = cmd->subcommands; s->name != NULL; s++) {
        if (find_sub_meta(view->meta, s->name, strlen(s->name)) != NULL)
            continue;
        sub.cmd = s;
        sub.meta = NULL;
        fn(ctx, &sub);
    }
}

static void count_visit(void *ctx, const struct cmd_view *sub)
{
    (void)sub;
    (*(size_t *)ctx)++;
}

static size_t count_subcommands(const struct cmd_view *view)
{
    size_t n = 0;

    foreach_subcommand(view, count_visit, &n);
    return n;
}

// Writes "container|sub" or "name" into buf (FULLNAME_MAX bytes); returns its length.
static size_t format_fullname(const struct cmd_view *view, char *buf)
{
    int n;

    if (view->parent != NULL)
        n = snprintf(buf, FULLNAME_MAX, "%s|%s", view->parent->name, view->cmd->name);
    else
        n = snprintf(buf, FULLNAME_MAX, "%s", view->cmd->name);
    if (n < 0)
        n = 0;
    if (n >= FULLNAME_MAX)
        n = FULLNAME_MAX - 1;
    return (size_t)n;
}

// ---- Space-separated word lists -------------------------------------------

static size_t count_words(const char *words)
{
    size_t n = 0;

    for (const char *p = words; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, " ");

        n++;
        p += len;
        p += strspn(p, " ");
    }
    return n;
}

enum word_kind { WORD_SIMPLE, WORD_BULK };

// Sends each word of a space-separated list (NULL for none) as a simple or bulk string.
static void reply_words(struct client *c, const char *words, enum word_kind kind)
{
    char word[64];

    for (const char *p = words; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, " ");

        if (kind == WORD_BULK) {
            reply_bulk(c, p, len);
        } else {
            // The generated flags and categories are short ASCII words.
            if (len >= sizeof(word))
                len = sizeof(word) - 1;
            memcpy(word, p, len);
            word[len] = '\0';
            reply_simple(c, word);
        }
        p += len;
        p += strspn(p, " ");
    }
}

// Sends one key and string value of a map, or nothing when value is NULL.
static void reply_string_field(struct client *c, const char *key, const char *value)
{
    if (value == NULL)
        return;
    reply_bulk_cstr(c, key);
    reply_bulk_cstr(c, value);
}

// ---- COMMAND INFO ---------------------------------------------------------

// Sends the flags of a command without metadata, derived from the dispatch flags.
static void reply_fallback_flags(struct client *c, uint32_t flags)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {RP_CMD_WRITE, "write"},
        {RP_CMD_READONLY, "readonly"},
        {RP_CMD_DENYOOM, "denyoom"},
        {RP_CMD_NO_AUTH, "no_auth"},
    };
    size_t n = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        n += (flags & names[i].bit) != 0;
    reply_set_len(c, n);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (flags & names[i].bit)
            reply_simple(c, names[i].name);
    }
}

static void reply_key_spec(struct client *c, const struct cmd_key_spec *spec)
{
    reply_map_len(c, 3 + (spec->notes != NULL));
    reply_string_field(c, "notes", spec->notes);
    reply_bulk_cstr(c, "flags");
    reply_set_len(c, count_words(spec->flags));
    reply_words(c, spec->flags, WORD_SIMPLE);

    reply_bulk_cstr(c, "begin_search");
    reply_map_len(c, 2);
    reply_bulk_cstr(c, "type");
    if (spec->begin == RP_KEY_BEGIN_KEYWORD) {
        reply_bulk_cstr(c, "keyword");
        reply_bulk_cstr(c, "spec");
        reply_map_len(c, 2);
        reply_bulk_cstr(c, "keyword");
        reply_bulk_cstr(c, spec->keyword);
        reply_bulk_cstr(c, "startfrom");
        reply_integer(c, spec->startfrom);
    } else {
        reply_bulk_cstr(c, "index");
        reply_bulk_cstr(c, "spec");
        reply_map_len(c, 1);
        reply_bulk_cstr(c, "index");
        reply_integer(c, spec->begin_index);
    }

    reply_bulk_cstr(c, "find_keys");
    reply_map_len(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "range");
    reply_bulk_cstr(c, "spec");
    reply_map_len(c, 3);
    reply_bulk_cstr(c, "lastkey");
    reply_integer(c, spec->last_key);
    reply_bulk_cstr(c, "keystep");
    reply_integer(c, spec->key_step);
    reply_bulk_cstr(c, "limit");
    reply_integer(c, spec->limit);
}

// Sends the array header and the first nine fields of a COMMAND INFO entry;
// the caller sends the tenth, the subcommands.
static void reply_info_head(struct client *c, const struct cmd_view *view)
{
    const struct cmd_meta *meta = view->meta;
    char name[FULLNAME_MAX];
    size_t name_len = format_fullname(view, name);

    reply_array_len(c, 10);
    reply_bulk(c, name, name_len);
    reply_integer(c, view->cmd->arity);
    if (meta == NULL) {
        reply_fallback_flags(c, view->cmd->flags);
        reply_integer(c, 0);
        reply_integer(c, 0);
        reply_integer(c, 0);
        reply_set_len(c, 0);    // ACL categories
        reply_set_len(c, 0);    // tips
        reply_set_len(c, 0);    // key specs
        return;
    }

    reply_set_len(c, count_words(meta->flags));
    reply_words(c, meta->flags, WORD_SIMPLE);
    reply_integer(c, meta->first_key);
    reply_integer(c, meta->last_key);
    reply_integer(c, meta->key_step);
    reply_set_len(c, count_words(meta->acl_categories));
    reply_words(c, meta->acl_categories, WORD_SIMPLE);

    reply_set_len(c, count_words(meta->tips));
    reply_words(c, meta->tips, WORD_BULK);

    // Key specs are always a set, even an empty one.
    reply_set_len(c, meta->key_spec_count);
    for (unsigned i = 0; i < meta->key_spec_count; i++)
        reply_key_spec(c, &meta->key_specs[i]);
}

static void info_sub_visit(void *ctx, const struct cmd_view *sub)
{
    struct client *c = ctx;

    reply_info_head(c, sub);
    reply_set_len(c, 0);    // a subcommand has no subcommands of its own
}

// Sends the whole COMMAND INFO entry of a command or subcommand.
static void reply_info_entry(struct client *c, const struct cmd_view *view)
{
    reply_info_head(c, view);

    // An empty set when there are no subcommands, else an array of entries.
    if (view->parent != NULL || view->cmd->subcommands == NULL) {
        reply_set_len(c, 0);
        return;
    }
    reply_array_len(c, count_subcommands(view));
    foreach_subcommand(view, info_sub_visit, c);
}

struct foreach_ctx {
    struct client *c;
    size_t count;
};

static void count_top_visit(void *ctx, const struct command *cmd)
{
    (void)cmd;
    ((struct foreach_ctx *)ctx)->count++;
}

static size_t count_commands(const struct server *srv)
{
    struct foreach_ctx ctx = {0};

    command_foreach(srv, count_top_visit, &ctx);
    return ctx.count;
}

static void info_top_visit(void *ctx, const struct command *cmd)
{
    struct cmd_view view = {cmd, cmd_meta_find(cmd->name, strlen(cmd->name)), NULL};

    reply_info_entry(((struct foreach_ctx *)ctx)->c, &view);
}

static void reply_all_info(struct client *c)
{
    struct foreach_ctx ctx = {c, 0};

    reply_array_len(c, count_commands(c->srv));
    command_foreach(c->srv, info_top_visit, &ctx);
}

// COMMAND: the COMMAND INFO entry of every command.
static void command_all(struct client *c)
{
    reply_all_info(c);
}

// COMMAND INFO [name ...]: one entry per name, a null for an unknown one.
static void command_info(struct client *c)
{
    if (c->argc == 2) {
        reply_all_info(c);
        return;
    }
    reply_array_len(c, c->argc - 2);
    for (size_t i = 2; i < c->argc; i++) {
        struct cmd_view view;

        if (resolve_fullname(c->srv, c->argv[i].ptr, c->argv[i].len, &view) < 0)
            reply_null(c);
        else
            reply_info_entry(c, &view);
    }
}

// COMMAND COUNT: the number of top-level commands.
static void command_count(struct client *c)
{
    reply_integer(c, (int64_t)count_commands(c->srv));
}

// ---- COMMAND DOCS -----------------------------------------------------------

static unsigned arg_field_count(const struct cmd_arg_doc *arg)
{
    return 2 + (arg->key_spec_index >= 0) + (arg->token != NULL) + (arg->since != NULL) + (arg->deprecated_since != NULL) +
           (arg->flags != NULL) + (arg->arg_count > 0);
}

// Sends an argument's fields up to, not including, its nested "arguments".
static void reply_arg_fields(struct client *c, const struct cmd_arg_doc *arg)
{
    reply_map_len(c, arg_field_count(arg));
    reply_string_field(c, "name", arg->name);
    reply_string_field(c, "type", arg->type);
    if (arg->key_spec_index >= 0) {
        reply_bulk_cstr(c, "key_spec_index");
        reply_integer(c, arg->key_spec_index);
    }
    reply_string_field(c, "token", arg->token);
    reply_string_field(c, "since", arg->since);
    reply_string_field(c, "deprecated_since", arg->deprecated_since);
    if (arg->flags != NULL) {
        reply_bulk_cstr(c, "flags");
        reply_set_len(c, count_words(arg->flags));
        reply_words(c, arg->flags, WORD_SIMPLE);
    }
}

// Sends an argument list as an array of maps, walking nested oneof/block
// members with an explicit stack rather than recursion.
static void reply_arg_list(struct client *c, const struct cmd_arg_doc *args, unsigned count)
{
    struct {
        const struct cmd_arg_doc *args;
        unsigned count;
        unsigned next;
    } stack[ARG_DEPTH_MAX];
    int depth = 0;

    reply_array_len(c, count);
    stack[0].args = args;
    stack[0].count = count;
    stack[0].next = 0;
    while (depth >= 0) {
        if (stack[depth].next == stack[depth].count) {
            depth--;
            continue;
        }

        const struct cmd_arg_doc *arg = &stack[depth].args[stack[depth].next++];

        reply_arg_fields(c, arg);
        if (arg->arg_count == 0)
            continue;
        reply_bulk_cstr(c, "arguments");
        reply_array_len(c, arg->arg_count);
        if (depth + 1 >= ARG_DEPTH_MAX) {
            // Unreachable with the generated tables. Empty members keep the
            // reply well-formed.
            for (unsigned i = 0; i < arg->arg_count; i++)
                reply_map_len(c, 0);
            continue;
        }
        depth++;
        stack[depth].args = arg->args;
        stack[depth].count = arg->arg_count;
        stack[depth].next = 0;
    }
}

// Sends the COMMAND DOCS map of one command or subcommand, without its name.
static void reply_doc_fields(struct client *c, const struct cmd_view *view, int with_subcommands)
{
    const struct cmd_meta *meta = view->meta;

    if (meta == NULL) {
        // NOTE: a command without metadata gets empty texts; the tests
        // require metadata for every command that ringpub dispatches.
        reply_map_len(c, 4);
        reply_string_field(c, "summary", "");
        reply_string_field(c, "since", "");
        reply_string_field(c, "group", "");
        reply_string_field(c, "complexity", "");
        return;
    }

    size_t subs = with_subcommands && view->cmd->subcommands ? count_subcommands(view) : 0;

    reply_map_len(c, 4 + (meta->history_count > 0) + (meta->arg_count > 0) + (subs > 0));
    reply_string_field(c, "summary", meta->summary);
    reply_string_field(c, "since", meta->since);
    reply_string_field(c, "group", meta->group);
    reply_string_field(c, "complexity", meta->complexity);
    if (meta->history_count > 0) {
        reply_bulk_cstr(c, "history");
        reply_set_len(c, meta->history_count);
        for (unsigned i = 0; i < meta->history_count; i++) {
            reply_array_len(c, 2);
            reply_bulk_cstr(c, meta->history[i].version);
            reply_bulk_cstr(c, meta->history[i].text);
        }
    }
    if (meta->arg_count > 0) {
        reply_bulk_cstr(c, "arguments");
        reply_arg_list(c, meta->args, meta->arg_count);
    }
    if (subs > 0)
        reply_bulk_cstr(c, "subcommands");
}

static void docs_sub_visit(void *ctx, const struct cmd_view *sub)
{
    struct client *c = ctx;
    char name[FULLNAME_MAX];
    size_t len = format_fullname(sub, name);

    reply_bulk(c, name, len);
    reply_doc_fields(c, sub, 0);
}

// Sends name and docs of a command, with its subcommands' docs for a container.
static void reply_docs_entry(struct client *c, const struct cmd_view *view)
{
    char name[FULLNAME_MAX];
    size_t len = format_fullname(view, name);
    int container = view->parent == NULL && view->cmd->subcommands != NULL && view->meta != NULL;

    reply_bulk(c, name, len);
    reply_doc_fields(c, view, 1);
    if (container) {
        size_t subs = count_subcommands(view);

        if (subs > 0) {
            reply_map_len(c, subs);
            foreach_subcommand(view, docs_sub_visit, c);
        }
    }
}

static void docs_top_visit(void *ctx, const struct command *cmd)
{
    struct cmd_view view = {cmd, cmd_meta_find(cmd->name, strlen(cmd->name)), NULL};

    reply_docs_entry(((struct foreach_ctx *)ctx)->c, &view);
}

// COMMAND DOCS [name ...]: a map from name to docs; unknown names are left out.
static void command_docs(struct client *c)
{
    struct cmd_view view;

    if (c->argc == 2) {
        struct foreach_ctx ctx = {c, 0};

        reply_map_len(c, count_commands(c->srv));
        command_foreach(c->srv, docs_top_visit, &ctx);
        return;
    }

    size_t found = 0;

    for (size_t i = 2; i < c->argc; i++)
        found += resolve_fullname(c->srv, c->argv[i].ptr, c->argv[i].len, &view) == 0;
    reply_map_len(c, found);
    for (size_t i = 2; i < c->argc; i++) {
        if (resolve_fullname(c->srv, c->argv[i].ptr, c->argv[i].len, &view) == 0)
            reply_docs_entry(c, &view);
    }
}

// ---- COMMAND LIST -----------------------------------------------------------

enum list_filter { FILTER_NONE, FILTER_MODULE, FILTER_ACLCAT, FILTER_PATTERN };

struct list_ctx {
    struct client *c;
    enum list_filter filter;
    const struct rp_resp_str *value;
    size_t count;
    int send;                  // 0: count matches, 1: send them
};

static int has_category(const struct cmd_meta *meta, const struct rp_resp_str *category)
{
    const char *p = meta ? meta->acl_categories : NULL;

    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, " ");

        // The table spells categories with '@'; ACLCAT takes them without.
        if (len == category->len + 1 && strncasecmp(p + 1, category->ptr, category->len) == 0)
            return 1;
        p += len;
        p += strspn(p, " ");
    }
    return 0;
}

static void list_one(struct list_ctx *ctx, const struct cmd_view *view)
{
    char name[FULLNAME_MAX];
    size_t len = format_fullname(view, name);
    int match = 0;

    switch (ctx->filter) {
    case FILTER_NONE:
        match = 1;
        break;
    case FILTER_MODULE:
        match = 0;    // ringpub loads no modules
        break;
    case FILTER_ACLCAT:
        match = has_category(view->meta, ctx->value);
        break;
    case FILTER_PATTERN:
        match = rp_ps_glob_match(ctx->value->ptr, ctx->value->len, name, len, 1);
        break;
    }
    if (!match)
        return;
    ctx->count++;
    if (ctx->send)
        reply_bulk(ctx->c, name, len);
}

static void list_sub_visit(void *ctx, const struct cmd_view *sub)
{
    list_one(ctx, sub);
}

static void list_top_visit(void *ctx, const struct command *cmd)
{
    struct cmd_view view = {cmd, cmd_meta_find(cmd->name, strlen(cmd->name)), NULL};

    list_one(ctx, &view);
    foreach_subcommand(&view, list_sub_visit, ctx);
}

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]:
// every command and subcommand name that passes the filter.
static void command_list(struct client *c)
{
    struct list_ctx ctx = {.c = c, .filter = FILTER_NONE};

    if (c->argc == 5 && arg_is(&c->argv[2], "filterby")) {
        if (arg_is(&c->argv[3], "module"))
            ctx.filter = FILTER_MODULE;
        else if (arg_is(&c->argv[3], "aclcat"))
            ctx.filter = FILTER_ACLCAT;
        else if (arg_is(&c->argv[3], "pattern"))
            ctx.filter = FILTER_PATTERN;
        else {
            reply_syntax_error(c);
            return;
        }
        ctx.value = &c->argv[4];
    } else if (c->argc != 2) {
        reply_syntax_error(c);
        return;
    }

    // Count first, then send, since the array length comes first.
    command_foreach(c->srv, list_top_visit, &ctx);
    reply_array_len(c, ctx.count);
    ctx.count = 0;
    ctx.send = 1;
    command_foreach(c->srv, list_top_visit, &ctx);
}

// ---- COMMAND GETKEYS, HELP ---------------------------------------------------

// Returns 1 if any key spec of meta names real keys (is not flagged not_key),
// as redis's doesCommandHaveKeys. The shard channel specs of SPUBLISH,
// SSUBSCRIBE and SUNSUBSCRIBE are not_key.
static int has_key_specs(const struct cmd_meta *meta)
{
    for (unsigned i = 0; meta != NULL && i < meta->key_spec_count; i++) {
        if (strstr(meta->key_specs[i].flags, "not_key") == NULL)
            return 1;
    }
    return 0;
}

// Finds the argument index of a spec's first key in argv[0..argc), where
// argv[0] is the command name. Returns 0 when a keyword spec's keyword is not
// there. As redis 7.0's getKeysUsingKeySpecs, a forward keyword search stops
// before the last argument, since a keyword there could not have a key after it.
static size_t key_spec_first(const struct cmd_key_spec *spec, const struct rp_resp_str *argv, size_t argc)
{
    if (spec->begin == RP_KEY_BEGIN_INDEX)
        return (size_t)spec->begin_index;

    long n = (long)argc;
    long start = spec->startfrom > 0 ? spec->startfrom : n + spec->startfrom;
    long end = spec->startfrom > 0 ? n - 1 : 0;

    for (long i = start; i != end; i += start <= end ? 1 : -1) {
        if (i >= n || i < 1)
            break;
        if (arg_is(&argv[i], spec->keyword))
            return (size_t)i + 1;
    }
    return 0;
}

// Calls visit for each key argument of argv[0..argc) that meta's key specs
// find, skipping not_key specs, spec by spec. Returns the number of keys, or
// -1 when a spec's range falls outside the arguments: redis then reports no
// keys at all. With visit NULL it only counts.
static long find_keys(const struct cmd_meta *meta, const struct rp_resp_str *argv, size_t argc,
                      void (*visit)(struct client *c, const struct rp_resp_str *key, const struct cmd_key_spec *spec),
                      struct client *c)
{
    long found = 0;
    long n = (long)argc;

    for (unsigned s = 0; s < meta->key_spec_count; s++) {
        const struct cmd_key_spec *spec = &meta->key_specs[s];

        if (strstr(spec->flags, "not_key") != NULL)
            continue;

        long first = (long)key_spec_first(spec, argv, argc);
        long last;

        if (first == 0)
            continue;
        if (spec->last_key >= 0)
            last = first + spec->last_key;
        else if (spec->limit == 0)
            last = n + spec->last_key;
        else
            last = first + ((n - first) / spec->limit + spec->last_key);    // lastkey is -1 here
        if (last >= n || last < first || first >= n)
            return -1;
        for (long i = first; i <= last; i += spec->key_step > 0 ? spec->key_step : 1) {
            if (visit != NULL)
                visit(c, &argv[i], spec);
            found++;
        }
    }
    return found;
}

static void send_key(struct client *c, const struct rp_resp_str *key, const struct cmd_key_spec *spec)
{
    (void)spec;
    reply_bulk(c, key->ptr, key->len);
}

static void send_key_and_flags(struct client *c, const struct rp_resp_str *key, const struct cmd_key_spec *spec)
{
    reply_array_len(c, 2);
    reply_bulk(c, key->ptr, key->len);
    reply_set_len(c, count_words(spec->flags));
    reply_words(c, spec->flags, WORD_SIMPLE);
}

// COMMAND GETKEYS and GETKEYSANDFLAGS <command line>: the key arguments that
// the command's key specs find, as redis 7.0 replies, with the errors in its
// order: unknown command, no key specs, arity, no key found.
static void command_getkeys(struct client *c)
{
    const struct rp_resp_str *argv = &c->argv[2];
    size_t argc = c->argc - 2;
    const struct command *cmd = command_lookup(c->srv, argv[0].ptr, argv[0].len);

    if (cmd == NULL) {
        reply_error(c, "ERR Invalid command specified");
        return;
    }

    const struct cmd_meta *meta = cmd_meta_find(cmd->name, strlen(cmd->name));

    // As redis's lookupCommand: a container with arguments resolves to its subcommand.
    if (cmd->subcommands != NULL && argc > 1) {
        cmd = find_sub(cmd, argv[1].ptr, argv[1].len);
        if (cmd == NULL) {
            reply_error(c, "ERR Invalid command specified");
            return;
        }
        meta = find_sub_meta(meta, cmd->name, strlen(cmd->name));
    }
    if (!has_key_specs(meta)) {
        reply_error(c, "ERR The command has no key arguments");
        return;
    }

    int arity = cmd->arity;

    if ((arity > 0 && (size_t)arity != argc) || (arity < 0 && argc < (size_t)-arity)) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }

    long count = find_keys(meta, argv, argc, NULL, c);

    if (count <= 0) {
        reply_error(c, "ERR Invalid arguments specified for command");
        return;
    }
    reply_array_len(c, (uint64_t)count);
    find_keys(meta, argv, argc, arg_is(&c->argv[1], "getkeysandflags") ? send_key_and_flags : send_key, c);
}

static void command_help(struct client *c)
{
    static const char *const lines[] = {
        "(no subcommand)",
        "    Describe every command, as COMMAND INFO without arguments.",
        "COUNT",
        "    Count the commands of this server.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    List command and subcommand names, optionally only those that pass the filter.",
        "INFO [<command-name> ...]",
        "    Describe the given commands (arity, flags, key positions, ACL categories),",
        "    or every command when no name is given.",
        "DOCS [<command-name> ...]",
        "    Return documentation of the given commands, or of every command when no",
        "    name is given.",
        "GETKEYS <full-command>",
        "    Return the key arguments of a command line.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the key arguments of a command line with their access flags.",
        NULL,
    };

    reply_help(c, lines);
}

static const struct command command_subcommands[] = {
    {"count", 2, 0, command_count, NULL},
    {"docs", -2, 0, command_docs, NULL},
    {"getkeys", -4, 0, command_getkeys, NULL},
    {"getkeysandflags", -4, 0, command_getkeys, NULL},
    {"help", 2, 0, command_help, NULL},
    {"info", -2, 0, command_info, NULL},
    {"list", -2, 0, command_list, NULL},
    {NULL, 0, 0, NULL, NULL},
};

const struct command rp_cmds_command[] = {
    {"command", -1, RP_CMD_CONTAINER, command_all, command_subcommands},
    {NULL, 0, 0, NULL, NULL},
};
