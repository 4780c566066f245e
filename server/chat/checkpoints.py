"""Answers written to the chat store while they stream, so a process that dies mid-answer
leaves the parts its users were sent rather than an empty answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Final

from loguru import logger

from server.stores.chat_records import AnswerCheckpoint
from server.stores.chat_store import ChatStore

DEFAULT_INTERVAL_MS: Final = 1000
DEFAULT_MAX_CHARS: Final = 2000

# An answer as it stands now (its parts and the seq they hold), read at each checkpoint.
Snapshot = Callable[[], AnswerCheckpoint]


class _Answer:
    __slots__ = ("_due", "_max_chars", "message_id", "snapshot", "unwritten")

    def __init__(
        self, message_id: str, snapshot: Snapshot, due: asyncio.Event, max_chars: int
    ) -> None:
        self.message_id = message_id
        self.snapshot = snapshot
        self.unwritten = 0
        self._due = due
        self._max_chars = max_chars

    def grew(self, chars: int) -> None:
        self.unwritten += chars
        if self.unwritten >= self._max_chars:
            self._due.set()


class AnswerCheckpointer:
    """Checkpoints the answers this process is streaming, through one flusher task.

    Every `interval_ms`, or as soon as one answer has `max_chars` characters not yet
    written, the flusher reads the snapshot of every answer that changed since its last
    checkpoint and writes them all in one store call (one transaction), however many runs
    are streaming. A run is untracked before its final text is stored, and the store only
    changes answers still "streaming", so a checkpoint never overwrites how an answer ended.
    A failed checkpoint is retried at the next tick. `interval_ms` 0 turns it off.
    """

    def __init__(
        self,
        store: ChatStore,
        *,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        if interval_ms < 0 or max_chars < 1:
            raise ValueError(f"bad checkpoint policy: {interval_ms} ms, {max_chars} chars")
        self._store = store
        self._interval_s = interval_ms / 1000
        self._max_chars = max_chars
        self._due = asyncio.Event()
        self._answers: dict[str, _Answer] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._failing = False

    @property
    def enabled(self) -> bool:
        return self._interval_s > 0

    def track(self, message_id: str, snapshot: Snapshot) -> Callable[[int], None] | None:
        """Checkpoint an answer until untrack(message_id). Returns what to call with the
        size of each change to it (None when checkpointing is off)."""
        if not self.enabled:
            return None
        answer = _Answer(message_id, snapshot, self._due, self._max_chars)
        self._answers[message_id] = answer
        return answer.grew

    def untrack(self, message_id: str) -> None:
        """No checkpoint of this answer starts after this call: make it before storing the
        answer's final text."""
        self._answers.pop(message_id, None)

    async def flush(self) -> int:
        """Write every answer changed since its last checkpoint, in one store call; returns
        the number of answers the store changed."""
        batch = [answer for answer in self._answers.values() if answer.unwritten]
        if not batch:
            return 0
        # Snapshots and counters are taken together, with no await between them, so a
        # change arriving while the write is in flight counts toward the next checkpoint.
        taken = [(answer, answer.unwritten, answer.snapshot()) for answer in batch]
        for answer in batch:
            answer.unwritten = 0
        try:
            return await self._store.checkpoint_assistant_messages(
                [snapshot for _, _, snapshot in taken]
            )
        except BaseException:
            for answer, unwritten, _ in taken:
                answer.unwritten += unwritten
            raise

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The flusher runs inside this context; open it after the store, close it before."""
        if self.enabled:
            self._flusher = asyncio.create_task(self._flush_forever(), name="answer-checkpoints")
        try:
            yield
        finally:
            flusher, self._flusher = self._flusher, None
            if flusher is not None:
                flusher.cancel()
                await asyncio.gather(flusher, return_exceptions=True)

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # Ticks are counted from each flush's start, so a slow write does not stretch
            # the time an answer's text can go unwritten.
            started = loop.time()
            await self._flush_logged()
            with suppress(TimeoutError):
                async with asyncio.timeout_at(started + self._interval_s):
                    await self._due.wait()
            self._due.clear()

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception as exc:
            # Logged once per outage, not once per tick.
            if not self._failing:
                logger.warning("checkpointing answers failed, retrying each tick: {!r}", exc)
            self._failing = True
        else:
            if self._failing:
                logger.info("checkpointing answers works again")
            self._failing = False
