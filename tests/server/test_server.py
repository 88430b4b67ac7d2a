#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of ringpub-server with raw RESP bytes.

Each test starts the servers it needs on loopback (tests/lib/rpserver.py
picks free ports) and talks to them over plain sockets. Where redis-server
is installed, the same bytes go to both servers and the replies must match
byte for byte, since redis-server 7.0 is the reference.

Environment: RINGPUB_SERVER (the binary, required), RINGPUB_IO_BACKEND
("uring" or "epoll", optional), REDIS_SERVER (optional),
RINGPUB_SECCOMP_LAUNCHER (tests/net/seccomp_launcher, optional: without it
the io_uring refusal test is skipped).

Usage: test_server.py [-k SUBSTRING] [-v]
Prints one line per test and a last line "N passed, N failed"; the exit
status is 1 when a test failed, and 77 (skipped) when RINGPUB_IO_BACKEND is
uring and the kernel refuses io_uring.
"""

import os
import re
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import rpserver  # noqa: E402  (found through sys.path)

REDIS_AVAILABLE = bool(os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
                       or os.path.exists("/usr/bin/redis-server"))
READ_TIMEOUT = 5.0


# ---------------------------------------------------------------------------
# RESP helpers


def enc(*args):
    """Encode a command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def frame_end(buf, pos=0):
    """Return the end offset of the RESP frame starting at pos, or None if incomplete.

    Walks aggregates with an explicit count of values still expected, so
    nesting costs no recursion.
    """
    pending = 1
    while pending > 0:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None
        kind = buf[pos:pos + 1]
        head = buf[pos + 1:nl]
        pos = nl + 2
        pending -= 1
        if kind in (b"$", b"=", b"!"):
            n = int(head)
            if n >= 0:
                if len(buf) < pos + n + 2:
                    return None
                pos += n + 2
        elif kind in (b"*", b">", b"~"):
            n = int(head)
            if n > 0:
                pending += n
        elif kind in (b"%", b"|"):
            n = int(head)
            pending += 2 * n
            if kind == b"|":
                pending += 1   # the attribute precedes the value it annotates
        elif kind not in (b"+", b"-", b":", b"_", b"#", b",", b"("):
            raise ValueError("not a RESP frame: %r" % buf[pos - len(head) - 3:pos + 20])
    return pos


class Conn:
    """A raw socket that reads whole RESP frames as bytes."""

    def __init__(self, port=None, unix_path=None, timeout=READ_TIMEOUT):
        if unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix_path)
        else:
            self.sock = rpserver.connect(port, timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete reply; buffered %r" % self.buf[:200])
        self.sock.settimeout(remaining)
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("connection closed; buffered %r" % self.buf[:200])
        self.buf += data

    def frame(self, timeout=READ_TIMEOUT):
        """Return the next RESP frame as raw bytes."""
        deadline = time.monotonic() + timeout
        while True:
            end = frame_end(self.buf) if self.buf else None
            if end is not None:
                out, self.buf = self.buf[:end], self.buf[end:]
                return out
            self._fill(deadline)

    def frames(self, n, timeout=READ_TIMEOUT):
        return [self.frame(timeout) for _ in range(n)]

    def call(self, *args, nframes=1):
        """Send one command and return its reply frame (or a list of nframes frames)."""
        self.send(enc(*args))
        if nframes == 1:
            return self.frame()
        return self.frames(nframes)

    def silent(self, wait=0.1):
        """Return True if nothing arrives within wait seconds (and the peer did not close)."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, BlockingIOError):
            return True
        self.buf += data
        return False

    def closed(self, timeout=READ_TIMEOUT):
        """Read and drop bytes until EOF. Return True if EOF came within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not data:
                return True
        return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def mask_hello_id(frame):
    """Replace the id value of a HELLO reply, which differs between servers."""
    return re.sub(rb"(\$2\r\nid\r\n:)\d+", rb"\1<id>", frame)


# ---------------------------------------------------------------------------
# Shared servers for the comparison tests. Tests that change settings start
# their own.

_shared = {}


def shared_ringpub():
    if "ringpub" not in _shared:
        _shared["ringpub"] = rpserver.Server("ringpub").start()
    return _shared["ringpub"]


def shared_redis():
    if "redis" not in _shared:
        _shared["redis"] = rpserver.Server("redis").start()
    return _shared["redis"]


def stop_shared():
    for srv in _shared.values():
        srv.__exit__(None, None, None)
    _shared.clear()


def exchange(port, steps, proto=2):
    """Run steps on a fresh connection and return every frame received.

    steps is a list of (payload bytes, number of frames to read). With proto 3
    the connection first sends HELLO 3, whose reply is not returned.
    """
    out = []
    with Conn(port) as c:
        if proto == 3:
            c.send(enc("HELLO", "3"))
            c.frame()
        for payload, nframes in steps:
            c.send(payload)
            out.extend(c.frames(nframes))
    return out


def assert_same_as_redis(steps, proto=2, mask=None):
    """Send the same steps to ringpub and redis; the frames must be identical."""
    got = exchange(shared_ringpub().port, steps, proto)
    if not REDIS_AVAILABLE:
        return got
    want = exchange(shared_redis().port, steps, proto)
    if mask is not None:
        got = [mask(f) for f in got]
        want = [mask(f) for f in want]
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, "step frame %d differs:\n  ringpub %r\n  redis   %r" % (i, g, w)
    assert len(got) == len(want), "frame counts differ: %d vs %d" % (len(got), len(want))
    return got


def one(*args):
    """A step: one command, one reply frame."""
    return (enc(*args), 1)


# ---------------------------------------------------------------------------
# Connection commands


def test_ping_echo_match_redis():
    for proto in (2, 3):
        got = assert_same_as_redis([one("PING"), one("ping", "hi"), one("PING", "a", "b"), one("ECHO", "x y"),
                                    one("echo"), one("ECHO", "a", "b"), one("ECHO", "")], proto)
        assert got[0] == b"+PONG\r\n"
        assert got[1] == b"$2\r\nhi\r\n"


def test_unknown_command_errors_match_redis():
    steps = [one("foo"), one("foo", "a", "b"), one("f" * 200, "a" * 100, "b" * 100, "c"),
             one("foo", "a\r\nb", "c\nd"), one("foo", "x" * 130), one("foo", "", "", ""), one("fo\ro")]
    got = assert_same_as_redis(steps)
    assert got[1] == b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"


def test_arity_errors_match_redis():
    steps = [one("SUBSCRIBE"), one("PUBLISH", "a"), one("SELECT"), one("pubsub"), one("PubSub", "numpat", "x"),
             one("config"), one("CONFIG", "get"), one("config", "set", "port"), one("AUTH"), one("TIME", "x")]
    got = assert_same_as_redis(steps)
    assert got[0] == b"-ERR wrong number of arguments for 'subscribe' command\r\n"
    assert got[4] == b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"


def test_unknown_subcommand_errors_match_redis():
    steps = [one("pubsub", "foo"), one("CONFIG", "nope"), one("config", "fo\r\no"),
             one("pubsub", "CHANNELS", "x", "y"), one("Pubsub", "x" * 300)]
    got = assert_same_as_redis(steps)
    assert got[0] == b"-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n"


def test_hello_replies_match_redis():
    steps = [one("HELLO"), one("HELLO", "3"), one("HELLO", "2"), one("HELLO", "4"), one("HELLO", "1"),
             one("HELLO", "x"), one("HELLO", "99999999999"), one("HELLO", "9" * 30),
             one("HELLO", "3", "setname", "a b"), one("HELLO", "2", "foo"),
             one("HELLO", "3", "AUTH", "default"), one("HELLO", "3", "setname"),
             one("HELLO", "3", "auth", "default", "anything", "setname", "nm"), one("HELLO", "3", "auth", "u", "p")]
    got = assert_same_as_redis(steps, mask=mask_hello_id)
    assert got[1].startswith(b"%7\r\n$6\r\nserver\r\n")
    assert got[3] == b"-NOPROTO unsupported protocol version\r\n"
    assert got[6] == b"-NOPROTO unsupported protocol version\r\n"


def test_auth_without_password_matches_redis():
    steps = [one("AUTH", "x"), one("AUTH", "default", "x"), one("AUTH", "other", "x"), one("AUTH", "a", "b", "c")]
    got = assert_same_as_redis(steps)
    assert got[1] == b"+OK\r\n"


def test_select_matches_redis():
    steps = [one("SELECT", "0"), one("SELECT", "15"), one("SELECT", "16"), one("SELECT", "-1"), one("SELECT", "x"),
             one("SELECT", "99999999999"), one("SELECT", "1", "2")]
    got = assert_same_as_redis(steps)
    assert got[2] == b"-ERR DB index is out of range\r\n"


def test_quit_replies_ok_and_closes():
    for port in [shared_ringpub().port] + ([shared_redis().port] if REDIS_AVAILABLE else []):
        with Conn(port) as c:
            assert c.call("QUIT") == b"+OK\r\n"
            assert c.closed()


def test_reset_clears_state_like_redis():
    steps = [one("HELLO", "3"), (enc("SUBSCRIBE", "a"), 1), one("SELECT", "3"), one("RESET"), one("PING"),
             one("CLIENT", "GETNAME"), one("PUBSUB", "NUMSUB", "a")]
    got = assert_same_as_redis(steps, mask=mask_hello_id)
    assert got[3] == b"+RESET\r\n"
    assert got[6] == b"*2\r\n$1\r\na\r\n:0\r\n"


def test_time_reply_shape():
    with Conn(shared_ringpub().port) as c:
        reply = c.call("TIME")
    m = re.fullmatch(rb"\*2\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d+)\r\n", reply)
    assert m, reply
    assert abs(int(m.group(1)) - time.time()) < 5
    assert 0 <= int(m.group(2)) < 1000000


def test_inline_commands_match_redis():
    steps = [(b"PING\r\n", 1), (b"ECHO \"a b\"\r\n", 1), (b"\r\n", 0), (b"publish x y\r\n", 1)]
    got = assert_same_as_redis(steps)
    assert got[0] == b"+PONG\r\n"


# ---------------------------------------------------------------------------
# Pub/sub


def test_subscribe_replies_match_redis():
    for proto in (2, 3):
        steps = [(enc("SUBSCRIBE", "a", "b"), 2), (enc("PSUBSCRIBE", "p*"), 1), (enc("SSUBSCRIBE", "s"), 1),
                 (enc("UNSUBSCRIBE", "zz"), 1), (enc("UNSUBSCRIBE", "a"), 1), (enc("UNSUBSCRIBE"), 1),
                 (enc("PUNSUBSCRIBE"), 1), (enc("UNSUBSCRIBE"), 1), (enc("PUNSUBSCRIBE"), 1),
                 (enc("SUNSUBSCRIBE"), 1), (enc("SUNSUBSCRIBE"), 1), (enc("SUBSCRIBE", "a", "a"), 2)]
        got = assert_same_as_redis(steps, proto)
        kind = b">" if proto == 3 else b"*"
        assert got[0] == kind + b"3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
        assert got[2] == kind + b"3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n"
        assert got[3] == kind + b"3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n"


def test_subscribed_mode_rules_resp2_match_redis():
    steps = [(enc("SUBSCRIBE", "a"), 1), one("PING"), one("PING", "x"), one("ECHO", "x"), one("PUBLISH", "a", "m"),
             one("HELLO", "2"), one("CONFIG", "GET", "port"), one("PUBSUB", "CHANNELS"), one("foo"),
             one("PING", "a", "b"), (enc("PSUBSCRIBE", "x*"), 1), (enc("UNSUBSCRIBE"), 1), (enc("PUNSUBSCRIBE"), 1),
             one("PING"), (enc("SSUBSCRIBE", "s"), 1), one("PING"), (enc("SUNSUBSCRIBE"), 1), one("ECHO", "back")]
    got = assert_same_as_redis(steps)
    assert got[1] == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert got[3] == (b"-ERR Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                      b"are allowed in this context\r\n")
    assert got[7].startswith(b"-ERR Can't execute 'pubsub|channels'")
    assert got[13] == b"+PONG\r\n"
    assert got[17] == b"$4\r\nback\r\n"


def test_resp3_subscriber_runs_every_command():
    steps = [(enc("SUBSCRIBE", "a"), 1), one("PING"), one("ECHO", "x"), one("PUBSUB", "NUMSUB", "a"),
             (enc("PUBLISH", "a", "m"), 2), (enc("PSUBSCRIBE", "a*"), 1), (enc("PUBLISH", "a", "m2"), 3),
             (enc("SSUBSCRIBE", "a"), 1), (enc("SPUBLISH", "a", "z"), 2)]
    got = assert_same_as_redis(steps, proto=3)
    assert got[1] == b"+PONG\r\n"
    # The push of a message to the publisher itself comes before the PUBLISH reply.
    assert got[4] == b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n"
    assert got[5] == b":1\r\n"
    assert got[8] == b">4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$2\r\nm2\r\n"
    assert got[9] == b":2\r\n"
    assert got[11] == b">3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$1\r\nz\r\n"


def test_pattern_delivery_and_publish_counts():
    port = shared_ringpub().port
    with Conn(port) as sub_ch, Conn(port) as sub_pat, Conn(port) as sub_both, Conn(port) as pub:
        sub_ch.call("SUBSCRIBE", "news.tech")
        sub_pat.call("PSUBSCRIBE", "news.*", "n?ws.t[a-e]ch", nframes=2)
        sub_both.call("SUBSCRIBE", "news.tech")
        sub_both.call("PSUBSCRIBE", "*")

        assert pub.call("PUBLISH", "news.tech", "hello") == b":5\r\n"
        assert sub_ch.frame() == b"*3\r\n$7\r\nmessage\r\n$9\r\nnews.tech\r\n$5\r\nhello\r\n"
        pattern_frames = sorted(sub_pat.frames(2))
        assert pattern_frames == sorted([
            b"*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$5\r\nhello\r\n",
            b"*4\r\n$8\r\npmessage\r\n$13\r\nn?ws.t[a-e]ch\r\n$9\r\nnews.tech\r\n$5\r\nhello\r\n"])
        # A subscriber of the channel and a pattern gets both frames: channel first.
        assert sub_both.frame() == b"*3\r\n$7\r\nmessage\r\n$9\r\nnews.tech\r\n$5\r\nhello\r\n"
        assert sub_both.frame() == b"*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$9\r\nnews.tech\r\n$5\r\nhello\r\n"

        assert pub.call("PUBLISH", "news.sport", "x") == b":2\r\n"
        assert pub.call("PUBLISH", "other", "x") == b":1\r\n"
        assert pub.call("PUBLISH", "nobody-here\x00", "x") == b":1\r\n"
        assert pub.call("SPUBLISH", "news.tech", "x") == b":0\r\n"
        assert sub_ch.silent()


def test_binary_channel_and_message_delivered_intact():
    port = shared_ringpub().port
    channel = bytes(range(256))
    message = b"\r\n\x00" * 1000
    with Conn(port) as sub, Conn(port) as pub:
        sub.call("SUBSCRIBE", channel)
        assert pub.call("PUBLISH", channel, message) == b":1\r\n"
        assert sub.frame() == enc("message", channel, message)


def test_pubsub_introspection_matches_redis():
    # Subscriptions are made on one connection, queried from another; the
    # channel lists are single-element so the order cannot differ.
    def run(port):
        with Conn(port) as s, Conn(port) as q:
            s.call("SUBSCRIBE", "ab")
            s.call("PSUBSCRIBE", "a*")
            s.call("SSUBSCRIBE", "sh")
            steps = [("PUBSUB", "CHANNELS"), ("PUBSUB", "CHANNELS", "a?"), ("PUBSUB", "CHANNELS", "zz*"),
                     ("PUBSUB", "NUMSUB", "ab", "x"), ("PUBSUB", "NUMSUB"), ("PUBSUB", "NUMPAT"),
                     ("PUBSUB", "SHARDCHANNELS"), ("PUBSUB", "SHARDCHANNELS", "s*"), ("PUBSUB", "SHARDNUMSUB", "sh"),
                     ("PUBSUB", "SHARDNUMSUB"), ("PUBSUB", "HELP"), ("pubsub", "numpat", "x"),
                     ("PUBSUB", "CHANNELS", "a", "b")]
            out = [q.call(*step) for step in steps]
            q.send(enc("HELLO", "3"))
            q.frame()
            out += [q.call(*step) for step in steps]
        return out

    got = run(shared_ringpub().port)
    assert got[0] == b"*1\r\n$2\r\nab\r\n"
    assert got[3] == b"*4\r\n$2\r\nab\r\n:1\r\n$1\r\nx\r\n:0\r\n"
    assert got[5] == b":1\r\n"
    if REDIS_AVAILABLE:
        want = run(shared_redis().port)
        for i, (g, w) in enumerate(zip(got, want)):
            assert g == w, "reply %d differs:\n  ringpub %r\n  redis   %r" % (i, g, w)


def test_thousand_subscribers_one_channel():
    count = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 200), hard))
    port = shared_ringpub().port
    subs = []
    try:
        for _ in range(count):
            subs.append(Conn(port))
        payload = enc("SUBSCRIBE", "fanout")
        for s in subs:
            s.send(payload)
        for s in subs:
            assert s.frame() == b"*3\r\n$9\r\nsubscribe\r\n$6\r\nfanout\r\n:1\r\n"
        with Conn(port) as pub:
            assert pub.call("PUBSUB", "NUMSUB", "fanout") == b"*2\r\n$6\r\nfanout\r\n:%d\r\n" % count
            assert pub.call("PUBLISH", "fanout", "m1") == b":%d\r\n" % count
            assert pub.call("PUBLISH", "fanout", "m2") == b":%d\r\n" % count
        for s in subs:
            assert s.frame() == b"*3\r\n$7\r\nmessage\r\n$6\r\nfanout\r\n$2\r\nm1\r\n"
            assert s.frame() == b"*3\r\n$7\r\nmessage\r\n$6\r\nfanout\r\n$2\r\nm2\r\n"
    finally:
        for s in subs:
            s.close()


def test_pipelined_100k_publishes_arrive_in_order():
    count = 100000
    port = shared_ringpub().port
    with Conn(port, timeout=30) as sub, Conn(port, timeout=30) as pub:
        sub.call("SUBSCRIBE", "seq")
        batch = b"".join(enc("PUBLISH", "seq", str(i)) for i in range(count))
        pub.send(batch)

        # Read both sides; each must see every message, in publish order.
        deadline = time.monotonic() + 60
        replies = 0
        while replies < count:
            assert time.monotonic() < deadline, "publisher got %d of %d replies" % (replies, count)
            assert pub.frame(timeout=30) == b":1\r\n"
            replies += 1
        for i in range(count):
            frame = sub.frame(timeout=30)
            want = b"*3\r\n$7\r\nmessage\r\n$3\r\nseq\r\n$%d\r\n%d\r\n" % (len(str(i)), i)
            assert frame == want, "message %d: %r" % (i, frame)
        assert sub.silent()


def slow_subscriber(port, channel, limits):
    """Set the pubsub output limits, then subscribe a socket that never reads.

    Its 4 KiB receive buffer keeps the kernel from absorbing much output, so
    what is published to it stays queued in the server.
    """
    with Conn(port) as admin:
        assert admin.call("CONFIG", "SET", "client-output-buffer-limit", limits) == b"+OK\r\n"
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", port))
    slow.sendall(enc("SUBSCRIBE", channel))
    return slow


def test_slow_subscriber_dropped_others_unaffected():
    # A subscriber that never reads (and has a small receive buffer) must be
    # dropped at the pubsub hard limit, while a reading subscriber gets every
    # message and the publisher gets every reply without stalling.
    with rpserver.Server("ringpub") as srv:
        slow = slow_subscriber(srv.port, "firehose", "pubsub 512kb 256kb 60")

        count = 2000
        message = b"x" * 4096
        with Conn(srv.port, timeout=30) as fast, Conn(srv.port, timeout=30) as pub:
            fast.call("SUBSCRIBE", "firehose")
            time.sleep(0.2)
            assert pub.call("PUBSUB", "NUMSUB", "firehose") == b"*2\r\n$8\r\nfirehose\r\n:2\r\n"

            frame = enc("message", "firehose", message)
            start = time.monotonic()
            got_fast = 0
            for i in range(count):
                pub.send(enc("PUBLISH", "firehose", message))
                reply = pub.frame(timeout=10)
                assert reply in (b":1\r\n", b":2\r\n"), reply
                # Drain the fast subscriber as we go, as a live client would.
                while fast.buf or not fast.silent(0):
                    if frame_end(fast.buf) is None:
                        break
                    assert fast.frame() == frame
                    got_fast += 1
            elapsed = time.monotonic() - start
            while got_fast < count:
                assert fast.frame(timeout=10) == frame
                got_fast += 1
            assert elapsed < 30, "publisher stalled: %.1fs for %d publishes" % (elapsed, count)

            # The slow subscriber was dropped: it is gone from NUMSUB and its socket reaches EOF.
            assert pub.call("PUBSUB", "NUMSUB", "firehose") == b"*2\r\n$8\r\nfirehose\r\n:1\r\n"
            assert pub.call("PUBLISH", "firehose", "after") == b":1\r\n"

        slow.settimeout(10)
        eof = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if not slow.recv(1 << 20):
                    eof = True
                    break
            except ConnectionResetError:
                eof = True
                break
        slow.close()
        assert eof, "the slow subscriber was not disconnected"
        assert "client-output-buffer-limit" in srv.log(), srv.log()


def test_soft_limit_drops_subscriber_after_seconds():
    with rpserver.Server("ringpub") as srv:
        slow = slow_subscriber(srv.port, "c", "pubsub 0 64kb 1")
        time.sleep(0.2)
        with Conn(srv.port, timeout=30) as pub:
            # 16 MiB: more than the kernel's socket buffers can absorb, so
            # most of it stays queued in the server.
            count = 4000
            pub.send(enc("PUBLISH", "c", b"y" * 4096) * count)
            for _ in range(count):
                assert pub.frame(timeout=30) == b":1\r\n"
            # Over the soft limit, but not yet for a second: still subscribed.
            assert pub.call("PUBSUB", "NUMSUB", "c") == b"*2\r\n$1\r\nc\r\n:1\r\n"
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if pub.call("PUBSUB", "NUMSUB", "c") == b"*2\r\n$1\r\nc\r\n:0\r\n":
                    break
                time.sleep(0.1)
            assert pub.call("PUBSUB", "NUMSUB", "c") == b"*2\r\n$1\r\nc\r\n:0\r\n"
        slow.close()


def test_soft_limit_period_restarts_after_drain():
    # The soft limit counts continuous time above it: a subscriber that
    # drains its queue in between starts a new period.
    with rpserver.Server("ringpub") as srv:
        slow = slow_subscriber(srv.port, "d", "pubsub 0 64kb 2")
        time.sleep(0.2)

        def numsub(pub):
            return pub.call("PUBSUB", "NUMSUB", "d")

        def burst(pub, count=4000):
            # 16 MiB: far more than the kernel's socket buffers take, even
            # once autotuning has grown them, so most of it stays queued.
            pub.send(enc("PUBLISH", "d", b"y" * 4096) * count)
            for _ in range(count):
                assert pub.frame(timeout=30) == b":1\r\n"

        def drain():
            slow.settimeout(0.5)
            try:
                while slow.recv(1 << 20):
                    pass
            except socket.timeout:
                pass

        subscribed = b"*2\r\n$1\r\nd\r\n:1\r\n"
        with Conn(srv.port, timeout=30) as pub:
            burst(pub)
            time.sleep(1.2)
            drain()
            # A small publish finds the queue below the soft limit: the
            # first period ends here, 1.2 s in.
            assert pub.call("PUBLISH", "d", "small") == b":1\r\n"
            drain()
            burst(pub)
            time.sleep(1.2)
            # 2.4 s since the first burst, but only 1.2 s of this period.
            assert pub.call("PUBLISH", "d", "probe") == b":1\r\n"
            assert numsub(pub) == subscribed
            time.sleep(1.3)
            pub.call("PUBLISH", "d", "probe")
            deadline = time.monotonic() + 5
            while numsub(pub) == subscribed and time.monotonic() < deadline:
                time.sleep(0.1)
            assert numsub(pub) == b"*2\r\n$1\r\nd\r\n:0\r\n"
        slow.close()


def test_protocol_error_closes_only_that_client():
    for bad in (b"*1\r\n$x\r\n", b"*2\r\nfoo\r\n", b"*abc\r\n", b"\"unbalanced\r\n", b"*1\r\n$-5\r\n"):
        replies = []
        ports = [shared_ringpub().port] + ([shared_redis().port] if REDIS_AVAILABLE else [])
        for port in ports:
            with Conn(port) as bystander, Conn(port) as garbage:
                bystander.call("SUBSCRIBE", "k")
                garbage.send(enc("PING") + bad)
                assert garbage.frame() == b"+PONG\r\n"
                reply = garbage.frame()
                assert reply.startswith(b"-ERR Protocol error: "), reply
                assert garbage.closed(), "connection still open after %r" % bad
                replies.append(reply)
                with Conn(port) as pub:
                    assert pub.call("PUBLISH", "k", "still") == b":1\r\n"
                assert bystander.frame() == b"*3\r\n$7\r\nmessage\r\n$1\r\nk\r\n$5\r\nstill\r\n"
        assert len(set(replies)) == 1, "protocol error texts differ for %r: %r" % (bad, replies)


def test_protocol_errors_logged_at_limited_rate():
    with rpserver.Server("ringpub") as srv:
        for _ in range(30):
            with Conn(srv.port) as garbage:
                garbage.send(b"*1\r\n$x\r\n")
                assert garbage.frame().startswith(b"-ERR Protocol error: ")
                assert garbage.closed()
        lines = [line for line in srv.log().splitlines() if "Protocol error from client" in line]
    # 30 errors within well under the 1 s interval: the first is logged,
    # the rest are counted into the next logged line.
    assert 1 <= len(lines) <= 3, lines


def test_query_buffer_limit_closes_client():
    with rpserver.Server("ringpub") as srv:
        with Conn(srv.port) as admin:
            assert admin.call("CONFIG", "SET", "client-query-buffer-limit", "1mb") == b"+OK\r\n"
            with Conn(srv.port) as big:
                big.send(b"*2\r\n$4\r\nECHO\r\n$3000000\r\n")
                chunk = b"z" * 65536
                try:
                    for _ in range(40):
                        big.send(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                assert big.closed()
            assert admin.call("PING") == b"+PONG\r\n"


def test_proto_max_bulk_len_applies_to_new_frames():
    with rpserver.Server("ringpub") as srv:
        with Conn(srv.port) as c:
            assert c.call("CONFIG", "SET", "proto-max-bulk-len", "1mb") == b"+OK\r\n"
            c.send(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n")
            assert c.frame() == b"-ERR Protocol error: invalid bulk length\r\n"
            assert c.closed()


# ---------------------------------------------------------------------------
# CONFIG


CONFIG_NAMES = ["bind", "port", "unixsocket", "unixsocketperm", "tcp-backlog", "maxclients", "timeout",
                "tcp-keepalive", "proto-max-bulk-len", "client-query-buffer-limit", "client-output-buffer-limit",
                "requirepass", "databases", "hz", "loglevel", "logfile", "pidfile", "daemonize", "save",
                "appendonly"]


def test_config_get_defaults_match_redis():
    # Both shared servers run with --bind 127.0.0.1 and their own port and dir.
    skip = {"port", "dir"}
    steps = [one("CONFIG", "GET", name) for name in CONFIG_NAMES if name not in skip]
    steps += [one("CONFIG", "GET", "nosuch"), one("CONFIG", "GET", "client-output-*")]
    for proto in (2, 3):
        assert_same_as_redis(steps, proto)
    with Conn(shared_ringpub().port) as c:
        assert c.call("CONFIG", "GET", "io-backend") in (b"*2\r\n$10\r\nio-backend\r\n$4\r\nauto\r\n",
                                                         b"*2\r\n$10\r\nio-backend\r\n$5\r\nuring\r\n",
                                                         b"*2\r\n$10\r\nio-backend\r\n$5\r\nepoll\r\n")


def test_config_get_several_patterns():
    with Conn(shared_ringpub().port) as c:
        reply = c.call("CONFIG", "GET", "timeout", "hz", "timeout", "tcp-k*")
        pairs = re.findall(rb"\$\d+\r\n([^\r]*)\r\n", reply)
        got = dict(zip(pairs[0::2], pairs[1::2]))
        assert reply.startswith(b"*6\r\n"), reply
        assert got == {b"timeout": b"0", b"hz": b"10", b"tcp-keepalive": b"300"}, got


def test_config_set_errors_match_redis():
    steps = [one("CONFIG", "SET", "foo", "1"), one("CONFIG", "SET", "databases", "3"),
             one("CONFIG", "SET", "hz", "x"), one("CONFIG", "SET", "timeout", "-1"),
             one("CONFIG", "SET", "timeout", "10", "hz", "x"), one("CONFIG", "GET", "timeout"),
             one("CONFIG", "SET", "timeout", "5", "timeout", "6"), one("CONFIG", "SET", "maxclients", "abc"),
             one("CONFIG", "SET", "maxclients", "0"), one("CONFIG", "SET", "port", "1", "hz"),
             one("CONFIG", "SET", "appendonly", "maybe"), one("CONFIG", "SET", "client-query-buffer-limit", "abc"),
             one("CONFIG", "SET", "proto-max-bulk-len", "1k"), one("CONFIG", "SET", "proto-max-bulk-len", "1.5mb"),
             one("CONFIG", "SET", "loglevel", "foo"), one("CONFIG", "SET", "hz", "x", "databases", "3"),
             one("CONFIG", "SET", "hz", "5", "nosuch", "3"), one("CONFIG", "SET", "unixsocketperm", "777"),
             one("CONFIG", "SET", "dir", "/tmp"), one("CONFIG", "SET", "save", "x"),
             one("CONFIG", "SET", "save", "100"), one("CONFIG", "SET", "save", "3600 1  300 100"),
             one("CONFIG", "SET", "save", "3600 1 "), one("CONFIG", "SET", "client-output-buffer-limit", "foo 1 2 3"),
             one("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2"),
             one("CONFIG", "SET", "client-output-buffer-limit", "pubsub x 2k 3"),
             one("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2 -3"),
             one("CONFIG", "SET", "timeout", "1.5"), one("CONFIG", "SET", "timeout", " 1"),
             one("CONFIG", "GET", "timeout"), one("CONFIG", "RESETSTAT"), one("CONFIG", "RESETSTAT", "x")]
    got = assert_same_as_redis(steps)
    assert got[1] == (b"-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable "
                      b"config\r\n")
    # All or nothing: the failed pair left timeout unchanged.
    assert got[5] == b"*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"


def test_config_set_values_match_redis():
    # Each server gets the same changes, then the values are read back.
    def run(port):
        with Conn(port) as c:
            sets = [("client-output-buffer-limit", "pubsub 1k 2k 3 normal 5mb 4mb 5"),
                    ("client-output-buffer-limit", ""), ("client-query-buffer-limit", "2MB"),
                    ("proto-max-bulk-len", "2mb"), ("hz", "1000"), ("save", "3600 1 300 100"),
                    ("maxclients", "50"), ("timeout", "7"), ("tcp-keepalive", "60"), ("loglevel", "WARNING"),
                    ("appendonly", "no"), ("requirepass", "")]
            out = [c.call("CONFIG", "SET", k, v) for k, v in sets]
            out += [c.call("CONFIG", "GET", k) for k, _ in sets]
            out.append(c.call("CONFIG", "SET", "hz", "0"))
            out.append(c.call("CONFIG", "GET", "hz"))
        return out

    with rpserver.Server("ringpub") as rp:
        got = run(rp.port)
    assert all(r == b"+OK\r\n" for r in got[:12]), got[:12]
    if REDIS_AVAILABLE:
        with rpserver.Server("redis") as rd:
            want = run(rd.port)
        for i, (g, w) in enumerate(zip(got, want)):
            assert g == w, "reply %d differs:\n  ringpub %r\n  redis   %r" % (i, g, w)


def test_config_help_and_names_match_redis():
    steps = [one("CONFIG", "HELP"), one("CONFIG", "GET", "MAXCLIENTS"), one("CONFIG", "GET", "TimeOut", "timeout"),
             one("CONFIG", "GET", "HZ", "hz*"), one("CONFIG", "REWRITE"), one("CONFIG", "REWRITE", "x")]
    got = assert_same_as_redis(steps)
    assert got[1] == b"*2\r\n$10\r\nMAXCLIENTS\r\n$5\r\n10000\r\n"
    assert got[4] == b"-ERR The server is running without a config file\r\n"


def test_small_normal_limits_spare_small_replies():
    # redis leaves a client's first 16 KiB of output out of the limits.
    with rpserver.Server("ringpub") as srv:
        with Conn(srv.port) as c:
            assert c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3 pubsub 4 5 6") == b"+OK\r\n"
            assert c.call("PING") == b"+PONG\r\n"
            assert c.call("ECHO", "x" * 8000) == enc("x" * 8000)[4:]
            c.send(enc("ECHO", "y" * 100000))
            assert c.closed()


def test_requirepass_matches_redis():
    args = ["--requirepass", "pw"]
    steps = [one("PING"), one("foo"), one("ECHO"), one("SUBSCRIBE", "x"), one("HELLO", "3"), one("AUTH", "bad"),
             one("AUTH", "default", "bad"), one("HELLO", "3", "auth", "default", "bad"), one("AUTH", "a", "b", "c"),
             one("PING"), one("AUTH", "pw"), one("PING"), one("RESET"), one("PING"),
             one("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "n1"), one("CLIENT", "GETNAME"), one("RESET"),
             one("AUTH", "default", "pw"), one("CONFIG", "SET", "requirepass", ""), one("QUIT")]
    with rpserver.Server("ringpub", args=args) as rp:
        got = [mask_hello_id(f) for f in exchange(rp.port, steps)]
    assert got[0] == b"-NOAUTH Authentication required.\r\n"
    assert got[10] == b"+OK\r\n"
    if REDIS_AVAILABLE:
        with rpserver.Server("redis", args=args) as rd:
            want = [mask_hello_id(f) for f in exchange(rd.port, steps)]
        for i, (g, w) in enumerate(zip(got, want)):
            assert g == w, "reply %d differs:\n  ringpub %r\n  redis   %r" % (i, g, w)


# ---------------------------------------------------------------------------
# Limits


def test_maxclients_rejects_extra_connection():
    with rpserver.Server("ringpub", args=["--maxclients", "2"]) as srv:
        # rpserver's start-up PING connection has closed; wait until the
        # server has seen that, so two fresh connections fit.
        time.sleep(0.2)
        with Conn(srv.port) as a, Conn(srv.port) as b:
            assert a.call("PING") == b"+PONG\r\n"
            assert b.call("PING") == b"+PONG\r\n"
            with Conn(srv.port) as c:
                assert c.frame() == b"-ERR max number of clients reached\r\n"
                assert c.closed()
        time.sleep(0.2)
        with Conn(srv.port) as d:
            assert d.call("PING") == b"+PONG\r\n"


def test_maxclients_lowered_to_open_files_limit():
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    port = rpserver.free_port()
    proc = subprocess.Popen([os.environ["RINGPUB_SERVER"], "--bind", "127.0.0.1", "--port", str(port),
                             "--maxclients", "100000"], preexec_fn=low_limit,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                c = Conn(port)
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
        with c:
            # 256 descriptors minus the 32 kept for listeners, ring and files.
            assert c.call("CONFIG", "GET", "maxclients") == b"*2\r\n$10\r\nmaxclients\r\n$3\r\n224\r\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "maxclients is lowered to 224" in out, out


def test_tcp_keepalive_set_on_connections():
    with rpserver.Server("ringpub", args=["--tcp-keepalive", "77"]) as srv:
        with Conn(srv.port) as c:
            assert c.call("PING") == b"+PONG\r\n"
            local_port = c.sock.getsockname()[1]
            # ss shows the server side of this connection with its keepalive timer.
            res = subprocess.run(["ss", "-tno", "state", "established", "( sport = :%d and dport = :%d )"
                                  % (srv.port, local_port)], capture_output=True, text=True, timeout=10)
        assert res.returncode == 0, res.stderr
        assert "keepalive" in res.stdout, res.stdout


def test_timeout_closes_idle_clients_only():
    with rpserver.Server("ringpub", args=["--timeout", "1"]) as srv:
        idle = Conn(srv.port)
        sub2 = Conn(srv.port)
        sub2.call("SUBSCRIBE", "t")
        sub3 = Conn(srv.port)
        sub3.call("HELLO", "3")
        sub3.call("SUBSCRIBE", "t")
        busy = Conn(srv.port)
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            assert busy.call("PING") == b"+PONG\r\n"
            time.sleep(0.3)
        assert idle.closed(timeout=1)
        assert sub2.silent()
        assert sub3.silent()
        assert busy.call("PING") == b"+PONG\r\n"
        with Conn(srv.port) as pub:
            assert pub.call("PUBLISH", "t", "m") == b":2\r\n"
        for c in (idle, sub2, sub3, busy):
            c.close()


# ---------------------------------------------------------------------------
# Start-up, options and shutdown


def run_server(args, timeout=10):
    binary = os.environ["RINGPUB_SERVER"]
    return subprocess.run([binary] + args, capture_output=True, timeout=timeout, text=True)


def test_help_and_version_exit_zero():
    for flag in ("--help", "-h"):
        res = run_server([flag])
        assert res.returncode == 0
        assert "Usage: ringpub-server" in res.stdout
    for flag in ("--version", "-v"):
        res = run_server([flag])
        assert res.returncode == 0
        assert re.match(r"ringpub-server v=\d+\.\d+\.\d+ ", res.stdout), res.stdout


def test_bad_option_fails_with_reason():
    cases = [(["--foo", "bar"], "unknown setting 'foo'"),
             (["--port", "abc"], "argument couldn't be parsed into an integer"),
             (["--port", "70000"], "argument must be between 0 and 65535 inclusive"),
             (["--port"], "wrong number of arguments"),
             (["--timeout", "1", "2"], "wrong number of arguments"),
             (["--daemonize", "yes"], "does not daemonize"),
             (["--io-backend", "kqueue"], "argument(s) must be one of the following: auto, uring, epoll"),
             (["--client-output-buffer-limit", "foo 1 2 3"], "Invalid client class"),
             (["port", "1"], "cannot open config file 'port'"),
             (["--port", "1", "stray"], "wrong number of arguments")]
    for args, reason in cases:
        res = run_server(args)
        assert res.returncode == 1, (args, res.returncode, res.stderr)
        assert reason in res.stderr, (args, res.stderr)


def test_config_file_lines_and_flags():
    port = rpserver.free_port()
    with tempfile.TemporaryDirectory(prefix="rp-conf-") as tmp:
        conf = os.path.join(tmp, "ringpub.conf")
        with open(conf, "w") as f:
            f.write("# comment line\n\n")
            f.write("bind 127.0.0.1\nport %d\n" % port)
            f.write("timeout 30\n  hz 20  \nsave 900 1\nsave 300 10\n")
            f.write("client-output-buffer-limit pubsub 64mb 16mb 90\n")
            f.write("requirepass \"p w\"\nmaxclients 77\nloglevel verbose\n")
        # A flag after the file overrides it.
        proc = subprocess.Popen([os.environ["RINGPUB_SERVER"], conf, "--timeout", "45"], cwd=tmp,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    c = Conn(port)
                    break
                except OSError:
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.05)
            with c:
                assert c.call("AUTH", "p w") == b"+OK\r\n"
                assert c.call("CONFIG", "GET", "timeout") == b"*2\r\n$7\r\ntimeout\r\n$2\r\n45\r\n"
                assert c.call("CONFIG", "GET", "hz") == b"*2\r\n$2\r\nhz\r\n$2\r\n20\r\n"
                assert c.call("CONFIG", "GET", "save") == b"*2\r\n$4\r\nsave\r\n$12\r\n900 1 300 10\r\n"
                assert c.call("CONFIG", "GET", "maxclients") == b"*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n"
                assert c.call("CONFIG", "GET", "loglevel") == b"*2\r\n$8\r\nloglevel\r\n$7\r\nverbose\r\n"
                assert b"pubsub 67108864 16777216 90" in c.call("CONFIG", "GET", "client-output-buffer-limit")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)

        with open(conf, "w") as f:
            f.write("port 1\n# fine\nfoo bar\n")
        res = run_server([conf])
        assert res.returncode == 1
        assert "line 3" in res.stderr, res.stderr
        assert "'foo bar'" in res.stderr, res.stderr
        assert "unknown setting 'foo'" in res.stderr, res.stderr

        with open(conf, "w") as f:
            f.write("timeout \"unbalanced\n")
        res = run_server([conf])
        assert res.returncode == 1
        assert "line 1" in res.stderr, res.stderr
        assert "unbalanced quotes" in res.stderr, res.stderr

        res = run_server([os.path.join(tmp, "missing.conf")])
        assert res.returncode == 1
        assert "cannot open config file" in res.stderr, res.stderr


def test_config_rewrite_keeps_comments_and_adds_changes():
    with tempfile.TemporaryDirectory(prefix="rp-rewrite-") as tmp:
        conf = os.path.join(tmp, "ringpub.conf")
        with open(conf, "w") as f:
            f.write("# keep this comment\ntimeout 5\nsave 900 1\nsave 300 10\nhz 10\n\n# tail comment\n")
        srv = rpserver.Server("ringpub")
        # dir is written to the file, so it must outlive this server's workdir.
        srv.cmd = [srv.cmd[0], conf] + srv.cmd[1:] + ["--dir", tmp]
        with srv:
            with Conn(srv.port) as c:
                for name, value in (("timeout", "0"), ("save", ""), ("maxclients", "500"), ("requirepass", "a \"b\""),
                                    ("client-output-buffer-limit", "pubsub 1mb 2mb 3"), ("proto-max-bulk-len", "100mb")):
                    assert c.call("CONFIG", "SET", name, value) == b"+OK\r\n"
                assert c.call("CONFIG", "REWRITE") == b"+OK\r\n"
                before = c.call("CONFIG", "GET", "*")
        with open(conf) as f:
            text = f.read()
        assert text.startswith("# keep this comment\ntimeout 0\nsave \"\"\nhz 10\n\n# tail comment\n"), text
        assert "maxclients 500\n" in text, text
        assert "requirepass \"a \\\"b\\\"\"\n" in text, text
        assert "client-output-buffer-limit pubsub 1mb 2mb 3\n" in text, text
        assert "proto-max-bulk-len 100mb\n" in text, text
        assert "dir " in text, text

        # The rewritten file starts a server with the same settings.
        again = rpserver.Server("ringpub", port=srv.port)
        again.cmd = [again.cmd[0], conf] + again.cmd[1:]
        with again:
            with Conn(again.port) as c:
                assert c.call("AUTH", "a \"b\"") == b"+OK\r\n"
                after = c.call("CONFIG", "GET", "*")
        assert after == before, (after, before)


def test_config_rewrite_keeps_output_limit_lines():
    # redis 7.0 gives the file's client-output-buffer-limit lines to the
    # normal, replica and pubsub classes in turn, default or not, and appends
    # leftover classes only when they differ from the defaults.
    with tempfile.TemporaryDirectory(prefix="rp-rewrite-") as tmp:
        conf = os.path.join(tmp, "ringpub.conf")
        with open(conf, "w") as f:
            f.write("# c\nclient-output-buffer-limit normal 0 0 0\ntimeout 0\n"
                    "client-output-buffer-limit pubsub 32mb 8mb 60\n")
        srv = rpserver.Server("ringpub")
        srv.cmd = [srv.cmd[0], conf] + srv.cmd[1:] + ["--dir", tmp]
        with srv:
            with Conn(srv.port) as c:
                assert c.call("CONFIG", "REWRITE") == b"+OK\r\n"
                before = c.call("CONFIG", "GET", "client-output-buffer-limit")
        with open(conf) as f:
            text = f.read()
        assert text.startswith("# c\nclient-output-buffer-limit normal 0 0 0\ntimeout 0\n"
                               "client-output-buffer-limit replica 256mb 64mb 60\n\n"), text
        assert text.count("client-output-buffer-limit") == 2, text

        # A leftover class that is not at its defaults is appended.
        with open(conf, "w") as f:
            f.write("client-output-buffer-limit pubsub 1mb 2mb 3\n")
        srv = rpserver.Server("ringpub", port=srv.port)
        srv.cmd = [srv.cmd[0], conf] + srv.cmd[1:] + ["--dir", tmp]
        with srv:
            with Conn(srv.port) as c:
                assert c.call("CONFIG", "REWRITE") == b"+OK\r\n"
        with open(conf) as f:
            text = f.read()
        assert text.startswith("client-output-buffer-limit normal 0 0 0\n"), text
        assert "\nclient-output-buffer-limit pubsub 1mb 2mb 3\n" in text, text
        assert "replica" not in text, text

        # The rewritten file, with its replica line, starts a server again.
        again = rpserver.Server("ringpub", port=srv.port)
        again.cmd = [again.cmd[0], conf] + again.cmd[1:]
        with again:
            with Conn(again.port) as c:
                after = c.call("CONFIG", "GET", "client-output-buffer-limit")
        assert b"pubsub 1048576 2097152 3" in after, after
        assert before != after


def test_config_set_hz_changes_tick():
    # XREAD BLOCK timeouts are answered on the server tick, so the time a
    # timed-out read takes shows the tick in effect.
    srv = rpserver.Server("ringpub").start()
    try:
        with Conn(srv.port) as c:
            def timed_out_read_ms():
                t0 = time.monotonic()
                assert c.call("XREAD", "BLOCK", "1", "STREAMS", "nokey", "$") == b"*-1\r\n"
                return (time.monotonic() - t0) * 1000

            assert c.call("CONFIG", "SET", "hz", "1") == b"+OK\r\n"
            timed_out_read_ms()              # the first read waits out the old tick
            slow = timed_out_read_ms()       # starts right after a tick: waits a whole second
            assert slow > 500, slow

            assert c.call("CONFIG", "SET", "hz", "100") == b"+OK\r\n"
            timed_out_read_ms()
            fast = sorted(timed_out_read_ms() for _ in range(5))[2]
            # hz 10 would take about 100 ms per read.
            assert fast < 60, fast

            info = c.call("INFO", "server").decode()
            assert "\r\nhz:100\r\n" in info, info
            assert "\r\nconfigured_hz:100\r\n" in info, info
    finally:
        srv.stop()
        shutil.rmtree(srv.workdir, ignore_errors=True)


def test_example_config_sets_every_default():
    # ringpub.conf at the repository root shows every setting with its
    # default: loading it must change nothing, and it must name them all.
    conf = os.path.join(HERE, "..", "..", "ringpub.conf")
    names_in_file = set()
    with open(conf) as f:
        for line in f:
            line = line.strip()
            if line.startswith("# dir "):
                names_in_file.add("dir")
            elif line and not line.startswith("#"):
                names_in_file.add(line.split()[0])
    def settings(port):
        with Conn(port) as c:
            reply = c.call("CONFIG", "GET", "*")
        words = re.findall(rb"\$\d+\r\n([^\r]*)\r\n", reply)
        found = dict(zip(words[0::2], words[1::2]))
        # Each server has its own port and working directory.
        del found[b"port"], found[b"dir"]
        return found

    with rpserver.Server("ringpub") as plain:
        defaults = settings(plain.port)

    # The config file must come first on the command line, so the command
    # rpserver would run is rebuilt around it before the start.
    srv = rpserver.Server("ringpub")
    srv.cmd = [srv.cmd[0], conf] + srv.cmd[1:]
    with srv:
        loaded = settings(srv.port)
    assert loaded == defaults, "loading ringpub.conf changed settings:\n%r\n%r" % (loaded, defaults)
    names = {name.decode() for name in loaded} | {"port", "dir"}
    assert names == names_in_file, "settings missing from ringpub.conf: %s; unknown there: %s" % (
        sorted(names - names_in_file), sorted(names_in_file - names))


def test_address_in_use_exits_1():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        res = run_server(["--bind", "127.0.0.1", "--port", str(port)])
    assert res.returncode == 1, res.returncode
    lines = [line for line in res.stdout.splitlines() if "Could not listen" in line]
    assert len(lines) == 1, res.stdout
    assert "Address already in use" in lines[0], lines[0]


def test_nothing_to_listen_on_exits_1():
    res = run_server(["--port", "0"])
    assert res.returncode == 1
    assert "No address to listen on" in res.stdout, res.stdout


def test_sigterm_and_sigint_exit_0():
    for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
        srv = rpserver.Server("ringpub").start()
        try:
            with Conn(srv.port) as sub:
                sub.call("SUBSCRIBE", "x")
                srv.proc.send_signal(sig)
                srv.proc.wait(10)
                assert sub.closed()
            status = srv.proc.returncode
            log = srv.log()
        finally:
            srv.stop()
            shutil.rmtree(srv.workdir, ignore_errors=True)
        assert status == 0, (name, status, log)
        assert "Received %s" % name in log, log
        assert "exiting" in log, log


def read_to_eof(conn, timeout=READ_TIMEOUT):
    """Return every byte conn receives until the server closes it (bounded by timeout)."""
    deadline = time.monotonic() + timeout
    data = conn.buf
    conn.buf = b""
    while time.monotonic() < deadline:
        conn.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = conn.sock.recv(1 << 20)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_shutdown_command_exits_0_like_sigterm():
    srv = rpserver.Server("ringpub").start()
    try:
        with Conn(srv.port) as sub, Conn(srv.port) as c:
            sub.call("SUBSCRIBE", "x")
            # Pipelined after SHUTDOWN: never run, and no reply to SHUTDOWN.
            c.send(enc("PUBLISH", "x", "before") + enc("SHUTDOWN", "NOW", "NOSAVE") + enc("PUBLISH", "x", "after"))
            srv.proc.wait(10)
            got = read_to_eof(c)
            delivered = read_to_eof(sub)
        status = srv.proc.returncode
        log = srv.log()
    finally:
        srv.stop()
        shutil.rmtree(srv.workdir, ignore_errors=True)
    assert status == 0, (status, log)
    assert got == b":1\r\n", got
    assert delivered.endswith(b"$6\r\nbefore\r\n"), delivered
    assert "Received SHUTDOWN from client" in log, log
    assert "exiting, goodbye" in log, log
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", srv.port)) != 0


def test_shutdown_save_without_aof_needs_force():
    srv = rpserver.Server("ringpub").start()
    try:
        with Conn(srv.port) as c:
            assert c.call("SHUTDOWN", "SAVE") == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
            assert c.call("PING") == b"+PONG\r\n"
            assert "SHUTDOWN SAVE from client" in srv.log()
            c.send(enc("SHUTDOWN", "SAVE", "FORCE"))
            srv.proc.wait(10)
        status = srv.proc.returncode
    finally:
        srv.stop()
        shutil.rmtree(srv.workdir, ignore_errors=True)
    assert status == 0


def test_redis_cli_shutdown_stops_server():
    srv = rpserver.Server("ringpub").start()
    try:
        proc = subprocess.run(["redis-cli", "-p", str(srv.port), "shutdown"], capture_output=True, timeout=10)
        srv.proc.wait(10)
        status = srv.proc.returncode
    finally:
        srv.stop()
        shutil.rmtree(srv.workdir, ignore_errors=True)
    assert status == 0
    assert proc.stdout == b"", proc.stdout


def test_uring_refused_fails_or_falls_back():
    # A seccomp filter that makes io_uring_setup fail with EPERM, as Docker's
    # default profile does: --io-backend uring must stop with a clear error,
    # auto must fall back to epoll.
    launcher = os.environ.get("RINGPUB_SECCOMP_LAUNCHER")
    if not launcher or not os.path.exists(launcher):
        print("    (skipped: RINGPUB_SECCOMP_LAUNCHER does not name the built tests/net/seccomp_launcher)")
        return
    with tempfile.TemporaryDirectory(prefix="rp-seccomp-") as tmp:
        sock = os.path.join(tmp, "s.sock")
        res = subprocess.run([launcher, os.environ["RINGPUB_SERVER"], "--io-backend", "uring", "--port", "0",
                              "--unixsocket", sock], capture_output=True, text=True, timeout=10)
        assert res.returncode == 1, res
        assert "Could not start the io_uring event loop: Operation not permitted" in res.stdout, res.stdout

        proc = subprocess.Popen([launcher, os.environ["RINGPUB_SERVER"], "--io-backend", "auto", "--port", "0",
                                 "--unixsocket", sock], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(sock):
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
            with Conn(unix_path=sock) as c:
                assert c.call("PING") == b"+PONG\r\n"
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0, out
        assert "io-backend=epoll" in out, out


def test_start_line_names_backend():
    with rpserver.Server("ringpub") as srv:
        time.sleep(0.1)
        log = srv.log()
    m = re.search(r"^\d+:M \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} \* ringpub-server \S+ .*started: pid=(\d+) "
                  r"io-backend=(\w+) bind=127\.0\.0\.1 port=(\d+)", log, re.M)
    assert m, log
    backend = os.environ.get("RINGPUB_IO_BACKEND")
    if backend == "epoll":
        assert m.group(2) == "epoll"
    elif backend == "uring":
        assert m.group(2) == "io_uring"
    assert int(m.group(3)) == srv.port


def test_unix_socket_with_permissions():
    with tempfile.TemporaryDirectory(prefix="rp-unix-") as tmp:
        path = os.path.join(tmp, "rp.sock")
        with rpserver.Server("ringpub", args=["--unixsocket", path, "--unixsocketperm", "700"]) as srv:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert mode == 0o700, oct(mode)
            with Conn(unix_path=path) as c, Conn(srv.port) as pub:
                assert c.call("PING") == b"+PONG\r\n"
                assert c.call("CONFIG", "GET", "unixsocketperm") == b"*2\r\n$14\r\nunixsocketperm\r\n$3\r\n700\r\n"
                c.call("SUBSCRIBE", "u")
                assert pub.call("PUBLISH", "u", "over-unix") == b":1\r\n"
                assert c.frame() == b"*3\r\n$7\r\nmessage\r\n$1\r\nu\r\n$9\r\nover-unix\r\n"
        assert not os.path.exists(path), "socket file left behind after shutdown"


def test_ipv6_loopback_listener():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        print("    (skipped: no IPv6 loopback)")
        return
    with rpserver.Server("ringpub", args=["--bind", "127.0.0.1", "-::1"]) as srv:
        with socket.create_connection(("::1", srv.port), timeout=5) as s:
            s.sendall(enc("PING"))
            assert s.recv(64) == b"+PONG\r\n"


def test_optional_bind_address_is_skipped():
    # 192.0.2.1 (TEST-NET-1) is never assigned to this host, so bind fails
    # with EADDRNOTAVAIL; marked optional it is skipped. Nothing is sent there.
    with rpserver.Server("ringpub", args=["--bind", "127.0.0.1", "-192.0.2.1"]) as srv:
        with Conn(srv.port) as c:
            assert c.call("PING") == b"+PONG\r\n"
        assert "Skipping optional address 192.0.2.1" in srv.log(), srv.log()


# ---------------------------------------------------------------------------
# Runner


def main():
    selected = None
    verbose = "-v" in sys.argv
    if "-k" in sys.argv:
        selected = sys.argv[sys.argv.index("-k") + 1]
    if not os.environ.get("RINGPUB_SERVER"):
        print("RINGPUB_SERVER is not set: point it at the ringpub-server binary")
        return 2

    # Where the kernel or a seccomp profile refuses io_uring, the uring run
    # has nothing to test: report it as skipped (77, meson's skip status).
    if os.environ.get("RINGPUB_IO_BACKEND") == "uring":
        probe = rpserver.Server("ringpub")
        try:
            probe.start()
        except RuntimeError as e:
            shutil.rmtree(probe.workdir, ignore_errors=True)
            if "Could not start the io_uring event loop" in str(e):
                print("skipped: io_uring is not available here:\n%s" % e)
                return 77
            raise
        probe.__exit__(None, None, None)

    tests = [(name, fn) for name, fn in sorted(globals().items(), key=lambda kv: kv[1].__code__.co_firstlineno
                                                 if callable(kv[1]) and hasattr(kv[1], "__code__") else 0)
             if name.startswith("test_") and callable(fn)]
    if selected:
        tests = [(n, f) for n, f in tests if selected in n]

    passed = failed = 0
    try:
        for name, fn in tests:
            start = time.monotonic()
            try:
                fn()
            except Exception:
                failed += 1
                print("FAIL %s (%.1fs)" % (name, time.monotonic() - start))
                traceback.print_exc(limit=4 if not verbose else None)
                sys.stdout.flush()
                continue
            passed += 1
            print("ok   %s (%.1fs)" % (name, time.monotonic() - start))
            sys.stdout.flush()
    finally:
        stop_shared()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
