#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Scenario: per-user JSON notifications, written as an app would with redis-py.

The app publishes each notification as JSON to `notifications:<user>` and
logs how many clients received it (the PUBLISH reply). Each logged-in device
subscribes to its user's channel, and an operations monitor subscribes to
`notifications:*` and takes the user from the channel name.
"""

import json
import threading

import harness
from harness import test, wait_until

CHANNEL_PREFIX = "notifications:"


# ---- application code -------------------------------------------------------

def notify(r, user, event):
    """Publish event to the user's channel; return how many clients received it."""
    return r.publish(CHANNEL_PREFIX + user, json.dumps(event))


class Device:
    """A logged-in device of one user, collecting the notifications it receives."""

    def __init__(self, r, user):
        self.events = []
        self.lock = threading.Lock()
        self.pubsub = r.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(**{CHANNEL_PREFIX + user: self.on_message})
        self.thread = self.pubsub.run_in_thread(sleep_time=0.01, daemon=True)

    def on_message(self, message):
        with self.lock:
            self.events.append(json.loads(message["data"]))

    def logout(self):
        self.thread.stop()
        self.thread.join(5)
        self.pubsub.close()


class Monitor:
    """Counts notifications per user across every user channel."""

    def __init__(self, r):
        self.seen = []
        self.lock = threading.Lock()
        self.pubsub = r.pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe(**{CHANNEL_PREFIX + "*": self.on_message})
        self.thread = self.pubsub.run_in_thread(sleep_time=0.01, daemon=True)

    def on_message(self, message):
        user = message["channel"].decode().split(":", 1)[1]
        with self.lock:
            self.seen.append((user, json.loads(message["data"])))

    def stop(self):
        self.thread.stop()
        self.thread.join(5)
        self.pubsub.close()


# ---- the scenario -----------------------------------------------------------

@test(timeout=30)
def notifications_reach_devices_and_monitor(ctx):
    r = ctx.redis()
    monitor = Monitor(r)
    alice_phone = Device(r, "alice")
    alice_laptop = Device(r, "alice")
    bob = Device(r, "bob")
    ops = Device(r, "team:ops")
    wait_until(lambda: r.pubsub_numsub("notifications:alice", "notifications:bob") ==
               [(b"notifications:alice", 2), (b"notifications:bob", 1)] and r.pubsub_numpat() == 1,
               what="devices and monitor subscribed")

    sent = []
    events = [
        ("alice", {"kind": "mention", "by": "bob", "text": "see the report \u2705"}),
        ("bob", {"kind": "like", "post": 17, "count": 3}),
        ("carol", {"kind": "invite", "room": "general"}),
        ("team:ops", {"kind": "alert", "host": "db1", "disk": {"used": 0.93}}),
        ("alice", {"kind": "reply", "thread": [1, 2, 3], "text": "\u00e7a marche"}),
    ]
    receivers = []
    for user, event in events:
        receivers.append(notify(r, user, event))
        sent.append((user, event))
    # Devices of the user plus the monitor; carol is offline, so only the monitor.
    assert receivers == [3, 2, 1, 2, 3], receivers

    expected_alice = [e for u, e in events if u == "alice"]
    wait_until(lambda: len(monitor.seen) == len(events) and len(alice_phone.events) == 2 and
               len(alice_laptop.events) == 2 and len(bob.events) == 1 and len(ops.events) == 1,
               what="all notifications delivered")
    assert alice_phone.events == expected_alice
    assert alice_laptop.events == expected_alice
    assert bob.events == [events[1][1]]
    assert ops.events == [events[3][1]]
    assert monitor.seen == sent

    # After bob logs out only the monitor receives his notifications.
    bob.logout()
    wait_until(lambda: r.pubsub_numsub("notifications:bob") == [(b"notifications:bob", 0)], what="bob logged out")
    assert notify(r, "bob", {"kind": "digest"}) == 1
    wait_until(lambda: len(monitor.seen) == len(events) + 1, what="monitor to see the digest")
    assert monitor.seen[-1] == ("bob", {"kind": "digest"})
    assert bob.events == [events[1][1]]

    for device in (alice_phone, alice_laptop, ops):
        device.logout()
    monitor.stop()
    wait_until(lambda: r.pubsub_channels() == [] and r.pubsub_numpat() == 0, what="all subscriptions gone")


if __name__ == "__main__":
    raise SystemExit(harness.main())
