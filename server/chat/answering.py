"""One answer from start to outcome: the agent runs, every event it sends is folded into the
answer's parts, and the outcome (completed, stopped, failed) is stored and sent with them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

from langchain_core.messages import BaseMessage
from loguru import logger

from schemas.chat import (
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStarted,
    AgentRunStopped,
    AssistantMessageView,
    RunError,
    Usage,
    UserStreamPayload,
)
from server.agent.contract import ChatAgent, RunFailure, RunInput, RunOutcome
from server.agent.eager import SENDS_IN_PLACE
from server.chat.checkpoints import AnswerCheckpointer
from server.chat.runs import ActiveRun, RunRegistry
from server.cluster.run_control import RunControl
from server.metrics import Metrics
from server.realtime.emitter import Emitter
from server.stores.chat_records import AnswerCheckpoint, MessageRecord, MessageStatus
from server.stores.chat_store import ChatStore

_OUTCOMES: dict[type[UserStreamPayload], str] = {
    AgentRunCompleted: "completed",
    AgentRunFailed: "failed",
    AgentRunStopped: "stopped",
}


def message_view(record: MessageRecord) -> AssistantMessageView:
    return AssistantMessageView(
        id=record.id,
        thread_id=record.thread_id,
        text=record.text,
        parts=record.parts,
        run_id=record.run_id or "",
        reply_to=record.reply_to or "",
        created_at=record.created_at,
    )


class Answering:
    """Runs answers as tasks of their own and ends each with exactly one outcome."""

    def __init__(
        self,
        store: ChatStore,
        emitter: Emitter,
        agent: ChatAgent,
        runs: RunRegistry,
        metrics: Metrics,
        approval_timeout_s: float,
        control: RunControl | None = None,
        checkpoints: AnswerCheckpointer | None = None,
        *,
        sends_in_place: bool = False,
    ) -> None:
        self._store = store
        # One node with its replay in memory: a send never waits on the network, so it may
        # run without a task of its own (server/agent/eager.py).
        self._sends_in_place = sends_in_place
        self._emitter = emitter
        self._agent = agent
        self._runs = runs
        self._metrics = metrics
        self._approval_timeout_s = approval_timeout_s
        self._control = control
        self._checkpoints = checkpoints

    def start(self, run: ActiveRun, conversation: Sequence[BaseMessage]) -> None:
        self._runs.add(run)
        if self._checkpoints is not None:
            answer = run.answer

            def snapshot() -> AnswerCheckpoint:
                return AnswerCheckpoint(
                    message_id=run.message_id, parts=answer.parts, seq=answer.seq
                )

            answer.on_change = self._checkpoints.track(run.message_id, snapshot)
        run.task = asyncio.create_task(self._run(run, conversation), name=f"run-{run.run_id}")

    async def _run(self, run: ActiveRun, conversation: Sequence[BaseMessage]) -> None:
        SENDS_IN_PLACE.set(self._sends_in_place)  # this task's context only
        log = logger.bind(run_id=run.run_id, user=run.user_id)
        started = time.perf_counter()
        log.info("run started run_id={} user={}", run.run_id, run.user_id)

        async def sink(payload: UserStreamPayload) -> int:
            seq = await self._emitter.to_user(run.user_id, payload)
            run.answer.apply(payload, seq)
            return seq

        gate = run.approvals.gate(run.run_id, sink, self._approval_timeout_s, self._metrics)
        request = RunInput(run.run_id, run.user_id, run.thread_id, conversation, sink, gate)
        outcome: UserStreamPayload
        try:
            # Sent by the run itself once it runs, right before the agent starts: a busy loop
            # may take a while to get to a new task, and the answer's pace counts from here.
            await self._emitter.to_user(
                run.user_id,
                AgentRunStarted(
                    run_id=run.run_id,
                    thread_id=run.thread_id,
                    reply_to=run.reply_to,
                    message_id=run.message_id,
                ),
            )
            result = await self._agent.run(request)
        except asyncio.CancelledError:
            run.finishing = True
            stored = await self._finish(run, "stopped")
            outcome = AgentRunStopped(run_id=run.run_id, message=_partial(stored))
        except RunFailure as exc:
            run.finishing = True
            stored = await self._finish(run, "failed")
            error = RunError(code=exc.code, message=exc.message)
            outcome = AgentRunFailed(run_id=run.run_id, error=error, message=_partial(stored))
        except Exception:
            run.finishing = True
            ref = uuid.uuid4().hex[:12]
            log.bind(ref=ref).exception("run failed run_id={} ref={}", run.run_id, ref)
            stored = await self._finish(run, "failed")
            error = RunError(code="model_error", message=f"The agent failed (ref {ref})")
            outcome = AgentRunFailed(run_id=run.run_id, error=error, message=_partial(stored))
        else:
            run.finishing = True
            outcome = await self._completed(run, result)
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

    async def _completed(self, run: ActiveRun, result: RunOutcome) -> UserStreamPayload:
        stored = await self._finish(run, "complete")
        if stored is None:
            error = RunError(code="store_error", message="The answer could not be saved")
            return AgentRunFailed(run_id=run.run_id, error=error)
        if result.usage is not None:
            self._count_usage(result.usage)
        return AgentRunCompleted(
            run_id=run.run_id, message=message_view(stored), usage=result.usage
        )

    def _count_usage(self, usage: Usage) -> None:
        self._metrics.agent_tokens.labels("input").inc(usage.input_tokens)
        self._metrics.agent_tokens.labels("output").inc(usage.output_tokens)

    async def _finish(self, run: ActiveRun, status: MessageStatus) -> MessageRecord | None:
        if self._checkpoints is not None:
            # Before the final write, so no checkpoint of this answer is started after it.
            self._checkpoints.untrack(run.message_id)
            # The hook's snapshot holds the run, which holds the answer: a reference cycle
            # (with the run's task, its coroutine and context) that would otherwise wait for
            # the collector's rare full collections.
            run.answer.on_change = None
        try:
            return await self._store.finish_assistant_message(
                message_id=run.message_id, parts=run.answer.parts, status=status
            )
        except Exception:
            logger.bind(run_id=run.run_id).exception(
                "storing the answer failed run_id={}", run.run_id
            )
            return None


def _partial(stored: MessageRecord | None) -> AssistantMessageView | None:
    """A stopped or failed answer is sent with its parts when it has any."""
    return message_view(stored) if stored is not None and stored.parts else None
