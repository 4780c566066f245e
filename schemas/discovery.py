"""The discovery document served at /api/ws-config: everything a client needs to connect."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NamespacePaths(_Doc):
    """Each namespace the server serves, by name: /chat and /system, and any an application
    added (docs/extending.md)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, str]

    chat: str = "/chat"
    system: str = "/system"


class AuthInfo(_Doc):
    mode: Literal["dev", "jwt"]
    dev_login_url: str | None


class ReconnectionPolicy(_Doc):
    delay_ms: int
    delay_max_ms: int
    randomization: float
    attempts: int | None  # None: keep trying forever


class Timeouts(_Doc):
    ping_interval_ms: int
    ping_timeout_ms: int
    ack_timeout_ms: int
    connect_timeout_ms: int


class Limits(_Doc):
    max_payload_bytes: int
    max_message_chars: int
    events_per_minute: int


class ReplayPolicy(_Doc):
    enabled: bool
    max_events: int
    ttl_s: int


class WsConfig(_Doc):
    protocol_version: Literal[1] = 1
    server_version: str
    deployment_id: str
    url: str | None  # None: connect to the origin the page came from
    path: str
    namespaces: NamespacePaths
    transports: list[Literal["websocket", "polling"]]
    auth: AuthInfo
    reconnection: ReconnectionPolicy
    timeouts: Timeouts
    limits: Limits
    replay: ReplayPolicy
    # What of the protocol's version 1.1 additions this server serves ("publish", ...).
    features: list[str] = []
