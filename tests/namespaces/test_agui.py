"""/agui through the live server with real Socket.IO clients: `agui:run` streams the same
AG-UI events as POST /api/agui (count, calculator, reasoning, an approval through resume),
a reconnect resumes by runId with nothing doubled, two tabs on one run, refusals, and
nothing left following the user's stream once a connection closes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from ag_ui.core import Event
from pydantic import TypeAdapter

from server.app_keys import AGUI_STREAMS, CONTEXT
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, Recorder, connect, live_server, refusal
from tests.server.http.test_agui import post, run_input, snapshot, text_of, types
from tests.server.http.test_publish import service_token

NS = "/agui"
EVENT: TypeAdapter[Event] = TypeAdapter(Event)
RUN_ENDS = ("RUN_FINISHED", "RUN_ERROR")


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    from tests.server.auth.tokens import SECRET

    async with live_server(make_settings(jwt_secret=SECRET)) as live:
        yield live


async def wait_events(recorder: Recorder, start: int, within_s: float = 20.0) -> list[Any]:
    """The AG-UI events after the first `start`, through the run's end."""

    async def until() -> list[Any]:
        while True:
            events = recorder.of(NS, "agui:event")[start:]
            if any(event["type"] in RUN_ENDS for event in events):
                return events
            recorder.arrived.clear()
            await recorder.arrived.wait()

    return await asyncio.wait_for(until(), within_s)


async def socket_run(
    client: socketio.AsyncClient, recorder: Recorder, body: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`agui:run`: its ack and its events, each checked against ag_ui.core."""
    start = len(recorder.of(NS, "agui:event"))
    ack: dict[str, Any] = await client.call("agui:run", body, namespace=NS, timeout=10)
    assert ack["ok"] is True, ack
    events = await wait_events(recorder, start)
    for event in events:
        EVENT.validate_python(event)
    return ack["data"], events


def shape(events: list[dict[str, Any]]) -> list[str]:
    """The event types, each run of content events as one (how deltas are batched varies)."""
    return [kind for kind, _ in itertools.groupby(types(events))]


@pytest.mark.parametrize("prompt", ["count to 5", "calculate 2+3", "think about tides"])
async def test_a_run_streams_what_the_sse_endpoint_streams(server: LiveServer, prompt: str) -> None:
    token = await server.token()
    client, recorder = await connect(server, [NS], {"token": token})
    try:
        body = run_input(prompt)
        ack, events = await socket_run(client, recorder, body)
        _, over_http = await post(server, run_input(prompt), token)
        assert shape(events) == shape(over_http)
        assert text_of(events) == text_of(over_http)
        assert (events[0]["threadId"], events[0]["runId"]) == (body["threadId"], body["runId"])
        ours = events[1]["value"]
        assert (ours["threadId"], ours["runId"]) == (ack["thread_id"], ack["run_id"])
        assert events[-1]["outcome"] == {"type": "success"}
    finally:
        await client.disconnect()


async def test_an_approval_is_an_interrupt_answered_by_resume(server: LiveServer) -> None:
    token = await server.token()
    client, recorder = await connect(server, [NS], {"token": token})
    try:
        first = run_input("remind me to water the plants")
        _, events = await socket_run(client, recorder, first)
        _, over_http = await post(server, run_input("remind me to water the plants"), token)
        assert shape(events) == shape(over_http)
        [interrupt] = events[-1]["outcome"]["interrupts"]
        assert interrupt["reason"] == "tool_approval"

        resume = run_input(None, first["threadId"])
        resume["resume"] = [
            {"interruptId": interrupt["id"], "status": "resolved", "payload": {"approved": True}}
        ]
        _, events = await socket_run(client, recorder, resume)
        assert "TOOL_CALL_RESULT" in types(events)
        assert [e["name"] for e in events if e["type"] == "CUSTOM"] == [
            "netra.run",
            "netra.approval_resolved",
        ]
        assert text_of(events) == "Reminder set: water the plants"
        assert events[-1]["outcome"] == {"type": "success"}
    finally:
        await client.disconnect()


async def test_a_reconnect_resumes_by_run_id_with_nothing_doubled(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings(demo_tokens_per_s=400)) as live:
        token = await live.token()
        body = run_input("count to 200")
        client, recorder = await connect(live, [NS], {"token": token})
        ack = await client.call("agui:run", body, namespace=NS, timeout=10)
        assert ack["ok"] is True

        async def some_text() -> None:
            while len(text_of(recorder.of(NS, "agui:event"))) < 20:
                recorder.arrived.clear()
                await recorder.arrived.wait()

        await asyncio.wait_for(some_text(), 10)
        await client.disconnect()
        got = text_of(recorder.of(NS, "agui:event"))

        again, recorder = await connect(live, [NS], {"token": token})
        try:
            resumed_ack, resumed = await socket_run(again, recorder, body)
            assert resumed_ack == ack["data"]  # the same run of ours: nothing sent twice
            messages = snapshot(resumed)
            assert [m["role"] for m in messages] == ["user", "assistant"]
            so_far = messages[1]["content"]
            assert so_far.startswith(got)
            assert so_far + text_of(resumed) == " ".join(str(n) for n in range(1, 201))
            assert resumed[-1]["type"] == "RUN_FINISHED"
        finally:
            await again.disconnect()
        await asyncio.sleep(0.1)
        assert not live.app[CONTEXT].emitter._listeners
        assert len(live.app[AGUI_STREAMS]) == 0


async def test_two_tabs_follow_one_run(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings(demo_tokens_per_s=400)) as live:
        token = await live.token()
        first, first_events = await connect(live, [NS], {"token": token})
        second, second_events = await connect(live, [NS], {"token": token})
        try:
            body = run_input("count to 60")
            ack = await first.call("agui:run", body, namespace=NS, timeout=10)
            assert ack["ok"] is True
            # One run streams per connection at a time.
            busy = await first.call("agui:run", run_input("count to 1"), namespace=NS)
            assert busy["error"]["code"] == "conflict"
            # The other tab names the same run: it joins it, sending nothing.
            joined, events = await socket_run(second, second_events, body)
            assert joined == ack["data"]
            mine = await wait_events(first_events, 0)
            everything = " ".join(str(n) for n in range(1, 61))
            assert text_of(mine) == everything
            [answer] = [m for m in snapshot(events) if m["role"] == "assistant"] or [{}]
            assert (answer.get("content") or "") + text_of(events) == everything
            assert [m["role"] for m in snapshot(events)].count("user") == 1
        finally:
            await first.disconnect()
            await second.disconnect()


async def test_refusals(server: LiveServer) -> None:
    refused = await refusal(server, NS, None)
    assert refused["data"]["code"] == "auth_required"
    refused = await refusal(server, NS, {"token": "not-a-token"})
    assert refused["data"]["code"] == "token_invalid"

    reader, _ = await connect(server, [NS], {"token": service_token(scope="chat:read")})
    try:
        ack = await reader.call("agui:run", run_input("count to 1"), namespace=NS)
        assert ack["error"]["code"] == "forbidden"
        assert ack["error"]["details"] == {"scope": "chat:write"}
    finally:
        await reader.disconnect()

    client, recorder = await connect(server, [NS], {"token": await server.token()})
    try:
        ack = await client.call("agui:run", {"threadId": "t"}, namespace=NS)
        assert ack["error"]["code"] == "invalid_payload"
        ack = await client.call("agui:run", run_input(None), namespace=NS)
        assert ack["error"]["code"] == "invalid_payload"
        bad_resume = run_input(None, resume=[{"interruptId": "nope", "status": "resolved"}])
        ack = await client.call("agui:run", bad_resume, namespace=NS)
        assert ack["error"]["code"] == "invalid_payload"
        # Refused before anything streamed; the connection can still run.
        assert recorder.of(NS, "agui:event") == []
        _, events = await socket_run(client, recorder, run_input("count to 2"))
        assert text_of(events) == "1 2"
    finally:
        await client.disconnect()
