// SPDX-License-Identifier: BSD-3-Clause
// Metadata of commands as COMMAND INFO and COMMAND DOCS print it: redis 7.0's
// interface facts per command and subcommand, and ringpub's own summaries.
// The tables in command_meta.c are generated; cmd_command.c prints them for
// the commands that the dispatch table really has.

#ifndef RINGPUB_SERVER_COMMAND_META_H
#define RINGPUB_SERVER_COMMAND_META_H

#include <stddef.h>

enum cmd_key_begin { RP_KEY_BEGIN_INDEX, RP_KEY_BEGIN_KEYWORD };

// One key specification: an "index" or "keyword" begin_search and a "range"
// find_keys, the kinds that the commands ringpub implements use. COMMAND
// GETKEYS finds keys with it.
struct cmd_key_spec {
    const char *notes;           // ringpub's own note, NULL when redis gives none
    const char *flags;           // space-separated: "RW update", "not_key"
    enum cmd_key_begin begin;
    int begin_index;             // RP_KEY_BEGIN_INDEX: argument index of the first key
    const char *keyword;         // RP_KEY_BEGIN_KEYWORD: the first key follows this argument
    int startfrom;               // where the keyword search starts; negative counts from the end
    int last_key;                // find_keys range: lastkey, keystep, limit
    int key_step;
    int limit;
};

// One argument of COMMAND DOCS. Optional fields are NULL when redis omits them.
struct cmd_arg_doc {
    const char *name;
    const char *type;            // "key", "string", "integer", "pattern", "oneof", "block", "pure-token"
    int key_spec_index;          // for type "key": its key spec; -1 otherwise
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
