// SPDX-License-Identifier: BSD-3-Clause
// Stream storage against a plain array model: random appends, deletions,
// trims and range reads must agree entry for entry.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/stream.h"

struct model {
    struct stream_id ids[20000];
    unsigned values[20000];
    size_t n;
};

static struct stream_id sid(uint64_t ms, uint64_t seq)
{
    return (struct stream_id){ms, seq};
}

static void append(struct stream *s, struct model *m, struct stream_id id, unsigned value)
{
    char name[16], val[16];
    snprintf(name, sizeof(name), "f");
    snprintf(val, sizeof(val), "%u", value);
    struct rp_resp_str argv[2] = {{name, strlen(name)}, {val, strlen(val)}};
    assert_int_equal(stream_append(s, id, argv, 1), 0);
    m->ids[m->n] = id;
    m->values[m->n++] = value;
}

struct collect {
    struct stream_id ids[20000];
    unsigned values[20000];
    size_t n;
};

static int collect_fn(void *ctx, const struct stream_entry *e)
{
    struct collect *c = ctx;
    assert_int_equal(e->field_count, 1);
    assert_int_equal(e->lens[0], 1);
    c->ids[c->n] = e->id;
    // Values are not NUL-terminated: parse exactly lens[1] digits.
    unsigned v = 0;
    for (size_t i = 0; i < e->lens[1]; i++)
        v = v * 10 + (unsigned)(e->ptrs[1][i] - '0');
    c->values[c->n++] = v;
    return 0;
}

static void check_range(struct stream *s, const struct model *m, struct stream_id start, struct stream_id end,
                        size_t count, int reverse)
{
    static struct collect got;
    got.n = 0;
    stream_range(s, start, end, count, reverse, collect_fn, &got);

    size_t k = 0;
    for (size_t j = 0; j < m->n; j++) {
        size_t i = reverse ? m->n - 1 - j : j;
        if (stream_id_cmp(m->ids[i], start) < 0 || stream_id_cmp(m->ids[i], end) > 0)
            continue;
        if (count && k == count)
            break;
        assert_true(k < got.n);
        assert_int_equal(got.ids[k].ms, m->ids[i].ms);
        assert_int_equal(got.ids[k].seq, m->ids[i].seq);
        assert_int_equal(got.values[k], m->values[i]);
        k++;
    }
    assert_int_equal(k, got.n);
}

static void model_remove_front(struct model *m, size_t n)
{
    memmove(m->ids, m->ids + n, (m->n - n) * sizeof(m->ids[0]));
    memmove(m->values, m->values + n, (m->n - n) * sizeof(m->values[0]));
    m->n -= n;
}

static void test_random_operations_match_model(void **state)
{
    (void)state;
    static struct model m;
    struct stream *s = stream_create();
    uint64_t ms = 1;
    unsigned seed = getenv("RP_TEST_SEED") ? (unsigned)atoi(getenv("RP_TEST_SEED")) : 12345;
    srand(seed);
    m.n = 0;

    for (int step = 0; step < 30000; step++) {
        int op = rand() % 100;
        if (op < 70 && m.n < 19000) {
            ms += (uint64_t)(rand() % 3);
            struct stream_id last = stream_last_id(s);
            struct stream_id id = last.ms == ms ? sid(ms, last.seq + 1) : sid(ms > last.ms ? ms : last.ms + 1, 0);
            ms = id.ms;
            append(s, &m, id, (unsigned)step);
        } else if (op < 80 && m.n > 0) {
            size_t i = (size_t)rand() % m.n;
            assert_int_equal(stream_delete(s, m.ids[i]), 1);
            assert_int_equal(stream_delete(s, m.ids[i]), 0);
            memmove(m.ids + i, m.ids + i + 1, (m.n - i - 1) * sizeof(m.ids[0]));
            memmove(m.values + i, m.values + i + 1, (m.n - i - 1) * sizeof(m.values[0]));
            m.n--;
        } else if (op < 83) {
            uint64_t maxlen = m.n ? (uint64_t)rand() % (m.n + 1) : 0;
            uint64_t removed = stream_trim_maxlen(s, maxlen, 0, 0);
            assert_int_equal(removed, m.n - (m.n < maxlen ? m.n : maxlen));
            model_remove_front(&m, removed);
        } else if (op < 86) {
            uint64_t maxlen = m.n ? (uint64_t)rand() % (m.n + 1) : 0;
            uint64_t removed = stream_trim_maxlen(s, maxlen, 1, 0);
            // Approximate: never below maxlen, never more than one block above.
            assert_true(m.n - removed >= maxlen || m.n < maxlen);
            if (m.n > maxlen)
                assert_true(m.n - removed <= maxlen + STREAM_BLOCK_ENTRIES);
            model_remove_front(&m, removed);
        } else if (op < 89 && m.n > 0) {
            struct stream_id minid = m.ids[(size_t)rand() % m.n];
            uint64_t removed = stream_trim_minid(s, minid, 0, 0);
            size_t below = 0;
            while (below < m.n && stream_id_cmp(m.ids[below], minid) < 0)
                below++;
            assert_int_equal(removed, below);
            model_remove_front(&m, removed);
        } else if (m.n > 0) {
            struct stream_id a = m.ids[(size_t)rand() % m.n], b = m.ids[(size_t)rand() % m.n];
            if (stream_id_cmp(a, b) > 0) {
                struct stream_id t = a;
                a = b;
                b = t;
            }
            check_range(s, &m, a, b, (size_t)(rand() % 3 ? 0 : rand() % 20 + 1), rand() % 2);
        }
        assert_int_equal(stream_len(s), m.n);
    }
    check_range(s, &m, sid(0, 0), sid(UINT64_MAX, UINT64_MAX), 0, 0);
    check_range(s, &m, sid(0, 0), sid(UINT64_MAX, UINT64_MAX), 0, 1);
    stream_free(s);
}

static void test_last_id_survives_deletion(void **state)
{
    (void)state;
    static struct model m;
    struct stream *s = stream_create();
    m.n = 0;
    append(s, &m, sid(5, 1), 1);
    assert_int_equal(stream_delete(s, sid(5, 1)), 1);
    assert_int_equal(stream_len(s), 0);
    assert_int_equal(stream_last_id(s).ms, 5);
    assert_int_equal(stream_last_id(s).seq, 1);
    stream_free(s);
}

static void test_large_entry_gets_own_block(void **state)
{
    (void)state;
    struct stream *s = stream_create();
    static char big[100000];
    memset(big, 'v', sizeof(big));
    struct rp_resp_str argv[2] = {{"k", 1}, {big, sizeof(big)}};
    assert_int_equal(stream_append(s, sid(1, 0), argv, 1), 0);
    assert_int_equal(stream_append(s, sid(2, 0), argv, 1), 0);
    assert_true(stream_memory(s) >= 2 * sizeof(big));
    assert_int_equal(stream_trim_maxlen(s, 1, 1, 0), 1);
    assert_int_equal(stream_len(s), 1);
    stream_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_operations_match_model),
        cmocka_unit_test(test_last_id_survives_deletion),
        cmocka_unit_test(test_large_entry_gets_own_block),
    };
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
