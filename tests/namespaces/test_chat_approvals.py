"""Tool calls that wait for the user's approval: approve, deny, edit, expire, from any tab,
across a reload; the pause is part of the answer's parts."""

from __future__ import annotations

from typing import Any

import socketio

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, Recorder, connect, live_server, send_chat, wait_run_end
from tests.parts_fold import live_parts

NS = "/chat"
PROMPT = "remind me to water the plants"


async def _tab(server: LiveServer) -> tuple[socketio.AsyncClient, Recorder]:
    client, recorder = await connect(server, [NS], {"token": await server.token("alice")})
    await recorder.wait_for(NS, "chat:ready")
    return client, recorder


async def _approve(client: socketio.AsyncClient, request: dict[str, Any], **answer: Any) -> Any:
    payload = {"run_id": request["run_id"], "call_id": request["call_id"], **answer}
    return await client.call("chat:approve", payload, namespace=NS)


async def _outcome(recorder: Recorder, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    name, done = await wait_run_end(recorder, run_id)
    assert name == "agent:run_completed"
    [result] = [
        d for n, d in recorder.events[NS] if n == "agent:tool_result" and d["run_id"] == run_id
    ]
    return done, result


async def test_approved_from_another_tab_the_reminder_is_set(server: LiveServer) -> None:
    one, one_events = await _tab(server)
    two, two_events = await _tab(server)
    try:
        sent = await send_chat(one, PROMPT)
        [request] = await two_events.wait_for(NS, "agent:approval_requested")
        assert request["name"] == "create_reminder"
        assert request["args"] == {"text": "water the plants"}
        assert request["expires_at"].endswith("Z")
        [call] = two_events.of(NS, "agent:tool_call")
        assert call["call_id"] == request["call_id"]
        # Paused, the answer's parts show the pending approval.
        history = await one.call("chat:history", {"thread_id": sent["thread_id"]}, namespace=NS)
        pending = history["data"]["messages"][-1]
        assert pending["status"] == "streaming"
        assert pending["parts"][-1]["type"] == "approval"
        assert pending["parts"][-1]["decision"] == "pending"

        ack = await _approve(two, request, approved=True)
        assert ack == {"ok": True, "data": {"decision": "approved"}}
        done, result = await _outcome(one_events, sent["run_id"])
        [resolved] = one_events.of(NS, "agent:approval_resolved")
        assert resolved["decision"] == "approved"
        assert result["is_error"] is False
        assert result["result"]["text"] == "water the plants"
        assert result["result"]["reminder_id"]
        assert "water the plants" in done["message"]["text"]
        parts = done["message"]["parts"]
        assert [p["type"] for p in parts] == ["tool_call", "approval", "tool_result", "text"]
        assert parts[1]["decision"] == "approved"
        assert live_parts(two_events, sent["run_id"]) == parts
        history = await two.call("chat:history", {"thread_id": sent["thread_id"]}, namespace=NS)
        assert history["data"]["messages"][-1]["parts"] == parts
        # Answered once: a second answer finds nothing waiting.
        again = await _approve(one, request, approved=False)
        assert again["error"]["code"] == "not_found"
    finally:
        await one.disconnect()
        await two.disconnect()


async def test_denied_the_tool_result_is_an_error_and_nothing_is_set(server: LiveServer) -> None:
    client, recorder = await _tab(server)
    try:
        sent = await send_chat(client, PROMPT)
        [request] = await recorder.wait_for(NS, "agent:approval_requested")
        ack = await _approve(client, request, approved=False)
        assert ack["data"] == {"decision": "denied"}
        done, result = await _outcome(recorder, sent["run_id"])
        assert result["is_error"] is True
        assert "not set" in done["message"]["text"].lower()
        assert done["message"]["parts"][1]["decision"] == "denied"
    finally:
        await client.disconnect()


async def test_approved_with_edited_arguments_the_tool_runs_with_them(server: LiveServer) -> None:
    client, recorder = await _tab(server)
    try:
        sent = await send_chat(client, PROMPT)
        [request] = await recorder.wait_for(NS, "agent:approval_requested")
        edited = {"text": "water the roses"}
        ack = await _approve(client, request, approved=True, args=edited)
        assert ack["data"] == {"decision": "approved"}
        done, result = await _outcome(recorder, sent["run_id"])
        [resolved] = recorder.of(NS, "agent:approval_resolved")
        assert resolved["args"] == edited
        assert result["result"]["text"] == "water the roses"
        assert done["message"]["parts"][1]["args"] == edited
    finally:
        await client.disconnect()


async def test_an_unanswered_approval_expires_as_denied(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings(approval_timeout_s=0.5)) as live:
        client, recorder = await _tab(live)
        try:
            sent = await send_chat(client, PROMPT)
            [request] = await recorder.wait_for(NS, "agent:approval_requested")
            done, result = await _outcome(recorder, sent["run_id"])
            [resolved] = recorder.of(NS, "agent:approval_resolved")
            assert resolved["decision"] == "expired"
            assert result["is_error"] is True
            assert done["message"]["parts"][1]["decision"] == "expired"
            late = await _approve(client, request, approved=True)
            assert late["error"]["code"] == "not_found"
        finally:
            await client.disconnect()


async def test_the_pause_survives_a_reload(server: LiveServer) -> None:
    client, recorder = await _tab(server)
    sent = await send_chat(client, PROMPT)
    await recorder.wait_for(NS, "agent:approval_requested")
    await client.disconnect()
    # A reload: a fresh connection that reads history, not the stream.
    again, again_events = await _tab(server)
    try:
        history = await again.call("chat:history", {"thread_id": sent["thread_id"]}, namespace=NS)
        [approval] = [
            p for p in history["data"]["messages"][-1]["parts"] if p["type"] == "approval"
        ]
        assert approval["decision"] == "pending"
        ack = await _approve(again, {"run_id": sent["run_id"], **approval}, approved=True)
        assert ack["data"] == {"decision": "approved"}
        name, done = await wait_run_end(again_events, sent["run_id"])
        assert name == "agent:run_completed"
        assert done["message"]["parts"][1]["decision"] == "approved"
    finally:
        await again.disconnect()


async def test_a_stop_while_waiting_denies_the_call(server: LiveServer) -> None:
    client, recorder = await _tab(server)
    try:
        sent = await send_chat(client, PROMPT)
        await recorder.wait_for(NS, "agent:approval_requested")
        await client.call("chat:stop", {"run_id": sent["run_id"]}, namespace=NS)
        name, stopped = await wait_run_end(recorder, sent["run_id"])
        assert name == "agent:run_stopped"
        [resolved] = recorder.of(NS, "agent:approval_resolved")
        assert resolved["decision"] == "denied"
        assert stopped["message"]["parts"][-1]["decision"] == "denied"
    finally:
        await client.disconnect()
