# SPDX-License-Identifier: BSD-3-Clause
"""Test registration and the command line shared by the python client tests.

Each tests/clients/test_*.py file registers its tests with @test and ends with
harness.main(). run.py starts a fresh server per test and runs one test per
process:

    test_x.py --list                        print "name<TAB>timeout_seconds<TAB>server_args_json" lines
    test_x.py --port P --server KIND --test NAME

A test receives a Context (port, server kind) and passes by returning. The
exit status is 0 for a pass, 1 for a failure (the traceback goes to stderr)
and 77 for a skip (raise Skip). The same test code runs against redis-server
and ringpub-server: the server kind is given for messages only.
"""

import argparse
import asyncio
import faulthandler
import inspect
import json
import os
import socket
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

HOST = "127.0.0.1"
SKIP_STATUS = 77

_tests = []


class Skip(Exception):
    """Exception a test raises when it cannot run here, with the reason as its message."""


class Context:
    def __init__(self, port, server):
        self.port = port
        self.server = server
        self.host = HOST

    def redis(self, **kwargs):
        """Return a redis-py client for the server under test (decode_responses off)."""
        import redis
        kwargs.setdefault("socket_timeout", 10)
        return redis.Redis(host=HOST, port=self.port, **kwargs)

    def async_redis(self, **kwargs):
        import redis.asyncio
        kwargs.setdefault("socket_timeout", 10)
        return redis.asyncio.Redis(host=HOST, port=self.port, **kwargs)

    def raw(self, timeout=5.0):
        """Return a plain TCP socket connected to the server."""
        s = socket.create_connection((HOST, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def cli(self, *args, timeout=10.0, input_bytes=None):
        """Run redis-cli against the server; return the CompletedProcess, output as bytes."""
        cmd = ["redis-cli", "-h", HOST, "-p", str(self.port)] + [str(a) for a in args]
        return subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout)


def test(fn=None, *, timeout=20, server_args=()):
    """Register a test function. Usable as @test or @test(timeout=seconds,
    server_args=[...]); run.py appends server_args to the server's command line."""
    def register(f):
        _tests.append((f.__name__, f, timeout, list(server_args)))
        return f
    if fn is not None:
        return register(fn)
    return register


def wait_until(predicate, timeout=5.0, interval=0.01, what="condition"):
    """Poll predicate() until it is true; raise AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value {last!r})")


async def async_wait_until(predicate, timeout=5.0, interval=0.01, what="condition"):
    """Like wait_until, for a coroutine function predicate."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value {last!r})")


async def receive_data(pubsub, count):
    """Return the data of the next count messages on a redis.asyncio PubSub.

    Waits without a limit: callers bound it with asyncio.wait_for.
    """
    received = []
    while len(received) < count:
        message = await pubsub.get_message(timeout=1.0)
        if message is not None:
            received.append(message["data"])
    return received


def read_until_close(sock, timeout=5.0, limit=1 << 20):
    """Read from sock until EOF or reset; return the bytes read.

    Raises AssertionError if the peer keeps the connection open past timeout
    seconds or sends more than limit bytes.
    """
    deadline = time.monotonic() + timeout
    data = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"server kept the connection open for {timeout}s; got {bytes(data[:200])!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(data)
        except socket.timeout:
            continue
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise AssertionError(f"server sent more than {limit} bytes before closing")


def main():
    parser = argparse.ArgumentParser(description="Run one real-client test against a running server.")
    parser.add_argument("--list", action="store_true", help="print test names and timeouts, then exit")
    parser.add_argument("--port", type=int, help="TCP port of the server on 127.0.0.1")
    parser.add_argument("--server", default="redis", help="server kind, for messages only: redis or ringpub")
    parser.add_argument("--test", help="name of the test to run")
    args = parser.parse_args()

    if args.list:
        for name, _, timeout, server_args in _tests:
            print(f"{name}\t{timeout}\t{json.dumps(server_args)}")
        return 0

    if args.port is None or args.test is None:
        parser.error("--port and --test are required unless --list is given")
    found = [t for t in _tests if t[0] == args.test]
    if not found:
        print(f"no test named {args.test!r} in {sys.argv[0]}", file=sys.stderr)
        return 2
    name, fn, timeout, _ = found[0]

    # A hung test prints every thread's stack before run.py kills it.
    faulthandler.dump_traceback_later(timeout, exit=True)
    ctx = Context(args.port, args.server)
    try:
        if inspect.iscoroutinefunction(fn):
            asyncio.run(asyncio.wait_for(fn(ctx), timeout))
        else:
            fn(ctx)
    except Skip as e:
        print(f"skipped: {e}", file=sys.stderr)
        return SKIP_STATUS
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        faulthandler.cancel_dump_traceback_later()
    return 0
