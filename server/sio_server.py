"""python-socketio's AsyncServer with two hooks the namespaces rely on.

1. Whether the client asked for an ack is known only inside the server; handlers need it to
   report a failed ack-less event as `<namespace>:error` instead.
2. Work that must follow the CONNECT packet (hello, replay, `chat:ready`) runs right after it,
   in the same task, so nothing can reach the client before its connect succeeds.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol

import socketio

ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=False)


class AfterConnect(Protocol):
    async def after_connect(self, sid: str) -> None: ...


class NetraServer(socketio.AsyncServer):  # type: ignore[misc]
    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Any
    ) -> None:
        ack_requested.set(id is not None)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        namespace = namespace or "/"
        handler = self.namespace_handlers.get(namespace)
        if handler is None or not hasattr(handler, "after_connect"):
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and self.manager.is_connected(sid, namespace):
            await handler.after_connect(sid)
