#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Password-protected server (CONFIG SET requirepass) with redis-py, redis.asyncio
and redis-cli: the right password subscribes and publishes, a wrong or
missing one is rejected with redis's error, and connections opened before the
password was set stay authenticated."""

import redis

import harness
from harness import test

PASSWORD = "s3cret pass"
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def protect(ctx):
    admin = ctx.redis()
    assert admin.config_set("requirepass", PASSWORD) is True
    return admin


@test
def redis_py_password(ctx):
    admin = protect(ctx)
    good = ctx.redis(password=PASSWORD)
    p = good.pubsub()
    p.subscribe("secure")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    assert good.publish("secure", "hi") == 1
    assert p.get_message(timeout=5)["data"] == b"hi"
    # The admin connection predates the password and stays authenticated.
    assert admin.publish("secure", "from admin") == 1
    assert p.get_message(timeout=5)["data"] == b"from admin"

    # redis-py 4.3.4 raises a WRONGPASS reply during connect as a plain ResponseError.
    try:
        ctx.redis(password="wrong").ping()
    except redis.ResponseError as e:
        assert str(e) == WRONGPASS, str(e)
    else:
        raise AssertionError("a wrong password was accepted")

    try:
        ctx.redis().publish("secure", "sneaky")
    except redis.AuthenticationError as e:
        assert str(e) == "Authentication required.", str(e)
    else:
        raise AssertionError("PUBLISH without a password was accepted")
    assert p.get_message(timeout=0.2) is None

    # Removing the password opens the server again.
    assert admin.config_set("requirepass", "") is True
    assert ctx.redis().publish("secure", "open") == 1
    p.close()


@test
async def asyncio_password(ctx):
    protect(ctx)
    good = ctx.async_redis(password=PASSWORD)
    p = good.pubsub()
    await p.psubscribe("secure.*")
    assert (await p.get_message(timeout=5))["type"] == "psubscribe"
    assert await good.publish("secure.a", "x") == 1
    m = None
    for _ in range(50):
        m = await p.get_message(timeout=0.1)
        if m:
            break
    assert m is not None and m["data"] == b"x", m

    bad = ctx.async_redis(password="wrong")
    try:
        await bad.ping()
    except redis.ResponseError as e:
        assert str(e) == WRONGPASS, str(e)
    else:
        raise AssertionError("a wrong password was accepted")
    await p.reset()
    await good.close()
    await bad.close()


@test
def redis_cli_password(ctx):
    protect(ctx)
    proc = ctx.cli("-a", PASSWORD, "--no-auth-warning", "PUBLISH", "ch", "x")
    assert proc.stdout == b"0\n", proc.stdout
    proc = ctx.cli("PUBLISH", "ch", "x")
    assert proc.stdout == b"NOAUTH Authentication required.\n\n", proc.stdout
    proc = ctx.cli("-a", "wrong", "--no-auth-warning", "PING")
    assert proc.stderr == b"AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n", proc.stderr


if __name__ == "__main__":
    raise SystemExit(harness.main())
