"""Replaces python-engineio's `engineio.async_socket.AsyncSocket.schedule_ping` and
`_send_ping`: the server's next ping is a timer on the loop's timer wheel
(server/realtime/timer_wheel.py), not a background task asleep for `ping_interval`.

Upstream starts a task per ping: a Task, its coroutine, `asyncio.sleep`'s future and a loop
timer, about 1 KB held by every connection at all times. The ping is queued as upstream's
`send` queues it (the socket was just found open, and `last_ping` was just set, so its ping
timeout check cannot fail).
"""

from __future__ import annotations

import time

from engineio import packet
from engineio.async_socket import AsyncSocket

from server.realtime.overrides.upstream import Upstream
from server.realtime.timer_wheel import timer_wheel

UPSTREAM = (
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.schedule_ping",
        sha256="fe316639159cd70d34cdb911a055fc1a0056ff15615b8460a1ab6593c95e9372",
    ),
    Upstream(
        "engineio.async_socket",
        "AsyncSocket._send_ping",
        sha256="67db82a704ea49d0ad34e967728cec06020d036431d67c1612162a907526cb43",
    ),
    # What `_send_ping` awaits: the ping timeout check, then the queue.
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.send",
        sha256="0437276ccba7ab091471e29f4bc6a0f178da7b16a590c707d6c69a97609e6d14",
    ),
)


class TimerPingSocket(AsyncSocket):  # type: ignore[misc]
    last_ping: float | None  # when the last ping was sent; None once its PONG came
    closing: bool
    closed: bool

    def schedule_ping(self) -> None:
        # Only after the previous ping was answered, as upstream.
        if self.last_ping:
            self.last_ping = None
            timer_wheel().call_later(self.server.ping_interval, self._ping)

    def _ping(self) -> None:
        if self.closing or self.closed:
            return
        self.last_ping = time.time()
        self.queue.put_nowait(packet.Packet(packet.PING))
        self.server.logger.info("%s: Sending packet PING data None", self.sid)
