"""Replaces python-socketio's `socketio.async_server.AsyncServer._handle_event` and
`AsyncServer._handle_event_internal`: a client event, and the task that runs its handler.

- `_handle_event`: an event on a namespace not joined, or without a name, is answered with a
  typed error ack where it carries an ack id and counted as a bad frame (upstream logs a
  warning, or raises on a nameless one). Events a namespace lists in `inline_events`
  (handlers that never wait) run on the connection's reader, without upstream's task per
  event.
- `_handle_event_internal`: sets `ack_requested`, since whether the client asked for an ack
  is known only here and handlers report a failed ack-less event as `<namespace>:error`;
  a client event named `connect` or `disconnect` goes to the namespace's `client_event`,
  never to its connect or disconnect handling as upstream would.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import socketio

from schemas.ack import ErrorCode
from server.realtime.overrides.upstream import Upstream

if TYPE_CHECKING:
    from server.realtime.engine import GuardedEngine

UPSTREAM = (
    Upstream(
        "socketio.async_server",
        "AsyncServer._handle_event",
        sha256="65178105ef8b593d1ebb63610cbabab0c29654cee50fd669ba0a66590f2e1f54",
    ),
    Upstream(
        "socketio.async_server",
        "AsyncServer._handle_event_internal",
        sha256="472e8b723a12d507ce3ee3eb8e1643cd326bdd9cc669392e6a636ec7aafdb366",
    ),
)

ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=False)


class HandleEvent(socketio.AsyncServer):  # type: ignore[misc]
    eio: GuardedEngine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._event_tasks: set[asyncio.Task[None]] = set()

    async def ack_error(
        self, eio_sid: str, namespace: str, id: Any, code: ErrorCode, message: str
    ) -> bool:
        """A typed error ack, if asked for on a joined namespace; False if none was sent."""
        raise NotImplementedError

    async def send_error_ack(
        self, eio_sid: str, namespace: str, id: int, code: ErrorCode, message: str
    ) -> None:
        raise NotImplementedError

    async def send_ack(self, eio_sid: str, namespace: str, id: int, data: list[Any]) -> None:
        raise NotImplementedError

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            answered = id is not None and namespace in self.namespace_handlers
            if answered:
                message = f"Not connected to {namespace}: connect with a token first"
                await self.send_error_ack(eio_sid, namespace, id, ErrorCode.UNAUTHORIZED, message)
            detail = f"event on {namespace[:100]}"
            self.eio.bad_frame(eio_sid, "not_connected", detail, answered=answered)
            return
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            answered = await self.ack_error(
                eio_sid,
                namespace,
                id,
                ErrorCode.INVALID_PAYLOAD,
                "An event is a list whose first item is the event's name",
            )
            detail = f"event data {str(data)[:60]}"
            self.eio.bad_frame(eio_sid, "no_event_name", detail, answered=answered)
            return
        handler = self.namespace_handlers.get(namespace)
        if data[0] in getattr(handler, "inline_events", ()) or not self.async_handlers:
            # The connection's next frame is read once this handler has answered.
            await self._handle_event_internal(self, sid, eio_sid, data, namespace, id)
            return
        task = self.start_background_task(
            self._handle_event_internal, self, sid, eio_sid, data, namespace, id
        )
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Any
    ) -> None:
        ack_requested.set(id is not None)
        handler = self.namespace_handlers.get(namespace)
        if data and data[0] in self.reserved_events and hasattr(handler, "client_event"):
            ack = await handler.client_event(sid, data[0], tuple(data[1:]))
            if id is not None:
                await self.send_ack(eio_sid, namespace, id, [ack])
            return
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
