"""What a chat message sets in motion: store it, tell every tab, start its answer; and the
other things a user asks of an answer: stop it, approve its tool calls, answer again."""

from __future__ import annotations

import uuid

from pydantic import JsonValue

from schemas.ack import ErrorCode
from schemas.chat import (
    ChatMessageEvent,
    ChatRegenerate,
    ChatSend,
    HistoryMessage,
    HistoryResult,
    RegenerateResult,
    SendResult,
    UserMessageView,
)
from server.agent.contract import Decision
from server.chat.answering import Answering
from server.chat.approvals import NoPendingApproval
from server.chat.model_input import model_input
from server.chat.runs import ActiveRun, RunRegistry, UnknownRun
from server.cluster.run_control import RunControl
from server.errors import AppError
from server.realtime.emitter import Emitter
from server.stores.chat_records import MessageRecord
from server.stores.chat_store import ChatStore, ConflictError, NotFoundError, StoreError

# How many of a thread's newest messages are read to build the model's input; the
# character budget then decides how many turns of them go in.
CONTEXT_MESSAGES = 200


def _new_id() -> str:
    return uuid.uuid4().hex


def _conflict(exc: ConflictError) -> AppError:
    return AppError(
        ErrorCode.CONFLICT,
        "An answer is still running in this thread: stop it or wait for it",
        {"run_id": exc.run_id},
    )


class ChatService:
    def __init__(
        self,
        store: ChatStore,
        emitter: Emitter,
        answering: Answering,
        runs: RunRegistry,
        max_message_chars: int,
        context_chars: int,
        control: RunControl | None = None,
    ) -> None:
        self._store = store
        self._emitter = emitter
        self._answering = answering
        self._runs = runs
        self._max_message_chars = max_message_chars
        self._context_chars = context_chars
        self._control = control

    async def send(self, user_id: str, payload: ChatSend) -> SendResult:
        if len(payload.text) > self._max_message_chars:
            raise AppError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                f"Message is {len(payload.text)} characters; the limit is "
                f"{self._max_message_chars}",
            )
        try:
            # One trip to the database: the message, its run, the run's answer and the
            # model's input (a burst of run starts queues on the database's one thread).
            sent = await self._store.send_user_message(
                user_id=user_id,
                thread_id=payload.thread_id,
                text=payload.text,
                client_msg_id=str(payload.client_msg_id),
                run_id=_new_id(),
                answer_id=_new_id(),
                history_limit=CONTEXT_MESSAGES,
            )
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, "No such thread") from None
        except ConflictError as exc:
            raise _conflict(exc) from None
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
        await self._answer(sent.run_id, sent.answer, sent.history)
        return result

    async def regenerate(self, user_id: str, payload: ChatRegenerate) -> RegenerateResult:
        try:
            opened = await self._store.regenerate(
                user_id=user_id,
                message_id=payload.message_id,
                client_msg_id=str(payload.client_msg_id),
                run_id=_new_id(),
                answer_id=_new_id(),
                history_limit=CONTEXT_MESSAGES,
            )
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, "No such answer") from None
        except ConflictError as exc:
            raise _conflict(exc) from None
        result = RegenerateResult(
            thread_id=opened.thread.id,
            run_id=opened.run_id,
            reply_to=opened.reply_to.id,
            duplicate=opened.duplicate,
        )
        if not opened.duplicate:
            await self._answer(opened.run_id, opened.answer, opened.history)
        return result

    async def _answer(
        self, run_id: str, answer: MessageRecord | None, history: list[MessageRecord]
    ) -> None:
        if answer is None or answer.reply_to is None:
            raise StoreError(f"run {run_id!r} was opened without its answer")
        run = ActiveRun(
            run_id=run_id,
            user_id=answer.user_id,
            thread_id=answer.thread_id,
            message_id=answer.id,
            reply_to=answer.reply_to,
        )
        if self._control is not None:
            # Claimed before the answer starts: other nodes take an unclaimed answer only
            # once it is older than a claim's lifetime (cluster/orphans.py).
            await self._control.claim(run.run_id, run.user_id)
        self._answering.start(run, model_input(history, self._context_chars))

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

    async def approve(
        self,
        user_id: str,
        run_id: str,
        call_id: str,
        approved: bool,
        args: dict[str, JsonValue] | None,
    ) -> Decision:
        try:
            return self._runs.approve(user_id, run_id, call_id, approved, args)
        except NoPendingApproval:
            raise AppError(
                ErrorCode.NOT_FOUND, "That call is not waiting for approval (answered or expired)"
            ) from None
        except UnknownRun:
            forwarded = None
            if self._control is not None:
                forwarded = await self._control.approve(user_id, run_id, call_id, approved, args)
        if forwarded is None:
            raise AppError(ErrorCode.NOT_FOUND, "No such run")
        if not forwarded:
            raise AppError(ErrorCode.NOT_FOUND, "The run has ended")
        # Answered on the node that runs it; every tab sees agent:approval_resolved.
        return "approved" if approved else "denied"

    async def history(
        self, user_id: str, thread_id: str, limit: int, before: str | None
    ) -> HistoryResult:
        try:
            # One more than asked: whether older messages exist.
            records = await self._store.list_messages(
                user_id=user_id, thread_id=thread_id, limit=limit + 1, before=before
            )
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, "No such thread or message") from None
        has_more = len(records) > limit
        page = records[1:] if has_more else records
        return HistoryResult(
            messages=[self._history_message(record) for record in page], has_more=has_more
        )

    def _history_message(self, record: MessageRecord) -> HistoryMessage:
        parts, text, seq = record.parts, record.text, record.seq
        if record.status == "streaming":
            run = self._runs.get(record.run_id) if record.run_id else None
            if run is not None and run.message_id == record.id:
                # In memory the answer is ahead of its last checkpoint (if any).
                parts, seq = run.answer.parts, run.answer.seq
                text = run.answer.text
            # 0: nothing of the run folded in yet, every event of it applies.
            seq = seq or 0
        return HistoryMessage(
            id=record.id,
            thread_id=record.thread_id,
            role=record.role,
            text=text,
            parts=parts,
            status=record.status,
            created_at=record.created_at,
            client_msg_id=record.client_msg_id,
            run_id=record.run_id,
            reply_to=record.reply_to,
            seq=seq,
        )
