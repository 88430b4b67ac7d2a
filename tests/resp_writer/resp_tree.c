// SPDX-License-Identifier: BSD-3-Clause
// Test helpers over parsed reply trees; see resp_tree.h.

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ringpub/err.h"
#include "ringpub/resp_writer.h"

#include "resp_tree.h"

static int encode_node(struct rp_buf *b, int proto, const struct rp_resp_node *n)
{
    switch (n->type) {
    case RP_RESP_SIMPLE:
        return rp_resp_write_simple(b, n->str.ptr, n->str.len);
    case RP_RESP_ERROR:
        return rp_resp_write_error(b, n->str.ptr, n->str.len);
    case RP_RESP_INTEGER:
        return rp_resp_write_integer(b, n->v.integer);
    case RP_RESP_BULK:
        return rp_resp_write_bulk(b, n->str.ptr, n->str.len);
    case RP_RESP_ARRAY:
        return rp_resp_write_array_len(b, n->v.count);
    case RP_RESP_NULL:
        return rp_resp_write_null(b, proto, n->v.null_kind);
    case RP_RESP_BOOL:
        return rp_resp_write_bool(b, proto, n->v.boolean);
    case RP_RESP_DOUBLE:
        return rp_resp_write_double(b, proto, n->v.dbl);
    case RP_RESP_BIGNUM:
        return rp_resp_write_bignum(b, proto, n->str.ptr, n->str.len);
    case RP_RESP_BULK_ERROR:
        return rp_resp_write_bulk_error(b, proto, n->str.ptr, n->str.len);
    case RP_RESP_VERBATIM:
        return rp_resp_write_verbatim(b, proto, n->format, n->str.ptr, n->str.len);
    case RP_RESP_MAP:
        return rp_resp_write_map_len(b, proto, n->v.count);
    case RP_RESP_SET:
        return rp_resp_write_set_len(b, proto, n->v.count);
    case RP_RESP_ATTRIBUTE:
        if (proto < 3)
            return RP_ERR_INVAL;
        return rp_resp_write_attribute_len(b, n->v.count);
    case RP_RESP_PUSH:
        return rp_resp_write_push_len(b, proto, n->v.count);
    }
    return RP_ERR_INVAL;
}

int tree_encode(struct rp_buf *b, int proto, const struct rp_resp_node *nodes, size_t count)
{
    // Pre-order storage means one writer call per node, in index order,
    // reproduces the nesting without walking the tree.
    for (size_t i = 0; i < count; i++) {
        int err = encode_node(b, proto, &nodes[i]);
        if (err)
            return err;
    }
    return 0;
}

static int strings_equal(struct rp_resp_str a, struct rp_resp_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

// Equal after CR and LF in expected become spaces, as the writers do.
static int line_text_equal(struct rp_resp_str expected, struct rp_resp_str actual)
{
    if (expected.len != actual.len)
        return 0;
    for (size_t i = 0; i < expected.len; i++) {
        char want = expected.ptr[i];
        if (want == '\r' || want == '\n')
            want = ' ';
        if (actual.ptr[i] != want)
            return 0;
    }
    return 1;
}

static int doubles_equal(double a, double b)
{
    // Any NaN payload bits may differ, but the sign must survive (",-nan").
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) && !signbit(a) == !signbit(b);
    return memcmp(&a, &b, sizeof(a)) == 0;
}

static int nodes_equal(const struct rp_resp_node *e, const struct rp_resp_node *a, int flags)
{
    if (e->type != a->type || e->next != a->next)
        return 0;

    switch (e->type) {
    case RP_RESP_SIMPLE:
    case RP_RESP_ERROR:
        return line_text_equal(e->str, a->str);
    case RP_RESP_BULK:
    case RP_RESP_BIGNUM:
    case RP_RESP_BULK_ERROR:
        return strings_equal(e->str, a->str);
    case RP_RESP_VERBATIM:
        return memcmp(e->format, a->format, 3) == 0 && strings_equal(e->str, a->str);
    case RP_RESP_INTEGER:
        return e->v.integer == a->v.integer;
    case RP_RESP_BOOL:
        return !e->v.boolean == !a->v.boolean;
    case RP_RESP_DOUBLE:
        return doubles_equal(e->v.dbl, a->v.dbl);
    case RP_RESP_NULL:
        return !(flags & TREE_CMP_NULL_KIND) || e->v.null_kind == a->v.null_kind;
    case RP_RESP_ARRAY:
    case RP_RESP_MAP:
    case RP_RESP_SET:
    case RP_RESP_ATTRIBUTE:
    case RP_RESP_PUSH:
        return e->v.count == a->v.count;
    }
    return 0;
}

size_t tree_compare(const struct rp_resp_node *expected, size_t expected_count,
                    const struct rp_resp_node *actual, size_t actual_count, int flags)
{
    size_t common = expected_count < actual_count ? expected_count : actual_count;

    for (size_t i = 0; i < common; i++) {
        if (!nodes_equal(&expected[i], &actual[i], flags))
            return i;
    }
    return expected_count == actual_count ? TREE_EQUAL : common;
}

int tree_is_resp2(const struct rp_resp_node *nodes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        switch (nodes[i].type) {
        case RP_RESP_SIMPLE:
        case RP_RESP_ERROR:
        case RP_RESP_INTEGER:
        case RP_RESP_BULK:
        case RP_RESP_ARRAY:
            break;
        case RP_RESP_NULL:
            if (nodes[i].v.null_kind != '$' && nodes[i].v.null_kind != '*')
                return 0;
            break;
        default:
            return 0;
        }
    }
    return 1;
}

void tree_describe_node(const struct rp_resp_node *node, char *dst, size_t size)
{
    const char *name = rp_resp_type_name(node->type);
    int shown = node->str.len > 40 ? 40 : (int)node->str.len;

    switch (node->type) {
    case RP_RESP_INTEGER:
        snprintf(dst, size, "%s %lld next=%u", name, (long long)node->v.integer, node->next);
        break;
    case RP_RESP_BOOL:
        snprintf(dst, size, "%s %d next=%u", name, node->v.boolean, node->next);
        break;
    case RP_RESP_DOUBLE:
        snprintf(dst, size, "%s %.17g next=%u", name, node->v.dbl, node->next);
        break;
    case RP_RESP_NULL:
        snprintf(dst, size, "%s kind=%c next=%u", name, node->v.null_kind, node->next);
        break;
    case RP_RESP_ARRAY:
    case RP_RESP_MAP:
    case RP_RESP_SET:
    case RP_RESP_ATTRIBUTE:
    case RP_RESP_PUSH:
        snprintf(dst, size, "%s count=%llu next=%u", name, (unsigned long long)node->v.count,
                 node->next);
        break;
    default:
        snprintf(dst, size, "%s len=%zu \"%.*s\" next=%u", name, node->str.len, shown,
                 node->str.ptr ? node->str.ptr : "", node->next);
        break;
    }
}
