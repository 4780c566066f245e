"""The built-in namespaces' events, and the registry an app builds from what it includes.

`/system`, `/chat` and `/agui` are declared here; an application adds its own namespaces with a
`NamespaceSpec` of their own (docs/extending.md). The emitter takes event names from the
app's `Registry`, the namespaces validate with it, and /api/ws-schema, discovery and the
client's TypeScript types are read from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from schemas import agui, chat, publish, system
from schemas.events import ClientEvent, EventError, NamespaceSpec, ServerEvent
from schemas.events import Direction as Direction
from schemas.events import EventSpec as EventSpec

SYSTEM = "/system"
CHAT = "/chat"
AGUI = "/agui"

SYSTEM_PING = ClientEvent("system:ping", SYSTEM, system.SystemPing, system.PingResult)
SYSTEM_AUTH_REFRESH = ClientEvent(
    "system:auth_refresh", SYSTEM, system.SystemAuthRefresh, system.AuthRefreshResult
)

SYSTEM_NAMESPACE = NamespaceSpec(
    SYSTEM,
    "system",
    (
        SYSTEM_PING,
        SYSTEM_AUTH_REFRESH,
        ServerEvent("system:hello", SYSTEM, system.SystemHello),
        ServerEvent("system:notice", SYSTEM, system.SystemNotice),
        ServerEvent("system:token_expiring", SYSTEM, system.SystemTokenExpiring),
        ServerEvent("system:shutdown", SYSTEM, system.SystemShutdown),
        ServerEvent("system:error", SYSTEM, system.SystemErrorEvent),
    ),
    error=system.SystemErrorEvent,
)

CHAT_SEND = ClientEvent("chat:send", CHAT, chat.ChatSend, chat.SendResult, "chat:write")
CHAT_STOP = ClientEvent("chat:stop", CHAT, chat.ChatStop, chat.StopResult, "chat:write")
CHAT_THREADS = ClientEvent("chat:threads", CHAT, chat.ChatThreads, chat.ThreadsResult, "chat:read")
CHAT_HISTORY = ClientEvent("chat:history", CHAT, chat.ChatHistory, chat.HistoryResult, "chat:read")
CHAT_EXAMPLES = ClientEvent(
    "chat:examples", CHAT, chat.ChatExamples, chat.ExamplesResult, "chat:read"
)
CHAT_RENAME_THREAD = ClientEvent(
    "chat:rename_thread", CHAT, chat.ChatRenameThread, chat.RenameThreadResult, "chat:write"
)
CHAT_DELETE_THREAD = ClientEvent(
    "chat:delete_thread", CHAT, chat.ChatDeleteThread, chat.DeleteThreadResult, "chat:write"
)
CHAT_REGENERATE = ClientEvent(
    "chat:regenerate", CHAT, chat.ChatRegenerate, chat.RegenerateResult, "chat:write"
)
CHAT_APPROVE = ClientEvent("chat:approve", CHAT, chat.ChatApprove, chat.ApproveResult, "chat:write")

CHAT_NAMESPACE = NamespaceSpec(
    CHAT,
    "chat",
    (
        CHAT_SEND,
        CHAT_STOP,
        CHAT_THREADS,
        CHAT_HISTORY,
        CHAT_EXAMPLES,
        CHAT_RENAME_THREAD,
        CHAT_DELETE_THREAD,
        CHAT_REGENERATE,
        CHAT_APPROVE,
        ServerEvent("chat:ready", CHAT, chat.ChatReady),
        ServerEvent("chat:error", CHAT, chat.ChatErrorEvent),
        ServerEvent("chat:message", CHAT, chat.ChatMessageEvent),
        ServerEvent("agent:run_started", CHAT, chat.AgentRunStarted),
        ServerEvent("agent:delta", CHAT, chat.AgentDelta),
        ServerEvent("agent:tool_call", CHAT, chat.AgentToolCall),
        ServerEvent("agent:tool_result", CHAT, chat.AgentToolResult),
        ServerEvent("agent:run_completed", CHAT, chat.AgentRunCompleted),
        ServerEvent("agent:run_failed", CHAT, chat.AgentRunFailed),
        ServerEvent("agent:run_stopped", CHAT, chat.AgentRunStopped),
        ServerEvent("agent:reasoning", CHAT, chat.AgentReasoning),
        ServerEvent("agent:approval_requested", CHAT, chat.AgentApprovalRequested),
        ServerEvent("agent:approval_resolved", CHAT, chat.AgentApprovalResolved),
        ServerEvent("chat:thread_updated", CHAT, chat.ChatThreadUpdated),
        ServerEvent("chat:thread_deleted", CHAT, chat.ChatThreadDeleted),
        ServerEvent("app:event", CHAT, publish.AppEvent),
    ),
    error=chat.ChatErrorEvent,
    ready=chat.ChatReady,
)

AGUI_RUN = ClientEvent("agui:run", AGUI, agui.AguiRun, agui.AguiRunResult, "chat:write")

AGUI_NAMESPACE = NamespaceSpec(
    AGUI,
    "agui",
    (
        AGUI_RUN,
        ServerEvent("agui:event", AGUI, agui.AguiEvent),
        ServerEvent("agui:error", AGUI, agui.AguiErrorEvent),
    ),
    error=agui.AguiErrorEvent,
)

BUILT_IN: tuple[NamespaceSpec, ...] = (SYSTEM_NAMESPACE, CHAT_NAMESPACE, AGUI_NAMESPACE)


class Registry:
    """The namespaces one app serves, and every event on them."""

    def __init__(self, namespaces: Iterable[NamespaceSpec] = BUILT_IN) -> None:
        self._namespaces: dict[str, NamespaceSpec] = {}
        self._server: dict[type[BaseModel], ServerEvent[Any]] = {}
        for spec in namespaces:
            self.include(spec)

    def include(self, spec: NamespaceSpec) -> None:
        if spec.path in self._namespaces:
            raise ValueError(f"namespace {spec.path} is included twice")
        if spec.key in {n.key for n in self._namespaces.values()}:
            raise ValueError(f"namespace key {spec.key!r} is taken")
        names = {e.name for n in self._namespaces.values() for e in n.events}
        if clash := names & {e.name for e in spec.events}:
            raise ValueError(f"events {sorted(clash)} are already registered")
        for event in spec.events:
            if isinstance(event, ServerEvent):
                if event.model in self._server:
                    raise ValueError(f"{event.model.__name__} is the payload of two events")
                self._server[event.model] = event
        self._namespaces[spec.path] = spec

    @property
    def namespaces(self) -> tuple[NamespaceSpec, ...]:
        return tuple(self._namespaces.values())

    def namespace(self, path: str) -> NamespaceSpec:
        return self._namespaces[path]

    @property
    def events(self) -> tuple[EventSpec, ...]:
        return tuple(e for n in self._namespaces.values() for e in n.events)

    def server_event(self, model: type[BaseModel]) -> ServerEvent[Any]:
        """The event a server-to-client payload model is sent as; KeyError if none."""
        return self._server[model]


# Views of the built-in namespaces, for clients of the built-in protocol (netra_client).
_BUILT_IN = Registry()
EVENTS: tuple[EventSpec, ...] = _BUILT_IN.events
CLIENT_EVENTS: dict[tuple[str, str], EventSpec] = {
    (e.namespace, e.name): e for e in EVENTS if e.direction is Direction.CLIENT_TO_SERVER
}
SERVER_EVENTS: dict[type[BaseModel], EventSpec] = {
    e.model: e for e in EVENTS if e.direction is Direction.SERVER_TO_CLIENT
}
ERROR_EVENTS: dict[str, type[EventError]] = {n.path: n.error for n in BUILT_IN}


def is_user_stream(spec: EventSpec) -> bool:
    """User-stream events carry seq and ts, reach every tab and are kept for replay."""
    return isinstance(spec, ServerEvent) and spec.stream


def server_event(model: type[BaseModel]) -> EventSpec:
    """The built-in spec of a server-to-client payload model; KeyError if not on the wire."""
    return SERVER_EVENTS[model]
