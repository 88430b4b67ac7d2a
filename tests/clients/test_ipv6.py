#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Clients on the IPv6 loopback (::1) next to IPv4 ones, with the server
started with `--bind "127.0.0.1 -::1"`."""

import socket
import subprocess

import redis

import harness
from harness import Skip, test

# The leading "-" lets the server start where ::1 is missing; the tests skip there.
BOTH = ["--bind", "127.0.0.1 -::1"]


def require_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError as e:
        raise Skip(f"this machine has no IPv6 loopback: {e}") from None


@test(server_args=BOTH)
def ipv6_subscriber_ipv4_publisher(ctx):
    require_ipv6_loopback()
    v6 = redis.Redis(host="::1", port=ctx.port, socket_timeout=10, client_name="over-v6")
    v4 = ctx.redis()
    p = v6.pubsub()
    p.subscribe("dual")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    assert v4.publish("dual", "from v4") == 1
    assert p.get_message(timeout=5)["data"] == b"from v4"
    assert v6.publish("dual", "from v6") == 1
    assert p.get_message(timeout=5)["data"] == b"from v6"

    rows = {c["name"]: c for c in v4.client_list() if c["name"]}
    # redis 7.0 writes an IPv6 address in brackets: [::1]:port.
    assert rows["over-v6"]["addr"].startswith("[::1]:"), rows["over-v6"]
    assert rows["over-v6"]["laddr"] == f"[::1]:{ctx.port}", rows["over-v6"]
    p.close()


@test(server_args=BOTH)
def redis_cli_over_ipv6(ctx):
    require_ipv6_loopback()
    v4 = ctx.redis()
    p = v4.pubsub()
    p.subscribe("dual")
    p.get_message(timeout=5)
    proc = subprocess.run(["redis-cli", "-h", "::1", "-p", str(ctx.port), "PUBLISH", "dual", "cli"],
                          capture_output=True, timeout=10)
    assert proc.stdout == b"1\n", (proc.stdout, proc.stderr)
    assert p.get_message(timeout=5)["data"] == b"cli"
    p.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
