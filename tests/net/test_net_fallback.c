// SPDX-License-Identifier: BSD-3-Clause
// Checks which backend RP_NET_AUTO picks. Run plainly, it must pick io_uring
// (or skip where the kernel lacks it). Run under seccomp_launcher, which
// makes io_uring_setup fail with EPERM, it must pick epoll and still serve
// clients.
//
// Usage: test_net_fallback io_uring|epoll

#define _GNU_SOURCE

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ringpub/net.h"

#include "echo_server.h"

static const char *expected;

static void test_auto_picks_expected_backend(void **state)
{
    (void)state;
    long before = alloc_live();
    static struct echo_server s;
    echo_init(&s, RP_NET_AUTO);
    int err = echo_start(&s);
    assert_int_equal(err, 0);
    if (strcmp(expected, "io_uring") == 0 && strcmp(s.backend_name, "epoll") == 0) {
        echo_stop(&s);
        print_message("io_uring unavailable on this kernel: skipped\n");
        skip();
    }
    assert_string_equal(s.backend_name, expected);

    int fd = client_tcp(s.port);
    assert_true(fd >= 0);
    assert_int_equal(send_all(fd, "ping", 4), 0);
    char buf[4];
    assert_int_equal(recv_all(fd, buf, 4), 0);
    assert_memory_equal(buf, "ping", 4);
    close(fd);
    for (int i = 0; i < 5000 && atomic_load(&s.closes) < 1; i++)
        usleep(1000);

    assert_int_equal(echo_stop(&s), 0);
    assert_int_equal(s.final_stats.connections, 0);
    assert_int_equal(atomic_load(&s.closes), 1);
    assert_int_equal(alloc_live(), before);
}

static size_t drop_data(void *c, rp_net_conn_t *conn, const char *d, size_t n)
{
    (void)c, (void)conn, (void)d;
    return n;
}

static void ignore_close(void *c, rp_net_conn_t *conn, int err)
{
    (void)c, (void)conn, (void)err;
}

static void test_explicit_uring_reports_setup_error(void **state)
{
    (void)state;
    if (strcmp(expected, "epoll") != 0)
        skip();
    struct rp_net_config cfg;
    rp_net_config_default(&cfg);
    cfg.backend = RP_NET_URING;
    struct rp_net_handlers h = {.on_data = drop_data, .on_close = ignore_close};
    rp_net_loop_t *loop = NULL;
    assert_int_equal(rp_net_loop_create(&cfg, &h, NULL, &loop), -EPERM);
    assert_null(loop);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "io_uring") != 0 && strcmp(argv[1], "epoll") != 0)) {
        fprintf(stderr, "usage: %s io_uring|epoll\n", argv[0]);
        return 2;
    }
    expected = argv[1];
    alloc_count_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_picks_expected_backend),
        cmocka_unit_test(test_explicit_uring_reports_setup_error),
    };
    return cmocka_run_group_tests_name(expected, tests, NULL, NULL);
}
