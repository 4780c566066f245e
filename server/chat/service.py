"""What a chat message sets in motion: store it, tell every tab, run the agent, store the answer."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from loguru import logger

from schemas.ack import ErrorCode
from schemas.chat import (
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStarted,
    AgentRunStopped,
    AssistantMessageView,
    ChatMessageEvent,
    ChatSend,
    HistoryMessage,
    RunError,
    SendResult,
    ThreadView,
    UserMessageView,
    UserStreamPayload,
)
from server.agent.runner import AgentRunner, RunFailure
from server.chat.checkpoints import AnswerCheckpointer
from server.chat.runs import ActiveRun, RunRegistry, UnknownRun
from server.cluster.run_control import RunControl
from server.errors import AppError
from server.metrics import Metrics
from server.realtime.emitter import Emitter
from server.stores.chat_records import MessageRecord, MessageStatus
from server.stores.chat_store import ChatStore, NotFoundError

_OUTCOMES: dict[type[UserStreamPayload], str] = {
    AgentRunCompleted: "completed",
    AgentRunFailed: "failed",
    AgentRunStopped: "stopped",
}
# How much of a thread the model sees.
CONTEXT_MESSAGES = 20


def _new_id() -> str:
    return uuid.uuid4().hex


class ChatService:
    def __init__(
        self,
        store: ChatStore,
        emitter: Emitter,
        runner: AgentRunner,
        runs: RunRegistry,
        max_message_chars: int,
        metrics: Metrics,
        control: RunControl | None = None,
        checkpoints: AnswerCheckpointer | None = None,
    ) -> None:
        self._store = store
        self._emitter = emitter
        self._runner = runner
        self._runs = runs
        self._max_message_chars = max_message_chars
        self._control = control
        self._metrics = metrics
        self._checkpoints = checkpoints

    async def send(self, user_id: str, payload: ChatSend) -> SendResult:
        if len(payload.text) > self._max_message_chars:
            raise AppError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                f"Message is {len(payload.text)} characters; the limit is "
                f"{self._max_message_chars}",
            )
        try:
            sent = await self._store.send_user_message(
                user_id=user_id,
                thread_id=payload.thread_id,
                text=payload.text,
                client_msg_id=str(payload.client_msg_id),
                run_id=_new_id(),
            )
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, "No such thread") from None
        result = SendResult(
            thread_id=sent.thread.id,
            message_id=sent.message.id,
            run_id=sent.run_id,
            duplicate=sent.duplicate,
        )
        if sent.duplicate:
            return result
        message = sent.message
        await self._emitter.to_user(
            user_id,
            ChatMessageEvent(
                message=UserMessageView(
                    id=message.id,
                    thread_id=message.thread_id,
                    text=message.text,
                    client_msg_id=str(payload.client_msg_id),
                    created_at=message.created_at,
                )
            ),
        )
        run = ActiveRun(
            run_id=sent.run_id,
            user_id=user_id,
            thread_id=sent.thread.id,
            message_id=_new_id(),
        )
        if self._control is not None:
            # Owned before the answer exists, so no node takes it for a dead node's run.
            await self._control.claim(run.run_id, user_id)
        await self._store.start_assistant_message(
            user_id=user_id,
            thread_id=run.thread_id,
            run_id=run.run_id,
            reply_to=message.id,
            message_id=run.message_id,
        )
        # Read before run_started goes out, so the answer's first token follows it closely.
        conversation = await self._conversation(user_id, run.thread_id)
        await self._emitter.to_user(
            user_id,
            AgentRunStarted(
                run_id=run.run_id,
                thread_id=run.thread_id,
                reply_to=message.id,
                message_id=run.message_id,
            ),
        )
        self._runs.add(run)
        if self._checkpoints is not None:
            progress = run.progress
            progress.on_text = self._checkpoints.track(run.message_id, lambda: progress.text)
        run.task = asyncio.create_task(self._run(run, conversation), name=f"run-{run.run_id}")
        return result

    async def stop(self, user_id: str, run_id: str) -> bool:
        try:
            return self._runs.stop(user_id, run_id)
        except UnknownRun:
            stopped = None
            if self._control is not None:
                stopped = await self._control.stop(user_id, run_id)
        if stopped is None:
            raise AppError(ErrorCode.NOT_FOUND, "No such run")
        return stopped

    async def threads(self, user_id: str) -> list[ThreadView]:
        threads = await self._store.list_threads(user_id)
        return [
            ThreadView(id=t.id, title=t.title, created_at=t.created_at, updated_at=t.updated_at)
            for t in threads
        ]

    async def history(
        self, user_id: str, thread_id: str, limit: int, before: str | None
    ) -> list[HistoryMessage]:
        try:
            records = await self._store.list_messages(
                user_id=user_id, thread_id=thread_id, limit=limit, before=before
            )
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, "No such thread or message") from None
        return [self._history_message(record) for record in records]

    def _history_message(self, record: MessageRecord) -> HistoryMessage:
        text, seq = record.text, None
        run = self._runs.get(record.run_id) if record.run_id else None
        if record.status == "streaming" and run is not None and run.message_id == record.id:
            # In memory the answer is ahead of its last checkpoint (if any).
            text, seq = run.progress.text, run.progress.seq
        return HistoryMessage(
            id=record.id,
            thread_id=record.thread_id,
            role=record.role,
            text=text,
            status=record.status,
            created_at=record.created_at,
            client_msg_id=record.client_msg_id,
            run_id=record.run_id,
            reply_to=record.reply_to,
            seq=seq,
        )

    async def _conversation(self, user_id: str, thread_id: str) -> list[BaseMessage]:
        records = await self._store.list_messages(
            user_id=user_id, thread_id=thread_id, limit=CONTEXT_MESSAGES
        )
        conversation: list[BaseMessage] = []
        for record in records:
            if record.role == "user":
                conversation.append(HumanMessage(record.text))
            elif record.status != "streaming" and record.text:
                conversation.append(AIMessage(record.text))
        return conversation

    async def _run(self, run: ActiveRun, conversation: list[BaseMessage]) -> None:
        sink = functools.partial(self._emitter.to_user, run.user_id)
        log = logger.bind(run_id=run.run_id, user=run.user_id)
        started = time.perf_counter()
        log.info("run started run_id={} user={}", run.run_id, run.user_id)
        outcome: UserStreamPayload
        try:
            text = await self._runner.run(run.run_id, conversation, sink, run.progress)
        except asyncio.CancelledError:
            run.finishing = True
            await self._finish(run, "stopped", run.progress.text)
            outcome = AgentRunStopped(run_id=run.run_id)
        except RunFailure as exc:
            run.finishing = True
            await self._finish(run, "failed", run.progress.text)
            outcome = AgentRunFailed(
                run_id=run.run_id, error=RunError(code=exc.code, message=exc.message)
            )
        except Exception:
            run.finishing = True
            ref = uuid.uuid4().hex[:12]
            log.bind(ref=ref).exception("run failed run_id={} ref={}", run.run_id, ref)
            await self._finish(run, "failed", run.progress.text)
            outcome = AgentRunFailed(
                run_id=run.run_id,
                error=RunError(code="model_error", message=f"The agent failed (ref {ref})"),
            )
        else:
            run.finishing = True
            stored = await self._finish(run, "complete", text)
            if stored is None:
                outcome = AgentRunFailed(
                    run_id=run.run_id,
                    error=RunError(code="store_error", message="The answer could not be saved"),
                )
            else:
                outcome = AgentRunCompleted(
                    run_id=run.run_id,
                    message=AssistantMessageView(
                        id=stored.id,
                        thread_id=stored.thread_id,
                        text=stored.text,
                        created_at=stored.created_at,
                    ),
                )
        try:
            await self._emitter.to_user(run.user_id, outcome)
        except Exception:
            # The outcome is stored; clients that missed it see it in history after a reset.
            log.exception("sending the outcome failed run_id={}", run.run_id)
        finally:
            self._runs.done(run.run_id)
            if self._control is not None:
                await self._control.release(run.run_id)
        outcome_name = _OUTCOMES[type(outcome)]
        self._metrics.runs.labels(outcome_name).inc()
        self._metrics.run_seconds.labels(outcome_name).observe(time.perf_counter() - started)
        log.info("run ended run_id={} outcome={}", run.run_id, outcome_name)

    async def _finish(
        self, run: ActiveRun, status: MessageStatus, text: str
    ) -> MessageRecord | None:
        if self._checkpoints is not None:
            # Before the final write, so no checkpoint of this answer is started after it.
            self._checkpoints.untrack(run.message_id)
        try:
            return await self._store.finish_assistant_message(
                message_id=run.message_id, text=text, status=status
            )
        except Exception:
            logger.bind(run_id=run.run_id).exception(
                "storing the answer failed run_id={}", run.run_id
            )
            return None
