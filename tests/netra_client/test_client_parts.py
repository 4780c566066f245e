"""netra_client and version 1.1 answers against a real server: parts folded from the live
events, approvals, reasoning, usage, regenerate and one answer at a time per thread."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from netra_client import NetraClient, NetraError, PartsFold, Sequenced, fold_parts
from schemas.chat import (
    AgentApprovalRequested,
    AgentApprovalResolved,
    AgentDelta,
    AgentReasoning,
    AgentToolCall,
    AgentToolResult,
)
from schemas.parts import (
    ApprovalPart,
    MessagePart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, live_server


async def test_calculator_parts_are_the_same_live_completed_and_stored(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        transcript = await client.run_prompt("calculate (12 + 30) * 2 / 4")
        stored = (await client.history(transcript.thread_id)).messages[-1]
    call, result, text = transcript.parts
    assert isinstance(call, ToolCallPart)
    assert (call.name, call.args) == ("calculator", {"expression": "(12 + 30) * 2 / 4"})
    assert isinstance(result, ToolResultPart)
    assert (result.call_id, result.result, result.is_error) == (call.call_id, 21, False)
    assert isinstance(text, TextPart)
    assert text.text == transcript.text == transcript.streamed_text
    assert transcript.message is not None
    assert transcript.message.parts == transcript.parts
    assert transcript.message.reply_to == transcript.reply_to
    assert stored.parts == transcript.parts
    assert stored.id == transcript.assistant_message_id


async def test_an_approved_reminder_runs_the_tool(server: LiveServer) -> None:
    asked: list[AgentApprovalRequested] = []

    def approve(request: AgentApprovalRequested) -> bool:
        asked.append(request)
        return True

    async with NetraClient(server.url, await server.token("alice")) as client:
        transcript = await client.run_prompt("remind me to water the plants", approve=approve)
        stored = (await client.history(transcript.thread_id)).messages[-1]
    [request] = asked
    assert (request.name, request.args) == ("create_reminder", {"text": "water the plants"})
    assert transcript.outcome == "completed"
    assert [type(p) for p in transcript.parts] == [
        ToolCallPart,
        ApprovalPart,
        ToolResultPart,
        TextPart,
    ]
    [approval] = transcript.approvals
    assert approval.decision == "approved"
    [result] = transcript.tool_results
    assert not result.is_error
    assert isinstance(result.result, dict)
    assert result.result["text"] == "water the plants"
    assert stored.parts == transcript.parts


async def test_a_denied_reminder_is_an_error_result(server: LiveServer) -> None:
    async def deny(_: AgentApprovalRequested) -> bool:
        await asyncio.sleep(0)
        return False

    async with NetraClient(server.url, await server.token("alice")) as client:
        transcript = await client.run_prompt("remind me to call mum", approve=deny)
    assert [a.decision for a in transcript.approvals] == ["denied"]
    [result] = transcript.tool_results
    assert result.is_error
    assert transcript.message is not None
    assert transcript.message.parts == transcript.parts


async def test_another_tab_can_answer_the_approval(server: LiveServer) -> None:
    async with (
        NetraClient(server.url, await server.token("alice")) as first,
        NetraClient(server.url, await server.token("alice")) as second,
    ):

        async def approve_there(item: Sequenced[AgentApprovalRequested]) -> None:
            answered = await second.approve(item.event.run_id, item.event.call_id, True)
            assert answered.decision == "approved"

        second.on(AgentApprovalRequested, approve_there)
        transcript = await first.run_prompt("remind me to feed the cat", timeout_s=20)
        with pytest.raises(NetraError) as again:
            await first.approve(transcript.run_id, transcript.approvals[0].call_id, False)
    assert transcript.approvals[0].decision == "approved"
    assert not transcript.tool_results[0].is_error
    assert again.value.code == "not_found"


async def test_reasoning_streams_before_the_text(server: LiveServer) -> None:
    reasoning: list[Sequenced[AgentReasoning]] = []
    async with NetraClient(server.url, await server.token("alice")) as client:
        client.on(AgentReasoning, reasoning.append)
        transcript = await client.run_prompt("think about tides")
    assert reasoning
    assert [type(p) for p in transcript.parts] == [ReasoningPart, TextPart]
    assert transcript.reasoning == "".join(r.event.text for r in reasoning)
    # Reasoning is not in `text`.
    reasoning_part, text_part = (
        ReasoningPart(text=transcript.reasoning),
        TextPart(text=transcript.text),
    )
    assert transcript.parts == [reasoning_part, text_part]
    assert transcript.message is not None
    assert transcript.message.parts == transcript.parts


async def test_regenerate_writes_a_second_answer_to_the_same_message(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        first = await client.run_prompt("calculate 6 * 7")
        assert first.assistant_message_id is not None
        second = await client.run_regenerate(first.assistant_message_id)
        again = await client.regenerate(first.assistant_message_id, second.client_msg_id)
        messages = (await client.history(first.thread_id)).messages
    assert second.reply_to == first.reply_to
    assert second.thread_id == first.thread_id
    assert second.tool_results[0].result == 42
    assert second.text == first.text
    assert again.duplicate
    assert (again.run_id, again.reply_to) == (second.run_id, second.reply_to)
    assert [m.role for m in messages] == ["user", "assistant", "assistant"]
    assert [m.reply_to for m in messages[1:]] == [first.reply_to] * 2
    assert messages[-1].run_id == second.run_id


async def test_a_second_send_while_the_answer_runs_is_a_conflict(
    make_settings: SettingsFactory,
) -> None:
    async with (
        live_server(make_settings(demo_tokens_per_s=200)) as live,
        NetraClient(live.url, await live.token("alice")) as client,
    ):
        running = asyncio.Event()
        client.on(AgentDelta, lambda _: running.set())
        long = await client.send("count to 3000")
        await asyncio.wait_for(running.wait(), 5)
        with pytest.raises(NetraError) as caught:
            await client.send("count to 2", thread_id=long.thread_id)
        elsewhere = await client.run_prompt("count to 2")
        assert (await client.stop(long.run_id)).stopped
    assert caught.value.code == "conflict"
    assert caught.value.details["run_id"] == long.run_id
    assert elsewhere.text == "1 2"


async def test_stopped_answers_carry_their_parts(make_settings: SettingsFactory) -> None:
    async with (
        live_server(make_settings(demo_tokens_per_s=200)) as live,
        NetraClient(live.url, await live.token("alice")) as client,
    ):
        stops: list[asyncio.Task[object]] = []

        def stop_once(item: Sequenced[AgentDelta]) -> None:
            if not stops:
                stops.append(asyncio.create_task(client.stop(item.event.run_id)))

        client.on(AgentDelta, stop_once)
        transcript = await client.run_prompt("count to 3000")
        await stops[0]
    assert transcript.outcome == "stopped"
    assert transcript.message is not None
    assert transcript.message.parts == transcript.parts
    assert transcript.text == transcript.streamed_text


def test_a_fold_goes_on_from_a_streaming_history_message() -> None:
    stored: list[MessagePart] = [
        ToolCallPart(call_id="c1", name="calculator", args={"expression": "1+1"}),
        ToolResultPart(call_id="c1", name="calculator", result=2, is_error=False),
        TextPart(text="1 + 1"),
    ]
    fold = PartsFold(stored)
    assert fold.apply(AgentDelta(run_id="r", text=" = 2."))
    assert fold.apply(AgentToolCall(run_id="r", call_id="c2", name="x", args={}))
    assert fold.apply(AgentDelta(run_id="r", text=" Done."))
    assert fold.parts == [
        *stored[:2],
        TextPart(text="1 + 1 = 2."),
        ToolCallPart(call_id="c2", name="x", args={}),
        TextPart(text=" Done."),
    ]
    assert fold.text == "1 + 1 = 2. Done."


def test_a_fold_joins_reasoning_and_settles_approvals() -> None:
    events = [
        AgentReasoning(run_id="r", text="a"),
        AgentReasoning(run_id="r", text="b"),
        AgentToolCall(run_id="r", call_id="c", name="create_reminder", args={"text": "x"}),
        AgentApprovalRequested(
            run_id="r",
            call_id="c",
            name="create_reminder",
            args={"text": "x"},
            expires_at=datetime.now(UTC),
        ),
        AgentApprovalResolved(run_id="r", call_id="c", decision="approved", args={"text": "y"}),
        AgentToolResult(run_id="r", call_id="c", name="create_reminder", result={}, is_error=False),
    ]
    assert fold_parts(events) == [
        ReasoningPart(text="ab"),
        ToolCallPart(call_id="c", name="create_reminder", args={"text": "x"}),
        ApprovalPart(call_id="c", name="create_reminder", args={"text": "y"}, decision="approved"),
        ToolResultPart(call_id="c", name="create_reminder", result={}, is_error=False),
    ]
