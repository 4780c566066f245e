"""Thread management: the paged list, full-text search, renaming and deleting."""

from __future__ import annotations

import pytest

from server.stores.chat_records import SendRecord
from server.stores.chat_store import ChatStore, NotFoundError
from tests.postgres_server import fixture_postgres_server, fixture_postgres_url  # noqa: F401
from tests.server.stores.chat_backend import (  # noqa: F401
    Backend,
    answered,
    checkpoint,
    finish,
    fixture_backend,
    fixture_store,
    send,
)

# Characters that mean something to FTS5 or to tsquery, and no word.
SYNTAX = ['"', "*", ")", "-", ":", "'", "&|!", "^", "(", "\\", "%", "_", "<->", "+", '""*']


async def ids(store: ChatStore, query: str | None = None, user: str = "alice") -> list[str]:
    return [t.id for t in (await store.list_threads(user, limit=100, query=query)).threads]


async def test_pages_follow_activity_order(store: ChatStore) -> None:
    threads = [(await send(store, f"t{i}")).thread.id for i in range(7)]
    await send(store, "not alice's", user="bob")
    newest_first = threads[::-1]

    seen: list[str] = []
    before: str | None = None
    for expected_next in (newest_first[2], newest_first[5], None):
        page = await store.list_threads("alice", limit=3, before=before)
        seen += [t.id for t in page.threads]
        assert page.next_before == expected_next
        before = page.next_before
    assert seen == newest_first

    # A page that ends exactly at the last thread says so.
    page = await store.list_threads("alice", limit=7)
    assert (len(page.threads), page.next_before) == (7, None)
    assert (await store.list_threads("alice", limit=1, before=threads[0])).threads == []


async def test_paging_cursor_must_be_the_users_thread(store: ChatStore) -> None:
    mine = (await send(store, "mine")).thread.id
    theirs = (await send(store, "theirs", user="bob")).thread.id

    with pytest.raises(NotFoundError):
        await store.list_threads("alice", before=theirs)
    with pytest.raises(NotFoundError):
        await store.list_threads("alice", before="no-such-thread")
    assert (await store.list_threads("bob", before=theirs)).threads == []
    assert (await store.list_threads("alice", before=mine)).threads == []


@pytest.fixture
async def library(store: ChatStore) -> dict[str, str]:
    """Three of alice's threads and one of bob's, with answers; name → thread id."""
    lisbon = await answered(store, "Trip to Lisbon", "Take the tram to Belém", key="l")
    mars = await answered(store, "Weather on Mars", "Cold. Planets vary a lot.", key="m")
    shop = await answered(store, "Groceries", "Milk, eggs and bread", key="g")
    await answered(store, "Trip to Mars", "Planets!", user="bob", key="b")
    return {"lisbon": lisbon.thread.id, "mars": mars.thread.id, "shop": shop.thread.id}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("trip", ["lisbon"]),  # a title
        ("TRAM", ["lisbon"]),  # an answer's text, any case
        ("plan", ["mars"]),  # a prefix: "Planets"
        ("weather mars", ["mars"]),  # every word
        ("mars weath", ["mars"]),  # in any order, each a prefix
        ("eg mil", ["shop"]),
        ("a", ["shop", "mars"]),  # newest first
        ("lisbon mars", []),
        ("trains", []),
        ("-tram", ["lisbon"]),
        ('"tram', ["lisbon"]),
        ("tram*", ["lisbon"]),
        ("(tram) AND", []),  # "and" is a word like any other
        ("title:lisbon", []),  # no column filters: "title" is a word
        ("NEAR(", []),
        ("NEAR(trip lisbon, 2)", []),
        ("trip:* & !mars", []),  # no operators: both words must match
    ],
)
async def test_search_matches_titles_and_texts(
    store: ChatStore, library: dict[str, str], query: str, found: list[str]
) -> None:
    assert await ids(store, query) == [library[name] for name in found]


@pytest.mark.parametrize("query", [None, "", "   \t", *SYNTAX, " ".join(SYNTAX)])
async def test_no_words_means_no_filter(
    store: ChatStore, library: dict[str, str], query: str | None
) -> None:
    assert await ids(store, query) == [library["shop"], library["mars"], library["lisbon"]]


async def test_search_follows_edits(store: ChatStore, library: dict[str, str]) -> None:
    sent = await send(store, "Weekend", key="w")
    await store.checkpoint_assistant_messages([checkpoint("a-w", "Hiking in Sintra")])
    # While it streams, an answer is not searched: it is once it has ended.
    assert await ids(store, "sint") == []

    await store.checkpoint_assistant_messages([checkpoint("a-w", "Surfing in Ericeira")])
    await finish(store, "a-w", "Surfing in Peniche")
    assert await ids(store, "sintra") == []
    assert await ids(store, "ericeira") == []
    assert await ids(store, "surf penic") == [sent.thread.id]

    await store.rename_thread(user_id="alice", thread_id=library["shop"], title="Market list")
    assert await ids(store, "market") == [library["shop"]]
    await store.rename_thread(user_id="alice", thread_id=library["shop"], title="Shopping")
    assert await ids(store, "market") == []
    assert await ids(store, "shop") == [library["shop"]]


async def test_search_pages(store: ChatStore) -> None:
    threads = [(await answered(store, f"Plan {i}", "ok", key=f"k{i}")).thread.id for i in range(5)]
    await answered(store, "Other", "nothing", key="other")

    page = await store.list_threads("alice", limit=2, query="plan")
    assert [t.id for t in page.threads] == threads[:2:-1]
    page = await store.list_threads("alice", limit=2, query="plan", before=page.next_before)
    assert [t.id for t in page.threads] == threads[2:0:-1]
    page = await store.list_threads("alice", limit=2, query="plan", before=page.next_before)
    assert ([t.id for t in page.threads], page.next_before) == ([threads[0]], None)


async def test_rename_keeps_activity_order(store: ChatStore) -> None:
    older, newer = await send(store, "older"), await send(store, "newer")

    renamed = await store.rename_thread(
        user_id="alice", thread_id=older.thread.id, title="  Trip\n to  Porto "
    )

    assert renamed == older.thread.model_copy(update={"title": "Trip to Porto"})
    assert await store.get_thread("alice", older.thread.id) == renamed
    assert await ids(store) == [newer.thread.id, older.thread.id]
    with pytest.raises(ValueError):
        await store.rename_thread(user_id="alice", thread_id=older.thread.id, title=" \n ")
    with pytest.raises(NotFoundError):
        await store.rename_thread(user_id="bob", thread_id=older.thread.id, title="mine")
    with pytest.raises(NotFoundError):
        await store.rename_thread(user_id="alice", thread_id="no-such-thread", title="x")


async def _history(backend: Backend, thread_id: str) -> list[int]:
    counts = await backend.query(
        f"SELECT (SELECT COUNT(*) FROM threads WHERE id = '{thread_id}'),"
        f" (SELECT COUNT(*) FROM messages WHERE thread_id = '{thread_id}'),"
        f" (SELECT COUNT(*) FROM runs WHERE thread_id = '{thread_id}')"
    )
    return list(counts[0])


async def test_delete_removes_everything_of_the_thread(
    store: ChatStore, backend: Backend, library: dict[str, str]
) -> None:
    doomed = library["lisbon"]
    sent: SendRecord = await send(store, "And Sintra?", thread=doomed, key="s", run="r-s")
    await store.checkpoint_assistant_messages([checkpoint("a-s", "Sintra has palaces", 3)])
    assert await _history(backend, doomed) == [1, 4, 2]

    await store.delete_thread(user_id="alice", thread_id=doomed)

    assert await _history(backend, doomed) == [0, 0, 0]
    for call in (
        store.get_thread("alice", doomed),
        store.list_messages(user_id="alice", thread_id=doomed),
        store.streaming_runs(user_id="alice", thread_id=doomed),
        store.delete_thread(user_id="alice", thread_id=doomed),
        store.rename_thread(user_id="alice", thread_id=doomed, title="x"),
    ):
        with pytest.raises(NotFoundError):
            await call
    for query in ("lisbon", "tram", "palaces", "sintra"):
        assert await ids(store, query) == []
    assert await ids(store) == [library["shop"], library["mars"]]
    assert await store.list_streaming(sent.message.created_at.replace(year=3000)) == []
    assert await backend.counts() == [3, 6, 3]


async def test_delete_is_refused_for_other_users(
    store: ChatStore, backend: Backend, library: dict[str, str]
) -> None:
    with pytest.raises(NotFoundError):
        await store.delete_thread(user_id="bob", thread_id=library["mars"])
    assert await backend.counts() == [4, 8, 4]
    assert await ids(store, "planets") == [library["mars"]]


async def test_streaming_runs_of_a_thread(store: ChatStore) -> None:
    sent = await send(store, "q", run="r1", answer="a1")
    assert await store.streaming_runs(user_id="alice", thread_id=sent.thread.id) == ["r1"]
    await finish(store, "a1", "done")
    assert await store.streaming_runs(user_id="alice", thread_id=sent.thread.id) == []
    with pytest.raises(NotFoundError):
        await store.streaming_runs(user_id="bob", thread_id=sent.thread.id)
