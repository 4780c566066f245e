"""/system: hello on connect, ping, credential refresh."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from namespaces.base import BoundHandler, EventNamespace, on
from schemas.ack import ErrorCode
from schemas.registry import SYSTEM_AUTH_REFRESH, SYSTEM_NAMESPACE, SYSTEM_PING
from schemas.system import (
    AuthRefreshResult,
    PingResult,
    SystemAuthRefresh,
    SystemHello,
    SystemPing,
)
from server import __version__
from server.auth.errors import AuthFailure
from server.context import ServerContext
from server.errors import AppError
from server.realtime.connection import SESSION_KEY, ConnectionState

_REFRESH_ERRORS = {
    "token_expired": ErrorCode.TOKEN_EXPIRED,
    "forbidden": ErrorCode.FORBIDDEN,
}


class SystemNamespace(EventNamespace):
    def __init__(self, ctx: ServerContext) -> None:
        super().__init__(SYSTEM_NAMESPACE, ctx)

    inline_events = frozenset({SYSTEM_PING.name})

    def event_handlers(self) -> Sequence[BoundHandler[Any, Any]]:
        return (on(SYSTEM_PING, self.ping), on(SYSTEM_AUTH_REFRESH, self.auth_refresh))

    async def after_connect(self, sid: str) -> None:
        await super().after_connect(sid)
        state = await self.connection(sid)
        hello = SystemHello(
            server_version=__version__,
            principal=state.principal,
            token_expires_at=state.token_expires_at,
            server_time=datetime.now(UTC),
        )
        await self.ctx.emitter.to_connection(sid, hello)

    async def ping(self, sid: str, payload: SystemPing) -> PingResult:
        return PingResult(client_time=payload.client_time, server_time=datetime.now(UTC))

    async def auth_refresh(self, sid: str, payload: SystemAuthRefresh) -> AuthRefreshResult:
        state = await self.connection(sid)
        try:
            verified = await self.ctx.verifier.verify(payload.token)
        except AuthFailure as exc:
            code = _REFRESH_ERRORS.get(exc.code, ErrorCode.UNAUTHORIZED)
            raise AppError(code, exc.message) from None
        if verified.principal.id != state.principal.id:
            raise AppError(ErrorCode.FORBIDDEN, "A refreshed token must be for the same subject")
        # The new token covers every namespace this client opened on its connection.
        eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        for namespace in (spec.path for spec in self.ctx.registry.namespaces):
            other = self.server.manager.sid_from_eio_sid(eio_sid, namespace)
            if other is None:
                continue
            session = await self.server.get_session(other, namespace=namespace)
            connection: ConnectionState | None = session.get(SESSION_KEY)
            if connection is not None and connection.principal.id == state.principal.id:
                connection.token_expires_at = verified.expires_at
                self.ctx.token_watch.watch(namespace, other, connection)
        return AuthRefreshResult(expires_at=verified.expires_at)
