#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Misbehaving clients next to well-behaved redis-py ones.

A subscriber that never reads is disconnected by the pub/sub output buffer
limit while the other subscribers receive everything and the publisher keeps
its pace. Clients that send malformed requests get redis's protocol error
and are closed, and the others never notice.
"""

import socket
import threading
import time

import harness
from harness import test, wait_until, read_until_close

MESSAGE_SIZE = 8 * 1024
MESSAGE_COUNT = 2500          # 20 MB in all, far past the 1 MB hard limit
BATCH = 50
# A pipelined batch of 50 publishes of 8 KB took 6 ms at the slowest with
# redis 7.0 on a 2-core test machine (15 ms for an ASan build of ringpub), so a
# batch over a second means the publisher was stalled.
MAX_BATCH_SECONDS = 1.0


class Reader(threading.Thread):
    """A redis-py subscriber that collects `count` messages of `channel` in a thread."""

    def __init__(self, ctx, channel, count, timeout):
        super().__init__(daemon=True)
        self.client = ctx.redis()
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.count = count
        self.deadline = time.monotonic() + timeout
        self.received = []
        self.error = None

    def run(self):
        try:
            while len(self.received) < self.count and time.monotonic() < self.deadline:
                m = self.pubsub.get_message(timeout=0.5)
                if m is not None:
                    self.received.append(m["data"])
        except Exception as e:  # reported by the test thread
            self.error = e


def subscribe_raw(ctx, channel, rcvbuf=None, name=None):
    """Return a raw socket subscribed to channel, after reading the confirmation."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        # Set before connect so the TCP window starts small.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect((ctx.host, ctx.port))
    request = b""
    if name:
        request += b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$%d\r\n%s\r\n" % (len(name), name)
    request += b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel)
    s.sendall(request)
    expected = (b"+OK\r\n" if name else b"") + b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(channel), channel)
    got = b""
    while len(got) < len(expected):
        chunk = s.recv(len(expected) - len(got))
        assert chunk, f"server closed the connection after {got!r}"
        got += chunk
    assert got == expected, got
    return s


@test(timeout=60)
def slow_subscriber_disconnected(ctx):
    r = ctx.redis()
    assert r.config_set("client-output-buffer-limit", "pubsub 1mb 512kb 5") is True
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"].endswith(
        "pubsub 1048576 524288 5")

    slow = subscribe_raw(ctx, b"flood", rcvbuf=4096, name=b"slow-sub")
    readers = [Reader(ctx, "flood", MESSAGE_COUNT, timeout=45) for _ in range(2)]
    for reader in readers:
        reader.start()
    wait_until(lambda: r.pubsub_numsub("flood") == [(b"flood", 3)], what="3 subscribers on flood")

    receivers = []
    slowest_batch = 0.0
    for start in range(0, MESSAGE_COUNT, BATCH):
        # The readers run in this process and share its GIL with the
        # publisher. Without this wait they can fall 1 MB behind and be cut
        # off too. It keeps at most two batches (800 KB) queued for them,
        # and is left out of the batch timing.
        wait_until(lambda: all(len(reader.received) >= start - BATCH for reader in readers), timeout=10,
                   what=f"the readers to reach message {start - BATCH}")
        pipe = r.pipeline(transaction=False)
        for i in range(start, start + BATCH):
            pipe.publish("flood", b"%08d" % i + b"." * (MESSAGE_SIZE - 8))
        t0 = time.monotonic()
        receivers += pipe.execute()
        slowest_batch = max(slowest_batch, time.monotonic() - t0)
    print(f"slowest batch of {BATCH} publishes: {slowest_batch * 1000:.1f} ms")
    assert slowest_batch < MAX_BATCH_SECONDS, f"a batch of {BATCH} publishes took {slowest_batch:.2f}s"

    # Every publish reached the two readers, and the slow one until it was cut off.
    assert set(receivers) <= {2, 3}, sorted(set(receivers))
    assert receivers[-1] == 2, "the slow subscriber was still counted at the last publish"
    assert receivers == sorted(receivers, reverse=True), "the receiver count went up again"
    assert "slow-sub" not in [c["name"] for c in r.client_list()]

    for reader in readers:
        reader.join(50)
        assert reader.error is None, reader.error
        assert len(reader.received) == MESSAGE_COUNT, f"a reader got {len(reader.received)} of {MESSAGE_COUNT}"
        assert [int(d[:8]) for d in reader.received] == list(range(MESSAGE_COUNT)), "messages out of order"

    # The slow socket receives part of the stream, then the close.
    leftover = read_until_close(slow, timeout=10, limit=64 << 20)
    assert len(leftover) < MESSAGE_COUNT * MESSAGE_SIZE, "the slow subscriber received the whole stream"
    slow.close()


GARBAGE = [
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'\r\n"),
    (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$-1\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$600000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b'"unbalanced\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"x" * 70000, b"-ERR Protocol error: too big inline request\r\n"),
    (b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n", b"+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"),
]


@test(timeout=40)
def garbage_client_closed(ctx):
    r = ctx.redis()
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe("steady")
    wait_until(lambda: r.pubsub_numsub("steady") == [(b"steady", 1)], what="steady subscriber")
    p.get_message(timeout=1)

    for n, (garbage, reply) in enumerate(GARBAGE):
        bad = ctx.raw()
        try:
            bad.sendall(garbage)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before reading all of a long request
        got = read_until_close(bad, timeout=5)
        bad.close()
        assert got == reply, f"garbage {garbage[:30]!r}: server sent {got[:200]!r}, expected {reply!r}"

        # The subscriber and the publisher carry on as before.
        assert r.publish("steady", f"after-{n}") == 1
        m = p.get_message(timeout=5)
        assert m is not None and m["data"] == f"after-{n}".encode(), m
    p.close()


@test
def garbage_from_subscriber_closes_only_it(ctx):
    r = ctx.redis()
    good = r.pubsub(ignore_subscribe_messages=True)
    good.subscribe("shared")
    bad = subscribe_raw(ctx, b"shared")
    wait_until(lambda: r.pubsub_numsub("shared") == [(b"shared", 2)], what="2 subscribers")

    bad.sendall(b"*1\r\n$x\r\n")
    got = read_until_close(bad, timeout=5)
    bad.close()
    assert got == b"-ERR Protocol error: invalid bulk length\r\n", got

    wait_until(lambda: r.pubsub_numsub("shared") == [(b"shared", 1)], what="the bad subscriber to be dropped")
    good.get_message(timeout=1)
    assert r.publish("shared", "ok") == 1
    m = good.get_message(timeout=5)
    assert m is not None and m["data"] == b"ok", m
    good.close()


@test
def half_sent_request_waits(ctx):
    r = ctx.redis()
    partial = ctx.raw()
    # A request cut in the middle is not an error: the server waits for the rest.
    partial.sendall(b"*2\r\n$7\r\nPUBLISH\r\n")
    assert r.ping()
    partial.settimeout(0.3)
    try:
        early = partial.recv(100)
    except socket.timeout:
        early = None
    assert early is None, f"server replied to half a request: {early!r}"
    partial.settimeout(5)
    partial.sendall(b"$4\r\nPING\r\n")
    # PUBLISH with one argument is the wrong arity; the connection stays open.
    assert partial.recv(200) == b"-ERR wrong number of arguments for 'publish' command\r\n"
    partial.sendall(b"*1\r\n$4\r\nPING\r\n")
    assert partial.recv(100) == b"+PONG\r\n"
    partial.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
