"""Replaces python-socketio's `socketio.async_server.AsyncServer._handle_connect` (wrapping it).

- A connect to a namespace the server does not have (there is no default namespace `/`), or
  to one this connection has already joined, is refused with a typed `connect_error` and
  counted as a bad frame, instead of upstream's bare "Unable to connect".
- Work that must follow the CONNECT packet (hello, replay, `chat:ready`) runs in the
  namespace's `after_connect`, right after upstream has sent it, in the same task, so nothing
  can reach the client before its connect succeeds. This depends on upstream sending the
  CONNECT and joining the manager within `_handle_connect` (5.18 rewrote it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import socketio

from schemas.auth import RefusalCode
from server.realtime.overrides.upstream import Upstream

if TYPE_CHECKING:
    from server.realtime.engine import GuardedEngine

UPSTREAM = (
    Upstream(
        "socketio.async_server",
        "AsyncServer._handle_connect",
        sha256="c97c480cf777de36bd6348c6335ac61b324e6ed16372660100d10223faf79a74",
    ),
)


class HandleConnect(socketio.AsyncServer):  # type: ignore[misc]
    eio: GuardedEngine

    async def refuse_connect(
        self, eio_sid: str, namespace: str, code: RefusalCode, message: str
    ) -> None:
        raise NotImplementedError

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        namespace = namespace or "/"
        if namespace not in self.namespace_handlers and namespace not in self.handlers:
            await self.refuse_connect(eio_sid, namespace, "not_found", "Invalid namespace")
            detail = f"connect to {namespace[:100]}"
            self.eio.bad_frame(eio_sid, "unknown_namespace", detail, answered=True)
            return
        if self.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
            # Already joined on this connection: upstream would answer an untyped error and
            # this class would run `after_connect` again (hello, ready) for the old sid. No
            # client library does this, so it counts towards the bad-frame limit.
            message = f"Already connected to {namespace} on this connection"
            await self.refuse_connect(eio_sid, namespace, "forbidden", message)
            self.eio.bad_frame(eio_sid, "unexpected_packet", f"second connect to {namespace}")
            return
        await super()._handle_connect(eio_sid, namespace, data)
        handler = self.namespace_handlers.get(namespace)
        if handler is None or not hasattr(handler, "after_connect"):
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and self.manager.is_connected(sid, namespace):
            await handler.after_connect(sid)
