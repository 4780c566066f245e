"""What an idle, authenticated connection holds on the server: no outbound queue storage,
no task for its pings (they are timers on the loop's wheel), and pings that still keep it
alive. A regression here is memory every held connection pays (docs/performance.md)."""

from __future__ import annotations

import asyncio

from server.app_keys import CONTEXT, SIO
from server.realtime.packet_queue import PacketQueue
from server.realtime.timer_wheel import timer_wheel
from tests.conftest import SettingsFactory
from tests.harness import connect, live_server

CLIENTS = 3
PING_INTERVAL_S = 0.3


def _ping_tasks() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "AsyncSocket._send_ping"
    ]


async def test_idle_connections_hold_no_queue_storage_and_no_ping_task(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(ping_interval_s=PING_INTERVAL_S, ping_timeout_s=0.5)
    async with live_server(settings) as server:
        clients = []
        for n in range(CLIENTS):
            auth = {"token": await server.token(f"held-{n}")}
            client, recorder = await connect(server, ["/system", "/chat"], auth)
            await recorder.wait_for("/chat", "chat:ready")
            clients.append(client)
        try:
            # Several ping intervals, longer than interval + timeout: had the server's pings
            # stopped, the clients would have given up on it.
            await asyncio.sleep(PING_INTERVAL_S * 6)
            assert all(client.connected for client in clients)
            sockets = list(server.app[SIO].eio.sockets.values())
            assert len(sockets) == CLIENTS
            for socket in sockets:
                assert type(socket.queue) is PacketQueue
                assert socket.queue._items is None, "an idle queue holds no deque"
            assert _ping_tasks() == []
            # Per connection: its ping, the idle deadlines of its reader and writer, the
            # token checks of its two namespaces.
            assert len(timer_wheel()) >= CLIENTS * 5
            cap = server.app[CONTEXT].connection_cap
            assert all(type(sids) is tuple for sids in cap._open.values())
        finally:
            for client in clients:
                await client.disconnect()
