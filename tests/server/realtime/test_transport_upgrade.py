"""Clients that start on long-polling (socket.io-client's default) upgrade to a websocket."""

from __future__ import annotations

import asyncio

import socketio

from tests.harness import LiveServer


async def _ping(client: socketio.AsyncClient) -> dict[str, object]:
    ack: dict[str, object] = await client.call(
        "system:ping", {"client_time": 1}, namespace="/system", timeout=5
    )
    return ack


async def test_a_polling_client_upgrades_and_keeps_talking(server: LiveServer) -> None:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        server.url,
        namespaces=["/system", "/chat"],
        auth={"token": await server.token()},
        transports=["polling", "websocket"],
        wait_timeout=10,
    )
    try:
        for _ in range(50):
            if client.transport() == "websocket":
                break
            await asyncio.sleep(0.05)
        assert client.transport() == "websocket"
        assert (await _ping(client))["ok"] is True
        examples = await client.call("chat:examples", {}, namespace="/chat", timeout=5)
        assert examples["ok"] is True
    finally:
        await client.disconnect()


async def test_a_polling_only_client_is_served(server: LiveServer) -> None:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        server.url,
        namespaces=["/system"],
        auth={"token": await server.token()},
        transports=["polling"],
        wait_timeout=10,
    )
    try:
        assert client.transport() == "polling"
        for _ in range(3):
            assert (await _ping(client))["ok"] is True
    finally:
        # Its pending poll is answered when it closes, not at the next ping 25 s later.
        await asyncio.wait_for(client.disconnect(), 5)
