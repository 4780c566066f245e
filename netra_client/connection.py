"""One Socket.IO connection carrying /chat and /system, kept alive and resumed across drops."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import socketio
from pydantic import BaseModel, ValidationError

from netra_client.errors import NetraError
from netra_client.events import ConnectionEvent, Subscriptions, Unsubscribe, log
from netra_client.http import discover
from netra_client.stream import S, Sequenced, StreamCursor, decode_stream_event
from netra_client.transcript import RunCollector
from schemas.chat import ChatReady, UserStreamPayload
from schemas.discovery import WsConfig
from schemas.registry import CHAT, EVENTS, SYSTEM, Direction, EventSpec
from schemas.system import SystemHello

TokenProvider = Callable[[], Awaitable[str]]
ResetHandler = Callable[[ChatReady], Awaitable[None] | None]

_Ack = TypeVar("_Ack", bound=BaseModel)


class SocketSession:
    """The connection half of `NetraClient`: discovery, auth, reconnection and event dispatch."""

    def __init__(
        self,
        base_url: str,
        token: str | TokenProvider,
        *,
        on_reset: ResetHandler | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._on_reset = on_reset
        self._config: WsConfig | None = None
        self._sio: socketio.AsyncClient | None = None
        self._cursor = StreamCursor()
        self._subscriptions = Subscriptions()
        self._collectors: set[RunCollector] = set()
        # Handlers run one event at a time, in arrival order: asyncio.Lock wakes waiters FIFO.
        self._deliver_lock = asyncio.Lock()
        self._hello: SystemHello | None = None
        self._ready: ChatReady | None = None
        self._hello_seen = asyncio.Event()
        self._ready_seen = asyncio.Event()
        # connect_error payloads of the latest attempts; bounded for a long outage's retries.
        self._refusals: deque[Any] = deque(maxlen=8)
        self._provider_error: Exception | None = None
        # How many reconnects came back with recovery "reset" (events were lost in between).
        self.resets = 0

    # State

    @property
    def config(self) -> WsConfig:
        if self._config is None:
            raise NetraError("not_connected", "connect() has not read the discovery document yet")
        return self._config

    @property
    def connected(self) -> bool:
        return self._sio is not None and bool(self._sio.connected)

    @property
    def hello(self) -> SystemHello | None:
        """The last `system:hello`: who the server thinks we are."""
        return self._hello

    @property
    def ready(self) -> ChatReady | None:
        """The last `chat:ready`; `ready.recovery == "reset"` means history must be reloaded."""
        return self._ready

    @property
    def cursor(self) -> StreamCursor:
        """Epoch, last seq, and the duplicates dropped and gaps seen so far."""
        return self._cursor

    # Lifecycle

    async def connect(self) -> None:
        """Read discovery, open /chat and /system, and return once hello and ready arrived."""
        if self.connected:
            return
        if self._sio is not None:
            await self.close()  # still retrying a dropped connection: start over instead
        config = self._config = await discover(self.base_url)
        policy = config.reconnection
        sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_attempts=policy.attempts or 0,  # 0: forever
            reconnection_delay=policy.delay_ms / 1000,
            reconnection_delay_max=policy.delay_max_ms / 1000,
            randomization_factor=policy.randomization,
            # A library must not take over the process's Ctrl-C handling.
            handle_sigint=False,
        )
        self._register(sio, config)
        self._sio = sio
        self._hello_seen.clear()
        self._ready_seen.clear()
        self._refusals.clear()
        timeout_s = config.timeouts.connect_timeout_ms / 1000
        try:
            await sio.connect(
                config.url or self.base_url,
                # Called on every (re)connect, so each attempt has a fresh token and position.
                auth=self._auth,
                transports=list(config.transports),
                namespaces=[config.namespaces.chat, config.namespaces.system],
                socketio_path=config.path,
                wait_timeout=timeout_s,
            )
        except socketio.exceptions.ConnectionError as exc:
            self._sio = None
            if self._provider_error is not None:
                raise NetraError(
                    "token_provider_failed", repr(self._provider_error)
                ) from self._provider_error
            raise self._refusal_error(str(exc)) from None
        try:
            await asyncio.wait_for(
                asyncio.gather(self._hello_seen.wait(), self._ready_seen.wait()), timeout_s
            )
        except TimeoutError:
            await self.close()
            raise NetraError(
                "timeout", "connected, but system:hello or chat:ready never came"
            ) from None

    async def close(self) -> None:
        """Disconnect, or stop reconnecting. Safe to call twice."""
        sio, self._sio = self._sio, None
        if sio is not None:
            await sio.shutdown()

    async def _auth(self) -> dict[str, Any]:
        self._refusals.clear()
        self._provider_error = None
        auth: dict[str, Any] = {}
        try:
            auth["token"] = self._token if isinstance(self._token, str) else await self._token()
        except Exception as exc:
            # Raising here would end python-socketio's reconnect loop for good; without a
            # token the server refuses this attempt and the loop tries again later.
            log.warning("the token provider failed: %r", exc)
            self._provider_error = exc
        # /system ignores `resume`; one auth object serves both namespaces.
        if (position := self._cursor.resume()) is not None:
            auth["resume"] = position.model_dump()
        return auth

    def _refusal_error(self, fallback: str) -> NetraError:
        for error in self._refusals:
            # A refused namespace connect: {"message", "data": {"code", "message"}}.
            data = error.get("data") if isinstance(error, dict) else None
            if isinstance(data, dict) and isinstance(data.get("code"), str):
                return NetraError(data["code"], str(data.get("message", "")), data)
        reason = next((str(d) for d in self._refusals if d), fallback)
        return NetraError("connect_failed", reason)

    # Events

    @overload
    def on(
        self, model: type[S], handler: Callable[[Sequenced[S]], Awaitable[None] | None]
    ) -> Unsubscribe: ...

    @overload
    def on(
        self,
        model: type[ConnectionEvent],
        handler: Callable[[ConnectionEvent], Awaitable[None] | None],
    ) -> Unsubscribe: ...

    def on(self, model: type[BaseModel], handler: Callable[[Any], Any]) -> Unsubscribe:
        """Call `handler` for every `model` event; returns a function that unsubscribes.

        User-stream models (AgentDelta, ChatMessageEvent, ...) give `Sequenced[Model]` with
        seq and ts, each seq once; the others give the model. The event name comes from
        `schemas.registry`. Handlers run one event at a time in arrival order, so an async
        handler holds back the next event until it returns.
        """
        return self._subscriptions.add(model, handler)

    def _register(self, sio: socketio.AsyncClient, config: WsConfig) -> None:
        namespaces = {CHAT: config.namespaces.chat, SYSTEM: config.namespaces.system}
        for spec in EVENTS:
            # The client speaks /chat and /system; other namespaces' events are not its own.
            if spec.direction is Direction.SERVER_TO_CLIENT and spec.namespace in namespaces:
                sio.on(spec.name, self._wire_handler(spec), namespace=namespaces[spec.namespace])

        def refused(*args: Any) -> None:
            self._refusals.extend(args)

        for namespace in namespaces.values():
            sio.on("connect_error", refused, namespace=namespace)

    def _wire_handler(self, spec: EventSpec) -> Callable[..., Awaitable[None]]:
        model = spec.model
        # The registry's own test for user-stream events, spelled so the type narrows.
        stream_model = model if issubclass(model, UserStreamPayload) else None

        async def handle(data: Any = None) -> None:
            # Everything before the first await runs in arrival order; keep state updates here.
            try:
                item: Any = (
                    decode_stream_event(stream_model, data)
                    if stream_model is not None
                    else model.model_validate(data if data is not None else {})
                )
            except ValidationError as exc:
                log.warning("dropped a malformed %s: %s", spec.name, exc)
                return
            reset = False
            if stream_model is not None:
                if not self._cursor.accept(item.seq):
                    return
                for collector in list(self._collectors):
                    collector.feed(item)
            elif isinstance(item, ChatReady):
                self._cursor.on_ready(item)
                self._ready = item
                self._ready_seen.set()
                if item.recovery == "reset":
                    reset = True
                    self.resets += 1
            elif isinstance(item, SystemHello):
                self._hello = item
                self._hello_seen.set()
            async with self._deliver_lock:
                await self._subscriptions.deliver(model, item)
                if reset and self._on_reset is not None:
                    await self._call_reset_handler(self._on_reset, item)

        return handle

    @staticmethod
    async def _call_reset_handler(handler: ResetHandler, ready: ChatReady) -> None:
        try:
            result = handler(ready)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_reset handler failed")

    # Calls

    async def _call(self, namespace: str, event: str, payload: BaseModel, ack: type[_Ack]) -> _Ack:
        """Emit with an ack; the ack's `data` parsed into `ack`, or NetraError."""
        sio = self._sio
        if sio is None or not sio.connected:
            raise NetraError("not_connected", f"{event}: the client is not connected")
        config = self.config
        real_namespace = config.namespaces.chat if namespace == CHAT else config.namespaces.system
        try:
            answer = await sio.call(
                event,
                payload.model_dump(mode="json", exclude_none=True),
                namespace=real_namespace,
                timeout=config.timeouts.ack_timeout_ms / 1000,
            )
        except socketio.exceptions.TimeoutError:
            raise NetraError("timeout", f"{event}: no ack in time", {"event": event}) from None
        except socketio.exceptions.BadNamespaceError:
            raise NetraError("not_connected", f"{event}: {namespace} is not connected") from None
        return _parse_ack(event, answer, ack)

    def _track(self, collector: RunCollector) -> Callable[[], None]:
        self._collectors.add(collector)
        return lambda: self._collectors.discard(collector)


def _parse_ack(event: str, answer: Any, ack: type[_Ack]) -> _Ack:
    if not isinstance(answer, dict):
        raise NetraError("bad_response", f"{event}: the ack is not an object")
    if answer.get("ok") is True:
        try:
            return ack.model_validate(answer.get("data"))
        except ValidationError as exc:
            raise NetraError("bad_response", f"{event}: {exc}") from None
    error = answer.get("error")
    if not isinstance(error, dict):
        raise NetraError("bad_response", f"{event}: an error ack without an error")
    details = error.get("details")
    raise NetraError(
        str(error.get("code", "unknown")),
        str(error.get("message", "")),
        details if isinstance(details, dict) else None,
    )
