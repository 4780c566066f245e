"""The one way out: every server-to-client event leaves through the Emitter."""

from __future__ import annotations

from collections import Counter

import socketio

from schemas.base import ServerPayload
from schemas.registry import server_event


class Emitter:
    """Typed emits: the event name and namespace come from the registry, never from callers."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        self.sent: Counter[str] = Counter()

    async def to_connection(self, sid: str, payload: ServerPayload) -> None:
        """A direct reply to one connection (hello, errors)."""
        spec = server_event(type(payload))
        await self._sio.emit(
            spec.name, payload.model_dump(mode="json"), to=sid, namespace=spec.namespace
        )
        self.sent[spec.name] += 1

    async def to_namespace(self, payload: ServerPayload) -> None:
        """Every connection of the payload's namespace (notices, shutdown)."""
        spec = server_event(type(payload))
        await self._sio.emit(spec.name, payload.model_dump(mode="json"), namespace=spec.namespace)
        self.sent[spec.name] += 1
