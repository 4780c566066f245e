"""Replaces python-engineio's `engineio.async_server.AsyncServer.create_queue` (public, but
what upstream calls on the queue it returns is not: pinned below): each socket's outbound
queue is server/realtime/packet_queue.py's `PacketQueue`.

`asyncio.Queue` costs about 3 KB per connection while empty (docs/performance.md, "Held
connections"); `PacketQueue` allocates nothing until a packet is queued.
"""

from __future__ import annotations

from typing import Any

import engineio

from server.realtime.overrides.upstream import Upstream
from server.realtime.packet_queue import PacketQueue

UPSTREAM = (
    Upstream(
        "engineio.async_server",
        "AsyncServer.create_queue",
        sha256="5ff5673a0c0176813f16592f7a50a08b19fa1c017e36789f5662cfac366f58e2",
    ),
    # Each socket's queue comes from `server.create_queue()`.
    Upstream(
        "engineio.base_socket",
        "BaseSocket.__init__",
        sha256="8532b631a4dc815f51afe4d3a7f782ddea8dbc32e26e29c2a3476ef1291ae6b9",
    ),
    # What upstream calls on it: get (under wait_for), get_nowait, put, put_nowait,
    # task_done, join.
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.poll",
        sha256="826f58a9f3606db208e5d1266f075ad655b6eeda47b0a5616748624899ca5954",
    ),
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.send",
        sha256="0437276ccba7ab091471e29f4bc6a0f178da7b16a590c707d6c69a97609e6d14",
    ),
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.close",
        sha256="faa2e93902543244d2a1b772cdf4074d1615532e98fa6ca896739ca54ad64e76",
    ),
)


class SocketQueue(engineio.AsyncServer):  # type: ignore[misc]
    def create_queue(self, *args: Any, **kwargs: Any) -> PacketQueue:
        return PacketQueue()
