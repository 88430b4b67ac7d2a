#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""redis.asyncio (python3-redis 4.3.4) against the server, including 1000
subscriber connections on one channel."""

import asyncio

import harness
from harness import async_wait_until, receive_data, test


async def next_message(p, timeout=5.0):
    """Return the next message on p; fail after timeout seconds."""
    async def wait():
        while True:
            m = await p.get_message(timeout=1.0)
            if m is not None:
                return m
    return await asyncio.wait_for(wait(), timeout)


@test
async def connect_commands(ctx):
    r = ctx.async_redis(client_name="rp-py-async")
    assert await r.ping() is True
    assert await r.echo("hi") == b"hi"
    assert await r.client_getname() == "rp-py-async"
    names = [c["name"] for c in await r.client_list()]
    assert names == ["rp-py-async"], names
    info = await r.info("server")
    assert "redis_version" in info, info
    await r.close()


@test
async def subscribe_and_listen(ctx):
    r = ctx.async_redis()
    p = r.pubsub()
    await p.subscribe("a")
    await p.psubscribe("b.*")
    assert (await next_message(p))["type"] == "subscribe"
    assert (await next_message(p))["type"] == "psubscribe"

    for i in range(5):
        assert await r.publish("a", f"a{i}") == 1
    assert await r.publish("b.x", "bx") == 1

    got = []
    async def collect():
        async for m in p.listen():
            got.append((m["type"], m["channel"], m["data"]))
            if len(got) == 6:
                return
    await asyncio.wait_for(collect(), 5)
    assert got == [("message", b"a", f"a{i}".encode()) for i in range(5)] + [("pmessage", b"b.x", b"bx")]

    await p.unsubscribe("a")
    assert await next_message(p) == {"type": "unsubscribe", "pattern": None, "channel": b"a", "data": 1}
    await p.punsubscribe()
    assert await next_message(p) == {"type": "punsubscribe", "pattern": None, "channel": b"b.*", "data": 0}
    assert await r.pubsub_numsub("a") == [(b"a", 0)]
    assert await r.pubsub_numpat() == 0
    await p.reset()
    await r.close()


@test
async def message_handlers(ctx):
    r = ctx.async_redis()
    p = r.pubsub(ignore_subscribe_messages=True)
    got = []

    async def on_message(m):
        got.append(m["data"])

    await p.subscribe(**{"handled": on_message})
    async def subscribed():
        return await r.pubsub_numsub("handled") == [(b"handled", 1)]
    await async_wait_until(subscribed, what="handled subscription")
    for i in range(20):
        await r.publish("handled", str(i))

    async def pump():
        while len(got) < 20:
            await p.get_message(timeout=1.0)
    await asyncio.wait_for(pump(), 5)
    assert got == [str(i).encode() for i in range(20)]
    await p.reset()
    await r.close()


@test
async def pubsub_introspection(ctx):
    r = ctx.async_redis()
    p = r.pubsub()
    await p.subscribe("one", "two")
    await p.psubscribe("t*")
    for _ in range(3):
        await next_message(p)
    assert sorted(await r.pubsub_channels()) == [b"one", b"two"]
    assert await r.pubsub_channels("t*") == [b"two"]
    assert await r.pubsub_numsub("one", "two", "three") == [(b"one", 1), (b"two", 1), (b"three", 0)]
    assert await r.pubsub_numpat() == 1
    await p.reset()
    await r.close()


SUBSCRIBERS = 1000
FANOUT_MESSAGES = 20


@test(timeout=90)
async def thousand_subscribers_one_channel(ctx):
    publisher = ctx.async_redis()
    clients = [ctx.async_redis(socket_timeout=30) for _ in range(SUBSCRIBERS)]
    subs = [c.pubsub(ignore_subscribe_messages=True) for c in clients]

    # Connect in groups of 100, well under the listen backlog (511 by default in redis 7.0).
    for start in range(0, SUBSCRIBERS, 100):
        await asyncio.gather(*(p.subscribe("fanout") for p in subs[start:start + 100]))

    async def numsub():
        return await publisher.pubsub_numsub("fanout") == [(b"fanout", SUBSCRIBERS)]
    await async_wait_until(numsub, timeout=20, what=f"{SUBSCRIBERS} subscribers")
    clients_info = await publisher.info("clients")
    assert clients_info["connected_clients"] == SUBSCRIBERS + 1, clients_info

    for i in range(FANOUT_MESSAGES):
        assert await publisher.publish("fanout", f"m{i}") == SUBSCRIBERS

    expected = [f"m{i}".encode() for i in range(FANOUT_MESSAGES)]
    results = await asyncio.wait_for(asyncio.gather(*(receive_data(p, FANOUT_MESSAGES) for p in subs)), 60)
    wrong = [n for n, got in enumerate(results) if got != expected]
    assert not wrong, f"{len(wrong)} subscribers got a wrong stream, first: {results[wrong[0]][:5]}"

    for start in range(0, SUBSCRIBERS, 100):
        await asyncio.gather(*(p.reset() for p in subs[start:start + 100]))
        await asyncio.gather(*(c.close() for c in clients[start:start + 100]))

    async def none_left():
        return await publisher.pubsub_numsub("fanout") == [(b"fanout", 0)]
    await async_wait_until(none_left, timeout=20, what="subscribers gone after UNSUBSCRIBE")
    await publisher.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
