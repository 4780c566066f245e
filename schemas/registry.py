"""Every event name mapped to its payload model, both directions, in one place.

The emitter derives event names from here, the namespaces validate with it and
/api/ws-schema and the TypeScript types are generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from schemas import system


class Direction(StrEnum):
    CLIENT_TO_SERVER = "client_to_server"
    SERVER_TO_CLIENT = "server_to_client"


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str
    namespace: str
    direction: Direction
    model: type[BaseModel]
    # Client events: the model of `data` in a successful ack.
    ack_model: type[BaseModel] | None = None


SYSTEM = "/system"
CHAT = "/chat"

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "system:ping", SYSTEM, Direction.CLIENT_TO_SERVER, system.SystemPing, system.PingResult
    ),
    EventSpec(
        "system:auth_refresh",
        SYSTEM,
        Direction.CLIENT_TO_SERVER,
        system.SystemAuthRefresh,
        system.AuthRefreshResult,
    ),
    EventSpec("system:hello", SYSTEM, Direction.SERVER_TO_CLIENT, system.SystemHello),
    EventSpec("system:notice", SYSTEM, Direction.SERVER_TO_CLIENT, system.SystemNotice),
    EventSpec(
        "system:token_expiring", SYSTEM, Direction.SERVER_TO_CLIENT, system.SystemTokenExpiring
    ),
    EventSpec("system:shutdown", SYSTEM, Direction.SERVER_TO_CLIENT, system.SystemShutdown),
    EventSpec("system:error", SYSTEM, Direction.SERVER_TO_CLIENT, system.SystemErrorEvent),
)

CLIENT_EVENTS: dict[tuple[str, str], EventSpec] = {
    (spec.namespace, spec.name): spec
    for spec in EVENTS
    if spec.direction is Direction.CLIENT_TO_SERVER
}

SERVER_EVENTS: dict[type[BaseModel], EventSpec] = {
    spec.model: spec for spec in EVENTS if spec.direction is Direction.SERVER_TO_CLIENT
}

# The event that reports a failed ack-less client event, per namespace.
ERROR_EVENTS: dict[str, type[system.EventError]] = {SYSTEM: system.SystemErrorEvent}


def server_event(model: type[BaseModel]) -> EventSpec:
    """The spec of a server-to-client payload model; KeyError for a model not on the wire."""
    return SERVER_EVENTS[model]
