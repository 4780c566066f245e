"""Interface of the chat history store and the errors it raises."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from server.stores.chat_records import MessageRecord, MessageStatus, SendRecord, ThreadRecord

TITLE_MAX_CHARS = 60
DEFAULT_TITLE = "New chat"


class NotFoundError(LookupError):
    """The thread or message does not exist, or belongs to another user."""


class StoreError(RuntimeError):
    """The database is unavailable or failed to complete an operation."""


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
    ) -> SendRecord:
        """Store a user message and open a run answering it, in one transaction.

        With thread_id None a new thread is created, titled by thread_title(text).
        Otherwise the thread must belong to user_id (NotFoundError if not) and its
        updated_at is bumped. The message is stored with status "complete" and the
        run with status "streaming".
        """
        ...

    async def start_assistant_message(
        self,
        *,
        user_id: str,
        thread_id: str,
        run_id: str,
        reply_to: str,
        message_id: str,
    ) -> MessageRecord:
        """Create an empty "streaming" assistant message for a run of the thread."""
        ...

    async def finish_assistant_message(
        self, *, message_id: str, text: str, status: MessageStatus
    ) -> MessageRecord:
        """Set the final text and status of an assistant message and of its run.

        status must not be "streaming". Bumps the thread's updated_at.
        """
        ...

    async def checkpoint_assistant_messages(self, updates: Sequence[tuple[str, str]]) -> int:
        """Store the text so far of answers being streamed: (message_id, text) pairs, all
        in one transaction.

        Only assistant messages still "streaming" are changed, so a checkpoint that lands
        after an answer's end (finish_assistant_message, fail_interrupted_runs) changes
        nothing. The thread's updated_at is left alone. Returns the number of messages
        changed; ids not found are skipped.
        """
        ...

    async def list_threads(self, user_id: str, limit: int = 100) -> list[ThreadRecord]:
        """Return the user's threads, most recently active first."""
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
