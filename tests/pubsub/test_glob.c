// SPDX-License-Identifier: BSD-3-Clause
// Tests of rp_ps_glob_match: the table of pattern/string pairs with the
// results of redis-server 7.0.15 (glob_table.txt, made by gen_glob_table.py), the
// quirks it covers named one by one, and the time bound on star-heavy
// patterns that make a backtracking matcher slow.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ringpub/pubsub.h"

static const char *table_path;

static int match(const char *pattern, const char *str)
{
    return rp_ps_glob_match(pattern, strlen(pattern), str, strlen(str), 0);
}

static int match_nocase(const char *pattern, const char *str)
{
    return rp_ps_glob_match(pattern, strlen(pattern), str, strlen(str), 1);
}

// Decodes hex (or "-" for empty) into a new buffer. Returns its length.
static size_t decode_hex(const char *hex, char **out)
{
    size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        unsigned byte;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
        buf[i] = (char)byte;
    }
    *out = buf;
    return n;
}

static void test_glob_table_matches_redis(void **state)
{
    (void)state;
    FILE *f = fopen(table_path, "r");
    if (f == NULL)
        fail_msg("cannot open the glob table %s: pass its path as the first argument", table_path);

    // Long patterns reach 5000 bytes, so 10,000 hex digits.
    size_t cap = 32768;
    char *line = malloc(cap);
    char *pattern_hex = malloc(cap);
    char *string_hex = malloc(cap);
    assert_non_null(line);
    assert_non_null(pattern_hex);
    assert_non_null(string_hex);

    int rows = 0, mismatches = 0;
    while (fgets(line, (int)cap, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        assert_non_null(strchr(line, '\n'));
        int nocase, expected;
        if (sscanf(line, "%d %d %32767s %32767s", &nocase, &expected, pattern_hex, string_hex) != 4)
            fail_msg("malformed table row: %s", line);

        char *pattern, *str;
        size_t plen = decode_hex(pattern_hex, &pattern);
        size_t slen = decode_hex(string_hex, &str);
        int got = rp_ps_glob_match(pattern, plen, str, slen, nocase);
        if (got != expected) {
            print_error("mismatch: got %d, redis %d: %s", got, expected, line);
            mismatches++;
        }
        free(pattern);
        free(str);
        rows++;
    }
    fclose(f);
    free(line);
    free(pattern_hex);
    free(string_hex);

    assert_true(rows >= 150);
    assert_int_equal(mismatches, 0);
}

static void test_glob_empty_string_matches_only_empty_pattern(void **state)
{
    (void)state;
    assert_int_equal(match("", ""), 1);
    assert_int_equal(match("*", ""), 0);
    assert_int_equal(match("**", ""), 0);
    assert_int_equal(match("", "a"), 0);
    assert_int_equal(rp_ps_glob_match(NULL, 0, NULL, 0, 0), 1);
}

static void test_glob_trailing_star_matches_rest(void **state)
{
    (void)state;
    assert_int_equal(match("a*", "a"), 1);
    assert_int_equal(match("a**", "a"), 1);
    assert_int_equal(match("a*b*", "ab"), 1);
    assert_int_equal(match("a*b*c", "ab"), 0);
}

static void test_glob_unterminated_class_ends_at_pattern_end(void **state)
{
    (void)state;
    assert_int_equal(match("[abc", "b"), 1);
    assert_int_equal(match("[abc", "["), 0);
    assert_int_equal(match("[", "["), 0);
    assert_int_equal(match("[^", "x"), 1);
}

static void test_glob_empty_classes(void **state)
{
    (void)state;
    assert_int_equal(match("[]", "]"), 0);
    assert_int_equal(match("[]a]", "a"), 0);
    assert_int_equal(match("[^]", "]"), 1);
    assert_int_equal(match("[^]]", "x]"), 1);
}

static void test_glob_escapes_in_and_out_of_classes(void **state)
{
    (void)state;
    assert_int_equal(match("\\*", "*"), 1);
    assert_int_equal(match("\\*", "a"), 0);
    assert_int_equal(match("a\\", "a\\"), 1);
    assert_int_equal(match("[\\]]", "]"), 1);
    assert_int_equal(match("[\\]", "]"), 1);
    assert_int_equal(match("[\\]", "\\"), 0);
    assert_int_equal(match("[\\", "\\"), 1);
}

static void test_glob_range_quirks(void **state)
{
    (void)state;
    assert_int_equal(match("[z-a]", "m"), 1);
    assert_int_equal(match("[a-]", "]"), 1);
    assert_int_equal(match("[a-]", "-"), 0);
    assert_int_equal(match("[\\a-z]", "-"), 1);
    assert_int_equal(match("[\\a-z]", "c"), 0);
    // Signed bytes: 0xff is -1, so "a-\xff" is the range -1..'a'.
    assert_int_equal(match("[a-\xff]", "\x01"), 1);
    assert_int_equal(match("[a-\xff]", "b"), 0);
    assert_int_equal(match("[a-\xff]", "\x80"), 0);
}

static void test_glob_nul_bytes_are_ordinary(void **state)
{
    (void)state;
    assert_int_equal(rp_ps_glob_match("a\0*", 3, "a\0bc", 4, 0), 1);
    assert_int_equal(rp_ps_glob_match("a\0*", 3, "a\1bc", 4, 0), 0);
    assert_int_equal(rp_ps_glob_match("[\0]", 3, "\0", 1, 0), 1);
}

static void test_glob_nocase_folds_ascii_only(void **state)
{
    (void)state;
    assert_int_equal(match_nocase("HELLO", "hello"), 1);
    assert_int_equal(match_nocase("h[A-Z]llo", "hello"), 1);
    assert_int_equal(match_nocase("\xc9", "\xe9"), 0);
    // Reversed ends are swapped before folding, so [Z-a] folds to z..a: empty.
    assert_int_equal(match_nocase("[Z-a]", "_"), 0);
    assert_int_equal(match("[Z-a]", "_"), 1);
    // An escaped byte inside a class is compared case-sensitively.
    assert_int_equal(match_nocase("[\\M]", "m"), 0);
    assert_int_equal(match_nocase("\\M", "m"), 1);
}

static void test_glob_star_group_limit_as_redis(void **state)
{
    (void)state;
    enum { GROUPS = 1001 };
    char *pattern = malloc(2 * GROUPS + 2);
    char *str = malloc(2 * GROUPS + 2);
    assert_non_null(pattern);
    assert_non_null(str);
    memset(str, 'a', 2 * GROUPS + 1);

    // 1000 groups of "*a": within redis's nesting limit.
    for (int i = 0; i < GROUPS - 1; i++)
        memcpy(pattern + 2 * i, "*a", 2);
    assert_int_equal(rp_ps_glob_match(pattern, 2 * (GROUPS - 1), str, GROUPS - 1, 0), 1);

    // A 1001st group followed by more pattern never matches.
    memcpy(pattern + 2 * (GROUPS - 1), "*a", 2);
    assert_int_equal(rp_ps_glob_match(pattern, 2 * GROUPS, str, GROUPS, 0), 0);
    assert_int_equal(rp_ps_glob_match(pattern, 2 * GROUPS, str, 2 * GROUPS, 0), 0);

    // A 1001st group that ends the pattern still matches.
    for (int i = 0; i < GROUPS; i++)
        memcpy(pattern + 2 * i, "a*", 2);
    assert_int_equal(rp_ps_glob_match(pattern, 2 * GROUPS, str, GROUPS, 0), 1);
    pattern[2 * GROUPS] = 'a';
    assert_int_equal(rp_ps_glob_match(pattern, 2 * GROUPS + 1, str, GROUPS + 1, 0), 0);

    free(pattern);
    free(str);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// 30 groups of "*a" then 'b', against 20,000 'a's: a backtracking matcher
// without pruning tries on the order of C(20000, 30) splits. The iterative
// matcher does at most pattern * string = 1.2 million steps.
static void test_glob_star_heavy_pattern_is_fast(void **state)
{
    (void)state;
    enum { GROUPS = 30, LEN = 20000 };
    char pattern[2 * GROUPS + 1];
    for (int i = 0; i < GROUPS; i++)
        memcpy(pattern + 2 * i, "*a", 2);
    pattern[2 * GROUPS] = 'b';
    char *str = malloc(LEN);
    assert_non_null(str);
    memset(str, 'a', LEN);

    double start = now_seconds();
    assert_int_equal(rp_ps_glob_match(pattern, sizeof(pattern), str, LEN, 0), 0);
    assert_int_equal(rp_ps_glob_match(pattern, sizeof(pattern) - 1, str, LEN, 0), 1);
    double elapsed = now_seconds() - start;

    // Generous for sanitizer builds: the measured time is far below this.
    assert_true(elapsed < 2.0);
    free(str);
}

int main(int argc, char **argv)
{
    table_path = argc > 1 ? argv[1] : "glob_table.txt";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_table_matches_redis),
        cmocka_unit_test(test_glob_empty_string_matches_only_empty_pattern),
        cmocka_unit_test(test_glob_trailing_star_matches_rest),
        cmocka_unit_test(test_glob_unterminated_class_ends_at_pattern_end),
        cmocka_unit_test(test_glob_empty_classes),
        cmocka_unit_test(test_glob_escapes_in_and_out_of_classes),
        cmocka_unit_test(test_glob_range_quirks),
        cmocka_unit_test(test_glob_nul_bytes_are_ordinary),
        cmocka_unit_test(test_glob_nocase_folds_ascii_only),
        cmocka_unit_test(test_glob_star_group_limit_as_redis),
        cmocka_unit_test(test_glob_star_heavy_pattern_is_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
