"""Replaces python-engineio's `engineio.async_socket.AsyncSocket._websocket_handler` (the
websocket loop, its upgrade handshake and its writer): the same protocol and outcomes without
its per-packet Tasks.

Upstream reads each frame through a new Task wrapped in `asyncio.wait_for`, and its writer
awaits each queue read through `wait_for`, which on Python 3.11 is one more Task per packet
sent. Here each side has one idle deadline for the life of the connection (even
`asyncio.timeout` would build and reschedule a timer per packet), and the writer takes what
is already queued without waiting at all, several frames in one write (websocket_batch.py).
A text MESSAGE (every Socket.IO packet) goes straight to the server's message handler,
skipping a decode that would only find it is not JSON (unless python-engineio's packet log
is on, whose lines it would skip). A frame that is not an Engine.IO packet is counted as a
bad frame (server/realtime/engine.py), not logged with a traceback as upstream does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from engineio import packet

from server.realtime.idle_deadline import IdleDeadline
from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "engineio.async_socket",
        "AsyncSocket._websocket_handler",
        sha256="27f120df4d717a24478b7b0f7389ce19eea8a881dd07e2c81fb1cf2493e006a5",
    ),
    # The MESSAGE branch the fast path takes in its place; every other frame goes through it.
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.receive",
        sha256="a91ae36ec2fb5340713ec03be88b1ece9887d2f3116ff09f24dda3a6d965db28",
    ),
    # The queue protocol the writer drains as upstream's does (None ends it).
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.poll",
        sha256="826f58a9f3606db208e5d1266f075ad655b6eeda47b0a5616748624899ca5954",
    ),
)


# The most packets one write takes from the queue: a replay of thousands is written in
# slices, so its memory is bounded and flow control runs between them.
_BATCH_FRAMES = 256


class FrameSocket(Protocol):
    """The websocket as aiohttp_websocket.py drives it."""

    async def wait(self) -> Any: ...
    def write_now(self, message: str | bytes) -> bool: ...
    async def write_frame(self, message: str | bytes) -> None: ...
    async def write_frames(self, messages: list[str | bytes]) -> None: ...
    async def close(self) -> None: ...


async def run_websocket(socket: Any, ws: FrameSocket) -> None:
    """Serve one Engine.IO socket over `ws` until either side ends it."""
    server = socket.server
    idle_s = server.ping_interval + server.ping_timeout
    direct = not server.logger.isEnabledFor(logging.INFO)  # else receive() logs each packet

    limit = server.max_http_buffer_size
    if socket.connected:
        if not await _upgrade(socket, ws, limit):
            return
    else:
        socket.connected = True
        socket.upgraded = True

    writer_task = asyncio.ensure_future(_write(socket, ws, idle_s))
    deadline = IdleDeadline(idle_s)
    while True:
        try:
            deadline.begin_wait()
            # Read here, not through a helper coroutine: this wait lasts as long as the
            # connection, and every frame in it is held as long (docs/performance.md).
            frame = await ws.wait()
        except BaseException:  # timeout, transport error or cancellation: as upstream
            break
        deadline.end_wait()
        if frame and len(frame) > limit:
            break  # as upstream's "packet is too large"
        if frame is None or socket.closed:
            break  # closed by the client, or by the server (a CLOSE packet, a limit)
        if (
            direct
            and type(frame) is str
            and len(frame) > 1
            and frame[0] == "4"
            and frame[1].isnumeric()
        ):
            # A Socket.IO packet: upstream's decode would try it as JSON and fail.
            # The engine's message handler catches what its handlers raise.
            await server._trigger_event(
                "message", socket.sid, frame[1:], run_async=server.async_handlers
            )
        elif not await server.receive_frame(socket, frame):
            break  # the socket is closed

    deadline.settle()
    await socket.queue.put(None)  # unlock the writer so it can exit
    await writer_task
    await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)


async def _write(socket: Any, ws: FrameSocket, idle_s: float) -> None:
    queue: asyncio.Queue[Any] = socket.queue
    server = socket.server
    deadline = IdleDeadline(idle_s)
    while True:
        # Tested, not caught: an `except QueueEmpty` block around the wait below would keep
        # the exception and its traceback alive for as long as the connection is idle.
        if not queue.empty():
            pkt = queue.get_nowait()
        else:
            # While this waits on the empty queue, a packet sent to the connection may be
            # written at once by its sender (`writer_idle`); the server's pings still come
            # through the queue, so the idle deadline still sees them.
            server.writer_idle(socket.sid, ws)
            try:
                deadline.begin_wait()
                pkt = await queue.get()
            except asyncio.CancelledError:  # idle too long, or cancelled: as upstream
                break
            finally:
                server.writer_busy(socket.sid)
            deadline.end_wait()
        queue.task_done()
        if pkt is None:
            break  # the connection is closing
        # What else is already queued (a replay, a burst) goes out in the same write.
        frames = [pkt.encode()]
        closing = False
        while len(frames) < _BATCH_FRAMES and not queue.empty():
            pkt = queue.get_nowait()
            queue.task_done()
            if pkt is None:
                closing = True
                break
            frames.append(pkt.encode())
        try:
            if len(frames) == 1:
                await ws.write_frame(frames[0])
            else:
                await ws.write_frames(frames)
        except BaseException:
            break
        if closing:
            break
    deadline.settle()
    await ws.close()


async def _receive(ws: FrameSocket, limit: int) -> Any:
    data = await ws.wait()
    if data and len(data) > limit:
        raise ValueError("packet is too large")
    return data


async def _upgrade(socket: Any, ws: FrameSocket, limit: int) -> bool:
    """The polling-to-websocket upgrade handshake, as python-engineio does it."""
    socket.upgrading = True  # hold packet sends during the upgrade
    try:
        frame = await _receive(ws, limit)
    except (OSError, ValueError):  # closed, or a frame over the limit
        return False
    probe = _decode(frame)
    if probe is None or probe.packet_type != packet.PING or probe.data != "probe":
        socket.server.logger.info("%s: Failed websocket upgrade, no PING packet", socket.sid)
        socket.upgrading = False
        return False
    await ws.write_frame(packet.Packet(packet.PONG, data="probe").encode())
    await socket.queue.put(packet.Packet(packet.NOOP))  # end the pending poll
    try:
        frame = await _receive(ws, limit)
    except (OSError, ValueError):  # closed, or a frame over the limit
        socket.upgrading = False
        return False
    upgrade = _decode(frame)
    if upgrade is None or upgrade.packet_type != packet.UPGRADE:
        socket.upgraded = False
        socket.server.logger.info(
            "%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.",
            socket.sid,
            frame,
        )
        socket.upgrading = False
        return False
    socket.upgraded = True
    socket.upgrading = False
    return True


def _decode(frame: Any) -> packet.Packet | None:
    try:
        return packet.Packet(encoded_packet=frame)
    except Exception:  # garbage: python-engineio decodes without checks
        return None
