#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Larger shapes through redis-py: thousands of channels on one connection,
many overlapping patterns on one channel, and large messages to many
subscribers."""

import asyncio
import random

import harness
from harness import receive_data, test, wait_until

CHANNELS = 5000


def read_messages(p, count, timeout=20.0):
    """Return the next count messages of p; fail if they do not arrive in time."""
    out = []
    for _ in range(count):
        m = p.get_message(timeout=timeout)
        assert m is not None, f"got {len(out)} of {count} messages"
        out.append(m)
    return out


@test(timeout=60)
def thousands_of_channels_one_connection(ctx):
    r = ctx.redis()
    p = r.pubsub()
    names = [f"ch:{i}" for i in range(CHANNELS)]
    p.subscribe(*names)
    confirmations = read_messages(p, CHANNELS)
    assert [m["data"] for m in confirmations] == list(range(1, CHANNELS + 1))
    assert [m["channel"] for m in confirmations] == [n.encode() for n in names]

    assert len(r.pubsub_channels()) == CHANNELS
    # ch:49, ch:490 to ch:499 and ch:4900 to ch:4999.
    assert len(r.pubsub_channels("ch:49*")) == 111
    assert r.pubsub_numsub(*names[:100]) == [(n.encode(), 1) for n in names[:100]]

    rng = random.Random(7)
    targets = [rng.choice(names) for _ in range(500)]
    pipe = r.pipeline(transaction=False)
    for i, channel in enumerate(targets):
        pipe.publish(channel, str(i))
    assert pipe.execute() == [1] * len(targets)
    got = read_messages(p, len(targets))
    assert [(m["channel"], m["data"]) for m in got] == [(c.encode(), str(i).encode()) for i, c in enumerate(targets)]

    p.unsubscribe()
    drops = read_messages(p, CHANNELS)
    assert sorted(m["data"] for m in drops) == list(range(CHANNELS))
    assert r.pubsub_channels() == []
    p.close()


# Patterns against the channel "abcdefghij", and whether each matches it.
PATTERNS = {
    "*": True,
    "a*": True,
    "ab*": True,
    "abcdefghij": True,
    "abcdefghij*": True,
    "a?c*": True,
    "[ab]bc*": True,
    "[^x]bcdefghij": True,
    "[a-c]b*j": True,
    "*j": True,
    "*e*": True,
    "a\\bc*": True,
    "abcdefghijk*": False,
    "abc\\*": False,
    "ABC*": False,
    "x*": False,
    "*x*": False,
    "[b-z]*": False,
    "abcdefghi": False,
    "?": False,
}


@test(timeout=30)
def overlapping_patterns_each_match_once(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.psubscribe(*PATTERNS)
    read_messages(p, len(PATTERNS))
    # Unrelated patterns, so matching cannot just try every pattern it has.
    filler = r.pubsub()
    filler.psubscribe(*[f"zz{i}:*" for i in range(1000)])
    read_messages(filler, 1000)
    assert r.pubsub_numpat() == len(PATTERNS) + 1000

    expected = sorted(pat.encode() for pat, matches in PATTERNS.items() if matches)
    assert r.publish("abcdefghij", "hit") == len(expected)
    got = read_messages(p, len(expected))
    assert all(m["type"] == "pmessage" and m["channel"] == b"abcdefghij" for m in got), got
    assert sorted(m["pattern"] for m in got) == expected
    assert p.get_message(timeout=0.2) is None

    # The filler pattern, and "*", "*x*" and "[b-z]*" from PATTERNS.
    assert r.publish("zz500:x", "z") == 4
    m = read_messages(filler, 1)[0]
    assert (m["pattern"], m["channel"]) == (b"zz500:*", b"zz500:x"), m
    p.close()
    filler.close()
    wait_until(lambda: r.pubsub_numpat() == 0, what="patterns gone after close")


BIG_SUBSCRIBERS = 100
BIG_MESSAGES = 3
BIG_SIZE = 128 * 1024


@test(timeout=60)
async def large_messages_many_subscribers(ctx):
    publisher = ctx.async_redis()
    clients = [ctx.async_redis(socket_timeout=30) for _ in range(BIG_SUBSCRIBERS)]
    subs = [c.pubsub(ignore_subscribe_messages=True) for c in clients]
    await asyncio.gather(*(p.subscribe("big") for p in subs))
    for _ in range(500):
        if (await publisher.pubsub_numsub("big"))[0][1] == BIG_SUBSCRIBERS:
            break
        await asyncio.sleep(0.01)

    payloads = [bytes([65 + i]) * BIG_SIZE for i in range(BIG_MESSAGES)]
    for data in payloads:
        assert await publisher.publish("big", data) == BIG_SUBSCRIBERS

    results = await asyncio.wait_for(asyncio.gather(*(receive_data(p, BIG_MESSAGES) for p in subs)), 45)
    bad = [i for i, got in enumerate(results) if got != payloads]
    assert not bad, f"{len(bad)} subscribers got wrong payloads"
    await asyncio.gather(*(p.reset() for p in subs))
    await asyncio.gather(*(c.close() for c in clients))
    await publisher.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
