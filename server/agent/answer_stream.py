"""What one run sends, in the order it happened: text and reasoning merged into few events,
every other event as it comes, and nothing handed to it lost to a stop."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType

from schemas.chat import AgentDelta, AgentReasoning, UserStreamPayload
from server.agent.coalescer import DeltaCoalescer
from server.agent.contract import RunInput, RunSink
from server.agent.eager import start_eagerly


@dataclass(frozen=True, slots=True)
class CoalescePolicy:
    interval_s: float = 0.025
    max_chars: int = 64


DEFAULT_COALESCE = CoalescePolicy()


class AnswerStream:
    """Used as `async with AnswerStream(run, policy) as out:` inside the run's task.

    Text and reasoning are coalesced separately; whichever kind arrives sends what the other
    has buffered first, and `send` sends both before its event, so the user sees the parts in
    the order the model made them. Leaving the block sends what is buffered, also when the
    run is stopped or fails (a send that fails then does not hide the run's own error).
    """

    def __init__(self, run: RunInput, policy: CoalescePolicy) -> None:
        self._run_id = run.run_id
        self._sink: RunSink = run.sink
        self._task = asyncio.current_task()
        self._in_flight: asyncio.Future[int] | None = None
        self._text = DeltaCoalescer(self._send_text, policy.interval_s, policy.max_chars)
        self._reasoning = DeltaCoalescer(self._send_reasoning, policy.interval_s, policy.max_chars)

    async def __aenter__(self) -> AnswerStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                await self.flush()
                return
            # A stop lands mid-send: that send finishes first, then the rest follows it.
            in_flight = self._in_flight
            if in_flight is not None:
                await asyncio.wait([in_flight])
                if not in_flight.cancelled():
                    in_flight.exception()  # seen here: the run's own error is the one raised
            with contextlib.suppress(Exception):
                await self.flush()
        finally:
            await self._text.aclose()
            await self._reasoning.aclose()

    async def text(self, text: str) -> None:
        if not text:
            return
        if self._reasoning.pending:
            await self._reasoning.flush()
        await self._text.add(text)

    async def reasoning(self, text: str) -> None:
        if not text:
            return
        if self._text.pending:
            await self._text.flush()
        await self._reasoning.add(text)

    async def put(self, payload: UserStreamPayload) -> None:
        """Send an event after everything buffered before it."""
        await self.flush()
        await self._emit(payload)

    async def flush(self) -> None:
        # At most one kind is buffered: adding one kind flushed the other.
        await self._text.flush()
        await self._reasoning.flush()

    async def _send_text(self, text: str) -> None:
        await self._emit(AgentDelta(run_id=self._run_id, text=text))

    async def _send_reasoning(self, text: str) -> None:
        await self._emit(AgentReasoning(run_id=self._run_id, text=text))

    async def _emit(self, payload: UserStreamPayload) -> None:
        if asyncio.current_task() is not self._task:
            # A coalescer's timer task, which a stop never cancels.
            await self._sink(payload)
            return
        # A stop cancels the run's task: the send finishes anyway, so what the sink folded
        # into the answer is never short of what the user was sent. A send that never waits
        # cannot be interrupted, and costs no task; one that waits finishes in its own.
        sending = start_eagerly(self._sink(payload))
        if sending is None:
            return
        self._in_flight = sending
        await asyncio.shield(sending)
