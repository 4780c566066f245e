"""Engine.IO with the guards below the namespaces, where one connection carries them all.

1. A websocket frame larger than `max_http_buffer_size`: aiohttp closes with 1009 and
   python-engineio would only see a transport error; here it is named, logged once and
   passed on as the disconnect reason (`frame too large`).
2. A client that stops reading: its outbound queue (unbounded in python-engineio) is checked
   by the emitter after each emit; past `max_outbound_queue` packets the connection is cut
   (`slow consumer`) instead of growing memory.
3. Frames that are not Engine.IO packets, or packets a client never sends, are dropped and
   counted (bad_frames.py) instead of logged with a traceback each; past the limit the
   connection is closed (`too many bad frames`).
4. Long-polling POSTs with a body over the limit are answered 413 at once, one that does not
   arrive in time 408, and the session is closed without waiting on a queue nobody drains.
5. A held connection keeps little: its outbound queue allocates only while in use, and its
   pings are timers on the loop's timer wheel, not a task each, its environ shares the
   strings every handshake repeats, and a websocket opened directly keeps none of
   python-engineio's handshake frames (docs/performance.md).

What replaces python-engineio's internals to get there lives in server/realtime/overrides/,
one module per upstream function; this class composes them and implements their hooks.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from engineio import exceptions, packet
from loguru import logger

from server.auth.connect import client_address
from server.realtime.bad_frames import TOO_MANY_BAD_FRAMES, BadFrameKind, BadFrames
from server.realtime.overrides.aiohttp_websocket import AiohttpWebSocketDriver
from server.realtime.overrides.engine_handle_connect import EngineHandleConnect
from server.realtime.overrides.engine_trigger_event import TriggerEvent
from server.realtime.overrides.log_error_once import LogErrorOnce
from server.realtime.overrides.polling_post import PollingPost
from server.realtime.overrides.socket_queue import SocketQueue
from server.realtime.overrides.translate_request import TranslateRequest
from server.realtime.overrides.websocket_connect import WebSocketConnect

FRAME_TOO_LARGE = "frame too large"
SLOW_CONSUMER = "slow consumer"


# What a client sends over Engine.IO: PONG, MESSAGE and CLOSE.
_CLIENT_PACKETS = frozenset({packet.PONG, packet.MESSAGE, packet.CLOSE})


class GuardedEngine(
    TriggerEvent,
    LogErrorOnce,
    WebSocketConnect,
    PollingPost,
    EngineHandleConnect,
    SocketQueue,
    TranslateRequest,
    AiohttpWebSocketDriver,
):
    def __init__(
        self,
        *args: Any,
        max_outbound_queue: int = 0,
        websocket_compression: bool = False,
        bad_frames: BadFrames | None = None,
        polling_body_timeout_s: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_outbound_queue = max_outbound_queue
        self.websocket_compression = websocket_compression
        self.bad_frames = BadFrames(limit=20) if bad_frames is None else bad_frames
        self.polling_body_timeout_s = polling_body_timeout_s
        self.posts_in_flight = 0
        self._websockets: dict[str, tuple[asyncio.Transport, dict[str, Any]]] = {}
        # Websocket writers waiting on an empty queue, by Engine.IO sid (send_packet).
        self._idle_writers: dict[str, Any] = {}
        self._environs: dict[str, dict[str, Any]] = {}  # for the log lines of closes
        self._allowance: dict[str, int] = {}
        self._cutting: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def send_packet(self, eio_sid: str, pkt: packet.Packet) -> None:
        """Written at once when the connection's writer waits on an empty queue (nothing can be
        ahead of it) and the transport takes it without waiting; queued as upstream otherwise.
        Saves waking the writer's task for each packet (an ack, a delta)."""
        ws = self._idle_writers.get(eio_sid)
        if ws is not None:
            socket = self.sockets.get(eio_sid)
            # Empty: a packet queued since the writer began waiting (its task not yet run)
            # must leave first.
            if (
                socket is not None
                and socket.queue.empty()
                and self._live(socket)
                and ws.write_now(pkt.encode())
            ):
                return
        await super().send_packet(eio_sid, pkt)

    def writer_idle(self, eio_sid: str, ws: Any) -> None:
        self._idle_writers[eio_sid] = ws

    def writer_busy(self, eio_sid: str) -> None:
        self._idle_writers.pop(eio_sid, None)

    def _live(self, socket: Any) -> bool:
        """What AsyncSocket.send checks before queuing: open, and its client still ponging
        (else it goes the queued way, which closes it)."""
        last_ping = socket.last_ping
        return not socket.closed and not (last_ping and time.time() - last_ping > self.ping_timeout)

    async def send_packets(self, eio_sid: str, pkts: list[packet.Packet]) -> None:
        """Queue packets on one connection at once, in order (a resume's replay): what
        `send_packet` does for each, with one lookup and one liveness check for all."""
        socket = self.sockets.get(eio_sid)
        if socket is None:
            self.logger.warning("Cannot send to sid %s", eio_sid)
            return
        if await socket.check_ping_timeout():
            queue = socket.queue
            for pkt in pkts:
                queue.put_nowait(pkt)  # unbounded: put would never wait either

    def backlog(self, eio_sid: str) -> int:
        socket = self.sockets.get(eio_sid)
        return 0 if socket is None else int(socket.queue.qsize())

    def expect_burst(self, eio_sid: str, packets: int) -> None:
        """`packets` are being queued at once on purpose (a resume's replay): they do not
        count against the bound until the queue has drained below it once."""
        self._allowance[eio_sid] = self._allowance.get(eio_sid, 0) + packets

    def check_backlog(self, eio_sid: str) -> None:
        if not self.max_outbound_queue or eio_sid in self._cutting:
            return
        waiting = self.backlog(eio_sid)
        if waiting <= self.max_outbound_queue:
            self._allowance.pop(eio_sid, None)
        elif waiting > self.max_outbound_queue + self._allowance.get(eio_sid, 0):
            self._close_soon(eio_sid, SLOW_CONSUMER, f"waiting={waiting}")

    def bad_frame(
        self, eio_sid: str, kind: BadFrameKind, detail: str, *, answered: bool = False
    ) -> None:
        """Count a frame the protocol does not have; close the connection past the limit."""
        socket = self.sockets.get(eio_sid)
        # Frames read after the connection closed are counted, but not against a connection
        # whose entry is already gone (it would never be forgotten).
        live = socket is not None and not socket.closed
        environ = self._environ(eio_sid)
        over = self.bad_frames.note(eio_sid, kind, detail, environ, answered or not live)
        if over and eio_sid not in self._cutting:
            self._close_soon(eio_sid, TOO_MANY_BAD_FRAMES, f"limit={self.bad_frames.limit}")

    async def receive_frame(self, socket: Any, frame: str | bytes) -> bool:
        """One Engine.IO frame from the client; False once the socket is closed."""
        try:
            pkt = packet.Packet(encoded_packet=frame)
        except Exception as exc:  # any garbage: python-engineio decodes without checks
            self.bad_frame(socket.sid, "engineio_garbage", f"{type(exc).__name__}: {exc}")
            return True
        return await self.receive_packet(socket, pkt)

    async def receive_packet(self, socket: Any, pkt: packet.Packet) -> bool:
        """One Engine.IO packet from the client; False once the socket is closed."""
        if socket.closed:
            return False
        if pkt.packet_type not in _CLIENT_PACKETS:
            # OPEN, PING and NOOP are the server's; UPGRADE only ever comes in the upgrade
            # handshake (overrides/websocket_loop.py reads it); 7 and up are no packet at all,
            # and python-engineio's packet log would fail on them.
            self.bad_frame(socket.sid, "engineio_unexpected", f"packet type {pkt.packet_type}")
            return True
        try:
            await socket.receive(pkt)
        except exceptions.UnknownPacketError:
            self.bad_frame(socket.sid, "engineio_unexpected", f"packet type {pkt.packet_type}")
        except exceptions.SocketIsClosedError:
            return False
        return not socket.closed  # a CLOSE from the client ends the connection

    def close_now(self, eio_sid: str, reason: str, detail: str) -> None:
        """Close a connection over a limit: logged once, its pending reads answered."""
        if eio_sid not in self._cutting:
            self._close_soon(eio_sid, reason, detail)

    def _close_soon(self, eio_sid: str, reason: str, detail: str) -> None:
        self._cutting.add(eio_sid)
        task = asyncio.create_task(self._cut(eio_sid, reason, detail))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cut(self, eio_sid: str, reason: str, detail: str) -> None:
        transport, environ = self._websockets.get(eio_sid, (None, self._environ(eio_sid)))
        self._log_close(eio_sid, reason, environ, detail)
        socket = self.sockets.get(eio_sid)
        if socket is not None:
            await socket.close(wait=False, abort=True, reason=reason)
            # Ends the websocket's writer (which then closes the websocket) or a pending poll.
            socket.queue.put_nowait(None)
        if transport is None:
            self.sockets.pop(eio_sid, None)  # polling: nothing else would remove it
        elif reason == SLOW_CONSUMER:
            # The writer is blocked on a full socket buffer: only an abort frees it.
            transport.abort()

    def _log_close(self, eio_sid: str, reason: str, environ: dict[str, Any], detail: str) -> None:
        held = self.bad_frames.sampler.admit(f"closed {reason}")
        if held is None:
            return  # a flood of such closes: the next line written counts them
        client = client_address(environ) if environ else "unknown"
        logger.bind(
            event="connection_closed", eio_sid=eio_sid, client=client, reason=reason
        ).warning(
            "connection closed reason={!r} eio_sid={} client={} origin={} {} suppressed={}",
            reason,
            eio_sid,
            client,
            (environ.get("HTTP_ORIGIN") or "-")[:200],
            detail,
            held,
        )

    def bad_request(self, message: str, kind: str) -> None:
        """python-engineio's report of a bad request (an unknown session, a bad transport).
        It is a client's mistake, which anyone can make at will: a sampled WARNING line."""
        held = self.bad_frames.sampler.admit(f"bad_request {kind}")
        if held is not None:
            logger.bind(event="bad_request", kind=kind).warning(
                "bad request kind={} detail={!r} suppressed={}", kind, message[:200], held
            )

    def _environ(self, eio_sid: str) -> dict[str, Any]:
        return self._environs.get(eio_sid, {})

    def connection_opened(self, eio_sid: str, environ: dict[str, Any]) -> None:
        self._environs[eio_sid] = environ

    def connection_closed(self, eio_sid: str) -> None:
        self._environs.pop(eio_sid, None)
        self._allowance.pop(eio_sid, None)
        self._cutting.discard(eio_sid)
        self.bad_frames.forget(eio_sid)

    def websocket_opened(
        self, eio_sid: str, transport: asyncio.Transport, environ: dict[str, Any]
    ) -> None:
        self._websockets[eio_sid] = (transport, environ)  # for a slow consumer's abort

    def websocket_closed(self, eio_sid: str) -> None:
        self._websockets.pop(eio_sid, None)

    async def frame_too_large(self, socket: Any, environ: dict[str, Any]) -> None:
        limit = f"limit_bytes={self.max_http_buffer_size}"
        self._log_close(socket.sid, FRAME_TOO_LARGE, environ, limit)
        await socket.close(wait=False, abort=True, reason=FRAME_TOO_LARGE)
