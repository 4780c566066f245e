"""Per-connection state is dropped when the connection goes, however it goes."""

from __future__ import annotations

import asyncio

from server.app_keys import CONTEXT
from tests.harness import LiveServer, connect, refusal


async def _until_empty(server: LiveServer) -> int:
    registry = server.app[CONTEXT].connections
    for _ in range(100):
        if len(registry) == 0:
            break
        await asyncio.sleep(0.02)
    return len(registry)


async def test_connections_leave_no_state_behind(server: LiveServer) -> None:
    registry = server.app[CONTEXT].connections
    token = await server.token()
    clients = [(await connect(server, ["/system", "/chat"], {"token": token}))[0] for _ in range(3)]
    assert len(registry) == 6  # one entry per namespace connection
    await clients[0].disconnect()
    await clients[1].disconnect()
    await clients[2].eio.disconnect(abort=True)  # a dropped transport, not a goodbye
    assert await _until_empty(server) == 0
    # A refused connect leaves nothing either.
    await refusal(server, "/chat", {"token": "not-a-token"})
    assert await _until_empty(server) == 0
