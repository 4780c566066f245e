"""What the model is given on the next turn: the earlier turn's tool call and result, as
LangChain messages rebuilt from the stored parts (a provider stand-in records its input)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.messages.tool import tool_call_chunk

import server.agent.models
from server.settings import Settings
from tests.conftest import SettingsFactory
from tests.harness import connect, live_server, send_chat, wait_run_end
from tests.server.agent.scripted_model import ScriptedChatModel

NS = "/chat"


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> ScriptedChatModel:
    call = tool_call_chunk(name="calculator", args='{"expression": "2+3"}', id="call_1", index=0)
    scripted = ScriptedChatModel(
        turns=[
            [AIMessageChunk(content="", tool_call_chunks=[call])],
            [AIMessageChunk(content="It is "), AIMessageChunk(content="5.")],
            [AIMessageChunk(content="Doubled, 10.")],
        ]
    )

    def build(settings: Settings) -> ScriptedChatModel:
        return scripted

    monkeypatch.setattr(server.agent.models, "build_chat_model", build)
    return scripted


async def test_turn_two_is_given_turn_ones_tool_call_and_result(
    make_settings: SettingsFactory, model: ScriptedChatModel
) -> None:
    async with live_server(make_settings(agent_model="scripted")) as live:
        client, recorder = await connect(live, [NS], {"token": await live.token()})
        try:
            await recorder.wait_for(NS, "chat:ready")
            first = await send_chat(client, "calculate 2+3")
            name, _ = await wait_run_end(recorder, first["run_id"])
            assert name == "agent:run_completed"
            second = await send_chat(client, "and doubled?", thread_id=first["thread_id"])
            name, done = await wait_run_end(recorder, second["run_id"])
            assert name == "agent:run_completed"
            assert done["message"]["text"] == "Doubled, 10."
        finally:
            await client.disconnect()
    given = model.seen[2]
    assert [type(m) for m in given] == [
        HumanMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
        HumanMessage,
    ]
    human, called, result, answered, asked = given
    assert human.content == "calculate 2+3"
    assert isinstance(called, AIMessage)
    assert [(c["name"], c["args"], c["id"]) for c in called.tool_calls] == [
        ("calculator", {"expression": "2+3"}, "call_1")
    ]
    assert isinstance(result, ToolMessage)
    assert (result.tool_call_id, result.content, result.status) == ("call_1", "5", "success")
    assert answered.content == "It is 5."
    assert asked.content == "and doubled?"
