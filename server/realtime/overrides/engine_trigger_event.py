"""Replaces python-engineio's `engineio.async_server.AsyncServer._trigger_event`.

Every packet passes through it: for `message` it calls python-socketio's (coroutine) handler
directly instead of building a closure and a coroutine-function check per call. It is also
the only place that sees each connection open (with its environ) and close, which the
engine's guards need (`connection_opened`, `connection_closed`); on a close it answers the
poll a long-polling client still has pending, which upstream leaves hanging until the next
ping (python-socketio's client waits for it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio

from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "engineio.async_server",
        "AsyncServer._trigger_event",
        sha256="4a09b6e47eb665325458df5d59b61d13547449eedb0ef25ce0b634005dae633b",
    ),
    # Fires `connect` with (sid, environ) before the socket can receive.
    Upstream(
        "engineio.async_server",
        "AsyncServer._handle_connect",
        sha256="5bd7edc1d1ae115ae973b4a39b435d3b243a3c9b1e3218f21bbeb7ef6aa37e93",
    ),
    # Fires `disconnect` with (sid, reason) while the socket is still in `sockets`.
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.close",
        sha256="faa2e93902543244d2a1b772cdf4074d1615532e98fa6ca896739ca54ad64e76",
    ),
)


class TriggerEvent(engineio.AsyncServer):  # type: ignore[misc]
    def connection_opened(self, eio_sid: str, environ: dict[str, Any]) -> None:
        """A connection was accepted (before its first packet)."""

    def connection_closed(self, eio_sid: str) -> None:
        """A connection is closing (before python-socketio's disconnect handling)."""

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message" and not kwargs.get("run_async"):
            handler = self.handlers.get("message")
            if handler is not None:
                try:
                    return await handler(*args)
                except asyncio.CancelledError:
                    return None
                except Exception:
                    self.logger.exception("message async handler error")
                    return None
        if event == "connect":
            self.connection_opened(args[0], args[1])
        elif event == "disconnect":
            self.connection_closed(args[0])
            socket = self.sockets.get(args[0])
            if socket is not None and not socket.upgraded:
                socket.queue.put_nowait(None)  # the pending poll, answered now
        return await super()._trigger_event(event, *args, **kwargs)
