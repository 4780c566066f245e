"""The databases the ChatStore tests run against, and helpers to drive a store."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from schemas.parts import TextPart
from server.stores.chat_records import AnswerCheckpoint, MessageRecord, MessageStatus, SendRecord
from server.stores.chat_store import ChatStore
from server.stores.factory import chat_store_from_url

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Backend:
    """A database a store can be opened on, plus raw SQL access to check what it wrote."""

    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:///")

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[ChatStore]:
        chat = chat_store_from_url(self.url)
        await chat.open()
        try:
            yield chat
        finally:
            await chat.close()

    async def query(self, sql: str) -> Rows:
        if self.is_sqlite:
            path = Path(self.url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(path)) as db:
                rows = db.execute(sql).fetchall()
                db.commit()
                return rows
        conn = await asyncpg.connect(self.url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def script(self, sql: str) -> None:
        """Run several statements, in one transaction."""
        if self.is_sqlite:
            path = Path(self.url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(path)) as db:
                db.executescript(f"BEGIN; {sql}; COMMIT;")
            return
        conn = await asyncpg.connect(self.url)
        try:
            async with conn.transaction():
                await conn.execute(sql)
        finally:
            await conn.close()

    async def counts(self) -> list[int]:
        sql = "SELECT (SELECT COUNT(*) FROM threads), (SELECT COUNT(*) FROM messages), "
        return list((await self.query(sql + "(SELECT COUNT(*) FROM runs)"))[0])


@pytest.fixture(name="backend", params=["sqlite", "postgres"])
def fixture_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend(f"sqlite:///{tmp_path / 'nested' / 'chat.db'}")
    # Looked up lazily, so the SQLite cases never start PostgreSQL.
    url: str = request.getfixturevalue("postgres_url")
    return Backend(url)


@pytest.fixture(name="store")
async def fixture_store(backend: Backend) -> AsyncIterator[ChatStore]:
    async with backend.opened() as chat:
        yield chat


async def send(
    store: ChatStore,
    text: str = "hello",
    *,
    user: str = "alice",
    thread: str | None = None,
    key: str | None = None,
    run: str | None = None,
    answer: str | None = None,
    history_limit: int = 50,
) -> SendRecord:
    """Send `text`; its answer is opened as `answer` (default "a-" + the key)."""
    key = key or f"c-{text}"
    return await store.send_user_message(
        user_id=user,
        thread_id=thread,
        text=text,
        client_msg_id=key,
        run_id=run or f"r-{key}",
        answer_id=answer or f"a-{key}",
        history_limit=history_limit,
    )


async def opened(
    store: ChatStore, text: str = "hello", answer: str = "a1", **kwargs: Any
) -> MessageRecord:
    """The answer a send of `text` opened, as `answer`."""
    started = (await send(store, text, answer=answer, **kwargs)).answer
    assert started is not None
    return started


async def finish(
    store: ChatStore, message_id: str, text: str, status: MessageStatus = "complete"
) -> MessageRecord:
    """End an answer made of one text part."""
    parts = [TextPart(text=text)] if text else []
    return await store.finish_assistant_message(message_id=message_id, parts=parts, status=status)


def checkpoint(message_id: str, text: str, seq: int | None = None) -> AnswerCheckpoint:
    return AnswerCheckpoint(message_id=message_id, parts=[TextPart(text=text)], seq=seq)


async def answered(store: ChatStore, text: str, answer: str, **kwargs: Any) -> SendRecord:
    """A user message whose answer has ended (so its thread takes new messages)."""
    sent = await send(store, text, **kwargs)
    assert sent.answer is not None
    await finish(store, sent.answer.id, answer)
    return sent
