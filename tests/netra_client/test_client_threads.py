"""netra_client's thread calls against a real server: pages, search, rename and delete, each
seen by another connection of the same user; history pages."""

from __future__ import annotations

import asyncio

import pytest

from netra_client import NetraClient, NetraError, Sequenced
from schemas.chat import ChatThreadDeleted, ChatThreadUpdated
from tests.harness import LiveServer


async def test_threads_page_until_next_before_is_none(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        made = [(await client.run_prompt(f"count to {n}")).thread_id for n in range(1, 6)]
        pages = [await client.threads(limit=2)]
        while (before := pages[-1].next_before) is not None and len(pages) < 10:
            pages.append(await client.threads(limit=2, before=before))
        everything = await client.threads()
    assert [len(page.threads) for page in pages] == [2, 2, 1]
    paged = [thread.id for page in pages for thread in page.threads]
    assert paged == [thread.id for thread in everything.threads] == made[::-1]
    assert everything.next_before is None


async def test_search_rename_and_delete_reach_every_connection(server: LiveServer) -> None:
    updated: list[Sequenced[ChatThreadUpdated]] = []
    deleted: list[Sequenced[ChatThreadDeleted]] = []
    async with (
        NetraClient(server.url, await server.token("alice")) as client,
        NetraClient(server.url, await server.token("alice")) as other_tab,
    ):
        other_tab.on(ChatThreadUpdated, updated.append)
        other_tab.on(ChatThreadDeleted, deleted.append)
        fruit = await client.run_prompt("tell me about pineapples")
        sums = await client.run_prompt("calculate 2 + 2")
        renamed = (await client.rename_thread(sums.thread_id, "Quick   sums")).thread
        found = {
            query: [t.id for t in (await client.threads(query=query)).threads]
            for query in ("quick", "pineapple", "SUMS qui", "nothing-like-this")
        }
        assert (await client.delete_thread(fruit.thread_id)).deleted
        left = [t.id for t in (await client.threads()).threads]
        with pytest.raises(NetraError) as gone:
            await client.history(fruit.thread_id)
        async with asyncio.timeout(5):
            while not deleted:  # noqa: ASYNC110 (the other connection's events)
                await asyncio.sleep(0.01)
    assert renamed.title == "Quick sums"
    assert [item.event.thread for item in updated] == [renamed]
    assert found == {
        "quick": [sums.thread_id],
        "pineapple": [fruit.thread_id],
        "SUMS qui": [sums.thread_id],
        "nothing-like-this": [],
    }
    assert left == [sums.thread_id]
    assert gone.value.code == "not_found"
    assert [item.event.thread_id for item in deleted] == [fruit.thread_id]


async def test_history_pages_back_with_has_more(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        thread_id = (await client.run_prompt("count to 1")).thread_id
        for n in (2, 3):
            await client.run_prompt(f"count to {n}", thread_id=thread_id)
        newest = await client.history(thread_id, limit=4)
        older = await client.history(thread_id, limit=4, before=newest.messages[0].id)
        whole = await client.history(thread_id)
    assert newest.has_more
    assert not older.has_more
    assert [m.text for m in older.messages] == ["count to 1", "1"]
    assert [m.id for m in older.messages + newest.messages] == [m.id for m in whole.messages]
    assert not whole.has_more


async def test_thread_calls_check_their_arguments_and_ownership(server: LiveServer) -> None:
    async with (
        NetraClient(server.url, await server.token("alice")) as alice,
        NetraClient(server.url, await server.token("mallory")) as mallory,
    ):
        thread_id = (await alice.run_prompt("count to 1")).thread_id
        with pytest.raises(NetraError) as too_many:
            await alice.threads(limit=101)
        with pytest.raises(NetraError) as not_hers:
            await mallory.rename_thread(thread_id, "mine now")
        with pytest.raises(NetraError) as blank:
            await alice.rename_thread(thread_id, "   ")
        with pytest.raises(NetraError) as not_a_page:
            await alice.threads(before="no-such-thread")
    assert too_many.value.code == "invalid_payload"
    assert not_hers.value.code == "not_found"
    assert blank.value.code == "invalid_payload"
    assert not_a_page.value.code == "not_found"
