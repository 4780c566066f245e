"""An AG-UI request as one of our runs, and that run as an AG-UI event stream.

A request does one of three things, then streams the run it names:

- resume entries answer approval interrupts: each is `chat:approve` of our run's call;
- a threadId and runId seen before (a retried request, or one whose stream was lost) name
  the run they started: nothing is sent again;
- otherwise the last message, the user's, is sent like `chat:send`, keyed by the runId.

Every stream is RUN_STARTED, a `netra.run` custom event with our ids, MESSAGES_SNAPSHOT of
the thread (with the answer so far), then the run's events after what the snapshot holds,
until its outcome or an approval request. The listener is opened before anything is sent,
so whatever the run does after the snapshot reaches the stream exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Message,
    MessagesSnapshotEvent,
    ResumeEntry,
    RunAgentInput,
    RunErrorEvent,
    RunStartedEvent,
    UserMessage,
)
from pydantic import JsonValue

from schemas.ack import ErrorCode
from schemas.chat import ChatSend, HistoryMessage
from server.agui.layout import client_msg_id, parse_interrupt_id
from server.agui.snapshot import snapshot_messages
from server.agui.threads import ThreadMap
from server.agui.translate import METADATA_KEY, RunTranslator
from server.chat.service import ChatService
from server.errors import AppError
from server.realtime.emitter import Emitter
from server.realtime.stream_listener import StreamGap, StreamListener
from server.stores.chat_store import ChatStore

# How many of the thread's newest messages MESSAGES_SNAPSHOT holds.
SNAPSHOT_MESSAGES = 100


@dataclass(frozen=True, slots=True)
class _Target:
    thread_id: str
    run_id: str
    # Sent by this request: the thread as it was (every event of the run follows the
    # listener's opening, so they all stream live); None for a run started before.
    fresh: list[Message] | None = None
    answered: set[str] = field(default_factory=set)  # calls this request approved or denied
    # The thread read before acting on the run (so what the answer does next streams live).
    history: list[HistoryMessage] | None = None


@dataclass(frozen=True, slots=True)
class RunStream:
    """What a request started or named: our thread and run, and its AG-UI event stream."""

    thread_id: str
    run_id: str
    events: AsyncIterator[BaseEvent]


def _invalid(message: str) -> AppError:
    return AppError(ErrorCode.INVALID_PAYLOAD, message)


class AguiRuns:
    def __init__(self, chat: ChatService, store: ChatStore, emitter: Emitter) -> None:
        self.chat = chat
        self._emitter = emitter
        self._threads = ThreadMap(store)

    @asynccontextmanager
    async def start(self, user_id: str, request: RunAgentInput) -> AsyncIterator[RunStream]:
        """Act on the request, then give its event stream. AppError before anything streams:
        bad input, a busy thread, an unknown run."""
        async with self._emitter.listen(user_id) as listener:
            target = await self._act(user_id, request)
            events = self._stream(user_id, request, target, listener)
            yield RunStream(target.thread_id, target.run_id, events)

    async def _act(self, user_id: str, request: RunAgentInput) -> _Target:
        thread_id = await self._threads.resolve(user_id, request.thread_id)
        if request.resume:
            if thread_id is None:
                raise _invalid("resume names a thread this server does not know")
            return await self._resume(user_id, thread_id, request.resume)
        key = client_msg_id(request.thread_id, request.run_id)
        if thread_id is not None:
            history = await self.chat.history(user_id, thread_id, SNAPSHOT_MESSAGES, None)
            run_id = _sent_before(history.messages, str(key))
            if run_id is not None:
                return _Target(thread_id, run_id)
            before = snapshot_messages(history.messages)
        else:
            before = []
        last = request.messages[-1] if request.messages else None
        if not isinstance(last, UserMessage):
            raise _invalid("the last message must be the user's, or resume must answer interrupts")
        text = _text(last)
        if not text:
            raise _invalid("the user's message has no text")
        sent = await self.chat.send(
            user_id, ChatSend(client_msg_id=key, thread_id=thread_id, text=text)
        )
        self._threads.remember(user_id, request.thread_id, sent.thread_id)
        if sent.duplicate:
            return _Target(sent.thread_id, sent.run_id)
        asked = UserMessage(id=sent.message_id, content=text)
        return _Target(sent.thread_id, sent.run_id, fresh=[*before, asked])

    async def _resume(self, user_id: str, thread_id: str, entries: list[ResumeEntry]) -> _Target:
        calls: list[tuple[str, str, ResumeEntry]] = []
        for entry in entries:
            parsed = parse_interrupt_id(entry.interrupt_id)
            if parsed is None:
                raise _invalid(f"unknown interrupt {entry.interrupt_id!r}")
            calls.append((*parsed, entry))
        runs = {run_id for run_id, _, _ in calls}
        if len(runs) != 1:
            raise _invalid("resume must answer the interrupts of one run")
        run_id = runs.pop()
        history = await self.chat.history(user_id, thread_id, SNAPSHOT_MESSAGES, None)
        for _, call_id, entry in calls:
            approved, args = _decision(entry)
            try:
                await self.chat.approve(user_id, run_id, call_id, approved, args)
            except AppError as exc:
                # Answered elsewhere, expired, or the run ended: the stream shows which.
                if exc.code != ErrorCode.NOT_FOUND:
                    raise
        answered = {call_id for _, call_id, _ in calls}
        return _Target(thread_id, run_id, answered=answered, history=history.messages)

    async def _stream(
        self, user_id: str, request: RunAgentInput, target: _Target, listener: StreamListener
    ) -> AsyncIterator[BaseEvent]:
        yield RunStartedEvent(thread_id=request.thread_id, run_id=request.run_id)
        if target.fresh is not None:
            async for event in self._fresh(request, target, target.fresh, listener):
                yield event
            return
        history = target.history
        if history is None:
            read = await self.chat.history(user_id, target.thread_id, SNAPSHOT_MESSAGES, None)
            history = read.messages
        answer = _answer(history, target.run_id)
        if answer is None:
            yield RunErrorEvent(code="not_found", message="The run's answer is not in the thread")
            return
        ids = {"threadId": target.thread_id, "runId": target.run_id, "messageId": answer.id}
        yield CustomEvent(name=f"{METADATA_KEY}.run", value=ids)
        yield MessagesSnapshotEvent(messages=snapshot_messages(history))
        translator = RunTranslator(request.thread_id, request.run_id, target.run_id, answer.id)
        translator.seed(answer.parts)
        if answer.status != "streaming":
            for event in translator.finish(answer.status):
                yield event
            return
        for event in translator.waiting(target.answered):
            yield event
        # The snapshot holds every event of the run up to `seq`.
        seq = answer.seq or 0
        if seq < listener.opened_at:
            await listener.rewind(seq)
        async for event in _follow(translator, listener, seq):
            yield event

    async def _fresh(
        self,
        request: RunAgentInput,
        target: _Target,
        messages: list[Message],
        listener: StreamListener,
    ) -> AsyncIterator[BaseEvent]:
        """A run this request started: its whole answer streams live, from its run_started."""
        message_id = None
        while message_id is None:
            try:
                stored = await listener.next()
            except StreamGap:
                yield _gap()
                return
            data = stored.data
            if stored.name == "agent:run_started" and data.get("run_id") == target.run_id:
                message_id = str(data["message_id"])
        ids = {"threadId": target.thread_id, "runId": target.run_id, "messageId": message_id}
        yield CustomEvent(name=f"{METADATA_KEY}.run", value=ids)
        yield MessagesSnapshotEvent(messages=messages)
        translator = RunTranslator(request.thread_id, request.run_id, target.run_id, message_id)
        async for event in _follow(translator, listener, listener.opened_at):
            yield event


async def _follow(
    translator: RunTranslator, listener: StreamListener, seq: int
) -> AsyncIterator[BaseEvent]:
    """The run's events after `seq`, translated, until its AG-UI run ends."""
    while not translator.ended:
        try:
            stored = await listener.next()
        except StreamGap:
            yield _gap()
            return
        if stored.seq > seq:
            for event in translator.translate(stored):
                yield event


def _gap() -> RunErrorEvent:
    return RunErrorEvent(
        code="stream_gap", message="Events of this run are gone; run again with the same runId"
    )


def _sent_before(messages: list[HistoryMessage], key: str) -> str | None:
    for message in messages:
        if message.role == "user" and message.client_msg_id == key:
            return message.run_id
    return None


def _answer(messages: list[HistoryMessage], run_id: str) -> HistoryMessage | None:
    for message in reversed(messages):
        if message.role == "assistant" and message.run_id == run_id:
            return message
    return None


def _text(message: UserMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return "".join(getattr(part, "text", "") for part in message.content)


def _decision(entry: ResumeEntry) -> tuple[bool, dict[str, JsonValue] | None]:
    """A resume entry as an approval: `resolved` approves unless its payload says
    `approved: false`; `cancelled` denies. `editedArgs` approves with other arguments."""
    if entry.status == "cancelled":
        return False, None
    payload = entry.payload if isinstance(entry.payload, dict) else {}
    approved = payload.get("approved", True)
    if not isinstance(approved, bool):
        raise _invalid("payload.approved must be true or false")
    args = payload.get("editedArgs")
    if args is not None and not isinstance(args, dict):
        raise _invalid("payload.editedArgs must be an object")
    return approved, args
