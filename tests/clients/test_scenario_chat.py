#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Scenario: a chat room on `chat:<room>`, written as an app would with redis.asyncio.

Members join (subscribe, then announce), talk, and leave (unsubscribe, then
announce). A room logger subscribed for the whole run records the order the
server gave the events. Every member must see exactly the slice of that log
from its own join to its leave: nothing lost, nothing reordered, even while
all members talk at once.
"""

import asyncio
import json

import harness
from harness import test


# ---- application code -------------------------------------------------------

class ChatMember:
    def __init__(self, redis, room, user):
        self.redis = redis
        self.channel = f"chat:{room}"
        self.user = user
        self.log = []
        self.pubsub = None
        self.reader = None
        self.sequence = 0

    async def join(self):
        await self._subscribe()
        await self._send("join")

    async def say(self, text):
        """Send text to the room; return how many clients received it."""
        return await self._send("message", text)

    async def leave(self):
        await self.pubsub.unsubscribe(self.channel)
        self.reader.cancel()
        await self.pubsub.reset()
        await self._send("leave")

    async def _send(self, kind, text=None):
        self.sequence += 1
        event = {"type": kind, "user": self.user, "seq": self.sequence}
        if text is not None:
            event["text"] = text
        return await self.redis.publish(self.channel, json.dumps(event))

    async def _subscribe(self):
        # subscribe() only sends the command. Announcing before the server
        # confirms could let the join overtake the subscription.
        self.pubsub = self.redis.pubsub()
        await self.pubsub.subscribe(self.channel)
        confirmation = await self.pubsub.get_message(timeout=5)
        assert confirmation and confirmation["type"] == "subscribe", confirmation
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        async for message in self.pubsub.listen():
            if message["type"] == "message":
                self.log.append(json.loads(message["data"]))


class RoomLogger(ChatMember):
    """A silent member that records every event of the room."""

    async def join(self):
        await self._subscribe()


# ---- the scenario -----------------------------------------------------------

async def wait_for_log(member, length, timeout=10.0):
    async def poll():
        while len(member.log) < length:
            await asyncio.sleep(0.01)
    try:
        await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"{member.user} got {len(member.log)} of {length} events") from None


@test(timeout=40)
async def chat_room_members_see_same_order(ctx):
    # No socket timeout: listen() would raise it whenever the room is quiet that long.
    redis = ctx.async_redis(socket_timeout=None)
    room = "lobby"
    logger = RoomLogger(redis, room, "logger")
    await logger.join()

    alice, bob, carol = (ChatMember(redis, room, u) for u in ("alice", "bob", "carol"))
    for member in (alice, bob, carol):
        await member.join()
    receivers = await alice.say("hi all")
    assert receivers == 4, receivers   # three members and the logger
    await bob.say("hello alice")

    # Everyone talks at once.
    async def chatter(member, count):
        for i in range(count):
            await member.say(f"{member.user} line {i}")
    await asyncio.gather(chatter(alice, 30), chatter(bob, 30), chatter(carol, 30))

    await bob.leave()
    assert await carol.say("bob left") == 3
    dave = ChatMember(redis, room, "dave")
    await dave.join()
    await dave.say("hi, I am new")
    await asyncio.gather(chatter(alice, 10), chatter(dave, 10))

    # 3 joins, 2 greetings, 90 lines, bob's leave, "bob left", dave's join and greeting, 20 lines.
    total = 3 + 2 + 90 + 1 + 1 + 2 + 20
    await wait_for_log(logger, total)
    events = [(e["user"], e["seq"]) for e in logger.log]
    assert len(events) == total, f"logger got {len(events)} events, expected {total}"

    # Every sender's events appear in the order it sent them.
    for user in ("alice", "bob", "carol", "dave"):
        seqs = [s for u, s in events if u == user]
        assert seqs == list(range(1, len(seqs) + 1)), f"{user}'s events out of order: {seqs}"

    for member in (alice, carol, dave, bob):
        start = events.index((member.user, 1))
        end = len(events)
        if member is bob:
            end = events.index(("bob", bob.sequence))   # bob unsubscribed before announcing
        await wait_for_log(member, end - start)
        got = [(e["user"], e["seq"]) for e in member.log]
        assert got == events[start:end], f"{member.user} saw a different stream than the room log"

    for member in (alice, carol, dave, logger):
        await member.leave()
    assert await redis.pubsub_numsub(f"chat:{room}") == [(f"chat:{room}".encode(), 0)]
    await redis.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
