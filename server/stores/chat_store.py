"""Interface of the chat history store and the errors it raises."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from schemas.parts import MessagePart
from server.stores.chat_records import (
    AnswerCheckpoint,
    MessageRecord,
    MessageStatus,
    RegenerateRecord,
    SendRecord,
    ThreadPage,
    ThreadRecord,
)

TITLE_MAX_CHARS = 60
DEFAULT_TITLE = "New chat"


class NotFoundError(LookupError):
    """The thread or message does not exist, or belongs to another user."""


class StoreError(RuntimeError):
    """The database is unavailable or failed to complete an operation."""


class ConflictError(RuntimeError):
    """The thread has an answer still running (one answer at a time per thread)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} of the thread is still running")
        self.run_id = run_id


def thread_title(text: str) -> str:
    """Derive a thread title from its first message.

    Takes the first non-blank line, collapses runs of whitespace and truncates the
    result to TITLE_MAX_CHARS characters, ending with "…" when it was cut.
    """
    lines = text.strip().splitlines()
    title = " ".join(lines[0].split()) if lines else ""
    if not title:
        return DEFAULT_TITLE
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return title


class ChatStore(Protocol):
    """Persistent chat history: threads, their messages and the agent runs behind them.

    Guarantees every implementation provides:

    * Ownership: every thread belongs to one user. Asking for a thread (or a message
      in it) with any other user id raises NotFoundError, exactly as if it did not
      exist, so callers cannot probe other users' ids.
    * Atomicity: each method either applies all of its writes or none of them.
    * Idempotency: send_user_message is keyed on (user_id, client_msg_id). A repeat,
      even one racing the original, writes nothing and returns the first SendRecord
      with duplicate=True.
    * Ordering: messages are ordered by creation time, ties broken by insertion
      order; threads by their last activity (updated_at), newest first.
    * Timestamps are timezone-aware UTC datetimes.
    * Errors: database failures raise StoreError; invalid arguments raise ValueError.
    * Methods may be called concurrently from one event loop once open() returned.
    """

    async def open(self) -> None:
        """Connect and create the schema if needed. Calling it again is a no-op."""
        ...

    async def close(self) -> None:
        """Wait for in-flight writes, then release the database. Idempotent."""
        ...

    async def ping(self) -> None:
        """Return when the database answers; raise StoreError otherwise."""
        ...

    async def send_user_message(
        self,
        *,
        user_id: str,
        thread_id: str | None,
        text: str,
        client_msg_id: str,
        run_id: str,
        answer_id: str,
        history_limit: int,
    ) -> SendRecord:
        """Store a user message, open a run answering it and the run's empty "streaming"
        answer (id `answer_id`), and read the thread's `history_limit` newest messages up
        to the user message, all in one transaction: one trip to the database per send.

        With thread_id None a new thread is created, titled by thread_title(text).
        Otherwise the thread must belong to user_id (NotFoundError if not) and its
        updated_at is bumped. The message is stored with status "complete" and the
        run with status "streaming". A thread with a run still "streaming" refuses a new
        message with ConflictError naming that run (checked after the idempotency lookup,
        so a repeat of the send that started it is still a duplicate, with no answer and
        no history).
        """
        ...

    async def regenerate(
        self,
        *,
        user_id: str,
        message_id: str,
        client_msg_id: str,
        run_id: str,
        answer_id: str,
        history_limit: int,
    ) -> RegenerateRecord:
        """Open a new run answering again the user message that the assistant message
        `message_id` replied to, with its answer and history as send_user_message does,
        in one transaction.

        NotFoundError if `message_id` is not an assistant message of the user's; keyed on
        (user_id, client_msg_id) like send_user_message (a repeat returns the first record
        with duplicate=True, writing nothing); ConflictError while the thread has a run
        still "streaming". Bumps the thread's updated_at. Earlier answers stay.
        """
        ...

    async def finish_assistant_message(
        self, *, message_id: str, parts: Sequence[MessagePart], status: MessageStatus
    ) -> MessageRecord:
        """Set the final parts (and text: the joined text parts) and status of an assistant
        message and of its run; clears its checkpoint seq.

        status must not be "streaming". Bumps the thread's updated_at.
        """
        ...

    async def checkpoint_assistant_messages(self, updates: Sequence[AnswerCheckpoint]) -> int:
        """Store the parts so far (and their joined text, and the seq they hold) of answers
        being streamed, all in one transaction.

        Only assistant messages still "streaming" are changed, so a checkpoint that lands
        after an answer's end (finish_assistant_message, fail_interrupted_runs) changes
        nothing. The thread's updated_at is left alone. Returns the number of messages
        changed; ids not found are skipped.
        """
        ...

    async def list_threads(
        self, user_id: str, *, limit: int = 50, before: str | None = None, query: str | None = None
    ) -> ThreadPage:
        """One page of the user's threads, most recently active first.

        `before` is the `next_before` of the previous page (a thread id of the user's;
        NotFoundError otherwise). `query` keeps the threads whose title or any message text
        matches it by full-text search (every word, prefixes included; SQLite FTS5,
        PostgreSQL tsvector), never a scan of every message.
        """
        ...

    async def rename_thread(self, *, user_id: str, thread_id: str, title: str) -> ThreadRecord:
        """Set a thread's title (its activity order is left alone); NotFoundError if not
        the user's."""
        ...

    async def delete_thread(self, *, user_id: str, thread_id: str) -> None:
        """Delete a thread and everything of it (messages and their parts, runs, search
        entries) in one transaction; NotFoundError if not the user's."""
        ...

    async def streaming_runs(self, *, user_id: str, thread_id: str) -> list[str]:
        """Ids of the thread's runs still "streaming"; NotFoundError if not the user's."""
        ...

    async def get_thread(self, user_id: str, thread_id: str) -> ThreadRecord:
        """Return one of the user's threads or raise NotFoundError."""
        ...

    async def list_messages(
        self,
        *,
        user_id: str,
        thread_id: str,
        limit: int = 50,
        before: str | None = None,
    ) -> list[MessageRecord]:
        """Return the last `limit` messages of a thread, oldest first.

        With `before`, only messages older than the message with that id are
        considered; an id not in this thread raises NotFoundError.
        """
        ...

    async def list_streaming(
        self, started_before: datetime, limit: int = 100
    ) -> list[MessageRecord]:
        """Assistant messages still "streaming" that were started before the given time,
        oldest first: in cluster mode, candidates for a run whose node died."""
        ...

    async def fail_interrupted_runs(self) -> int:
        """Mark assistant messages left "streaming" by a dead process as "failed".

        Each keeps the text it was last checkpointed with. Their runs, and any other
        run still "streaming", are marked failed too. Meant to run once at start-up,
        before any new run begins; returns the number of messages changed.
        """
        ...
