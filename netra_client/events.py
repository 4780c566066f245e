"""Typed handlers for server events, keyed by payload model, called one event at a time."""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from schemas.chat import ChatErrorEvent, ChatReady
from schemas.registry import SERVER_EVENTS, EventSpec
from schemas.system import (
    SystemErrorEvent,
    SystemHello,
    SystemNotice,
    SystemShutdown,
    SystemTokenExpiring,
)

log = logging.getLogger("netra_client")

# The server events that reach one connection and carry no seq. A constrained TypeVar (not a
# bound) keeps `on(AgentDelta, handler_of_AgentDelta)` a type error: stream handlers get
# `Sequenced[...]`.
ConnectionEvent = TypeVar(
    "ConnectionEvent",
    SystemHello,
    SystemNotice,
    SystemTokenExpiring,
    SystemShutdown,
    SystemErrorEvent,
    ChatReady,
    ChatErrorEvent,
)

Handler = Callable[[Any], Awaitable[None] | None]
Unsubscribe = Callable[[], None]


def spec_of(model: type[BaseModel]) -> EventSpec:
    """The server-to-client event a payload model travels as; TypeError for any other model."""
    spec = SERVER_EVENTS.get(model)
    if spec is None:
        raise TypeError(f"{model.__name__} is not an event the server sends")
    return spec


class Subscriptions:
    """Handlers per payload model. A failing handler is logged and does not stop the others."""

    def __init__(self) -> None:
        self._handlers: defaultdict[type[BaseModel], list[Handler]] = defaultdict(list)

    def add(self, model: type[BaseModel], handler: Handler) -> Unsubscribe:
        spec_of(model)
        self._handlers[model].append(handler)

        def unsubscribe() -> None:
            handlers = self._handlers[model]
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    async def deliver(self, model: type[BaseModel], item: object) -> None:
        for handler in list(self._handlers.get(model, ())):
            try:
                result = handler(item)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("handler for %s failed", spec_of(model).name)
