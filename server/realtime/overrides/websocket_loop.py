"""Replaces python-engineio's `engineio.async_socket.AsyncSocket._websocket_handler` (the
websocket loop, its upgrade handshake and its writer): the same protocol and outcomes without
its per-packet Tasks.

Upstream reads each frame through a new Task wrapped in `asyncio.wait_for`, and its writer
awaits each queue read through `wait_for`, which on Python 3.11 is one more Task per packet
sent. Here the reader has one idle deadline for the life of the connection (even
`asyncio.timeout` would build and reschedule a timer per packet), and the writer is a task
only while something is queued: it takes what is there, several frames in one write
(websocket_batch.py), and ends when the queue is empty. Upstream's writer also gives up after
`ping_interval + ping_timeout` with nothing to send; here nothing waits to time out: a client
that stops answering pings is closed by the engine's ping timeout check and its reader's idle
deadline, as upstream's is.
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

    writer = Writer(socket, ws)
    writer.start()
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
    socket.queue.put_nowait(None)  # the writer, started again if idle, ends on it
    await writer.finished()
    await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)


class Writer:
    """Writes what the socket's queue holds to the websocket: a task from the moment a packet
    is queued until the queue is empty again, and none while the connection is idle (a task
    waiting on the queue would be about 1 KB every held connection keeps: docs/performance.md).
    While no task runs, the engine may write a packet at once itself (`writer_idle`); once one
    is queued, everything after it is queued too, until the task has written them all.

    It ends for good on None in the queue (the connection is closing) or a failed write, and
    then closes the websocket, as upstream's writer does.
    """

    __slots__ = ("_ended", "_socket", "_task", "_ws")

    def __init__(self, socket: Any, ws: FrameSocket) -> None:
        self._socket = socket
        self._ws = ws
        self._task: asyncio.Task[None] | None = None
        self._ended = False

    def start(self) -> None:
        """Write what is already queued (the OPEN packet of a new connection) and from now
        on whatever is queued."""
        queue = self._socket.queue
        queue.notify(self)
        if queue.empty():
            self._socket.server.writer_idle(self._socket.sid, self._ws)
        else:
            self.queued()

    def queued(self) -> None:
        if self._task is None and not self._ended:
            self._socket.server.writer_busy(self._socket.sid)
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def finished(self) -> None:
        """Wait for the writer to end (None was queued), then forget it."""
        if self._task is not None:
            await self._task
        self._socket.queue.notify(None)
        self._socket.server.writer_busy(self._socket.sid)

    async def _drain(self) -> None:
        queue = self._socket.queue
        ws = self._ws
        while True:
            if queue.empty():
                # Nothing left: the task ends here, in the same step as the check, so a
                # packet queued later starts another.
                self._task = None
                self._socket.server.writer_idle(self._socket.sid, ws)
                return
            # What is already queued (a replay, a burst) goes out in one write.
            frames: list[str | bytes] = []
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
                elif frames:
                    await ws.write_frames(frames)
            except BaseException:
                closing = True
            if closing:
                break
        # Ended for good; the task is kept until the websocket is closed (`finished`).
        self._ended = True
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
