#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""redis-py transactions: pipeline() wraps its commands in MULTI/EXEC by
default, so PUBLISH plus XADD run once and together, a WATCHed key changed
by another client raises WatchError without running anything, and a
queueing error discards the whole transaction."""

import redis

import harness
from harness import test


@test
def pipeline_publish_and_xadd(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("news")
    assert p.get_message(timeout=5)["type"] == "subscribe"

    pipe = r.pipeline()            # transaction=True is redis-py's default
    pipe.publish("news", "hello")
    pipe.xadd("news:log", {"text": "hello"}, id="1-1", maxlen=100, approximate=False)
    pipe.xlen("news:log")
    assert pipe.execute() == [1, b"1-1", 1]

    assert p.get_message(timeout=5)["data"] == b"hello"
    assert p.get_message(timeout=0.2) is None
    assert r.xrange("news:log") == [(b"1-1", {b"text": b"hello"})]
    p.close()


@test
def watch_conflict_runs_nothing(ctx):
    r = ctx.redis()
    other = ctx.redis()
    r.xadd("counter", {"n": "0"}, id="1-1")

    with r.pipeline() as pipe:
        pipe.watch("counter")
        assert pipe.xlen("counter") == 1   # immediate mode after WATCH
        other.xadd("counter", {"n": "1"}, id="2-1")
        pipe.multi()
        pipe.xadd("counter", {"n": "2"}, id="3-1")
        pipe.publish("counter:events", "added")
        try:
            pipe.execute()
        except redis.WatchError:
            pass
        else:
            raise AssertionError("EXEC ran although the watched key changed")
    assert r.xlen("counter") == 2

    # The usual retry loop then succeeds.
    with r.pipeline() as pipe:
        pipe.watch("counter")
        pipe.multi()
        pipe.xadd("counter", {"n": "2"}, id="3-1")
        assert pipe.execute() == [b"3-1"]
    assert r.xlen("counter") == 3


@test
def queueing_error_discards_all(ctx):
    r = ctx.redis()
    pipe = r.pipeline()
    pipe.xadd("s", {"f": "v"}, id="1-1")
    pipe.execute_command("XADD")   # wrong arity: rejected while queueing
    try:
        pipe.execute()
    except redis.ResponseError as e:
        assert "EXECABORT" in str(e) or "wrong number of arguments" in str(e), str(e)
    else:
        raise AssertionError("a transaction with a queueing error ran")
    assert r.exists("s") == 0


if __name__ == "__main__":
    harness.main()
