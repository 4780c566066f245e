"""The agent runs in flight: one asyncio task each, stoppable by their owner."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from pydantic import JsonValue

from server.agent.contract import Decision
from server.chat.answer import Answer
from server.chat.approvals import PendingApprovals

# Finished runs remembered so a late stop answers `stopped: false` instead of not_found.
_FINISHED_MEMORY = 10_000


@dataclass
class ActiveRun:
    run_id: str
    user_id: str
    thread_id: str
    message_id: str
    reply_to: str
    answer: Answer = field(default_factory=Answer)
    approvals: PendingApprovals = field(default_factory=PendingApprovals)
    task: asyncio.Task[None] | None = None
    # Set once the outcome is being stored: from then on a stop changes nothing.
    finishing: bool = False


class UnknownRun(LookupError):
    """No run with that id belongs to the user."""


class RunRegistry:
    def __init__(self) -> None:
        self._active: dict[str, ActiveRun] = {}
        self._finished: OrderedDict[str, str] = OrderedDict()

    def add(self, run: ActiveRun) -> None:
        self._active[run.run_id] = run

    def get(self, run_id: str) -> ActiveRun | None:
        return self._active.get(run_id)

    def done(self, run_id: str) -> None:
        run = self._active.pop(run_id, None)
        if run is not None:
            self._finished[run_id] = run.user_id
            while len(self._finished) > _FINISHED_MEMORY:
                self._finished.popitem(last=False)

    def in_thread(self, thread_id: str) -> list[ActiveRun]:
        return [run for run in self._active.values() if run.thread_id == thread_id]

    def approve(
        self,
        user_id: str,
        run_id: str,
        call_id: str,
        approved: bool,
        args: dict[str, JsonValue] | None,
    ) -> Decision:
        """Answer a call the user's run waits on. UnknownRun if the run is not running here
        for this user; NoPendingApproval if it waits for no such call."""
        run = self._active.get(run_id)
        if run is None or run.user_id != user_id:
            raise UnknownRun(run_id)
        return run.approvals.answer(call_id, approved, args)

    def stop(self, user_id: str, run_id: str) -> bool:
        """Cancel the user's run; False when it already ended. UnknownRun if not theirs."""
        run = self._active.get(run_id)
        if run is not None and run.user_id == user_id:
            if run.finishing or run.task is None or run.task.done():
                return False
            run.task.cancel()
            return True
        if self._finished.get(run_id) == user_id:
            return False
        raise UnknownRun(run_id)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for every run to end by itself; True if they all did."""
        tasks = [run.task for run in self._active.values() if run.task is not None]
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=timeout_s)
        return not pending

    async def stop_all(self) -> None:
        """Stop every run and wait until each has stored its outcome."""
        tasks = [run.task for run in self._active.values() if run.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
