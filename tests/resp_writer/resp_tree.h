// SPDX-License-Identifier: BSD-3-Clause
// Test helpers over parsed reply trees (struct rp_resp_node arrays in the
// pre-order layout of rp_resp_reply_parse): encode a tree with the RESP
// writers, compare two trees, and describe a node for failure messages.
// Shared by the cmocka round-trip test and the round-trip fuzz target.
#ifndef RINGPUB_TESTS_RESP_TREE_H
#define RINGPUB_TESTS_RESP_TREE_H

#include <stddef.h>

#include "ringpub/buf.h"
#include "ringpub/resp.h"

// tree_compare flags.
enum {
    // Require equal null_kind. Without it every null equals every other,
    // because RESP3 encodes $-1, *-1 and _ alike as "_".
    TREE_CMP_NULL_KIND = 1,
};

// Returned by tree_compare when the trees are equal.
#define TREE_EQUAL ((size_t)-1)

/*
 * Appends nodes[0..count) to b with one writer call per node, in protocol
 * proto. Returns 0, RP_ERR_NOMEM, or RP_ERR_INVAL for a tree that protocol 2
 * cannot carry (an attribute, or a null whose null_kind is '_').
 */
int tree_encode(struct rp_buf *b, int proto, const struct rp_resp_node *nodes, size_t count);

/*
 * Compares expected and actual node by node and returns the index of the
 * first node that differs, or TREE_EQUAL. CR and LF in an expected simple
 * string or error match a space in actual, because the writers replace them.
 * Doubles compare by bits, so -0 differs from 0, except that any two NaNs
 * are equal. A double's text is not compared: the writer reprints it.
 */
size_t tree_compare(const struct rp_resp_node *expected, size_t expected_count,
                    const struct rp_resp_node *actual, size_t actual_count, int flags);

// Returns 1 when every node is a RESP2 type ($-1 and *-1 nulls included), else 0.
int tree_is_resp2(const struct rp_resp_node *nodes, size_t count);

// Writes a one-line description of node for a failure message into dst.
void tree_describe_node(const struct rp_resp_node *node, char *dst, size_t size);

#endif
