#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Server limits as redis-py users meet them: the idle `timeout` closes idle
normal clients but spares subscribers, `maxclients` rejects the connection
over the limit with redis's error, and RESET or QUIT end subscribed mode."""

import time

import redis

import harness
from harness import read_until_close, test, wait_until


@test(timeout=30)
def idle_timeout_spares_subscribers(ctx):
    admin = ctx.redis(client_name="admin")
    sub_client = ctx.redis(client_name="subscriber")
    p = sub_client.pubsub()
    p.subscribe("quiet")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    idle = ctx.redis(client_name="idle")
    assert idle.ping()
    assert admin.config_set("timeout", 1) is True

    # redis checks idle clients from its cron, so closing takes a little over a second.
    def names():
        return sorted(c["name"] for c in admin.client_list())
    deadline = time.monotonic() + 8
    while "idle" in names() and time.monotonic() < deadline:
        assert admin.ping()          # keeps the admin connection busy
        time.sleep(0.2)
    assert names() == ["admin", "subscriber"], names()

    # The subscriber, idle just as long, still receives.
    assert admin.publish("quiet", "still here") == 1
    assert p.get_message(timeout=5)["data"] == b"still here"
    assert admin.config_set("timeout", 0) is True
    p.close()


@test
def maxclients_rejects_extra_connection(ctx):
    admin = ctx.redis()
    assert admin.config_set("maxclients", 3) is True
    subs = []
    for i in range(2):
        p = ctx.redis().pubsub()
        p.subscribe(f"slot{i}")
        assert p.get_message(timeout=5)["type"] == "subscribe"
        subs.append(p)

    # The server sends its error and closes at once, before any command.
    # redis-py finds unread data on the fresh connection and raises
    # "Connection not ready", so a raw socket reads the error itself.
    try:
        ctx.redis().ping()
    except redis.ConnectionError:
        pass
    else:
        raise AssertionError("a fourth connection was accepted with maxclients 3")
    extra = ctx.raw()
    assert read_until_close(extra) == b"-ERR max number of clients reached\r\n"
    extra.close()

    # The clients already connected are unaffected.
    assert admin.publish("slot0", "x") == 1
    assert subs[0].get_message(timeout=5)["data"] == b"x"

    subs.pop().close()
    wait_until(lambda: admin.info("clients")["connected_clients"] == 2, what="a slot to free up")
    assert ctx.redis().ping()
    for p in subs:
        p.close()


@test
def reset_and_quit_end_subscribed_mode(ctx):
    r = ctx.redis()
    p = r.pubsub()
    p.subscribe("a")
    p.psubscribe("b*")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    assert p.get_message(timeout=5)["type"] == "psubscribe"

    # RESET drops every subscription and leaves an ordinary connection.
    assert p.connection.send_command("RESET") is None
    assert p.connection.read_response() == b"RESET"
    assert r.pubsub_numsub("a") == [(b"a", 0)]
    assert r.pubsub_numpat() == 0
    p.connection.send_command("ECHO", "normal again")
    assert p.connection.read_response() == b"normal again"

    # QUIT while subscribed replies OK and closes the connection.
    q = r.pubsub()
    q.subscribe("c")
    assert q.get_message(timeout=5)["type"] == "subscribe"
    q.connection.send_command("QUIT")
    assert q.connection.read_response() == b"OK"
    wait_until(lambda: r.pubsub_numsub("c") == [(b"c", 0)], what="the QUIT connection to close")
    p.close()
    q.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
