"""Per-connection state, kept in the Socket.IO session (never on the namespace object)."""

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


SESSION_KEY = "connection"
