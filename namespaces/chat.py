"""/chat: messages, agent streams, history, examples, stop; resume on connect."""

from __future__ import annotations

from collections.abc import Mapping

from namespaces.base import EventNamespace, Handler
from schemas.auth import ConnectAuth
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
from schemas.registry import CHAT
from server.agent.examples import EXAMPLES
from server.chat.service import ChatService
from server.context import ServerContext
from server.realtime.connection import ConnectionState

_RESUME_KEY = "resume"


class ChatNamespace(EventNamespace):
    def __init__(self, ctx: ServerContext, chat: ChatService) -> None:
        self.chat = chat
        super().__init__(CHAT, ctx)

    inline_events = frozenset({"chat:examples"})

    def event_handlers(self) -> Mapping[str, Handler]:
        return {
            "chat:send": self.send,
            "chat:stop": self.stop,
            "chat:threads": self.threads,
            "chat:history": self.history,
            "chat:examples": self.examples,
        }

    async def on_authenticated(self, sid: str, state: ConnectionState, auth: ConnectAuth) -> None:
        async with self.session(sid) as session:
            session[_RESUME_KEY] = auth.resume

    async def after_connect(self, sid: str) -> None:
        session = await self.get_session(sid)
        state = await self.connection(sid)
        await self.ctx.emitter.attach(sid, state.principal.id, session.get(_RESUME_KEY))

    async def on_closed(self, sid: str, state: ConnectionState | None, reason: str) -> None:
        if state is not None:
            self.ctx.emitter.detach(sid, state.principal.id)

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
