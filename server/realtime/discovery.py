"""Builds the discovery document from the settings: the one source of what clients are told."""

from __future__ import annotations

from typing import Literal, cast

from schemas.discovery import (
    AuthInfo,
    Limits,
    NamespacePaths,
    ReconnectionPolicy,
    ReplayPolicy,
    Timeouts,
    WsConfig,
)
from schemas.registry import Registry
from server import __version__
from server.settings import Settings

SOCKETIO_PATH = "/socket.io"
# What of the contract's "Version 1.1 additions" this server serves.
FEATURES = ("parts", "reasoning", "approvals", "threads", "regenerate", "publish", "scopes", "agui")
DEV_LOGIN_PATH = "/api/auth/dev-login"


def build_ws_config(settings: Settings, registry: Registry, *, replay_enabled: bool) -> WsConfig:
    transports = cast(list[Literal["websocket", "polling"]], list(settings.transports))
    return WsConfig(
        server_version=__version__,
        deployment_id=settings.deployment_id,
        url=settings.public_url,
        path=SOCKETIO_PATH,
        namespaces=NamespacePaths(**{spec.key: spec.path for spec in registry.namespaces}),
        features=list(FEATURES),
        transports=transports,
        auth=AuthInfo(
            mode=settings.auth_mode,
            dev_login_url=DEV_LOGIN_PATH if settings.auth_mode == "dev" else None,
        ),
        reconnection=ReconnectionPolicy(
            delay_ms=settings.reconnect_delay_ms,
            delay_max_ms=settings.reconnect_delay_max_ms,
            randomization=settings.reconnect_randomization,
            attempts=settings.reconnect_attempts,
        ),
        timeouts=Timeouts(
            ping_interval_ms=int(settings.ping_interval_s * 1000),
            ping_timeout_ms=int(settings.ping_timeout_s * 1000),
            ack_timeout_ms=settings.ack_timeout_ms,
            connect_timeout_ms=settings.connect_timeout_ms,
        ),
        limits=Limits(
            max_payload_bytes=settings.max_payload_bytes,
            max_message_chars=settings.max_message_chars,
            events_per_minute=settings.rate_limit_per_min,
        ),
        replay=ReplayPolicy(
            enabled=replay_enabled,
            max_events=settings.replay_max_events,
            ttl_s=settings.replay_ttl_s,
        ),
    )
