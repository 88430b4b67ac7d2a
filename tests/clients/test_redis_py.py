#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""redis-py (Debian's python3-redis 4.3.4, synchronous API) against the server.

Covers what an application does at connect time (PING, ECHO, CLIENT SETNAME,
CLIENT LIST, INFO) and every pub/sub call redis-py 4.3.4 exposes: subscribe,
psubscribe, the unsubscribe variants, publish, pubsub_channels/numsub/numpat,
message handlers with run_in_thread, and 10,000 pipelined publishes.
redis-py 4.3.4 has no sharded pub/sub methods, so SSUBSCRIBE, SPUBLISH and
PUBSUB SHARD* go through its generic execute_command.
"""

import threading
import time

import redis

import harness
from harness import test, wait_until


def next_message(p, timeout=5.0):
    """Return the next pub/sub message on p, failing after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = p.get_message(timeout=max(0.0, deadline - time.monotonic()))
        if msg is not None:
            return msg
    raise AssertionError(f"no pub/sub message within {timeout}s")


def msg(kind, channel, data, pattern=None):
    return {"type": kind, "pattern": pattern, "channel": channel, "data": data}


@test
def connect_commands(ctx):
    r = ctx.redis(client_name="rp-py-sync")
    assert r.ping() is True
    assert r.echo("hello") == b"hello"
    # redis-py 4.3.4 decodes CLIENT GETNAME to str even without decode_responses.
    assert r.client_getname() == "rp-py-sync"
    assert isinstance(r.client_id(), int)

    mine = [c for c in r.client_list() if c["name"] == "rp-py-sync"]
    assert len(mine) == 1, r.client_list()
    for field in ("id", "addr", "fd", "age", "idle", "flags", "db", "sub", "psub", "cmd"):
        assert field in mine[0], f"CLIENT LIST has no {field}= field: {mine[0]}"
    assert mine[0]["sub"] == "0" and mine[0]["psub"] == "0"

    # CLIENT INFO describes this connection in the CLIENT LIST format.
    me = r.client_info()
    assert me["name"] == "rp-py-sync", me
    assert str(me["id"]) == mine[0]["id"], (me, mine[0])   # redis-py 4.3.4 converts some fields to int
    assert me["cmd"] == "client|info", me
    r.client_setname("renamed")
    assert r.client_getname() == "renamed"

    info = r.info()
    assert "redis_version" in info, sorted(info)
    clients = r.info("clients")
    assert clients["connected_clients"] >= 1, clients


@test
def subscribe_receives_message(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("news")
    assert next_message(p) == msg("subscribe", b"news", 1)
    assert r.publish("news", "hello") == 1
    assert next_message(p) == msg("message", b"news", b"hello")
    p.close()


@test
def subscribe_counts_channels(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("a", "b", "c")
    assert [next_message(p) for _ in range(3)] == [
        msg("subscribe", b"a", 1), msg("subscribe", b"b", 2), msg("subscribe", b"c", 3)]

    # Subscribing again to a channel keeps the count and still confirms it.
    p.subscribe("b")
    assert next_message(p) == msg("subscribe", b"b", 3)
    for ch in ("a", "b", "c"):
        assert r.publish(ch, f"to-{ch}") == 1
    assert [next_message(p) for _ in range(3)] == [
        msg("message", b"a", b"to-a"), msg("message", b"b", b"to-b"), msg("message", b"c", b"to-c")]
    p.close()


@test
def psubscribe_receives_pmessage(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.psubscribe("news.*", "h?llo", "x[ab]z")
    assert [next_message(p)["data"] for _ in range(3)] == [1, 2, 3]

    assert r.publish("news.tech", "t") == 1
    assert next_message(p) == msg("pmessage", b"news.tech", b"t", pattern=b"news.*")
    assert r.publish("hallo", "h") == 1
    assert next_message(p) == msg("pmessage", b"hallo", b"h", pattern=b"h?llo")
    assert r.publish("xbz", "x") == 1
    assert next_message(p) == msg("pmessage", b"xbz", b"x", pattern=b"x[ab]z")
    assert r.publish("news", "no match") == 0
    assert r.publish("xcz", "no match") == 0
    assert p.get_message(timeout=0.2) is None
    p.close()


@test
def channel_and_pattern_both_deliver(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("events.login")
    p.psubscribe("events.*")
    next_message(p), next_message(p)
    assert r.publish("events.login", "u1") == 2
    got = [next_message(p), next_message(p)]
    assert msg("message", b"events.login", b"u1") in got, got
    assert msg("pmessage", b"events.login", b"u1", pattern=b"events.*") in got, got
    p.close()


@test
def unsubscribe_variants(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("a", "b", "c")
    p.psubscribe("p1*", "p2*")
    assert [next_message(p)["data"] for _ in range(5)] == [1, 2, 3, 4, 5]

    p.unsubscribe("b")
    assert next_message(p) == msg("unsubscribe", b"b", 4)
    assert r.publish("b", "gone") == 0

    # Unsubscribing from a channel never subscribed still replies, count unchanged.
    p.unsubscribe("never")
    assert next_message(p) == msg("unsubscribe", b"never", 4)

    p.punsubscribe("p1*")
    assert next_message(p) == msg("punsubscribe", b"p1*", 3)

    # UNSUBSCRIBE with no argument drops every channel, one reply each.
    p.unsubscribe()
    got = sorted((m["channel"], m["type"]) for m in (next_message(p), next_message(p)))
    assert got == [(b"a", "unsubscribe"), (b"c", "unsubscribe")], got
    assert p.subscribed

    p.punsubscribe()
    assert next_message(p) == msg("punsubscribe", b"p2*", 0)
    assert not p.subscribed
    assert r.pubsub_numsub("a", "c") == [(b"a", 0), (b"c", 0)]
    assert r.pubsub_numpat() == 0
    p.close()


@test
def unsubscribe_without_subscriptions(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("keep", "only")
    next_message(p), next_message(p)
    p.unsubscribe("only")
    assert next_message(p) == msg("unsubscribe", b"only", 1)
    # No pattern to drop: the server replies once with a null pattern and the
    # count of remaining subscriptions.
    p.punsubscribe()
    assert next_message(p) == msg("punsubscribe", None, 1)
    p.execute_command("SUNSUBSCRIBE")
    assert next_message(p) == {"type": "sunsubscribe", "pattern": None, "channel": None, "data": 0}
    assert r.publish("keep", "k") == 1
    assert next_message(p) == msg("message", b"keep", b"k")
    p.close()


@test
def ping_in_subscribed_mode(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("x")
    next_message(p)
    p.ping()
    assert next_message(p) == msg("pong", None, b"")
    p.ping("hi")
    assert next_message(p) == msg("pong", None, b"hi")
    p.close()


@test
def other_commands_rejected_in_subscribed_mode(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("x")
    next_message(p)
    p.execute_command("ECHO", "x")
    try:
        next_message(p)
    except redis.ResponseError as e:
        assert str(e) == ("Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                          "are allowed in this context"), str(e)
    else:
        raise AssertionError("ECHO in subscribed mode was not rejected")
    # The connection stays subscribed and usable.
    assert r.publish("x", "still") == 1
    assert next_message(p) == msg("message", b"x", b"still")
    p.close()


@test
def sharded_pubsub_through_execute_command(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("plain")
    next_message(p)
    p.execute_command("SSUBSCRIBE", "orders{1}", "orders{2}")
    # Shard subscriptions are counted apart from channel subscriptions.
    assert next_message(p) == {"type": "ssubscribe", "pattern": None, "channel": b"orders{1}", "data": 1}
    assert next_message(p) == {"type": "ssubscribe", "pattern": None, "channel": b"orders{2}", "data": 2}

    assert r.execute_command("SPUBLISH", "orders{1}", "o1") == 1
    assert next_message(p) == {"type": "smessage", "pattern": None, "channel": b"orders{1}", "data": b"o1"}
    # PUBLISH does not reach shard subscribers, nor SPUBLISH plain subscribers.
    assert r.publish("orders{1}", "plain") == 0
    assert r.execute_command("SPUBLISH", "plain", "shard") == 0

    assert sorted(r.execute_command("PUBSUB", "SHARDCHANNELS")) == [b"orders{1}", b"orders{2}"]
    assert r.execute_command("PUBSUB", "SHARDCHANNELS", "*{1}") == [b"orders{1}"]
    assert r.execute_command("PUBSUB", "SHARDNUMSUB", "orders{1}", "none") == [b"orders{1}", 1, b"none", 0]
    assert r.pubsub_channels() == [b"plain"]

    p.execute_command("SUNSUBSCRIBE", "orders{1}")
    assert next_message(p) == {"type": "sunsubscribe", "pattern": None, "channel": b"orders{1}", "data": 1}
    p.execute_command("SUNSUBSCRIBE")
    assert next_message(p) == {"type": "sunsubscribe", "pattern": None, "channel": b"orders{2}", "data": 0}
    assert r.execute_command("PUBSUB", "SHARDCHANNELS") == []
    p.close()


@test
def pubsub_introspection(ctx):
    r = ctx.redis()
    subs = []
    for channels in (("alpha", "beta"), ("alpha",), ("gamma.1",)):
        p = r.pubsub()
        p.subscribe(*channels)
        for _ in channels:
            next_message(p)
        subs.append(p)
    pat = r.pubsub()
    pat.psubscribe("alpha*", "zeta.*")
    next_message(pat), next_message(pat)
    pat2 = r.pubsub()
    pat2.psubscribe("alpha*")
    next_message(pat2)

    assert sorted(r.pubsub_channels()) == [b"alpha", b"beta", b"gamma.1"]
    assert sorted(r.pubsub_channels("*a")) == [b"alpha", b"beta"]
    assert r.pubsub_channels("gamma.?") == [b"gamma.1"]
    assert r.pubsub_channels("nothing*") == []
    assert r.pubsub_numsub("alpha", "beta", "gamma.1", "missing") == [
        (b"alpha", 2), (b"beta", 1), (b"gamma.1", 1), (b"missing", 0)]
    assert r.pubsub_numsub() == []
    # NUMPAT counts distinct patterns (redis 7.0), not pattern subscriptions.
    assert r.pubsub_numpat() == 2
    for p in subs + [pat, pat2]:
        p.close()
    wait_until(lambda: r.pubsub_channels() == [] and r.pubsub_numpat() == 0, what="subscriptions gone after close")


@test
def publish_counts_receivers(ctx):
    r = ctx.redis()
    subs = [r.pubsub() for _ in range(3)]
    for p in subs:
        p.subscribe("count")
        next_message(p)
    pat = r.pubsub()
    pat.psubscribe("cou*", "c*")
    next_message(pat), next_message(pat)
    # Three channel subscribers plus two matching patterns of one client.
    assert r.publish("count", "x") == 5
    assert r.publish("cow", "x") == 1
    assert r.publish("dog", "x") == 0
    for p in subs + [pat]:
        p.close()


@test
def binary_and_large_payloads(ctx):
    r = ctx.redis()
    p = r.pubsub()
    channel = "bin\x00\r\nch\u00e9".encode()
    p.subscribe(channel)
    next_message(p)
    payloads = [b"", b"\r\n", b"\x00\xff\r\n$-1\r\n*3\r\n", bytes(range(256)) * 4, b"x" * (1 << 20)]
    for data in payloads:
        assert r.publish(channel, data) == 1
    for data in payloads:
        m = next_message(p)
        assert m["channel"] == channel
        assert m["data"] == data, f"payload of {len(data)} bytes came back as {len(m['data'])} bytes"
    p.close()


@test
def handlers_with_run_in_thread(ctx):
    r = ctx.redis()
    p = r.pubsub(ignore_subscribe_messages=True)
    got = []
    lock = threading.Lock()

    def on_message(m):
        with lock:
            got.append((m["channel"], m["data"]))

    p.subscribe(**{"jobs": on_message})
    p.psubscribe(**{"alerts.*": on_message})
    wait_until(lambda: r.pubsub_numsub("jobs") == [(b"jobs", 1)] and r.pubsub_numpat() == 1,
               what="handler subscriptions")
    worker = p.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        for i in range(100):
            assert r.publish("jobs", f"job-{i}") == 1
        assert r.publish("alerts.disk", "full") == 1
        wait_until(lambda: len(got) == 101, timeout=10, what="101 handled messages")
    finally:
        worker.stop()
        worker.join(5)
    assert got[:100] == [(b"jobs", f"job-{i}".encode()) for i in range(100)]
    assert got[100] == (b"alerts.disk", b"full")
    p.close()


@test(timeout=60)
def pipelined_publishes_in_order(ctx):
    count = 10_000
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("seq")
    next_message(p)

    pipe = r.pipeline(transaction=False)
    for i in range(count):
        pipe.publish("seq", str(i))
    results = pipe.execute()
    assert len(results) == count
    assert results == [1] * count, f"PUBLISH returned {sorted(set(results))}, expected 1 for each"

    for i in range(count):
        m = next_message(p, timeout=10)
        assert m == msg("message", b"seq", str(i).encode()), f"message {i} was {m}"
    assert p.get_message(timeout=0.2) is None
    p.close()


@test
def subscriber_count_drops_on_disconnect(ctx):
    r = ctx.redis()
    sub = ctx.redis()
    p = sub.pubsub()
    p.subscribe("leave")
    p.psubscribe("leave*")
    next_message(p), next_message(p)
    assert r.publish("leave", "x") == 2
    p.close()
    sub.close()
    wait_until(lambda: r.publish("leave", "x") == 0, what="PUBLISH to return 0 after the subscriber closed")
    assert r.pubsub_numsub("leave") == [(b"leave", 0)]
    assert r.pubsub_numpat() == 0


if __name__ == "__main__":
    raise SystemExit(harness.main())
