"""The event machinery every namespace shares: authenticate, validate, call, ack.

python-socketio routes every event of a namespace through `trigger_event`; overriding it
once puts validation, acks and error mapping in a single place instead of on each handler.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import socketio
from loguru import logger
from pydantic import BaseModel
from socketio.exceptions import ConnectionRefusedError as SioConnectionRefusedError

from namespaces.payloads import parse_payload
from schemas.ack import AckError, AckOk, ErrorBody, ErrorCode
from schemas.auth import ConnectAuth, ConnectRefusal
from schemas.base import ServerPayload
from schemas.registry import CLIENT_EVENTS, ERROR_EVENTS
from server.auth.connect import authenticate_connect, client_address
from server.connection import SESSION_KEY, ConnectionState
from server.context import ServerContext
from server.errors import AppError
from server.sio_server import ack_requested
from server.types import Environ

Handler = Callable[[str, Any], Awaitable[ServerPayload]]


class EventNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """A singleton per namespace: per-connection state lives in the session, not on self."""

    def __init__(self, namespace: str, ctx: ServerContext) -> None:
        super().__init__(namespace)
        self.ctx = ctx
        self.handlers: Mapping[str, Handler] = self.event_handlers()
        missing = {n for (ns, n) in CLIENT_EVENTS if ns == namespace} - set(self.handlers)
        if missing:
            raise TypeError(f"{type(self).__name__} has no handler for {sorted(missing)}")

    def event_handlers(self) -> Mapping[str, Handler]:
        """Event name -> handler taking (sid, validated payload) and returning the ack data."""
        raise NotImplementedError

    async def on_authenticated(self, sid: str, state: ConnectionState, auth: ConnectAuth) -> None:
        """Runs inside the connect handler after auth succeeded; may still refuse."""

    async def after_connect(self, sid: str) -> None:
        """Runs once the client has been told its connect succeeded."""

    async def on_closed(self, sid: str, state: ConnectionState | None, reason: str) -> None:
        """Runs on disconnect."""

    async def connection(self, sid: str) -> ConnectionState:
        session = await self.get_session(sid)
        state: ConnectionState = session[SESSION_KEY]
        return state

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        if event == "connect":
            environ: Environ = args[1]
            auth = args[2] if len(args) > 2 else None
            await self._connect(args[0], environ, auth)
            return True
        if event == "disconnect":
            await self._disconnect(args[0], str(args[1]) if len(args) > 1 else "unknown")
            return None
        sid: str = args[0]
        name = event if isinstance(event, str) else repr(event)
        ack = await self.dispatch(sid, name, args[1:])
        if isinstance(ack, AckError) and not ack_requested.get():
            error_event = ERROR_EVENTS[self.namespace]
            await self.ctx.emitter.to_connection(
                sid,
                error_event(code=ack.error.code, message=ack.error.message, event=name[:200]),
            )
        return ack.model_dump(mode="json", exclude_none=True)

    async def dispatch(self, sid: str, event: str, args: tuple[Any, ...]) -> AckOk | AckError:
        spec = CLIENT_EVENTS.get((self.namespace, event))
        handler = self.handlers.get(event)
        if spec is None or handler is None:
            return _error(
                ErrorCode.UNKNOWN_EVENT, f"Unknown event {event[:100]!r} on {self.namespace}"
            )
        try:
            payload: BaseModel = parse_payload(spec.model, args)
            result = await handler(sid, payload)
            return AckOk(data=result.model_dump(mode="json"))
        except AppError as exc:
            return _error(exc.code, exc.message, exc.details)
        except Exception:
            ref = uuid.uuid4().hex[:12]
            logger.bind(ref=ref, sid=sid, event_name=event).exception(
                "handler failed event={} namespace={} sid={} ref={}",
                event,
                self.namespace,
                sid,
                ref,
            )
            return _error(ErrorCode.INTERNAL, f"Internal error (ref {ref})", {"ref": ref})

    async def _connect(self, sid: str, environ: Environ, auth: Any) -> None:
        try:
            verified, connect_auth = await authenticate_connect(
                self.ctx.verifier, self.namespace, environ, auth
            )
            state = ConnectionState(
                principal=verified.principal,
                token_expires_at=verified.expires_at,
                client=client_address(environ),
                origin=environ.get("HTTP_ORIGIN"),
                connected_at=datetime.now(UTC),
            )
            await self.save_session(sid, {SESSION_KEY: state})
            await self.on_authenticated(sid, state, connect_auth)
            self.ctx.token_watch.watch(self.namespace, sid, state)
        except SioConnectionRefusedError:
            raise
        except Exception:
            ref = uuid.uuid4().hex[:12]
            logger.bind(ref=ref, namespace=self.namespace).exception(
                "connect failed namespace={} ref={}", self.namespace, ref
            )
            refusal = ConnectRefusal(code="internal", message=f"Internal error (ref {ref})")
            raise SioConnectionRefusedError(refusal.message, refusal.model_dump()) from None
        logger.bind(sid=sid, user=state.principal.id, namespace=self.namespace).info(
            "connected namespace={} sid={} user={} kind={} client={}",
            self.namespace,
            sid,
            state.principal.id,
            state.principal.kind,
            state.client,
        )

    async def _disconnect(self, sid: str, reason: str) -> None:
        try:
            session = await self.get_session(sid)
        except KeyError:
            session = {}
        state: ConnectionState | None = session.get(SESSION_KEY)
        if state is None:
            return  # a refused connect: already logged as a refusal
        self.ctx.token_watch.forget(self.namespace, sid)
        logger.bind(sid=sid, user=state.principal.id, namespace=self.namespace).info(
            "disconnected namespace={} sid={} user={} reason={}",
            self.namespace,
            sid,
            state.principal.id,
            reason,
        )
        await self.on_closed(sid, state, reason)


def _error(code: ErrorCode, message: str, details: dict[str, Any] | None = None) -> AckError:
    return AckError(error=ErrorBody(code=code, message=message, details=details))
