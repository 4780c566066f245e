"""Per-connection state, kept in the Socket.IO session and a per-namespace registry (never on
the namespace object itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.principal import Principal


@dataclass(slots=True)
class ConnectionState:
    principal: Principal
    token_expires_at: datetime
    client: str
    origin: str | None
    connected_at: datetime
    # The Engine.IO connection under this namespace's sid: /chat and /system share it.
    eio_sid: str = ""


SESSION_KEY = "connection"


class ConnectionRegistry:
    """Each connected sid's state, kept from connect to disconnect.

    The session holds the same object; this is what the per-event path reads, without the
    session's and the client manager's lookups on every event.
    """

    def __init__(self) -> None:
        self._by_sid: dict[str, ConnectionState] = {}

    def add(self, sid: str, state: ConnectionState) -> None:
        self._by_sid[sid] = state

    def get(self, sid: str) -> ConnectionState | None:
        return self._by_sid.get(sid)

    def remove(self, sid: str) -> None:
        self._by_sid.pop(sid, None)

    def __len__(self) -> int:
        return len(self._by_sid)
