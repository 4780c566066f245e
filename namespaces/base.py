"""The event machinery every namespace shares: authenticate, validate, call, ack.

python-socketio routes every event of a namespace through `trigger_event`; overriding it
once puts validation, acks and error mapping in a single place instead of on each handler.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import socketio
from loguru import logger
from pydantic import BaseModel
from socketio.exceptions import ConnectionRefusedError as SioConnectionRefusedError

from namespaces.payloads import parse_payload
from schemas.ack import AckError, ErrorBody, ErrorCode
from schemas.auth import ConnectAuth, ConnectRefusal
from schemas.events import ClientEvent, NamespaceSpec
from schemas.principal import Principal
from server.auth.connect import authenticate_connect, client_address, refuse
from server.auth.errors import AuthFailure
from server.context import ServerContext
from server.errors import AppError
from server.realtime.connection import SESSION_KEY, ConnectionState
from server.realtime.sio_server import ack_requested
from server.types import Environ

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class BoundHandler(Generic[P, R]):
    event: ClientEvent[P, R]
    handler: Callable[[str, P], Awaitable[R]]


def on(
    event: ClientEvent[P, R], handler: Callable[[str, P], Awaitable[R]]
) -> BoundHandler[Any, Any]:
    """Bind a handler to a client event: mypy checks that it takes the event's payload model
    (after the sid) and returns its result model.

    The result is typed `BoundHandler[Any, Any]` on purpose: were it `BoundHandler[P, R]`,
    inside `event_handlers() -> Sequence[BoundHandler[Any, Any]]` mypy would take P and R
    from that context (Any) and accept any handler."""
    return BoundHandler(event, handler)


_RESUME_KEY = "resume"


class EventNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """A singleton per namespace: per-connection state lives in the session (and, for the
    per-event path, in `ctx.connections`), not on self."""

    def __init__(self, spec: NamespaceSpec, ctx: ServerContext) -> None:
        super().__init__(spec.path)
        self.spec = spec
        self.ctx = ctx
        self.handlers: dict[str, BoundHandler[Any, Any]] = {}
        for bound in self.event_handlers():
            if spec.client_events.get(bound.event.name) is not bound.event:
                raise TypeError(f"{bound.event.name} is not an event of {spec.path}")
            self.handlers[bound.event.name] = bound
        missing = set(spec.client_events) - set(self.handlers)
        if missing:
            raise TypeError(f"{type(self).__name__} has no handler for {sorted(missing)}")

    def event_handlers(self) -> Sequence[BoundHandler[Any, Any]]:
        """Each client event of the namespace bound to its handler with `on`."""
        raise NotImplementedError

    # Events whose handlers never wait on anything (no I/O, no lock): they run on the
    # connection's reader instead of in a task of their own (server/realtime/sio_server.py).
    inline_events: frozenset[str] = frozenset()

    async def on_authenticated(self, sid: str, state: ConnectionState, auth: ConnectAuth) -> None:
        """Runs inside the connect handler after auth succeeded; may still refuse. With a
        user stream, keeps the client's resume position for `after_connect`."""
        if self.spec.has_stream:
            async with self.session(sid) as session:
                session[_RESUME_KEY] = auth.resume

    async def after_connect(self, sid: str) -> None:
        """Runs once the client has been told its connect succeeded. With a user stream,
        joins it: what the client missed first, then `<namespace>:ready`."""
        if self.spec.has_stream:
            session = await self.get_session(sid)
            state = await self.connection(sid)
            resume = session.get(_RESUME_KEY)
            await self.ctx.emitter.attach(sid, state.principal.id, resume, self.namespace)

    async def on_closed(self, sid: str, state: ConnectionState | None, reason: str) -> None:
        """Runs on disconnect."""
        if self.spec.has_stream and state is not None:
            self.ctx.emitter.detach(sid, state.principal.id, self.namespace)

    async def connection(self, sid: str) -> ConnectionState:
        known = self.ctx.connections.get(sid)
        if known is not None:
            return known
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
        return await self.client_event(args[0], event, args[1:])

    async def client_event(self, sid: str, event: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        """An event the client sent: its ack, also reported as an error event if it wanted none."""
        name = event if isinstance(event, str) else repr(event)
        ack = await self.dispatch(sid, name, args)
        known = name if name in self.handlers else "unknown"
        if not isinstance(ack, AckError):
            self.ctx.metrics.count_event(self.namespace, known, "ok")
            return ack
        self.ctx.metrics.count_event(self.namespace, known, ack.error.code.value)
        self._log_refused(sid, name, ack.error)
        if not ack_requested.get():
            await self.ctx.emitter.to_connection(
                sid,
                self.spec.error(code=ack.error.code, message=ack.error.message, event=name[:200]),
            )
        return ack.model_dump(mode="json", exclude_none=True)

    async def dispatch(
        self, sid: str, event: str, args: tuple[Any, ...]
    ) -> dict[str, Any] | AckError:
        """The ack: a success already as the dict it is sent as (the shape of `AckOk`), a
        failure as its model."""
        # Before anything else: a limited event is not parsed, not run, and takes no token.
        throttled = self._throttle(sid, event)
        if throttled is not None:
            return throttled
        bound = self.handlers.get(event)
        if bound is None:
            return _error(
                ErrorCode.UNKNOWN_EVENT, f"Unknown event {event[:100]!r} on {self.namespace}"
            )
        refused = self._out_of_scope(sid, bound.event)
        if refused is not None:
            return refused
        try:
            payload: BaseModel = parse_payload(bound.event.model, args)
            result = await bound.handler(sid, payload)
            # The model's own serializer, as model_dump calls it, without model_dump's
            # handling of a dozen options left at their defaults (about 2 µs an ack).
            data = result.__pydantic_serializer__.to_python(result, mode="json")
            return {"ok": True, "data": data}
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

    def _log_refused(self, sid: str, event: str, error: ErrorBody) -> None:
        """One line per refused event: namespace, sid, user, event, code; never the payload
        (which may hold a token). Rate limits and handler failures have lines of their own;
        anyone can send bad events, so each (namespace, code) is sampled."""
        if error.code in (ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL):
            return
        held = self.ctx.log_sampler.admit(f"refused {self.namespace} {error.code.value}")
        if held is None:
            return
        state = self.ctx.connections.get(sid)
        user = state.principal.id if state is not None else "-"
        logger.bind(
            event="event_refused", namespace=self.namespace, sid=sid, user=user, code=error.code
        ).warning(
            "event refused namespace={} sid={} user={} event={!r} code={} message={!r} "
            "suppressed={}",
            self.namespace,
            sid,
            user,
            event[:100],
            error.code.value,
            error.message[:200],
            held,
        )

    def _out_of_scope(self, sid: str, event: ClientEvent[Any, Any]) -> AckError | None:
        """A service principal may send only what its token's scopes grant."""
        state = self.ctx.connections.get(sid)
        if event.scope is None or state is None or state.principal.kind != "service":
            return None
        if event.scope in state.principal.scopes:
            return None
        return _error(
            ErrorCode.FORBIDDEN,
            f"{event.name} needs scope {event.scope!r}, which this token does not grant",
            {"scope": event.scope},
        )

    def _throttle(self, sid: str, event: str) -> AckError | None:
        state = self.ctx.connections.get(sid)
        if state is None:
            return None  # not connected (yet, or any more): the handler path answers that
        # Keyed by the Engine.IO connection: /chat and /system on one socket share a bucket.
        throttled = self.ctx.rate_limiter.take(sid, state.eio_sid, state.principal.id)
        if throttled is None:
            return None
        self.ctx.metrics.rate_limited.labels(self.namespace).inc()
        retry_ms = math.ceil(throttled.retry_after_s * 1000)
        if throttled.first:
            logger.bind(sid=sid, user=state.principal.id, namespace=self.namespace).warning(
                "rate limited namespace={} sid={} user={} event={!r} retry_after_ms={}",
                self.namespace,
                sid,
                state.principal.id,
                event[:100],
                retry_ms,
            )
        return _error(
            ErrorCode.RATE_LIMITED,
            f"Too many events; retry in {retry_ms} ms",
            {"retry_after_ms": retry_ms},
        )

    async def _connect(self, sid: str, environ: Environ, auth: Any) -> None:
        try:
            verified, connect_auth = await authenticate_connect(
                self.ctx.verifier, self.namespace, environ, auth, self.ctx.log_sampler
            )
            user = verified.principal.id
            self._claim_connection(sid, user, environ)
            try:
                eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace) or sid
                principal, expires_at = self._as_on_siblings(
                    eio_sid, verified.principal, verified.expires_at
                )
                state = ConnectionState(
                    principal=principal,
                    token_expires_at=expires_at,
                    client=client_address(environ),
                    origin=environ.get("HTTP_ORIGIN"),
                    connected_at=datetime.now(UTC),
                    eio_sid=eio_sid,
                )
                await self.save_session(sid, {SESSION_KEY: state})
                self.ctx.connections.add(sid, state)
                await self.on_authenticated(sid, state, connect_auth)
                self.ctx.token_watch.watch(self.namespace, sid, state)
            except BaseException:
                self.ctx.connections.remove(sid)
                self.ctx.connection_cap.release(self.namespace, user, sid)
                raise
        except SioConnectionRefusedError as refused:
            data = refused.error_args.get("data")
            code = data.get("code", "unknown") if isinstance(data, dict) else "unknown"
            self.ctx.metrics.connects_refused.labels(self.namespace, code).inc()
            raise
        except Exception:
            self.ctx.metrics.connects_refused.labels(self.namespace, "internal").inc()
            ref = uuid.uuid4().hex[:12]
            logger.bind(ref=ref, namespace=self.namespace).exception(
                "connect failed namespace={} ref={}", self.namespace, ref
            )
            refusal = ConnectRefusal(code="internal", message=f"Internal error (ref {ref})")
            raise SioConnectionRefusedError(refusal.message, refusal.model_dump()) from None
        self.ctx.metrics.connections.labels(self.namespace).inc()
        logger.bind(sid=sid, user=state.principal.id, namespace=self.namespace).info(
            "connected namespace={} sid={} user={} kind={} client={}",
            self.namespace,
            sid,
            state.principal.id,
            state.principal.kind,
            state.client,
        )

    def _as_on_siblings(
        self, eio_sid: str, principal: Principal, expires_at: datetime
    ) -> tuple[Principal, datetime]:
        """The principal (and expiry) another namespace of the same connection already holds,
        where they are equal to these: a connection on /system and /chat keeps one principal
        (a model, its set of fields, its strings), not one per namespace."""
        manager = self.server.manager
        for namespace in (spec.path for spec in self.ctx.registry.namespaces):
            other = (
                None
                if namespace == self.namespace
                else manager.sid_from_eio_sid(eio_sid, namespace)
            )
            state = None if other is None else self.ctx.connections.get(other)
            if state is not None and state.principal == principal:
                if state.token_expires_at == expires_at:
                    expires_at = state.token_expires_at
                return state.principal, expires_at
        return principal, expires_at

    def _claim_connection(self, sid: str, user: str, environ: Environ) -> None:
        cap = self.ctx.connection_cap
        if not cap.claim(self.namespace, user, sid):
            message = f"Too many open connections for this user (at most {cap.limit} here)"
            reason = f"connection limit reached ({cap.limit} on this node)"
            failure = AuthFailure("forbidden", message, reason, user)
            refuse(self.namespace, failure, environ, self.ctx.log_sampler)

    async def _disconnect(self, sid: str, reason: str) -> None:
        try:
            session = await self.get_session(sid)
        except KeyError:
            session = {}
        state: ConnectionState | None = session.get(SESSION_KEY)
        self.ctx.connections.remove(sid)
        self.ctx.rate_limiter.forget(sid)
        if state is None:
            return  # a refused connect: already logged as a refusal
        self.ctx.connection_cap.release(self.namespace, state.principal.id, sid)
        self.ctx.token_watch.forget(self.namespace, sid)
        self.ctx.metrics.connections.labels(self.namespace).dec()
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
