"""POST /api/agui through the live server: the demo agent's runs as AG-UI events over SSE,
each a valid `ag_ui.core` event, in an order an AG-UI client accepts; approvals as
interrupts answered by resume; a retried or resumed request doubles nothing; refusals."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from ag_ui.core import Event
from pydantic import TypeAdapter

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, live_server
from tests.server.http.test_publish import service_token

AGUI = "/api/agui"
EVENT: TypeAdapter[Event] = TypeAdapter(Event)


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    from tests.server.auth.tokens import SECRET

    async with live_server(make_settings(jwt_secret=SECRET)) as live:
        yield live


def run_input(text: str | None, thread_id: str | None = None, **extra: Any) -> dict[str, Any]:
    messages = [] if text is None else [{"id": uuid.uuid4().hex, "role": "user", "content": text}]
    return {
        "threadId": thread_id or uuid.uuid4().hex,
        "runId": uuid.uuid4().hex,
        "messages": messages,
        "tools": [],
        "context": [],
        "state": {},
        "forwardedProps": {},
        **extra,
    }


async def post(
    server: LiveServer, body: Any, token: str | None, stop_after: int | None = None
) -> tuple[int, Any]:
    """The response: (200, every event, each checked against ag_ui.core) or (status, body).
    `stop_after` drops the connection after that many events."""
    headers = {"Accept": "text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        async with http.post(f"{server.url}{AGUI}", data=data, headers=headers) as response:
            if response.status != 200:
                return response.status, await response.json()
            assert response.headers["Content-Type"].startswith("text/event-stream")
            events: list[dict[str, Any]] = []
            async for line in response.content:
                if line.startswith(b"data: "):
                    event = orjson.loads(line[6:])
                    EVENT.validate_python(event)
                    events.append(event)
                    if stop_after is not None and len(events) >= stop_after:
                        break
            return 200, events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")


def snapshot(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    [snap] = [e for e in events if e["type"] == "MESSAGES_SNAPSHOT"]
    messages: list[dict[str, Any]] = snap["messages"]
    return messages


async def test_count_streams_one_text_message_and_finishes(server: LiveServer) -> None:
    body = run_input("count to 5")
    status, events = await post(server, body, await server.token())
    assert status == 200
    kinds = types(events)
    assert kinds[:3] == ["RUN_STARTED", "CUSTOM", "MESSAGES_SNAPSHOT"]
    assert (events[0]["threadId"], events[0]["runId"]) == (body["threadId"], body["runId"])
    ours = events[1]
    assert ours["name"] == "netra.run"
    assert [m["role"] for m in snapshot(events)] == ["user"]
    assert kinds[3] == "TEXT_MESSAGE_START"
    assert events[3]["messageId"] == ours["value"]["messageId"]
    assert kinds[-2:] == ["TEXT_MESSAGE_END", "RUN_FINISHED"]
    assert events[-1]["outcome"] == {"type": "success"}
    assert text_of(events) == "1 2 3 4 5"


async def test_the_calculator_is_a_tool_call_with_json_args_and_result(server: LiveServer) -> None:
    status, events = await post(server, run_input("calculate 2+3"), await server.token())
    assert status == 200
    kinds = types(events)
    start = kinds.index("TOOL_CALL_START")
    assert kinds[start : start + 4] == [
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ]
    call, args, _, result = events[start : start + 4]
    assert call["toolCallName"] == "calculator"
    assert orjson.loads(args["delta"]) == {"expression": "2+3"}
    assert orjson.loads(result["content"]) == 5
    assert result["toolCallId"] == call["toolCallId"]
    assert "5" in text_of(events)
    assert events[-1]["type"] == "RUN_FINISHED"

    # The next run's snapshot holds the whole turn as AG-UI messages.
    thread = events[1]["value"]["threadId"]
    _, again = await post(server, run_input("count to 1", thread), await server.token())
    roles = [m["role"] for m in snapshot(again)]
    assert roles[:4] == ["user", "assistant", "tool", "assistant"]
    assistant = snapshot(again)[1]
    assert assistant["toolCalls"][0]["function"]["name"] == "calculator"


async def test_reasoning_streams_as_a_reasoning_message(server: LiveServer) -> None:
    status, events = await post(server, run_input("think about tides"), await server.token())
    assert status == 200
    kinds = types(events)
    first = kinds.index("REASONING_START")
    assert kinds[first + 1] == "REASONING_MESSAGE_START"
    assert "REASONING_MESSAGE_CONTENT" in kinds
    assert kinds.index("REASONING_END") < kinds.index("TEXT_MESSAGE_START")
    reasoning = "".join(e["delta"] for e in events if e["type"] == "REASONING_MESSAGE_CONTENT")
    assert "tides" in reasoning
    assert events[-1]["type"] == "RUN_FINISHED"


async def test_an_approval_is_an_interrupt_answered_by_resume(server: LiveServer) -> None:
    token = await server.token()
    first = run_input("remind me to water the plants")
    status, events = await post(server, first, token)
    assert status == 200
    assert "TOOL_CALL_END" in types(events)
    finished = events[-1]
    assert finished["type"] == "RUN_FINISHED"
    [interrupt] = finished["outcome"]["interrupts"]
    assert finished["outcome"]["type"] == "interrupt"
    assert interrupt["reason"] == "tool_approval"
    [call] = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert interrupt["toolCallId"] == call["toolCallId"]

    resume = run_input(None, first["threadId"])
    resume["resume"] = [
        {"interruptId": interrupt["id"], "status": "resolved", "payload": {"approved": True}}
    ]
    status, events = await post(server, resume, token)
    assert status == 200
    kinds = types(events)
    assert "TOOL_CALL_RESULT" in kinds
    assert [e["name"] for e in events if e["type"] == "CUSTOM"] == [
        "netra.run",
        "netra.approval_resolved",
    ]
    assert text_of(events) == "Reminder set: water the plants"
    assert events[-1]["type"] == "RUN_FINISHED"
    assert events[-1]["outcome"] == {"type": "success"}


async def test_a_denied_interrupt_runs_nothing(server: LiveServer) -> None:
    token = await server.token()
    first = run_input("remind me to water the plants")
    _, events = await post(server, first, token)
    [interrupt] = events[-1]["outcome"]["interrupts"]
    resume = run_input(None, first["threadId"])
    resume["resume"] = [{"interruptId": interrupt["id"], "status": "cancelled"}]
    _, events = await post(server, resume, token)
    [result] = [e for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert result["metadata"] == {"netra": {"isError": True}}
    assert "not set" in text_of(events)


async def test_a_retried_request_doubles_nothing(server: LiveServer) -> None:
    token = await server.token()
    body = run_input("count to 3")
    _, first = await post(server, body, token)
    _, again = await post(server, body, token)
    assert again[1] == first[1]  # the same run of ours
    # Already answered: the snapshot holds it all, and the run's end follows.
    assert [m["role"] for m in snapshot(again)] == ["user", "assistant"]
    assert snapshot(again)[1]["content"] == "1 2 3"
    assert types(again)[-1] == "RUN_FINISHED"
    assert "TEXT_MESSAGE_CONTENT" not in types(again)


async def test_a_stream_dropped_mid_run_resumes_with_the_same_run_id(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings(demo_tokens_per_s=400)) as live:
        token = await live.token()
        body = run_input("count to 200")
        status, first = await post(live, body, token, stop_after=20)
        assert status == 200
        got = text_of(first)
        # The client's state: what it had when the stream broke, then the resumed stream.
        status, resumed = await post(live, body, token)
        assert status == 200
        [answer] = [m for m in snapshot(resumed) if m["role"] == "assistant"] or [{}]
        so_far = answer.get("content") or ""
        assert so_far.startswith(got)
        assert so_far + text_of(resumed) == " ".join(str(n) for n in range(1, 201))
        assert resumed[-1]["type"] == "RUN_FINISHED"


async def test_refusals(server: LiveServer) -> None:
    body = run_input("count to 1")
    status, error = await post(server, body, None)
    assert (status, error["error"]["code"]) == (401, "auth_required")
    status, error = await post(server, body, "not-a-token")
    assert (status, error["error"]["code"]) == (401, "unauthorized")
    status, error = await post(server, body, service_token(scope="publish"))
    assert (status, error["error"]["code"]) == (403, "forbidden")
    token = await server.token()
    status, error = await post(server, {"threadId": "t"}, token)
    assert status == 400
    assert error["error"]["code"] == "invalid_payload"
    assert "runId" in error["error"]["message"]
    status, error = await post(server, b"{not json", token)
    assert (status, error["error"]["code"]) == (400, "invalid_payload")
    no_user = run_input(None)
    status, error = await post(server, no_user, token)
    assert (status, error["error"]["code"]) == (400, "invalid_payload")
    bad_resume = run_input(None, resume=[{"interruptId": "nope", "status": "resolved"}])
    status, error = await post(server, bad_resume, token)
    assert status == 400
