"""/chat over a real connection: every event, every error code, streams, stop, isolation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from tests.conftest import SettingsFactory
from tests.harness import (
    LiveServer,
    Recorder,
    connect,
    deltas_text,
    live_server,
    run_events,
    stream_seqs,
    wait_run_end,
)

NS = "/chat"
Client = tuple[socketio.AsyncClient, Recorder]


async def chat_client(server: LiveServer, user: str = "alice") -> Client:
    client, recorder = await connect(server, [NS], {"token": await server.token(user)})
    await recorder.wait_for(NS, "chat:ready")
    return client, recorder


@pytest.fixture
async def alice(server: LiveServer) -> AsyncIterator[Client]:
    client, recorder = await chat_client(server, "alice")
    yield client, recorder
    await client.disconnect()


async def send(client: socketio.AsyncClient, text: str, **extra: Any) -> dict[str, Any]:
    payload = {"client_msg_id": str(uuid.uuid4()), "text": text, **extra}
    ack: dict[str, Any] = await client.call("chat:send", payload, namespace=NS)
    return ack


async def test_ready_on_connect_is_fresh(alice: Client) -> None:
    _, recorder = alice
    [ready] = recorder.of(NS, "chat:ready")
    assert ready["recovery"] == "fresh"
    assert ready["replayed"] == 0
    assert ready["head_seq"] == 0
    assert ready["epoch"]


async def test_count_streams_exact_text_with_contiguous_seqs(alice: Client) -> None:
    client, recorder = alice
    ack = await send(client, "count to 300")
    assert ack["ok"] is True
    data = ack["data"]
    assert data["duplicate"] is False
    name, done = await wait_run_end(recorder, data["run_id"])
    expected = " ".join(str(n) for n in range(1, 301))
    assert name == "agent:run_completed"
    assert done["message"]["text"] == expected
    assert done["message"]["role"] == "assistant"
    assert deltas_text(recorder, data["run_id"]) == expected
    seqs = stream_seqs(recorder)
    assert seqs == list(range(1, len(seqs) + 1))
    [message] = recorder.of(NS, "chat:message")
    assert message["message"]["text"] == "count to 300"
    assert message["message"]["id"] == data["message_id"]
    assert message["ts"].endswith("Z")
    started = [d for n, d in run_events(recorder, data["run_id"]) if n == "agent:run_started"]
    assert started[0]["reply_to"] == data["message_id"]
    assert started[0]["thread_id"] == data["thread_id"]


async def test_calculator_tool_call_and_result_are_json_values(alice: Client) -> None:
    client, recorder = alice
    ack = await send(client, "calculate 2*(3+4)")
    run_id = ack["data"]["run_id"]
    name, done = await wait_run_end(recorder, run_id)
    assert name == "agent:run_completed"
    events = run_events(recorder, run_id)
    [call] = [d for n, d in events if n == "agent:tool_call"]
    [result] = [d for n, d in events if n == "agent:tool_result"]
    assert call["name"] == "calculator"
    assert call["args"] == {"expression": "2*(3+4)"}
    assert result["call_id"] == call["call_id"]
    assert result["result"] == 14
    assert result["is_error"] is False
    assert "14" in done["message"]["text"]
    order = [n for n, _ in events]
    assert order.index("agent:tool_call") < order.index("agent:tool_result")


async def test_calculator_error_is_a_tool_result_not_a_crash(alice: Client) -> None:
    client, recorder = alice
    ack = await send(client, "calculate 1/0")
    run_id = ack["data"]["run_id"]
    name, done = await wait_run_end(recorder, run_id)
    assert name == "agent:run_completed"
    [result] = [d for n, d in run_events(recorder, run_id) if n == "agent:tool_result"]
    assert result["is_error"] is True
    assert "zero" in str(result["result"]).lower()
    assert "could not" in done["message"]["text"].lower()


async def test_other_text_gets_several_sentences(alice: Client) -> None:
    client, recorder = alice
    ack = await send(client, "Tell me something")
    _, done = await wait_run_end(recorder, ack["data"]["run_id"])
    assert done["message"]["text"].count(". ") >= 2


async def test_examples_offer_each_kind(alice: Client) -> None:
    client, _ = alice
    ack = await client.call("chat:examples", {}, namespace=NS)
    examples = ack["data"]["examples"]
    assert len(examples) >= 3
    prompts = [e["prompt"] for e in examples]
    assert any(p.startswith("count to") for p in prompts)
    assert any(p.startswith("calculate") for p in prompts)
    assert all({"id", "title", "prompt"} <= set(e) for e in examples)


async def test_threads_and_history(alice: Client) -> None:
    client, recorder = alice
    first = await send(client, "count to 3")
    await wait_run_end(recorder, first["data"]["run_id"])
    thread_id = first["data"]["thread_id"]
    second = await send(client, "count to 2", thread_id=thread_id)
    assert second["data"]["thread_id"] == thread_id
    await wait_run_end(recorder, second["data"]["run_id"])

    threads = (await client.call("chat:threads", {}, namespace=NS))["data"]["threads"]
    assert [t["id"] for t in threads] == [thread_id]
    assert threads[0]["title"] == "count to 3"

    history = await client.call("chat:history", {"thread_id": thread_id}, namespace=NS)
    messages = history["data"]["messages"]
    assert [(m["role"], m["text"], m["status"]) for m in messages] == [
        ("user", "count to 3", "complete"),
        ("assistant", "1 2 3", "complete"),
        ("user", "count to 2", "complete"),
        ("assistant", "1 2", "complete"),
    ]
    assert messages[1]["run_id"] == first["data"]["run_id"]
    limited = await client.call("chat:history", {"thread_id": thread_id, "limit": 2}, namespace=NS)
    assert [m["text"] for m in limited["data"]["messages"]] == ["count to 2", "1 2"]


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("chat:send", {"client_msg_id": "not-a-uuid", "text": "hi"}, "invalid_payload"),
        ("chat:send", {"client_msg_id": str(uuid.uuid4())}, "invalid_payload"),
        ("chat:send", {"client_msg_id": str(uuid.uuid4()), "text": ""}, "invalid_payload"),
        ("chat:send", {"client_msg_id": str(uuid.uuid4()), "text": 5}, "invalid_payload"),
        (
            "chat:send",
            {"client_msg_id": str(uuid.uuid4()), "text": "hi", "source": "telepathy"},
            "invalid_payload",
        ),
        ("chat:send", '{"client_msg_id": "x", "text": "hi"}', "double_encoded_json"),
        (
            "chat:send",
            {"client_msg_id": str(uuid.uuid4()), "text": "x" * 20_001},
            "payload_too_large",
        ),
        ("chat:stop", {"run_id": "no-such-run"}, "not_found"),
        ("chat:stop", {}, "invalid_payload"),
        ("chat:history", {"thread_id": "no-such-thread"}, "not_found"),
        ("chat:history", {"thread_id": "t", "limit": 0}, "invalid_payload"),
        ("chat:threads", {"unexpected": 1}, "invalid_payload"),
        ("chat:teleport", {}, "unknown_event"),
        (
            "chat:send",
            {"client_msg_id": str(uuid.uuid4()), "text": "hi", "thread_id": "nope"},
            "not_found",
        ),
    ],
)
async def test_bad_input_gets_a_code_and_the_connection_lives(
    alice: Client, event: str, payload: Any, code: str
) -> None:
    client, _ = alice
    ack = await client.call(event, payload, namespace=NS)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    still = await client.call("chat:examples", {}, namespace=NS)
    assert still["ok"] is True


async def test_failed_send_without_ack_reports_chat_error(alice: Client) -> None:
    client, recorder = alice
    await client.emit("chat:send", {"text": "no id"}, namespace=NS)
    [error] = await recorder.wait_for(NS, "chat:error")
    assert error == {
        "code": "invalid_payload",
        "message": error["message"],
        "event": "chat:send",
    }
    assert "client_msg_id" in error["message"]


async def test_users_are_isolated(server: LiveServer, alice: Client) -> None:
    bob, bob_events = await chat_client(server, "bob")
    try:
        client, recorder = alice
        ack = await send(client, "count to 5")
        await wait_run_end(recorder, ack["data"]["run_id"])
        run_id, thread_id = ack["data"]["run_id"], ack["data"]["thread_id"]
        assert stream_seqs(bob_events) == []
        history = await bob.call("chat:history", {"thread_id": thread_id}, namespace=NS)
        assert history["error"]["code"] == "not_found"
        stop = await bob.call("chat:stop", {"run_id": run_id}, namespace=NS)
        assert stop["error"]["code"] == "not_found"
        into = await send(bob, "hi", thread_id=thread_id)
        assert into["error"]["code"] == "not_found"
        threads = await bob.call("chat:threads", {}, namespace=NS)
        assert threads["data"]["threads"] == []
        # Bob's own stream starts at 1, independent of Alice's.
        own = await send(bob, "count to 1")
        await wait_run_end(bob_events, own["data"]["run_id"])
        assert stream_seqs(bob_events)[0] == 1
    finally:
        await bob.disconnect()


async def test_every_tab_of_a_user_gets_the_same_stream(server: LiveServer, alice: Client) -> None:
    tab2, tab2_events = await chat_client(server, "alice")
    try:
        client, recorder = alice
        ack = await send(client, "calculate 6*7")
        await wait_run_end(recorder, ack["data"]["run_id"])
        await wait_run_end(tab2_events, ack["data"]["run_id"])
        assert recorder.events[NS][1:] == tab2_events.events[NS][1:]  # after each's chat:ready
    finally:
        await tab2.disconnect()


async def test_repeated_send_is_idempotent(alice: Client) -> None:
    client, recorder = alice
    payload = {"client_msg_id": str(uuid.uuid4()), "text": "count to 2"}
    first = await client.call("chat:send", payload, namespace=NS)
    again = await client.call("chat:send", payload, namespace=NS)
    assert again["data"] == {**first["data"], "duplicate": True}
    await wait_run_end(recorder, first["data"]["run_id"])
    history = await client.call(
        "chat:history", {"thread_id": first["data"]["thread_id"]}, namespace=NS
    )
    assert [m["text"] for m in history["data"]["messages"]] == ["count to 2", "1 2"]
    assert len(recorder.of(NS, "chat:message")) == 1
    assert len(recorder.of(NS, "agent:run_started")) == 1


async def test_stop_ends_the_run_and_keeps_what_was_sent(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings(demo_tokens_per_s=100)) as live:
        client, recorder = await chat_client(live)
        try:
            ack = await send(client, "count to 2000")
            run_id = ack["data"]["run_id"]
            await recorder.wait_for(NS, "agent:delta", count=3)
            stop = await client.call("chat:stop", {"run_id": run_id}, namespace=NS)
            assert stop == {"ok": True, "data": {"stopped": True}}
            name, _ = await wait_run_end(recorder, run_id)
            assert name == "agent:run_stopped"
            sent = deltas_text(recorder, run_id)
            assert sent.startswith("1 2 3")
            assert not sent.endswith("2000")
            history = await client.call(
                "chat:history", {"thread_id": ack["data"]["thread_id"]}, namespace=NS
            )
            answer = history["data"]["messages"][-1]
            assert (answer["status"], answer["text"]) == ("stopped", sent)
            again = await client.call("chat:stop", {"run_id": run_id}, namespace=NS)
            assert again == {"ok": True, "data": {"stopped": False}}
        finally:
            await client.disconnect()


async def test_history_shows_a_running_answer_so_far(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings(demo_tokens_per_s=100)) as live:
        client, recorder = await chat_client(live)
        try:
            ack = await send(client, "count to 2000")
            await recorder.wait_for(NS, "agent:delta", count=3)
            history = await client.call(
                "chat:history", {"thread_id": ack["data"]["thread_id"]}, namespace=NS
            )
            running = history["data"]["messages"][-1]
            assert running["status"] == "streaming"
            assert running["run_id"] == ack["data"]["run_id"]
            assert running["text"].startswith("1 2 3")
            # The text is exactly the deltas up to the seq it names.
            upto = "".join(
                d["text"]
                for n, d in run_events(recorder, ack["data"]["run_id"])
                if n == "agent:delta" and d["seq"] <= running["seq"]
            )
            assert running["text"] == upto
            await client.call("chat:stop", {"run_id": ack["data"]["run_id"]}, namespace=NS)
        finally:
            await client.disconnect()


async def test_deltas_are_coalesced(alice: Client) -> None:
    client, recorder = alice
    ack = await send(client, "count to 1000")
    run_id = ack["data"]["run_id"]
    await wait_run_end(recorder, run_id)
    deltas = [d["text"] for n, d in run_events(recorder, run_id) if n == "agent:delta"]
    text = "".join(deltas)
    # 1000 tokens as fast as the model can go: flushed by size, not one frame a token.
    assert len(deltas) <= len(text) // 64 + 2
    assert all(len(d) >= 64 for d in deltas[:-1])


async def test_history_survives_a_restart(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    async with live_server(settings) as live:
        client, recorder = await chat_client(live)
        ack = await send(client, "count to 4")
        await wait_run_end(recorder, ack["data"]["run_id"])
        await client.disconnect()
    async with live_server(settings) as again:
        client, _ = await chat_client(again)
        try:
            threads = (await client.call("chat:threads", {}, namespace=NS))["data"]["threads"]
            assert [t["id"] for t in threads] == [ack["data"]["thread_id"]]
            history = await client.call(
                "chat:history", {"thread_id": ack["data"]["thread_id"]}, namespace=NS
            )
            assert [m["text"] for m in history["data"]["messages"]] == ["count to 4", "1 2 3 4"]
        finally:
            await client.disconnect()
