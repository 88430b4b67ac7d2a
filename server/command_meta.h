// SPDX-License-Identifier: BSD-3-Clause
// Metadata of commands as COMMAND INFO and COMMAND DOCS print it: redis 7.0's
// interface facts per command and subcommand, and ringpub's own summaries.
// The tables in command_meta.c are generated; cmd_command.c prints them for
// the commands that the dispatch table really has.

#ifndef RINGPUB_SERVER_COMMAND_META_H
#define RINGPUB_SERVER_COMMAND_META_H

#include <stddef.h>

// One key specification with an "index" begin_search and a "range"
// find_keys, the only kind the pub/sub shard commands use.
struct cmd_key_spec {
    const char *flags;           // space-separated: "not_key"
    int begin_index;             // begin_search index
    int last_key;                // find_keys range: lastkey, keystep, limit
    int key_step;
    int limit;
};

// One argument of COMMAND DOCS. Optional fields are NULL when redis omits them.
struct cmd_arg_doc {
    const char *name;
    const char *type;            // "string", "integer", "pattern", "oneof", "block", "pure-token"
    const char *token;
    const char *since;
    const char *deprecated_since;
    const char *flags;           // space-separated: "optional multiple"
    const struct cmd_arg_doc *args;   // members of a oneof or block
    unsigned arg_count;
};

struct cmd_history {
    const char *version;
    const char *text;
};

struct cmd_meta {
    const char *name;            // full name, lower case: "client|list"
    int arity;                   // redis's arity; COMMAND INFO prints the dispatch table's
    const char *flags;           // space-separated command flags, NULL for none
    int first_key, last_key, key_step;
    const char *acl_categories;  // space-separated, with '@'
    const char *tips;            // space-separated, NULL for none
    const struct cmd_key_spec *key_specs;
    unsigned key_spec_count;
    const struct cmd_meta *subcommands;   // sorted by name
    unsigned subcommand_count;

    // COMMAND DOCS
    const char *summary;
    const char *since;
    const char *group;
    const char *complexity;
    const struct cmd_history *history;
    unsigned history_count;
    const struct cmd_arg_doc *args;
    unsigned arg_count;
};

// Finds a top-level command by name, case-insensitively. The result points
// into static tables. NULL when ringpub carries no metadata for the name.
const struct cmd_meta *cmd_meta_find(const char *name, size_t len);

#endif
