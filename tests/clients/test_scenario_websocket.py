#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Scenario: a FastAPI WebSocket endpoint that relays a pub/sub room.

Each WebSocket connection gets its own redis.asyncio subscription to
`room:<name>` and receives the room's messages as JSON. Text the client sends
is published to the room, "/switch <room>" moves the socket to another room
on the same subscriber connection, and closing the socket unsubscribes.
uvicorn serves the app on 127.0.0.1 inside the test's event loop; the
`websockets` package is the browser.
"""

import asyncio
import json

import harness  # also puts tests/lib on sys.path
from harness import test

import rpserver  # noqa: E402

try:
    import fastapi
    import uvicorn
    import websockets
    from fastapi import WebSocket, WebSocketDisconnect
    IMPORT_ERROR = None
except ImportError as e:
    IMPORT_ERROR = e


# ---- application code -------------------------------------------------------

def create_app(redis_host, redis_port):
    import redis.asyncio
    app = fastapi.FastAPI()
    # No socket timeout: a quiet room must not break the subscriber's read.
    client = redis.asyncio.Redis(host=redis_host, port=redis_port, socket_timeout=None)

    @app.websocket("/ws/{room}")
    async def room_socket(websocket: WebSocket, room: str):
        await websocket.accept()
        pubsub = client.pubsub()
        current = {"room": room}

        async def forward():
            # This task is the only reader of the subscriber connection. It
            # passes confirmations on too, so the browser learns when it is in a room.
            async for message in pubsub.listen():
                name = message["channel"].decode().split(":", 1)[1] if message["channel"] else None
                if message["type"] == "subscribe":
                    await websocket.send_json({"event": "subscribed", "room": name})
                elif message["type"] == "message":
                    await websocket.send_json({"event": "message", "room": name,
                                               "data": message["data"].decode()})

        await pubsub.subscribe(f"room:{room}")
        forwarder = asyncio.create_task(forward())
        try:
            while True:
                text = await websocket.receive_text()
                if text.startswith("/switch "):
                    await pubsub.unsubscribe(f"room:{current['room']}")
                    current["room"] = text.split(" ", 1)[1]
                    await pubsub.subscribe(f"room:{current['room']}")
                else:
                    await client.publish(f"room:{current['room']}", text)
        except WebSocketDisconnect:
            pass
        finally:
            forwarder.cancel()
            await pubsub.unsubscribe()
            await pubsub.reset()

    return app, client


# ---- the scenario -----------------------------------------------------------

async def receive_json(ws, timeout=5.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def numsub(r, channel):
    return (await r.pubsub_numsub(channel))[0][1]


async def wait_numsub(r, channel, expected, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        n = await numsub(r, channel)
        if n == expected:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"PUBSUB NUMSUB {channel} is {n} after {timeout}s, expected {expected}")
        await asyncio.sleep(0.02)


@test(timeout=40)
async def websocket_relay_subscribes_per_socket(ctx):
    if IMPORT_ERROR is not None:
        raise AssertionError(f"the WebSocket scenario needs python3-fastapi, python3-uvicorn and "
                             f"python3-websockets (apt-get install them): {IMPORT_ERROR}")
    app, app_redis = create_app(ctx.host, ctx.port)
    http_port = rpserver.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=http_port, log_level="warning",
                                           lifespan="off"))
    serving = asyncio.create_task(server.serve())
    r = ctx.async_redis()
    try:
        for _ in range(500):
            if server.started or serving.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start within 5s"

        url = f"ws://127.0.0.1:{http_port}/ws"
        ws1 = await websockets.connect(f"{url}/general")
        ws2 = await websockets.connect(f"{url}/general")
        assert await receive_json(ws1) == {"event": "subscribed", "room": "general"}
        assert await receive_json(ws2) == {"event": "subscribed", "room": "general"}
        assert await numsub(r, "room:general") == 2

        # Messages published by anyone reach both sockets in order.
        for i in range(10):
            assert await r.publish("room:general", f"news {i}") == 2
        for ws in (ws1, ws2):
            got = [await receive_json(ws) for _ in range(10)]
            assert got == [{"event": "message", "room": "general", "data": f"news {i}"} for i in range(10)]

        # Text from a socket is published to the room, back to both.
        await ws1.send("hello from ws1")
        for ws in (ws1, ws2):
            assert await receive_json(ws) == {"event": "message", "room": "general", "data": "hello from ws1"}

        # Switching rooms unsubscribes on a connection that stays open.
        await ws2.send("/switch random")
        assert await receive_json(ws2) == {"event": "subscribed", "room": "random"}
        assert await numsub(r, "room:general") == 1
        assert await numsub(r, "room:random") == 1
        assert await r.publish("room:random", "only ws2") == 1
        assert await receive_json(ws2) == {"event": "message", "room": "random", "data": "only ws2"}

        # A clean close and an abrupt one both drop the subscription.
        await ws1.close()
        await wait_numsub(r, "room:general", 0)
        ws2.transport.abort()
        await wait_numsub(r, "room:random", 0)
        assert await r.publish("room:random", "nobody") == 0
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        await app_redis.close()
        await r.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
