"""Every event name mapped to its payload model, both directions, in one place.

The emitter derives event names from here, the namespaces validate with it and
/api/ws-schema and the TypeScript types are generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from schemas import chat, system


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
    EventSpec("chat:send", CHAT, Direction.CLIENT_TO_SERVER, chat.ChatSend, chat.SendResult),
    EventSpec("chat:stop", CHAT, Direction.CLIENT_TO_SERVER, chat.ChatStop, chat.StopResult),
    EventSpec(
        "chat:threads", CHAT, Direction.CLIENT_TO_SERVER, chat.ChatThreads, chat.ThreadsResult
    ),
    EventSpec(
        "chat:history", CHAT, Direction.CLIENT_TO_SERVER, chat.ChatHistory, chat.HistoryResult
    ),
    EventSpec(
        "chat:examples", CHAT, Direction.CLIENT_TO_SERVER, chat.ChatExamples, chat.ExamplesResult
    ),
    EventSpec("chat:ready", CHAT, Direction.SERVER_TO_CLIENT, chat.ChatReady),
    EventSpec("chat:error", CHAT, Direction.SERVER_TO_CLIENT, chat.ChatErrorEvent),
    EventSpec("chat:message", CHAT, Direction.SERVER_TO_CLIENT, chat.ChatMessageEvent),
    EventSpec("agent:run_started", CHAT, Direction.SERVER_TO_CLIENT, chat.AgentRunStarted),
    EventSpec("agent:delta", CHAT, Direction.SERVER_TO_CLIENT, chat.AgentDelta),
    EventSpec("agent:tool_call", CHAT, Direction.SERVER_TO_CLIENT, chat.AgentToolCall),
    EventSpec("agent:tool_result", CHAT, Direction.SERVER_TO_CLIENT, chat.AgentToolResult),
    EventSpec("agent:run_completed", CHAT, Direction.SERVER_TO_CLIENT, chat.AgentRunCompleted),
    EventSpec("agent:run_failed", CHAT, Direction.SERVER_TO_CLIENT, chat.AgentRunFailed),
    EventSpec("agent:run_stopped", CHAT, Direction.SERVER_TO_CLIENT, chat.AgentRunStopped),
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
ERROR_EVENTS: dict[str, type[system.EventError]] = {
    SYSTEM: system.SystemErrorEvent,
    CHAT: chat.ChatErrorEvent,
}


def is_user_stream(spec: EventSpec) -> bool:
    """User-stream events carry seq and ts, reach every tab and are kept for replay."""
    return issubclass(spec.model, chat.UserStreamPayload)


def server_event(model: type[BaseModel]) -> EventSpec:
    """The spec of a server-to-client payload model; KeyError for a model not on the wire."""
    return SERVER_EVENTS[model]
