// SPDX-License-Identifier: BSD-3-Clause
// Random round trip through the RESP writers and the reply parser. The test
// generates random nested reply trees of every type and encodes them in RESP3
// and RESP2. It parses the bytes and compares the parsed tree with the
// generated one, or for RESP2 with the tree the writers' downgrades give.
//
// Each run uses seed 1, then the seed in RP_TEST_SEED or, without it, one
// taken from the clock. The seeds are printed so a failure can be replayed
// with RP_TEST_SEED=<seed>.

#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ringpub/buf.h"
#include "ringpub/resp.h"
#include "ringpub/resp_writer.h"

#include "resp_tree.h"

#define TREES_PER_SEED 10000
#define MAX_NODES 256
#define MAX_DEPTH 6
#define ARENA_SIZE (1024 * 1024)

// splitmix64: small, fast and good enough to pick test values.
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

// Bytes the generated strings point into, so a tree needs no allocation.
struct arena {
    char data[ARENA_SIZE];
    size_t used;
};

static struct arena arena;

static char *arena_take(size_t n)
{
    assert_true(n <= ARENA_SIZE - arena.used);
    char *p = arena.data + arena.used;
    arena.used += n;
    return p;
}

// Random bytes: any byte value, including CR, LF and NUL, in short strings
// and, while the arena has room, occasionally long ones.
static struct rp_resp_str random_bytes(void)
{
    int long_string = arena.used < ARENA_SIZE / 2 && rng_below(16) == 0;
    size_t len = long_string ? rng_below(3000) : rng_below(24);
    char *p = arena_take(len);

    for (size_t i = 0; i < len; i++) {
        switch (rng_below(6)) {
        case 0:
            p[i] = "\r\n\0 :"[rng_below(5)];
            break;
        case 1:
            p[i] = (char)rng_below(256);
            break;
        default:
            p[i] = (char)('a' + rng_below(26));
            break;
        }
    }
    return (struct rp_resp_str){p, len};
}

static int64_t random_integer(void)
{
    static const int64_t edges[] = {0, 1, -1, 9, 10, -10, 99, 100, INT64_MAX, INT64_MIN,
                                    INT64_MAX - 1, INT64_MIN + 1, 1000000000000000000LL};
    switch (rng_below(3)) {
    case 0:
        return edges[rng_below(sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return (int64_t)rng_below(2000) - 1000;
    default:
        return (int64_t)rng_next();
    }
}

static double random_double(void)
{
    static const double edges[] = {0.0, -0.0, 1.5, 0.1, 1e300, 1e-7, 3.0, -3.0, 4.9e-324,
                                   1.7976931348623157e308, INFINITY, -INFINITY, NAN, -NAN};
    if (rng_below(2) == 0)
        return edges[rng_below(sizeof(edges) / sizeof(edges[0]))];

    // Any bit pattern: normals, subnormals, infinities and NaNs with payloads.
    uint64_t bits = rng_next();
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static struct rp_resp_str random_bignum(void)
{
    size_t digits = 1 + rng_below(60);
    int negative = (int)rng_below(2);
    char *p = arena_take(digits + 1);
    size_t len = 0;

    if (negative)
        p[len++] = '-';
    for (size_t i = 0; i < digits; i++)
        p[len++] = (char)('0' + rng_below(10));
    return (struct rp_resp_str){p, len};
}

// A parent aggregate whose children are still being generated.
struct frame {
    uint32_t index;       // the aggregate's node
    uint64_t remaining;   // children still to generate
};

// Fills a random leaf of any type into n.
static void random_leaf(struct rp_resp_node *n)
{
    static const enum rp_resp_type leaves[] = {
        RP_RESP_SIMPLE, RP_RESP_ERROR, RP_RESP_INTEGER, RP_RESP_BULK,
        RP_RESP_NULL, RP_RESP_BOOL, RP_RESP_DOUBLE, RP_RESP_BIGNUM,
        RP_RESP_BULK_ERROR, RP_RESP_VERBATIM,
    };
    n->type = leaves[rng_below(sizeof(leaves) / sizeof(leaves[0]))];

    switch (n->type) {
    // CR and LF in simple strings and errors check that the writer turns
    // them into spaces (tree_compare expects that).
    case RP_RESP_SIMPLE:
    case RP_RESP_ERROR:
    case RP_RESP_BULK:
    case RP_RESP_BULK_ERROR:
        n->str = random_bytes();
        break;
    case RP_RESP_VERBATIM:
        n->str = random_bytes();
        for (int i = 0; i < 3; i++)
            n->format[i] = (char)('a' + rng_below(26));
        break;
    case RP_RESP_INTEGER:
        n->v.integer = random_integer();
        break;
    case RP_RESP_NULL:
        n->v.null_kind = rng_below(2) ? '$' : '*';
        break;
    case RP_RESP_BOOL:
        n->v.boolean = (int)rng_below(2);
        break;
    case RP_RESP_DOUBLE:
        n->v.dbl = random_double();
        break;
    case RP_RESP_BIGNUM:
        n->str = random_bignum();
        break;
    default:
        break;
    }
}

/*
 * Generates a random tree into nodes (at most MAX_NODES) in the pre-order
 * layout of rp_resp_reply_parse, with an explicit stack of open aggregates.
 * Attributes are generated only when with_attributes is set, because RESP2
 * cannot carry them. Returns the node count.
 */
static size_t random_tree(struct rp_resp_node *nodes, int with_attributes)
{
    struct frame stack[MAX_DEPTH + 1];
    size_t depth = 0;
    size_t count = 0;
    uint64_t values_left = 1;   // top-level values still to generate

    while (values_left > 0 || depth > 0) {
        // Close every aggregate whose children are all there.
        if (depth > 0 && stack[depth - 1].remaining == 0) {
            depth--;
            nodes[stack[depth].index].next = (uint32_t)count;
            continue;
        }

        struct rp_resp_node *n = &nodes[count];
        memset(n, 0, sizeof(*n));
        n->next = (uint32_t)(count + 1);

        // Keep room for every value still promised plus the children of a
        // new aggregate, at most 2 * 5 (a map of 5 pairs).
        uint64_t promised = values_left;
        for (size_t i = 0; i < depth; i++)
            promised += stack[i].remaining;
        int room = count + promised + 12 < MAX_NODES;

        // The top value is an aggregate 3 times in 4, so most trees nest.
        uint64_t aggregate_percent = depth == 0 ? 75 : 33;
        int aggregate = depth < MAX_DEPTH && room && rng_below(100) < aggregate_percent;

        // An attribute annotates the value after it and is not one of its
        // parent's elements, so it leaves the parent's count alone.
        int attribute = aggregate && with_attributes && rng_below(6) == 0;
        if (!attribute) {
            if (depth > 0)
                stack[depth - 1].remaining--;
            else
                values_left--;
        }

        if (!aggregate) {
            random_leaf(n);
            count++;
            continue;
        }

        static const enum rp_resp_type aggregates[] = {
            RP_RESP_ARRAY, RP_RESP_MAP, RP_RESP_SET, RP_RESP_PUSH,
        };
        n->type = attribute ? RP_RESP_ATTRIBUTE
                            : aggregates[rng_below(sizeof(aggregates) / sizeof(aggregates[0]))];
        n->v.count = rng_below(6);
        uint64_t children = n->type == RP_RESP_MAP || n->type == RP_RESP_ATTRIBUTE
                                ? 2 * n->v.count : n->v.count;
        stack[depth++] = (struct frame){(uint32_t)count, children};
        count++;
    }
    return count;
}

/*
 * Writes into out the tree a RESP2 client parses after the writers
 * downgrade nodes. Double texts go into the arena. Returns the node count,
 * which equals count: every downgrade maps one node to one node.
 */
static size_t downgrade_tree(const struct rp_resp_node *nodes, size_t count,
                             struct rp_resp_node *out)
{
    for (size_t i = 0; i < count; i++) {
        struct rp_resp_node n = nodes[i];

        switch (n.type) {
        case RP_RESP_MAP:
            n.type = RP_RESP_ARRAY;
            n.v.count *= 2;
            break;
        case RP_RESP_SET:
        case RP_RESP_PUSH:
            n.type = RP_RESP_ARRAY;
            break;
        case RP_RESP_BOOL:
            n.type = RP_RESP_INTEGER;
            n.v.integer = n.v.boolean ? 1 : 0;
            break;
        case RP_RESP_DOUBLE: {
            char *text = arena_take(RP_RESP_DOUBLE_BUFSIZE);
            n.str.len = rp_resp_format_double(n.v.dbl, text, RP_RESP_DOUBLE_BUFSIZE);
            n.str.ptr = text;
            n.type = RP_RESP_BULK;
            break;
        }
        case RP_RESP_BIGNUM:
        case RP_RESP_VERBATIM:
            n.type = RP_RESP_BULK;
            break;
        case RP_RESP_BULK_ERROR:
            n.type = RP_RESP_ERROR;
            break;
        default:
            break;
        }
        out[i] = n;
    }
    return count;
}

static void fail_tree(uint64_t seed, int iteration, int proto, const struct rp_resp_node *expected,
                      size_t expected_count, const struct rp_resp_reply *actual, size_t index)
{
    char want[160] = "(none)";
    char got[160] = "(none)";

    if (index < expected_count)
        tree_describe_node(&expected[index], want, sizeof(want));
    if (index < actual->count)
        tree_describe_node(&actual->nodes[index], got, sizeof(got));
    print_error("seed %" PRIu64 " tree %d RESP%d: node %zu differs\n  expected %s\n  actual   %s\n",
                seed, iteration, proto, index, want, got);
    fail();
}

/*
 * Parses encoded as one reply. Every 16th tree is also fed as a growing
 * prefix, one byte more per call, which must give RP_NEED_MORE until the
 * last byte arrives.
 */
static void parse_encoded(rp_resp_reply_parser_t *parser, const struct rp_buf *encoded,
                          int iteration, struct rp_resp_reply *out)
{
    if (iteration % 16 == 0 && encoded->len < 4096) {
        rp_resp_reply_parser_reset(parser);
        for (size_t len = 1; len < encoded->len; len++) {
            ssize_t partial = rp_resp_reply_parse(parser, encoded->data, len, out);
            if (partial != RP_NEED_MORE) {
                print_error("prefix of %zu of %zu bytes returned %zd\n", len, encoded->len,
                            partial);
                fail();
            }
        }
    }

    ssize_t n = rp_resp_reply_parse(parser, encoded->data, encoded->len, out);
    assert_int_equal(n, encoded->len);
}

static void run_seed(uint64_t seed)
{
    static struct rp_resp_node tree[MAX_NODES];
    static struct rp_resp_node downgraded[MAX_NODES];
    struct rp_buf encoded = RP_BUF_INIT;
    rp_resp_reply_parser_t *parser = rp_resp_reply_parser_create(NULL);
    assert_non_null(parser);

    uint64_t total_nodes = 0;
    rng_state = seed;
    for (int iteration = 0; iteration < TREES_PER_SEED; iteration++) {
        struct rp_resp_reply parsed;
        arena.used = 0;

        // RESP3: the parsed tree equals the generated one, except that
        // every null arrives as "_".
        size_t count = random_tree(tree, 1);
        total_nodes += count;
        rp_buf_clear(&encoded);
        assert_int_equal(tree_encode(&encoded, 3, tree, count), 0);
        parse_encoded(parser, &encoded, iteration, &parsed);
        size_t diff = tree_compare(tree, count, parsed.nodes, parsed.count, 0);
        if (diff != TREE_EQUAL)
            fail_tree(seed, iteration, 3, tree, count, &parsed, diff);

        // RESP2: the parsed tree equals the downgraded one, null kinds too.
        count = random_tree(tree, 0);
        total_nodes += count;
        size_t downgraded_count = downgrade_tree(tree, count, downgraded);
        rp_buf_clear(&encoded);
        assert_int_equal(tree_encode(&encoded, 2, tree, count), 0);
        parse_encoded(parser, &encoded, iteration, &parsed);
        diff = tree_compare(downgraded, downgraded_count, parsed.nodes, parsed.count,
                            TREE_CMP_NULL_KIND);
        if (diff != TREE_EQUAL)
            fail_tree(seed, iteration, 2, downgraded, downgraded_count, &parsed, diff);
    }

    printf("seed %" PRIu64 ": %d trees, %" PRIu64 " nodes\n", seed, 2 * TREES_PER_SEED,
           total_nodes);
    rp_resp_reply_parser_free(parser);
    rp_buf_free(&encoded);
}

static void test_roundtrip_fixed_seed(void **state)
{
    run_seed(1);
}

static void test_roundtrip_environment_seed(void **state)
{
    const char *text = getenv("RP_TEST_SEED");
    uint64_t seed = text != NULL ? strtoull(text, NULL, 0) : (uint64_t)time(NULL);

    printf("roundtrip seed %" PRIu64 " (replay with RP_TEST_SEED=%" PRIu64 ")\n", seed, seed);
    run_seed(seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_fixed_seed),
        cmocka_unit_test(test_roundtrip_environment_seed),
    };
    return cmocka_run_group_tests_name("resp_roundtrip", tests, NULL, NULL);
}
