"""Threads a user manages: rename, delete, search, paging, regenerate; every change reaches
every tab of the user through the stream."""

from __future__ import annotations

import uuid
from typing import Any

import socketio

from tests.harness import LiveServer, Recorder, connect, counted, send_chat, wait_run_end

NS = "/chat"


async def _tab(server: LiveServer, user: str = "alice") -> tuple[socketio.AsyncClient, Recorder]:
    client, recorder = await connect(server, [NS], {"token": await server.token(user)})
    await recorder.wait_for(NS, "chat:ready")
    return client, recorder


async def _call(client: socketio.AsyncClient, event: str, payload: dict[str, Any]) -> Any:
    ack = await client.call(event, payload, namespace=NS)
    assert ack["ok"] is True, ack
    return ack["data"]


async def _answered(
    client: socketio.AsyncClient, recorder: Recorder, text: str, **extra: Any
) -> dict[str, Any]:
    sent = await send_chat(client, text, **extra)
    name, _ = await wait_run_end(recorder, sent["run_id"])
    assert name == "agent:run_completed"
    return sent


async def test_rename_reaches_the_other_tab_and_the_thread_list(server: LiveServer) -> None:
    one, _ = await _tab(server)
    two, two_events = await _tab(server)
    try:
        # Sent from one tab, its answer awaited on the other: every tab gets the stream.
        sent = await _answered(one, two_events, "count to 2")
        data = await _call(
            one,
            "chat:rename_thread",
            {"thread_id": sent["thread_id"], "title": "  Counting   practice "},
        )
        assert data["thread"]["title"] == "Counting practice"
        [updated] = await two_events.wait_for(NS, "chat:thread_updated")
        assert updated["thread"] == data["thread"]
        assert updated["seq"] >= 1
        listed = await _call(two, "chat:threads", {})
        assert listed["threads"][0]["title"] == "Counting practice"
        other, _ = await _tab(server, "bob")
        try:
            refused = await other.call(
                "chat:rename_thread",
                {"thread_id": sent["thread_id"], "title": "mine"},
                namespace=NS,
            )
            assert refused["error"]["code"] == "not_found"
        finally:
            await other.disconnect()
    finally:
        await one.disconnect()
        await two.disconnect()


async def test_delete_stops_the_running_answer_and_reaches_the_other_tab(
    server: LiveServer,
) -> None:
    one, one_events = await _tab(server)
    two, two_events = await _tab(server)
    try:
        sent = await send_chat(one, "count to 5000")
        await one_events.wait_for(NS, "agent:delta")
        assert await _call(one, "chat:delete_thread", {"thread_id": sent["thread_id"]}) == {
            "deleted": True
        }
        name, _ = await wait_run_end(two_events, sent["run_id"])
        assert name == "agent:run_stopped"
        [deleted] = await two_events.wait_for(NS, "chat:thread_deleted")
        assert deleted["thread_id"] == sent["thread_id"]
        names = [n for n, _ in two_events.events[NS]]
        assert names.index("agent:run_stopped") < names.index("chat:thread_deleted")
        gone = await two.call("chat:history", {"thread_id": sent["thread_id"]}, namespace=NS)
        assert gone["error"]["code"] == "not_found"
        threads = await _call(two, "chat:threads", {})
        assert sent["thread_id"] not in [t["id"] for t in threads["threads"]]
        again = await one.call("chat:delete_thread", {"thread_id": sent["thread_id"]}, namespace=NS)
        assert again["error"]["code"] == "not_found"
    finally:
        await one.disconnect()
        await two.disconnect()


async def test_search_finds_titles_and_message_text(server: LiveServer) -> None:
    client, recorder = await _tab(server)
    try:
        planets = await _answered(client, recorder, "Tell me about the planets")
        await _answered(client, recorder, "count to 3")
        renamed = await _answered(client, recorder, "count to 4")
        await _call(
            client,
            "chat:rename_thread",
            {"thread_id": renamed["thread_id"], "title": "Saturn rings"},
        )
        found = await _call(client, "chat:threads", {"query": "plan"})
        assert [t["id"] for t in found["threads"]] == [planets["thread_id"]]
        found = await _call(client, "chat:threads", {"query": "saturn"})
        assert [t["id"] for t in found["threads"]] == [renamed["thread_id"]]
        # An answer's text is searched too: "1 2 3" is only in the count-to-3 answer.
        found = await _call(client, "chat:threads", {"query": "nothing-like-this"})
        assert found == {"threads": [], "next_before": None}
        for hostile in ['"', "*", "NEAR(", ")", "-x", "a:b", "' OR 1=1 --"]:
            await _call(client, "chat:threads", {"query": hostile})
    finally:
        await client.disconnect()


async def test_threads_and_history_come_in_pages(server: LiveServer) -> None:
    client, recorder = await _tab(server)
    try:
        first = await _answered(client, recorder, "count to 1")
        for n in range(2, 5):
            await _answered(client, recorder, f"count to {n}", thread_id=first["thread_id"])
        for n in range(3):
            await _answered(client, recorder, f"count to {n + 1}")
        ids: list[str] = []
        before = None
        while True:
            page = await _call(
                client, "chat:threads", {"limit": 2, **({"before": before} if before else {})}
            )
            ids += [t["id"] for t in page["threads"]]
            before = page["next_before"]
            if before is None:
                break
        assert len(ids) == len(set(ids)) == 4
        assert ids[-1] == first["thread_id"]

        # 8 messages in the first thread, read three at a time from the newest.
        texts: list[str] = []
        page = await _call(client, "chat:history", {"thread_id": first["thread_id"], "limit": 3})
        while True:
            texts = [m["text"] for m in page["messages"]] + texts
            if not page["has_more"]:
                break
            page = await _call(
                client,
                "chat:history",
                {"thread_id": first["thread_id"], "limit": 3, "before": page["messages"][0]["id"]},
            )
        expected = [t for n in range(1, 5) for t in (f"count to {n}", counted(n))]
        assert texts == expected
    finally:
        await client.disconnect()


async def test_regenerate_keeps_both_answers_and_the_other_tab_sees_the_new_one(
    server: LiveServer,
) -> None:
    one, one_events = await _tab(server)
    two, two_events = await _tab(server)
    try:
        sent = await _answered(one, one_events, "Tell me something")
        [first_answer] = [
            m for m in await _messages(one, sent["thread_id"]) if m["role"] == "assistant"
        ]
        payload = {"client_msg_id": str(uuid.uuid4()), "message_id": first_answer["id"]}
        data = await _call(one, "chat:regenerate", payload)
        assert data["reply_to"] == sent["message_id"]
        assert data["thread_id"] == sent["thread_id"]
        assert data["duplicate"] is False
        name, done = await wait_run_end(two_events, data["run_id"])
        assert name == "agent:run_completed"
        assert done["message"]["reply_to"] == sent["message_id"]
        assert await _call(one, "chat:regenerate", payload) == {**data, "duplicate": True}
        answers = [m for m in await _messages(two, sent["thread_id"]) if m["role"] == "assistant"]
        assert [a["reply_to"] for a in answers] == [sent["message_id"]] * 2
        assert answers[0]["id"] == first_answer["id"]
        assert answers[1]["id"] == done["message"]["id"]

        # While an answer runs, regenerating is a conflict like a send.
        running = await send_chat(one, "count to 3000", thread_id=sent["thread_id"])
        refused = await one.call(
            "chat:regenerate",
            {"client_msg_id": str(uuid.uuid4()), "message_id": first_answer["id"]},
            namespace=NS,
        )
        assert refused["error"]["code"] == "conflict"
        assert refused["error"]["details"] == {"run_id": running["run_id"]}
        await one.call("chat:stop", {"run_id": running["run_id"]}, namespace=NS)
        await wait_run_end(one_events, running["run_id"])
        # A user message is not an answer to regenerate.
        wrong = await one.call(
            "chat:regenerate",
            {"client_msg_id": str(uuid.uuid4()), "message_id": sent["message_id"]},
            namespace=NS,
        )
        assert wrong["error"]["code"] == "not_found"
    finally:
        await one.disconnect()
        await two.disconnect()


async def _messages(client: socketio.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    data = await _call(client, "chat:history", {"thread_id": thread_id})
    messages: list[dict[str, Any]] = data["messages"]
    return messages


async def test_thread_changes_are_replayed_on_resume(server: LiveServer) -> None:
    one, one_events = await _tab(server)
    [ready] = one_events.of(NS, "chat:ready")
    sent = await _answered(one, one_events, "count to 2")
    head = max(d["seq"] for _, d in one_events.events[NS] if "seq" in d)
    await one.disconnect()
    two, _ = await _tab(server)
    try:
        await _call(two, "chat:rename_thread", {"thread_id": sent["thread_id"], "title": "Renamed"})
        await _call(two, "chat:delete_thread", {"thread_id": sent["thread_id"]})
    finally:
        await two.disconnect()
    back, back_events = await connect(
        server,
        [NS],
        {
            "token": await server.token("alice"),
            "resume": {"epoch": ready["epoch"], "last_seq": head},
        },
    )
    try:
        [again] = await back_events.wait_for(NS, "chat:ready")
        assert again["recovery"] == "recovered"
        names = [n for n, _ in back_events.events[NS]]
        assert names == ["chat:thread_updated", "chat:thread_deleted", "chat:ready"]
    finally:
        await back.disconnect()
