#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""redis-cli 7.0 (Debian redis-tools) against the server.

redis-cli prints raw replies, one value per line, when its output is not a
terminal, and that is the form scripts rely on. SUBSCRIBE-style commands keep
redis-cli running: those tests read its output with a deadline and stop it by
PID.
"""

import os
import selectors
import subprocess
import time

import harness
from harness import HOST, test, wait_until


class CliSubscriber:
    """A `redis-cli SUBSCRIBE ...` process whose output lines can be awaited."""

    def __init__(self, ctx, *args):
        cmd = ["redis-cli", "-h", HOST, "-p", str(ctx.port)] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)

    def read_lines(self, count, timeout=5.0):
        """Return the next count output lines; fail after timeout seconds."""
        deadline = time.monotonic() + timeout
        while self.buffer.count(b"\n") < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"redis-cli printed {self.buffer!r}, fewer than {count} lines in {timeout}s")
            if self.selector.select(remaining):
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError(f"redis-cli exited with {self.proc.wait(5)} after printing {self.buffer!r}")
                self.buffer += chunk
        lines = self.buffer.split(b"\n")
        self.buffer = b"\n".join(lines[count:])
        return lines[:count]

    def stop(self):
        self.selector.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def cli_ok(ctx, *args):
    """Run redis-cli with args, check it exited 0, and return its output lines."""
    proc = ctx.cli(*args)
    assert proc.returncode == 0, f"redis-cli {args} exited with {proc.returncode}: {proc.stderr!r}"
    return proc.stdout.decode().split("\n")[:-1]


@test
def publish_prints_receivers(ctx):
    r = ctx.redis()
    assert cli_ok(ctx, "PUBLISH", "cli-ch", "nobody") == ["0"]

    p = r.pubsub()
    p.subscribe("cli-ch")
    p.get_message(timeout=5)
    assert cli_ok(ctx, "PUBLISH", "cli-ch", "hello from cli") == ["1"]
    m = p.get_message(timeout=5)
    assert m["type"] == "message" and m["data"] == b"hello from cli", m
    p.close()


@test
def subscribe_prints_messages(ctx):
    r = ctx.redis()
    sub = CliSubscriber(ctx, "SUBSCRIBE", "room1", "room2")
    try:
        assert sub.read_lines(6) == [b"subscribe", b"room1", b"1", b"subscribe", b"room2", b"2"]
        assert r.publish("room2", "first") == 1
        assert r.publish("room1", "second line\nwith newline") == 1
        assert sub.read_lines(7) == [b"message", b"room2", b"first",
                                     b"message", b"room1", b"second line", b"with newline"]
        assert sub.proc.poll() is None, "redis-cli left subscribed mode"
    finally:
        sub.stop()
    wait_until(lambda: r.pubsub_numsub("room1") == [(b"room1", 0)], what="subscription gone after redis-cli ended")


@test
def psubscribe_prints_pmessages(ctx):
    r = ctx.redis()
    sub = CliSubscriber(ctx, "PSUBSCRIBE", "log.*")
    try:
        assert sub.read_lines(3) == [b"psubscribe", b"log.*", b"1"]
        assert r.publish("log.error", "disk full") == 1
        assert sub.read_lines(4) == [b"pmessage", b"log.*", b"log.error", b"disk full"]
    finally:
        sub.stop()


@test
def ssubscribe_prints_smessages(ctx):
    r = ctx.redis()
    sub = CliSubscriber(ctx, "SSUBSCRIBE", "shard-a")
    try:
        assert sub.read_lines(3) == [b"ssubscribe", b"shard-a", b"1"]
        assert r.execute_command("SPUBLISH", "shard-a", "s1") == 1
        assert sub.read_lines(3) == [b"smessage", b"shard-a", b"s1"]
    finally:
        sub.stop()


@test
def resp3_subscribe_prints_pushes(ctx):
    r = ctx.redis()
    sub = CliSubscriber(ctx, "-3", "SUBSCRIBE", "push-ch")
    try:
        assert sub.read_lines(3) == [b"subscribe", b"push-ch", b"1"]
        assert r.publish("push-ch", "pushed") == 1
        assert sub.read_lines(3) == [b"message", b"push-ch", b"pushed"]
    finally:
        sub.stop()


@test
def resp3_commands(ctx):
    hello = cli_ok(ctx, "-3", "HELLO")
    # redis-cli prints each map entry of the HELLO reply as "key value".
    fields = dict(line.split(" ", 1) for line in hello)
    assert fields.get("proto") == "3", hello
    for key in ("server", "version", "id", "mode", "role", "modules"):
        assert key in fields, f"HELLO 3 has no {key!r} field: {hello}"
    assert cli_ok(ctx, "-3", "PING") == ["PONG"]
    assert cli_ok(ctx, "-3", "PUBLISH", "x", "y") == ["0"]
    assert cli_ok(ctx, "-3", "PUBSUB", "NUMSUB", "x") == ["x", "0"]


@test
def unsubscribe_without_subscriptions(ctx):
    # A null channel prints as an empty line.
    assert cli_ok(ctx, "UNSUBSCRIBE") == ["unsubscribe", "", "0"]
    assert cli_ok(ctx, "PUNSUBSCRIBE") == ["punsubscribe", "", "0"]


@test
def pubsub_commands(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("orders", "orders.eu", "payments")
    p.psubscribe("orders.*", "audit.*")
    p.execute_command("SSUBSCRIBE", "inventory")
    for _ in range(6):
        p.get_message(timeout=5)

    assert sorted(cli_ok(ctx, "PUBSUB", "CHANNELS")) == ["orders", "orders.eu", "payments"]
    assert sorted(cli_ok(ctx, "PUBSUB", "CHANNELS", "orders*")) == ["orders", "orders.eu"]
    # redis-cli prints an empty array as one empty line.
    assert cli_ok(ctx, "PUBSUB", "CHANNELS", "none*") == [""]
    assert cli_ok(ctx, "PUBSUB", "NUMSUB", "orders", "payments", "none") == ["orders", "1", "payments", "1",
                                                                             "none", "0"]
    assert cli_ok(ctx, "PUBSUB", "NUMSUB") == [""]
    assert cli_ok(ctx, "PUBSUB", "NUMPAT") == ["2"]
    assert cli_ok(ctx, "PUBSUB", "SHARDCHANNELS") == ["inventory"]
    assert cli_ok(ctx, "PUBSUB", "SHARDNUMSUB", "inventory", "x") == ["inventory", "1", "x", "0"]
    assert cli_ok(ctx, "SPUBLISH", "inventory", "restock") == ["1"]

    help_lines = cli_ok(ctx, "PUBSUB", "HELP")
    assert help_lines[0].startswith("PUBSUB <subcommand>"), help_lines
    proc = ctx.cli("PUBSUB", "NOSUCH")
    assert proc.stdout.decode() == "ERR unknown subcommand 'NOSUCH'. Try PUBSUB HELP.\n\n", proc.stdout
    p.close()


@test
def info_clients_section(ctx):
    r = ctx.redis()
    subs = []
    for i in range(3):
        p = r.pubsub()
        p.subscribe(f"c{i}")
        p.get_message(timeout=5)
        subs.append(p)

    lines = cli_ok(ctx, "INFO", "clients")
    assert lines[0] == "# Clients\r", lines
    fields = dict(line.rstrip("\r").split(":", 1) for line in lines[1:] if ":" in line)
    # Three subscriber connections and redis-cli itself.
    assert fields["connected_clients"] == "4", fields
    for key in ("blocked_clients", "maxclients"):
        assert key in fields, f"INFO clients has no {key}: {fields}"
    for p in subs:
        p.close()


@test
def client_list_and_setname(ctx):
    r = ctx.redis(client_name="watcher")
    p = r.pubsub()
    p.subscribe("a", "b")
    p.psubscribe("c*")
    for _ in range(3):
        p.get_message(timeout=5)

    rows = cli_ok(ctx, "CLIENT", "LIST")
    entries = [dict(kv.split("=", 1) for kv in row.split(" ")) for row in rows]
    subscriber = [e for e in entries if e["sub"] == "2"]
    assert len(subscriber) == 1, rows
    assert subscriber[0]["psub"] == "1", subscriber
    assert subscriber[0]["cmd"] == "psubscribe", subscriber
    assert [e["name"] for e in entries if e["name"]] == ["watcher"], rows
    me = [e for e in entries if e["cmd"] == "client|list"]
    assert len(me) == 1, rows
    p.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
