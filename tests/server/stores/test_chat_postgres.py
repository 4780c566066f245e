"""What only the PostgreSQL store has to get right: several nodes sharing one database."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import pytest

from server.stores import chat_postgres_threads
from server.stores.chat_postgres import PostgresChatStore
from server.stores.chat_records import SendRecord
from server.stores.chat_store import ConflictError, StoreError
from server.stores.factory import chat_store_from_url
from tests.postgres_server import (  # noqa: F401
    fixture_postgres_server,
    fixture_postgres_url,
    running_postgres,
)
from tests.server.stores.chat_backend import answered, checkpoint, finish, send


@asynccontextmanager
async def _node(url: str) -> AsyncIterator[PostgresChatStore]:
    store = PostgresChatStore(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _fetch(url: str, sql: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _counts(url: str) -> list[object]:
    sql = "SELECT (SELECT COUNT(*) FROM threads), (SELECT COUNT(*) FROM messages), "
    return list((await _fetch(url, sql + "(SELECT COUNT(*) FROM runs)"))[0])


async def test_two_nodes_racing_identical_sends_store_one_message(postgres_url: str) -> None:
    async with _node(postgres_url) as one, _node(postgres_url) as two:
        sends = (send((one, two)[i % 2], "hi", key="same", run=f"run-{i}") for i in range(20))
        results = await asyncio.gather(*sends)

    assert sum(not r.duplicate for r in results) == 1
    assert len({(r.thread.id, r.message.id, r.run_id) for r in results}) == 1
    assert await _counts(postgres_url) == [1, 2, 1]


async def test_what_one_node_writes_the_other_reads(postgres_url: str) -> None:
    async with _node(postgres_url) as one, _node(postgres_url) as two:
        sent = await send(one, "question", run="r1", answer="a1")
        assert await two.get_thread("alice", sent.thread.id) == sent.thread
        assert (await send(two, "question", run="r2")).message == sent.message

        answer = await finish(one, "a1", "ok")
        history = await two.list_messages(user_id="alice", thread_id=sent.thread.id)
        assert history == [sent.message, answer]
        threads = (await two.list_threads("alice")).threads
        assert [t.updated_at for t in threads] == [answer.updated_at]


@pytest.mark.parametrize("first_commits", [True, False], ids=["commit", "rollback"])
async def test_send_waits_for_another_process_holding_the_same_key(
    postgres_url: str, first_commits: bool
) -> None:
    async with _node(postgres_url) as store, AsyncExitStack() as stack:
        await store.ping()  # schema in place
        other = await asyncpg.connect(postgres_url)
        stack.push_async_callback(other.close)
        monitor = await asyncpg.connect(postgres_url)
        stack.push_async_callback(monitor.close)

        # Another process has written the same (user_id, client_msg_id), not yet committed.
        txn = other.transaction()
        await txn.start()
        now = "now(), now()"
        await other.execute(f"INSERT INTO threads VALUES (DEFAULT, 't9', 'alice', 'x', {now})")
        await other.execute(f"INSERT INTO runs VALUES (DEFAULT, 'r9', 't9', 'streaming', {now})")
        await other.execute(
            "INSERT INTO messages VALUES (DEFAULT, 'm9', 't9', 'alice', 'user', 'hi',"
            f" 'complete', 'same', 'r9', NULL, {now})"
        )
        sending = asyncio.create_task(send(store, "hi", key="same", run="r-mine"))
        waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        waiting += " AND datname = current_database()"
        for _ in range(1000):
            if await monitor.fetchval(waiting):
                break
            await asyncio.sleep(0.01)
        assert await monitor.fetchval(waiting) == 1
        assert not sending.done()

        await (txn.commit() if first_commits else txn.rollback())
        result = await sending

    if first_commits:
        assert (result.duplicate, result.message.id, result.run_id) == (True, "m9", "r9")
    else:
        assert (result.duplicate, result.run_id) == (False, "r-mine")
    # The other process's thread, message and run, or this send's with its answer.
    assert await _counts(postgres_url) == ([1, 1, 1] if first_commits else [1, 2, 1])


async def test_a_checkpoint_waiting_on_a_finish_leaves_the_finish(postgres_url: str) -> None:
    async with _node(postgres_url) as store, AsyncExitStack() as stack:
        await send(store, "question", run="r1", answer="a1")
        finisher = await asyncpg.connect(postgres_url)
        stack.push_async_callback(finisher.close)
        monitor = await asyncpg.connect(postgres_url)
        stack.push_async_callback(monitor.close)

        # The run's end is being stored, not yet committed; a checkpoint of it comes in.
        txn = finisher.transaction()
        await txn.start()
        sql = "UPDATE messages SET text = 'final', status = 'complete' WHERE id = 'a1'"
        await finisher.execute(sql)
        late = [checkpoint("a1", "partial", 2)]
        checkpointing = asyncio.create_task(store.checkpoint_assistant_messages(late))
        waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        waiting += " AND datname = current_database()"
        for _ in range(1000):
            if await monitor.fetchval(waiting):
                break
            await asyncio.sleep(0.01)
        assert not checkpointing.done()

        await txn.commit()
        # The waiting update reads the row again, finds it no longer streaming, skips it.
        assert await checkpointing == 0
    assert await _fetch(postgres_url, "SELECT text, status FROM messages WHERE id = 'a1'") == [
        ("final", "complete")
    ]


async def test_nodes_opening_together_create_the_schema_once(postgres_url: str) -> None:
    async with AsyncExitStack() as stack:
        nodes = [PostgresChatStore(postgres_url) for _ in range(6)]
        for node in nodes:
            stack.push_async_callback(node.close)
        await asyncio.gather(*(node.open() for node in nodes))
        sent = await send(nodes[0], "hello")
        for node in nodes:
            assert (await node.list_threads("alice", query="hel")).threads == [sent.thread]
    assert await _fetch(postgres_url, "SELECT version FROM schema_version") == [(2,)]


async def test_two_nodes_racing_sends_to_one_thread_open_one_run(postgres_url: str) -> None:
    async with _node(postgres_url) as one, _node(postgres_url) as two:
        thread_id = (await answered(one, "start", "ok")).thread.id
        sends = [send((one, two)[i % 2], f"m{i}", thread=thread_id) for i in range(20)]
        results = await asyncio.gather(*sends, return_exceptions=True)

    won = [r for r in results if isinstance(r, SendRecord)]
    refused = [r.run_id for r in results if isinstance(r, ConflictError)]
    assert len(won) == 1
    assert refused == [won[0].run_id] * 19
    assert await _counts(postgres_url) == [1, 4, 2]


async def test_two_nodes_racing_a_regeneration_open_one_run(postgres_url: str) -> None:
    async with _node(postgres_url) as one, _node(postgres_url) as two:
        await answered(one, "question", "answer", key="q")
        racing = [
            (one, two)[i % 2].regenerate(
                user_id="alice",
                message_id="a-q",
                client_msg_id=f"g{i % 3}",
                run_id=f"run-{i}",
                answer_id=f"answer-{i}",
                history_limit=50,
            )
            for i in range(12)
        ]
        results = await asyncio.gather(*racing, return_exceptions=True)

    # Three keys: one regeneration runs, the repeats of its key are duplicates of it, and
    # the other two keys find it running.
    opened = [r for r in results if not isinstance(r, BaseException) and not r.duplicate]
    assert len(opened) == 1
    for result in results:
        if isinstance(result, ConflictError):
            assert result.run_id == opened[0].run_id
        else:
            assert not isinstance(result, BaseException)
            assert result.run_id == opened[0].run_id
    assert await _counts(postgres_url) == [1, 3, 2]


async def test_search_conditions_can_use_the_gin_indexes(postgres_url: str) -> None:
    async with _node(postgres_url) as store:
        for i in range(30):
            await answered(store, f"thread {i}", f"answer number {i}", key=f"k{i}")
        found = await store.list_threads("alice", query="numb 7")
        assert [t.title for t in found.threads] == ["thread 7"]

    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("ANALYZE")
        # Tables this small are cheapest read whole (and a user's few messages through their
        # user_id); what matters is that the search conditions match the indexes, which the
        # planner picks once the tables are large.
        await conn.execute("SET enable_seqscan = off")
        for table in ("threads", "messages"):
            sql = f"EXPLAIN SELECT 1 FROM {table} WHERE search @@ to_tsquery('simple', $1)"
            plan = "\n".join(row[0] for row in await conn.fetch(sql, "'numb':* & '7':*"))
            assert f"Bitmap Index Scan on {table}_search" in plan
        # The store's own condition is that one.
        assert "search @@ to_tsquery('simple', $5)" in chat_postgres_threads._MATCHING
    finally:
        await conn.close()


async def test_ping_fails_while_the_server_is_down_and_recovers() -> None:
    async with running_postgres() as server:
        url = await server.create_database()
        async with _node(url) as store:
            sent = await send(store, "before the outage")
            await asyncio.to_thread(server.stop)
            with pytest.raises(StoreError):
                await store.ping()
            with pytest.raises(StoreError):
                await store.list_threads("alice")

            await asyncio.to_thread(server.start)
            await store.ping()
            assert (await store.list_threads("alice")).threads == [sent.thread]


async def test_open_fails_with_store_error_when_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # Bound but not listening: connections are refused straight away.
        store = PostgresChatStore(f"postgresql://netra:secret@127.0.0.1:{port}/chat")
        with pytest.raises(StoreError) as caught:
            await store.open()
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("url", ["postgresql://db/chat", "postgres://u:p@db:5433/chat"])
def test_postgres_urls_choose_the_postgres_store(url: str) -> None:
    assert isinstance(chat_store_from_url(url), PostgresChatStore)


@pytest.mark.parametrize(
    "url",
    ["mysql://admin:hunter2@db/chat", "postgresql+asyncpg://admin:hunter2@db/chat", "", "x"],
)
def test_unsupported_urls_raise_value_error(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL") as caught:
        chat_store_from_url(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "sizes"),
    [
        ("sqlite:///chat.db", (1, 10)),
        ("mysql://admin:hunter2@db/chat", (1, 10)),
        ("postgresql://", (1, 10)),
        ("postgresql://db/chat", (5, 2)),
        ("postgresql://db/chat", (0, 0)),
    ],
)
def test_bad_arguments_raise_value_error(url: str, sizes: tuple[int, int]) -> None:
    with pytest.raises(ValueError) as caught:
        PostgresChatStore(url, min_size=sizes[0], max_size=sizes[1])
    assert "hunter2" not in str(caught.value)
