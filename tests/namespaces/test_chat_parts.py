"""Answers are made of parts: the same parts live, in the outcome, in history (finished or
mid-stream) and after a resume; one answer at a time per thread."""

from __future__ import annotations

import uuid
from typing import Any

import socketio

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server, run_events, send_chat, wait_run_end
from tests.parts_fold import fold, live_parts

NS = "/chat"


async def _client(server: LiveServer, **auth: Any) -> tuple[socketio.AsyncClient, Any]:
    client, recorder = await connect(server, [NS], {"token": await server.token("alice"), **auth})
    await recorder.wait_for(NS, "chat:ready")
    return client, recorder


async def _history(client: socketio.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    ack = await client.call("chat:history", {"thread_id": thread_id}, namespace=NS)
    assert ack["ok"] is True, ack
    messages: list[dict[str, Any]] = ack["data"]["messages"]
    return messages


async def test_tool_call_parts_are_the_same_live_in_the_outcome_and_in_history(
    server: LiveServer,
) -> None:
    client, recorder = await _client(server)
    try:
        sent = await send_chat(client, "calculate 2*(3+4)")
        name, done = await wait_run_end(recorder, sent["run_id"])
        assert name == "agent:run_completed"
        live = live_parts(recorder, sent["run_id"])
        assert [p["type"] for p in live] == ["tool_call", "tool_result", "text"]
        assert live[0]["args"] == {"expression": "2*(3+4)"}
        assert live[1]["result"] == 14
        assert done["message"]["parts"] == live
        assert done["message"]["text"] == live[2]["text"]
        assert done["message"]["reply_to"] == sent["message_id"]
        answer = (await _history(client, sent["thread_id"]))[-1]
        assert answer["parts"] == live
        assert (answer["status"], answer["text"]) == ("complete", live[2]["text"])
    finally:
        await client.disconnect()
    # Another tab (a reload) reads the same parts.
    other, _ = await _client(server)
    try:
        assert (await _history(other, sent["thread_id"]))[-1]["parts"] == live
    finally:
        await other.disconnect()


async def test_history_mid_stream_plus_later_events_is_the_final_answer(
    server: LiveServer,
) -> None:
    client, recorder = await _client(server)
    try:
        sent = await send_chat(client, "count to 10000")
        await recorder.wait_for(NS, "agent:delta", count=5)
        streaming = (await _history(client, sent["thread_id"]))[-1]
        assert streaming["status"] == "streaming"
        assert streaming["seq"] >= 1
        _, done = await wait_run_end(recorder, sent["run_id"])
        rebuilt = fold(run_events(recorder, sent["run_id"]), streaming["parts"], streaming["seq"])
        assert rebuilt == done["message"]["parts"]
    finally:
        await client.disconnect()


async def test_a_resumed_tab_rebuilds_the_same_parts(server: LiveServer) -> None:
    client, recorder = await _client(server)
    [ready] = recorder.of(NS, "chat:ready")
    sent = await send_chat(client, "calculate 6*7")
    await recorder.wait_for(NS, "agent:tool_call")
    await client.disconnect()
    # Read once disconnected: whatever arrived until then is not replayed.
    seen = [d["seq"] for _, d in recorder.events[NS] if "seq" in d]
    resume = {"epoch": ready["epoch"], "last_seq": seen[-1]}
    back, back_recorder = await _client(server, resume=resume)
    try:
        _, done = await wait_run_end(back_recorder, sent["run_id"])
        both = recorder.events[NS] + back_recorder.events[NS]
        events = [
            (n, d) for n, d in both if isinstance(d, dict) and d.get("run_id") == sent["run_id"]
        ]
        seqs = [d["seq"] for _, d in events]
        assert seqs == sorted(set(seqs)), "nothing doubled, in order"
        assert fold(events) == done["message"]["parts"]
        assert (await _history(back, sent["thread_id"]))[-1]["parts"] == done["message"]["parts"]
    finally:
        await back.disconnect()


async def test_a_second_send_to_a_running_thread_is_a_conflict(
    make_settings: SettingsFactory,
) -> None:
    # Paced, so the answer is still running after the three calls before the stop.
    async with live_server(make_settings(demo_tokens_per_s=500)) as server:
        await _a_second_send_is_a_conflict(server)


async def _a_second_send_is_a_conflict(server: LiveServer) -> None:
    client, recorder = await _client(server)
    try:
        original = {"client_msg_id": str(uuid.uuid4()), "text": "count to 10000"}
        first = (await client.call("chat:send", original, namespace=NS))["data"]
        payload = {
            "client_msg_id": str(uuid.uuid4()),
            "text": "and another",
            "thread_id": first["thread_id"],
        }
        # A repeat of the send that started the answer is its duplicate, not a conflict.
        repeat = await client.call("chat:send", original, namespace=NS)
        assert repeat["data"] == {**first, "duplicate": True}
        refused = await client.call("chat:send", payload, namespace=NS)
        assert refused["ok"] is False
        assert refused["error"]["code"] == "conflict"
        assert refused["error"]["details"] == {"run_id": first["run_id"]}
        # Stopped, the thread takes the message, and the stopped answer keeps its parts.
        await recorder.wait_for(NS, "agent:delta", count=2)
        stop = await client.call("chat:stop", {"run_id": first["run_id"]}, namespace=NS)
        assert stop["data"] == {"stopped": True}
        name, stopped = await wait_run_end(recorder, first["run_id"])
        assert name == "agent:run_stopped"
        assert stopped["message"]["parts"] == live_parts(recorder, first["run_id"])
        assert stopped["message"]["parts"][0]["text"].startswith("1 2 3")
        payload["client_msg_id"] = str(uuid.uuid4())
        accepted = await client.call("chat:send", payload, namespace=NS)
        assert accepted["ok"] is True, accepted
        await wait_run_end(recorder, accepted["data"]["run_id"])
    finally:
        await client.disconnect()


async def test_threads_are_independent_while_one_answer_runs(server: LiveServer) -> None:
    client, recorder = await _client(server)
    try:
        first = await send_chat(client, "count to 2000")
        second = await send_chat(client, "count to 3")
        assert second["thread_id"] != first["thread_id"]
        name, _ = await wait_run_end(recorder, second["run_id"])
        assert name == "agent:run_completed"
        await client.call("chat:stop", {"run_id": first["run_id"]}, namespace=NS)
        await wait_run_end(recorder, first["run_id"])
    finally:
        await client.disconnect()


async def test_usage_reaches_the_outcome_and_the_metrics(server: LiveServer) -> None:
    client, recorder = await _client(server)
    try:
        sent = await send_chat(client, "count to 30")
        _, done = await wait_run_end(recorder, sent["run_id"])
    finally:
        await client.disconnect()
    usage = done["usage"]
    # The demo model counts words as tokens: thirty numbers out.
    assert usage["output_tokens"] == 30
    assert usage["input_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    _, metrics = await server.get_text("/metrics")
    assert f'netra_agent_tokens_total{{kind="output"}} {30:.1f}' in metrics
    assert f'netra_agent_tokens_total{{kind="input"}} {usage["input_tokens"]:.1f}' in metrics
