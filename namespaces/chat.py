"""/chat: messages, agent streams, history, examples, stop; resume on connect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from namespaces.base import BoundHandler, EventNamespace, on
from schemas.chat import (
    ChatExamples,
    ChatHistory,
    ChatSend,
    ChatStop,
    ChatThreads,
    ExamplesResult,
    HistoryResult,
    SendResult,
    StopResult,
    ThreadsResult,
)
from schemas.registry import (
    CHAT_EXAMPLES,
    CHAT_HISTORY,
    CHAT_NAMESPACE,
    CHAT_SEND,
    CHAT_STOP,
    CHAT_THREADS,
)
from server.agent.examples import EXAMPLES
from server.chat.service import ChatService
from server.context import ServerContext


class ChatNamespace(EventNamespace):
    def __init__(self, ctx: ServerContext, chat: ChatService) -> None:
        self.chat = chat
        super().__init__(CHAT_NAMESPACE, ctx)

    inline_events = frozenset({CHAT_EXAMPLES.name})

    def event_handlers(self) -> Sequence[BoundHandler[Any, Any]]:
        return (
            on(CHAT_SEND, self.send),
            on(CHAT_STOP, self.stop),
            on(CHAT_THREADS, self.threads),
            on(CHAT_HISTORY, self.history),
            on(CHAT_EXAMPLES, self.examples),
        )

    async def send(self, sid: str, payload: ChatSend) -> SendResult:
        state = await self.connection(sid)
        return await self.chat.send(state.principal.id, payload)

    async def stop(self, sid: str, payload: ChatStop) -> StopResult:
        state = await self.connection(sid)
        return StopResult(stopped=await self.chat.stop(state.principal.id, payload.run_id))

    async def threads(self, sid: str, payload: ChatThreads) -> ThreadsResult:
        state = await self.connection(sid)
        return ThreadsResult(threads=await self.chat.threads(state.principal.id))

    async def history(self, sid: str, payload: ChatHistory) -> HistoryResult:
        state = await self.connection(sid)
        messages = await self.chat.history(
            state.principal.id, payload.thread_id, payload.limit, payload.before
        )
        return HistoryResult(messages=messages)

    async def examples(self, sid: str, payload: ChatExamples) -> ExamplesResult:
        return ExamplesResult(examples=list(EXAMPLES))
