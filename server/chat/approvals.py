"""Tool calls waiting for their user's yes: asked on the user's stream, answered from any tab
(or through the node that owns the run), expired as denied after the timeout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import JsonValue

from schemas.chat import AgentApprovalRequested, AgentApprovalResolved
from server.agent.contract import ApprovalAnswer, ApprovalGate, Decision, RunSink
from server.metrics import Metrics


class NoPendingApproval(LookupError):
    """The run is not waiting for an approval of that call (answered, expired or unknown)."""


class PendingApprovals:
    """The approvals one run waits for, by call id."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[asyncio.Future[ApprovalAnswer], dict[str, JsonValue]]] = {}

    def answer(self, call_id: str, approved: bool, args: dict[str, JsonValue] | None) -> Decision:
        """Resolve a waiting call; the first answer wins. NoPendingApproval if none waits."""
        waiting = self._waiting.get(call_id)
        if waiting is None or waiting[0].done():
            raise NoPendingApproval(call_id)
        future, asked = waiting
        decision: Decision = "approved" if approved else "denied"
        future.set_result(ApprovalAnswer(decision, asked if args is None or not approved else args))
        return decision

    def gate(self, run_id: str, sink: RunSink, timeout_s: float, metrics: Metrics) -> ApprovalGate:
        """The gate a run's tool calls wait at."""

        async def ask(call_id: str, name: str, args: dict[str, JsonValue]) -> ApprovalAnswer:
            expires_at = datetime.now(UTC) + timedelta(seconds=timeout_s)
            future: asyncio.Future[ApprovalAnswer] = asyncio.get_running_loop().create_future()
            # Waiting before the request goes out, so an answer racing it is not refused.
            self._waiting[call_id] = (future, args)
            try:
                requested = AgentApprovalRequested(
                    run_id=run_id, call_id=call_id, name=name, args=args, expires_at=expires_at
                )
                await asyncio.shield(sink(requested))
                try:
                    answer = await asyncio.wait_for(asyncio.shield(future), timeout_s)
                except TimeoutError:
                    answer = ApprovalAnswer("expired", args)
            except asyncio.CancelledError:
                # The run was stopped while it waited: the call is denied for every tab.
                resolved = AgentApprovalResolved(run_id=run_id, call_id=call_id, decision="denied")
                await asyncio.shield(sink(resolved))
                metrics.approvals.labels("denied").inc()
                raise
            finally:
                del self._waiting[call_id]
            edited = answer.args if answer.approved and answer.args is not args else None
            await sink(
                AgentApprovalResolved(
                    run_id=run_id, call_id=call_id, decision=answer.decision, args=edited
                )
            )
            metrics.approvals.labels(answer.decision).inc()
            return answer

        return ask
