"""/system namespace events."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.base import ClientPayload, ServerPayload, UtcDatetime
from schemas.events import EventError
from schemas.principal import Principal

# Client to server


class SystemPing(ClientPayload):
    client_time: int | float


class SystemAuthRefresh(ClientPayload):
    token: str = Field(min_length=1, max_length=16384)


# Ack data


class PingResult(ServerPayload):
    client_time: int | float
    server_time: UtcDatetime


class AuthRefreshResult(ServerPayload):
    expires_at: UtcDatetime


# Server to client


class SystemHello(ServerPayload):
    protocol_version: Literal[1] = 1
    server_version: str
    principal: Principal
    token_expires_at: UtcDatetime
    server_time: UtcDatetime


class SystemNotice(ServerPayload):
    level: Literal["info", "warning", "error"]
    text: str


class SystemTokenExpiring(ServerPayload):
    expires_at: UtcDatetime


class SystemShutdown(ServerPayload):
    reconnect_after_ms: int


class SystemErrorEvent(EventError):
    pass
