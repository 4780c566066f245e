"""One turn of `netra-ws chat`: send the line (or regenerate), follow the answer to its end.

Input keeps being read meanwhile: `/stop` or Ctrl-C stops the answer, a tool call waiting
for approval is answered with the next line (y or n), anything else waits for the turn to end.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from rich.text import Text

from netra_client.chat_stream import AnswerStream, Turn
from netra_client.chat_view import approval_question
from netra_client.client import NetraClient
from netra_client.errors import NetraError
from netra_client.terminal_io import Input, LineReader, Screen, Signal
from schemas.chat import RegenerateResult, SendResult
from schemas.parts import ApprovalPart

POLL_S = 0.2
_YES = frozenset({"y", "yes"})
_NO = frozenset({"n", "no"})


class TurnRunner:
    def __init__(
        self,
        client: NetraClient,
        screen: Screen,
        answers: AnswerStream,
        inbox: asyncio.Queue[Input],
        backlog: deque[Input],
        timeout_s: float,
    ) -> None:
        self.client = client
        self.screen = screen
        self.answers = answers
        self._inbox = inbox
        self._backlog = backlog
        self._timeout_s = timeout_s
        # Lines that came while a y/n was asked and were neither: sent after the turn.
        self._later: list[Input] = []
        self.failures = 0

    async def run(self, turn: Turn, reader: LineReader) -> None:
        self.answers.turn = turn
        deadline = time.monotonic() + self._timeout_s
        try:
            if not await self._start(turn, deadline):
                return
            while not turn.done.is_set():
                turn.changed.clear()
                if turn.asking is None and (approval := turn.question()) is not None:
                    turn.asking = approval.call_id
                    self._ask(approval, reader)
                if turn.asking is not None:
                    if self._backlog:  # typed or piped ahead: the next line is the answer
                        await self._during_turn(turn, self._backlog.popleft(), reader)
                        continue
                    # Time the user takes to answer is not the answer's.
                    deadline = time.monotonic() + self._timeout_s
                await self._wait(turn, reader, deadline)
            if turn.outcome == "failed":
                self.failures += 1
        finally:
            self.answers.turn = None
            self._backlog.extendleft(reversed(self._later))
            self._later.clear()

    async def _wait(self, turn: Turn, reader: LineReader, deadline: float) -> None:
        # Keep reading meanwhile, so /stop, Ctrl-C and answers reach a running turn.
        reader.request("", self.screen.err)
        getter = asyncio.ensure_future(self._inbox.get())
        waiters = {
            asyncio.ensure_future(turn.done.wait()),
            asyncio.ensure_future(turn.changed.wait()),
        }
        done, _ = await asyncio.wait(
            {getter, *waiters},
            timeout=max(deadline - time.monotonic(), 0),
            return_when=asyncio.FIRST_COMPLETED,
        )
        for waiter in waiters:
            waiter.cancel()
        if getter in done:
            await self._during_turn(turn, getter.result(), reader)
        else:
            getter.cancel()
        if not done:
            self.answers.end(turn, "failed", f"✗ no end of the answer within {self._timeout_s:g} s")

    def _ask(self, approval: ApprovalPart, reader: LineReader) -> None:
        question = approval_question(approval.name, approval.args)
        if reader.interactive:
            reader.request(question, self.screen.err)
        else:
            self.screen.say(Text(question.rstrip(), style="yellow"))

    async def _during_turn(self, turn: Turn, item: Input, reader: LineReader) -> None:
        if item is Signal.INTERRUPT or (isinstance(item, str) and item.strip() == "/stop"):
            await self._stop(turn)
            return
        if turn.asking is None:
            self._backlog.append(item)  # handled after this answer
            return
        if item is Signal.EOF:
            self._backlog.append(item)
            self.screen.status("no answer will come (end of input): denying the call")
            await self._approve(turn, False)
            return
        reply = item.strip().lower()
        if reply in _YES or reply in _NO:
            await self._approve(turn, reply in _YES)
            return
        self._later.append(item)
        self.screen.status("answer y or n (or /stop)", "yellow")
        if (approval := turn.question()) is not None:
            self._ask(approval, reader)

    async def _approve(self, turn: Turn, approved: bool) -> None:
        call_id, turn.asking = turn.asking, None
        if call_id is None or turn.run_id is None:
            return
        turn.answered.add(call_id)  # agent:approval_resolved then shows the decision
        try:
            await self.client.approve(turn.run_id, call_id, approved)
        except NetraError as exc:
            self.screen.status(f"could not answer the approval: {exc}", "red")

    async def _start(self, turn: Turn, deadline: float) -> bool:
        """Send (or regenerate), retrying across a reconnect with the same client_msg_id."""
        started: SendResult | RegenerateResult
        while True:
            try:
                if turn.regenerate is not None:
                    started = await self.client.regenerate(turn.regenerate, turn.client_msg_id)
                else:
                    started = await self.client.send(
                        turn.text, self.answers.thread_id, turn.client_msg_id
                    )
                break
            except NetraError as exc:
                retry = exc.code in ("not_connected", "timeout")
                if not retry or time.monotonic() > deadline:
                    self.screen.say(Text(f"✗ {_refusal(exc)}", style="red"))
                    self.failures += 1
                    return False
                await asyncio.sleep(POLL_S)
        self.answers.thread_id, turn.run_id = started.thread_id, started.run_id
        if started.duplicate:
            await self.answers.reconcile()  # an earlier attempt got through; its events may be past
        return True

    async def _stop(self, turn: Turn) -> None:
        if turn.run_id is None:
            return
        try:
            await self.client.stop(turn.run_id)  # agent:run_stopped then ends the turn
        except NetraError as exc:
            self.answers.end(turn, "stopped", f"⏹ stopped waiting ({exc.code})")


def _refusal(exc: NetraError) -> str:
    if exc.code == "conflict":
        return "an answer is still being written in this thread (another tab?): wait for it"
    return str(exc)
