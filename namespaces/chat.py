"""/chat: messages, agent streams, history, examples, stop, approvals, regenerate, thread
management; resume on connect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from namespaces.base import BoundHandler, EventNamespace, on
from schemas.chat import (
    ApproveResult,
    ChatApprove,
    ChatDeleteThread,
    ChatExamples,
    ChatHistory,
    ChatRegenerate,
    ChatRenameThread,
    ChatSend,
    ChatStop,
    ChatThreads,
    DeleteThreadResult,
    ExamplesResult,
    HistoryResult,
    RegenerateResult,
    RenameThreadResult,
    SendResult,
    StopResult,
    ThreadsResult,
)
from schemas.registry import (
    CHAT_APPROVE,
    CHAT_DELETE_THREAD,
    CHAT_EXAMPLES,
    CHAT_HISTORY,
    CHAT_NAMESPACE,
    CHAT_REGENERATE,
    CHAT_RENAME_THREAD,
    CHAT_SEND,
    CHAT_STOP,
    CHAT_THREADS,
)
from server.agent.examples import EXAMPLES
from server.chat.service import ChatService
from server.chat.threads import Threads
from server.context import ServerContext


class ChatNamespace(EventNamespace):
    def __init__(self, ctx: ServerContext, chat: ChatService, threads: Threads) -> None:
        self.chat = chat
        self.thread_admin = threads
        super().__init__(CHAT_NAMESPACE, ctx)

    inline_events = frozenset({CHAT_EXAMPLES.name})

    def event_handlers(self) -> Sequence[BoundHandler[Any, Any]]:
        return (
            on(CHAT_SEND, self.send),
            on(CHAT_STOP, self.stop),
            on(CHAT_THREADS, self.threads),
            on(CHAT_HISTORY, self.history),
            on(CHAT_EXAMPLES, self.examples),
            on(CHAT_REGENERATE, self.regenerate),
            on(CHAT_APPROVE, self.approve),
            on(CHAT_RENAME_THREAD, self.rename_thread),
            on(CHAT_DELETE_THREAD, self.delete_thread),
        )

    async def send(self, sid: str, payload: ChatSend) -> SendResult:
        state = await self.connection(sid)
        return await self.chat.send(state.principal.id, payload)

    async def stop(self, sid: str, payload: ChatStop) -> StopResult:
        state = await self.connection(sid)
        return StopResult(stopped=await self.chat.stop(state.principal.id, payload.run_id))

    async def threads(self, sid: str, payload: ChatThreads) -> ThreadsResult:
        state = await self.connection(sid)
        return await self.thread_admin.page(
            state.principal.id, payload.limit, payload.before, payload.query
        )

    async def history(self, sid: str, payload: ChatHistory) -> HistoryResult:
        state = await self.connection(sid)
        return await self.chat.history(
            state.principal.id, payload.thread_id, payload.limit, payload.before
        )

    async def regenerate(self, sid: str, payload: ChatRegenerate) -> RegenerateResult:
        state = await self.connection(sid)
        return await self.chat.regenerate(state.principal.id, payload)

    async def approve(self, sid: str, payload: ChatApprove) -> ApproveResult:
        state = await self.connection(sid)
        decision = await self.chat.approve(
            state.principal.id, payload.run_id, payload.call_id, payload.approved, payload.args
        )
        return ApproveResult(decision=decision)

    async def rename_thread(self, sid: str, payload: ChatRenameThread) -> RenameThreadResult:
        state = await self.connection(sid)
        thread = await self.thread_admin.rename(
            state.principal.id, payload.thread_id, payload.title
        )
        return RenameThreadResult(thread=thread)

    async def delete_thread(self, sid: str, payload: ChatDeleteThread) -> DeleteThreadResult:
        state = await self.connection(sid)
        await self.thread_admin.delete(state.principal.id, payload.thread_id)
        return DeleteThreadResult()

    async def examples(self, sid: str, payload: ChatExamples) -> ExamplesResult:
        return ExamplesResult(examples=list(EXAMPLES))
