"""What a namespace declares: its events, each bound to its payload model, in both directions.

A `ClientEvent[Payload, Result]` names a client event, the model its payload is validated
into and the model of its ack's `data`; a handler bound to it is checked by mypy against both
(namespaces/base.py `on`). A `ServerEvent[Payload]` names what the server sends; a payload
that is a `StreamPayload` is a user-stream event (sequenced, kept for replay, every tab).
A `NamespaceSpec` gathers one namespace's events; the app's registry (schemas/registry.py)
is built from the specs it includes, and discovery, /api/ws-schema and the client's types
are read from that registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from schemas.ack import ErrorCode
from schemas.base import ServerPayload, UtcDatetime

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)

# What a service principal's token must grant to send an event (contract: "Principals and
# scopes"); None: any authenticated principal may.
Scope = Literal["chat:read", "chat:write", "publish"]
SCOPES: tuple[Scope, ...] = ("chat:read", "chat:write", "publish")

_NAMESPACE_PATH = re.compile(r"^/[a-z][a-z0-9_-]{0,30}$")


class Direction(StrEnum):
    CLIENT_TO_SERVER = "client_to_server"
    SERVER_TO_CLIENT = "server_to_client"


class StreamPayload(ServerPayload):
    """An event every connection of the user receives on its namespace, sequenced and kept
    for replay (the emitter stamps `seq` and `ts`)."""


class StreamReady(ServerPayload):
    """Sent once a connection has joined its user's stream, after anything it missed."""

    epoch: str
    head_seq: int
    recovery: Literal["fresh", "recovered", "reset"]
    replayed: int


class EventError(ServerPayload):
    """Sent as `<namespace>:error` when an event sent without an ack fails."""

    code: ErrorCode
    message: str
    event: str


class StreamEnvelope(ServerPayload):
    """The fields the emitter stamps on every user-stream event."""

    seq: int = Field(ge=1)
    ts: UtcDatetime


@dataclass(frozen=True)
class EventSpec:
    name: str
    namespace: str
    model: type[BaseModel]

    @property
    def direction(self) -> Direction:
        raise NotImplementedError

    @property
    def ack_model(self) -> type[BaseModel] | None:
        return None


@dataclass(frozen=True)
class ClientEvent(EventSpec, Generic[P, R]):
    """A client event: `model` validates its payload, `result` is its ack's `data`."""

    model: type[P]
    result: type[R]
    scope: Scope | None = None

    @property
    def direction(self) -> Direction:
        return Direction.CLIENT_TO_SERVER

    @property
    def ack_model(self) -> type[BaseModel] | None:
        return self.result


@dataclass(frozen=True)
class ServerEvent(EventSpec, Generic[P]):
    model: type[P]

    @property
    def direction(self) -> Direction:
        return Direction.SERVER_TO_CLIENT

    @property
    def stream(self) -> bool:
        return issubclass(self.model, StreamPayload)


@dataclass(frozen=True)
class NamespaceSpec:
    """One namespace's events. `key` names it in discovery (`namespaces.<key>`)."""

    path: str
    key: str
    events: tuple[EventSpec, ...]
    # Reports a failed event sent without an ack.
    error: type[EventError]
    # Sent after a connection joined the user's stream; None: the namespace has no stream.
    ready: type[StreamReady] | None = None
    client_events: dict[str, ClientEvent[Any, Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not _NAMESPACE_PATH.match(self.path):
            raise ValueError(f"namespace path {self.path!r}: a slash, then [a-z0-9_-]")
        wrong = [e.name for e in self.events if e.namespace != self.path]
        if wrong:
            raise ValueError(f"events {wrong} are not on {self.path}")
        clients = {e.name: e for e in self.events if isinstance(e, ClientEvent)}
        object.__setattr__(self, "client_events", clients)
        sent = {e.model for e in self.events if isinstance(e, ServerEvent)}
        if self.error not in sent or (self.ready is not None and self.ready not in sent):
            raise ValueError(f"{self.path}: its error and ready events must be among its events")
        streams = [e for e in self.events if isinstance(e, ServerEvent) and e.stream]
        if streams and self.ready is None:
            raise ValueError(f"{self.path} has user-stream events but no ready event")

    @property
    def has_stream(self) -> bool:
        return self.ready is not None
