#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of message history: streams, expiry and the AOF.

Each test starts its own ringpub-server on loopback (tests/lib/rpserver.py
picks free ports) and drives it through redis-py, as an application would:
PUBLISH plus XADD with MAXLEN, XREVRANGE on join, blocking XREAD readers,
expiring keys, and an append-only file that must survive SIGKILL, a torn
tail and a background rewrite under load.

Environment: RINGPUB_SERVER (the binary, required), RINGPUB_IO_BACKEND
("uring" or "epoll", optional).

Usage: test_history.py [-k SUBSTRING] [-v]
Prints one line per test and a last line "N passed, N failed"; the exit
status is 1 when a test failed.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import rpserver  # noqa: E402  (found through sys.path)

TIMEOUT = 5.0


def client(srv, **kw):
    return redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=TIMEOUT, **kw)


def wait_for(predicate, timeout=5.0, step=0.02):
    """Poll predicate until it returns true or timeout seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value


def wait_blocked(r, n):
    """Wait until n clients are blocked, as INFO clients blocked_clients reports."""
    return wait_for(lambda: r.info("clients")["blocked_clients"] == n, timeout=2.0)


def wait_rewrites(r, n):
    """Wait until n background rewrites have finished, as INFO persistence reports."""
    def done():
        fields = r.info("persistence")
        return fields["aof_rewrite_in_progress"] == 0 and fields["aof_rewrites"] == n

    return wait_for(done, timeout=10.0)


class AofServer:
    """A ringpub-server whose dir (and AOF) outlives restarts."""

    def __init__(self, extra=()):
        self.dir = tempfile.mkdtemp(prefix="rp-history-")
        self.extra = list(extra)
        self.srv = None

    def start(self, expect_failure=False):
        args = ["--dir", self.dir, "--appendonly", "yes"] + self.extra
        self.srv = rpserver.Server("ringpub", args=args)
        if expect_failure:
            proc = subprocess.run(self.srv.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=10)
            shutil.rmtree(self.srv.workdir, ignore_errors=True)
            self.srv = None
            return proc
        self.srv.start()
        return self.srv

    def kill(self):
        """SIGKILL the server, as a crash would."""
        self.srv.proc.send_signal(signal.SIGKILL)
        self.srv.proc.wait(10)
        self.srv.stop()
        shutil.rmtree(self.srv.workdir, ignore_errors=True)
        self.srv = None

    def stop(self):
        if self.srv is not None:
            self.srv.stop()
            shutil.rmtree(self.srv.workdir, ignore_errors=True)
            self.srv = None

    def aof_path(self):
        return os.path.join(self.dir, "appendonly.aof")

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Streams as message history


def test_publish_and_history_on_join():
    with rpserver.Server("ringpub") as srv:
        r = client(srv)
        sub = client(srv).pubsub()
        sub.subscribe("room:1")
        assert sub.get_message(timeout=TIMEOUT)["type"] == "subscribe"

        sent = []
        for i in range(1200):
            body = '{"n": %d}' % i
            r.publish("room:1", body)
            sent.append(r.xadd("history:room:1", {"data": body}, maxlen=1000, approximate=False))
        assert r.xlen("history:room:1") == 1000

        # A joining user shows the last 50, newest first.
        last = r.xrevrange("history:room:1", "+", "-", count=50)
        assert len(last) == 50
        assert [e[0] for e in last] == list(reversed(sent[-50:]))
        assert last[0][1] == {b"data": b'{"n": 1199}'}
        assert last[-1][1] == {b"data": b'{"n": 1150}'}

        # Live subscribers got every message, in order.
        got = []
        deadline = time.monotonic() + TIMEOUT
        while len(got) < 1200 and time.monotonic() < deadline:
            m = sub.get_message(timeout=0.5)
            if m and m["type"] == "message":
                got.append(m["data"])
        assert len(got) == 1200
        assert got[0] == b'{"n": 0}'
        assert got[-1] == b'{"n": 1199}'

        # Catching up from the last id seen.
        after = r.xread({"history:room:1": sent[-3]})
        assert [e[0] for e in after[0][1]] == sent[-2:]


def test_approximate_maxlen_keeps_at_most_a_block_more():
    with rpserver.Server("ringpub") as srv:
        r = client(srv)
        for i in range(1500):
            r.xadd("h", {"i": i}, maxlen=1000, approximate=True)
            n = r.xlen("h")
            assert n >= min(i + 1, 1000), (i, n)
            assert n <= 1000 + 100, (i, n)


# ---------------------------------------------------------------------------
# Blocking XREAD


def test_blocked_readers_all_served_by_one_xadd():
    # blocking.c serves them in the order they blocked, but the three
    # replies reach three threads in an order this test cannot observe, so
    # only that each is served is checked.
    with rpserver.Server("ringpub") as srv:
        r = client(srv)
        results = {}
        lock = threading.Lock()

        def reader(name):
            c = client(srv)
            reply = c.xread({"s": "$"}, block=5000)
            with lock:
                results[name] = reply

        threads = []
        for name in ("first", "second", "third"):
            t = threading.Thread(target=reader, args=(name,))
            t.start()
            threads.append(t)
            assert wait_blocked(r, len(threads))

        r.xadd("s", {"m": "1"}, id="1-1")
        for t in threads:
            t.join(TIMEOUT)
        assert sorted(results) == ["first", "second", "third"]
        for name in results:
            assert results[name] == [[b"s", [(b"1-1", {b"m": b"1"})]]]
        assert wait_blocked(r, 0)


def test_blocked_reader_times_out_with_null():
    with rpserver.Server("ringpub") as srv:
        r = client(srv)
        t0 = time.monotonic()
        assert r.xread({"s": "$"}, block=200) == []
        elapsed = time.monotonic() - t0
        assert 0.15 <= elapsed < 2.0, elapsed
        # The raw reply is the RESP2 null array.
        s = rpserver.connect(srv.port)
        s.sendall(b"*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$2\r\n50\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n$1\r\n$\r\n")
        assert s.recv(64) == b"*-1\r\n"
        s.close()


def test_block_zero_waits_until_woken():
    with rpserver.Server("ringpub") as srv:
        r = client(srv)
        box = {}

        def reader():
            box["reply"] = client(srv).xread({"s": "$"}, block=0)

        t = threading.Thread(target=reader)
        t.start()
        assert wait_blocked(r, 1)
        time.sleep(0.6)
        assert t.is_alive()
        r.xadd("s", {"k": "v"}, id="5-5")
        t.join(TIMEOUT)
        assert not t.is_alive()
        assert box["reply"] == [[b"s", [(b"5-5", {b"k": b"v"})]]]


def test_blocked_client_disconnect_and_kill_cleaned_up():
    with rpserver.Server("ringpub") as srv:
        r = client(srv)
        gone = rpserver.connect(srv.port)
        gone.sendall(b"*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n$1\r\n$\r\n")
        killed = client(srv)
        killed_id = killed.client_id()
        box = {}

        def reader():
            try:
                killed.xread({"s": "$"}, block=0)
            except redis.ConnectionError as e:
                box["error"] = e

        t = threading.Thread(target=reader)
        t.start()
        assert wait_blocked(r, 2)

        gone.close()
        assert wait_blocked(r, 1)
        assert r.client_kill_filter(_id=killed_id) == 1
        t.join(TIMEOUT)
        assert "error" in box
        assert wait_blocked(r, 0)

        # No reader is left to serve: the XADD works and the server stays up.
        r.xadd("s", {"a": "b"}, id="1-1")
        assert r.xlen("s") == 1
        assert r.ping()


# ---------------------------------------------------------------------------
# Expiry


def test_expired_key_removed_lazily():
    with rpserver.Server("ringpub") as srv:
        r = client(srv)
        r.xadd("e", {"a": "1"}, id="1-1")
        assert r.pexpire("e", 100)
        assert 0 < r.pttl("e") <= 100
        time.sleep(0.25)
        assert r.xlen("e") == 0
        assert r.exists("e") == 0
        assert r.ttl("e") == -2


def test_expired_keys_removed_actively():
    with rpserver.Server("ringpub") as srv:
        r = client(srv)
        for i in range(200):
            r.xadd("v%d" % i, {"a": "1"}, id="1-1")
            r.pexpire("v%d" % i, 100)
        r.xadd("keep", {"a": "1"}, id="1-1")
        # DBSIZE touches no key, so only the active cycle can lower it.
        assert wait_for(lambda: r.dbsize() == 1, timeout=10.0)
        assert r.keys("*") == [b"keep"]


# ---------------------------------------------------------------------------
# Append-only file


def test_crash_keeps_every_acknowledged_entry():
    a = AofServer(["--appendfsync", "always"])
    try:
        srv = a.start()
        r = client(srv)
        acked = []
        stop = threading.Event()

        def writer():
            w = client(srv)
            i = 0
            while not stop.is_set() and i < 100000:
                try:
                    acked.append((w.xadd("log", {"i": str(i)}), str(i).encode()))
                except (redis.ConnectionError, redis.TimeoutError):
                    return
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        assert wait_for(lambda: len(acked) >= 300, timeout=10.0)
        a.kill()
        stop.set()
        t.join(TIMEOUT)
        assert len(acked) >= 300

        srv = a.start()
        r = client(srv)
        entries = r.xrange("log", "-", "+")
        # Every acknowledged entry is there, in order; at most the one
        # in flight at the kill follows, and it is whole.
        assert len(entries) >= len(acked)
        assert len(entries) <= len(acked) + 1
        for (eid, fields), (acked_id, value) in zip(entries, acked):
            assert eid == acked_id
            assert fields == {b"i": value}
        if len(entries) > len(acked):
            assert entries[-1][1] == {b"i": str(len(acked)).encode()}
    finally:
        a.cleanup()


def test_full_disk_with_always_exits_before_acknowledging():
    # With appendfsync always, a write that cannot reach the disk must not be
    # acknowledged: like redis 7.0, the server exits instead of replying.
    mnt = tempfile.mkdtemp(prefix="rp-fulldisk-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    if not mounted:
        os.rmdir(mnt)
        print("note: skipped the full-disk case, because a 256 KiB tmpfs cannot be mounted here")
        return
    a = AofServer(["--appendfsync", "always"])
    shutil.rmtree(a.dir, ignore_errors=True)
    a.dir = mnt
    copy_dir = tempfile.mkdtemp(prefix="rp-fulldisk-copy-")
    try:
        srv = a.start()
        w = client(srv)
        acked = 0
        for _ in range(200):   # 800 KB of entries on a 256 KiB disk
            try:
                w.xadd("log", {"v": "x" * 4000})
            except (redis.ConnectionError, redis.TimeoutError):
                break
            acked += 1
        assert 0 < acked < 200, "acknowledged %d writes of 4000 bytes on a 256 KiB disk" % acked
        assert srv.proc.wait(10) == 1
        assert "Exiting so that no write is acknowledged" in srv.log(), srv.log()

        # Every acknowledged entry is in the file: a server started on a copy
        # (dropping the torn tail) has at least that many.
        shutil.copy(os.path.join(mnt, "appendonly.aof"), copy_dir)
        b = AofServer()
        shutil.rmtree(b.dir, ignore_errors=True)
        b.dir = copy_dir
        r = client(b.start())
        assert r.xlen("log") >= acked
        b.stop()
    finally:
        a.cleanup()
        subprocess.run(["umount", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(mnt, ignore_errors=True)
        shutil.rmtree(copy_dir, ignore_errors=True)


def test_torn_tail_dropped_or_rejected():
    a = AofServer()
    try:
        srv = a.start()
        r = client(srv)
        for i in range(10):
            r.xadd("t", {"i": str(i)}, id="%d-1" % (i + 1))
        r.expire("t", 1000)
        a.stop()

        size = os.path.getsize(a.aof_path())
        with open(a.aof_path(), "r+b") as f:
            f.truncate(size - 5)

        # aof-load-truncated no: the server does not start and logs the reason.
        a.extra = ["--aof-load-truncated", "no"]
        proc = a.start(expect_failure=True)
        assert proc.returncode != 0
        assert b"incomplete command" in proc.stdout, proc.stdout
        assert os.path.getsize(a.aof_path()) == size - 5

        # The default (yes) drops the torn command and truncates the file.
        a.extra = []
        srv = a.start()
        assert b"dropped its last" in srv.log().encode()
        r = client(srv)
        assert r.xlen("t") == 10
        assert r.ttl("t") == -1
        a.stop()
        assert os.path.getsize(a.aof_path()) < size - 5

        # Restarting on the repaired file needs no repair.
        srv = a.start()
        assert b"dropped its last" not in srv.log().encode()
        assert client(srv).xlen("t") == 10
    finally:
        a.cleanup()


def test_corrupt_middle_always_rejected():
    a = AofServer()
    try:
        srv = a.start()
        r = client(srv)
        for i in range(5):
            r.xadd("c", {"i": str(i)}, id="%d-1" % (i + 1))
        a.stop()
        with open(a.aof_path(), "r+b") as f:
            data = bytearray(f.read())
            at = data.index(b"*5", 40)
            data[at] = ord("?")
            f.seek(0)
            f.write(data)
        proc = a.start(expect_failure=True)
        assert proc.returncode != 0
        assert b"corrupt" in proc.stdout, proc.stdout
        assert b"offset %d" % at in proc.stdout, proc.stdout
    finally:
        a.cleanup()


def test_aof_rewritten_automatically_by_size():
    # auto-aof-rewrite-percentage 100 with a 64 KiB floor: once the file has
    # doubled past 64 KiB since the last rewrite, one starts by itself.
    a = AofServer(["--appendfsync", "no", "--auto-aof-rewrite-percentage", "100",
                   "--auto-aof-rewrite-min-size", "64kb"])
    try:
        srv = a.start()
        r = client(srv)
        for i in range(400):   # 400 entries of about 1 KiB: well past 128 KiB of AOF
            r.xadd("log", {"i": str(i), "pad": "p" * 1000}, maxlen=10, approximate=False)
        assert wait_for(lambda: r.info("persistence")["aof_rewrites"] >= 1, timeout=10.0), \
            r.info("persistence")
        assert wait_rewrites(r, r.info("persistence")["aof_rewrites"])
        # The 400 XADDs came to about 420 KB. After a rewrite the file holds
        # the 10 entries the stream keeps plus what was logged since, and a
        # new rewrite starts before that passes twice the 64 KiB floor.
        assert os.path.getsize(a.aof_path()) < 128 * 1024
        a.stop()

        r = client(a.start())
        entries = r.xrange("log", "-", "+")
        assert [fields[b"i"] for _, fields in entries] == [str(i).encode() for i in range(390, 400)]
    finally:
        a.cleanup()


def test_bgrewriteaof_under_writes_loses_nothing():
    a = AofServer(["--appendfsync", "everysec"])
    try:
        srv = a.start()
        r = client(srv)
        for i in range(2000):
            r.xadd("big", {"i": str(i)}, maxlen=500, approximate=False)
        r.xadd("gone", {"a": "b"}, id="1-1")
        r.xdel("gone", "1-1")
        r.xadd("ttl", {"a": "b"}, id="1-1")
        r.expire("ttl", 1000)
        other = client(srv, db=3)
        other.xadd("db3", {"a": "b"}, id="7-7")

        acked = []
        stop = threading.Event()

        def writer():
            w = client(srv)
            i = 0
            while not stop.is_set() and i < 100000:
                acked.append(w.xadd("live", {"i": str(i)}))
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        assert wait_for(lambda: len(acked) > 100)
        assert r.bgrewriteaof()
        assert wait_rewrites(r, 1)
        assert r.info("persistence")["aof_last_bgrewrite_status"] == "ok"
        assert wait_for(lambda: len(acked) > 2000, timeout=10.0)
        # The writer keeps going until the second rewrite has finished, so
        # writes arrive during the whole rewrite.
        assert r.bgrewriteaof()
        assert wait_rewrites(r, 2)
        stop.set()
        t.join(TIMEOUT)
        assert r.info("persistence")["aof_last_bgrewrite_status"] == "ok"
        before = r.xrange("big", "-", "+")
        a.stop()

        srv = a.start()
        r = client(srv)
        assert [e[0] for e in r.xrange("live", "-", "+")] == acked
        assert r.xrange("big", "-", "+") == before
        assert r.xlen("gone") == 0
        assert r.exists("gone") == 1
        try:
            r.xadd("gone", {"a": "b"}, id="1-1")
            raise AssertionError("XADD below the last id of an emptied stream was accepted")
        except redis.ResponseError as e:
            assert "equal or smaller" in str(e)
        assert 990 <= r.ttl("ttl") <= 1000
        assert client(srv, db=3).xrange("db3", "-", "+") == [(b"7-7", {b"a": b"b"})]
    finally:
        a.cleanup()


def test_expire_logged_as_absolute_time():
    a = AofServer(["--appendfsync", "always"])
    try:
        srv = a.start()
        r = client(srv)
        r.xadd("k", {"a": "b"}, id="1-1")
        r.expire("k", 1)
        a.stop()
        with open(a.aof_path(), "rb") as f:
            data = f.read()
        assert b"PEXPIREAT" in data
        assert b"\r\nEXPIRE\r\n" not in data
        time.sleep(1.2)
        srv = a.start()
        assert client(srv).exists("k") == 0
    finally:
        a.cleanup()


def test_transaction_logged_in_multi_exec_and_replayed():
    a = AofServer(["--appendfsync", "always"])
    try:
        srv = a.start()
        r = client(srv)
        # One write: logged bare, as redis 7.0 does.
        p = r.pipeline(transaction=True)
        p.xadd("one", {"f": "v"}, id="1-1")
        p.xlen("one")
        assert p.execute() == [b"1-1", 1]
        # Two writes: wrapped in MULTI/EXEC, with the SELECT before MULTI.
        r2 = client(srv, db=3)
        p = r2.pipeline(transaction=True)
        p.xadd("two", {"f": "v"}, id="1-1")
        p.xlen("two")
        p.xadd("two", {"f": "w"}, id="2-1")
        assert p.execute() == [b"1-1", 1, b"2-1"]
        a.stop()

        with open(a.aof_path(), "rb") as f:
            data = f.read()
        xadd_one = b"*5\r\n$4\r\nXADD\r\n$3\r\none\r\n"
        assert data.count(b"MULTI") == 1, data
        assert data.index(xadd_one) < data.index(b"MULTI")
        select3 = b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
        multi = b"*1\r\n$5\r\nMULTI\r\n"
        exec_ = b"*1\r\n$4\r\nEXEC\r\n"
        assert select3 + multi in data, data
        assert data.endswith(exec_), data

        srv = a.start()
        assert client(srv).xlen("one") == 1
        assert client(srv, db=3).xrange("two") == [(b"1-1", {b"f": b"v"}), (b"2-1", {b"f": b"w"})]
    finally:
        a.cleanup()


def test_torn_transaction_not_applied():
    a = AofServer(["--appendfsync", "always"])
    try:
        srv = a.start()
        r = client(srv)
        r.xadd("k", {"f": "0"}, id="1-1")
        p = r.pipeline(transaction=True)
        p.xadd("k", {"f": "1"}, id="2-1")
        p.xadd("k", {"f": "2"}, id="3-1")
        p.execute()
        a.stop()
        with open(a.aof_path(), "rb") as f:
            whole = f.read()
        multi_at = whole.index(b"*1\r\n$5\r\nMULTI\r\n")

        # Cut after the last whole XADD (EXEC missing), then inside the
        # second XADD: neither leaves any of the transaction applied.
        for cut in (len(whole) - len(b"*1\r\n$4\r\nEXEC\r\n"), len(whole) - 30):
            with open(a.aof_path(), "wb") as f:
                f.write(whole[:cut])

            a.extra = ["--aof-load-truncated", "no"]
            proc = a.start(expect_failure=True)
            assert proc.returncode != 0
            assert b"inside a transaction" in proc.stdout, proc.stdout

            a.extra = []
            srv = a.start()
            assert b"inside a transaction" in srv.log().encode()
            assert client(srv).xrange("k") == [(b"1-1", {b"f": b"0"})]
            a.stop()
            assert os.path.getsize(a.aof_path()) == multi_at
    finally:
        a.cleanup()


def test_shutdown_command_fsyncs_aof_and_exits_zero():
    a = AofServer(["--appendfsync", "no"])
    try:
        srv = a.start()
        r = client(srv)
        r.xadd("k", {"f": "v"}, id="1-1")
        sub = client(srv).pubsub()
        sub.subscribe("ch")
        # The AOF satisfies SAVE, so the server sends no reply and exits.
        try:
            r.execute_command("SHUTDOWN", "SAVE")
        except redis.ConnectionError:
            pass
        assert srv.proc.wait(10) == 0
        log = srv.log()
        assert "Received SHUTDOWN from client" in log, log
        assert "goodbye" in log, log
        a.stop()
        srv = a.start()
        assert client(srv).xlen("k") == 1
    finally:
        a.cleanup()


# ---------------------------------------------------------------------------


def main(argv):
    pattern = None
    if "-k" in argv:
        pattern = argv[argv.index("-k") + 1]
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    passed = failed = 0
    for name, fn in tests:
        if pattern and pattern not in name:
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Exception:  # noqa: BLE001  (a failing test is reported, then the next one runs)
            failed += 1
            print("FAIL %s" % name)
            traceback.print_exc()
        else:
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
