"""A failing model or store ends the run as failed; the server goes on serving."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

import server.agent.models
from server.settings import Settings
from tests.conftest import SettingsFactory
from tests.harness import connect, live_server, wait_run_end
from tests.server.agent.scripted_model import ScriptedChatModel

NS = "/chat"


@pytest.fixture
def failing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider streams a little, then drops the connection (a paid provider stand-in)."""

    def build(settings: Settings) -> ScriptedChatModel:
        turn: list[Any] = [AIMessageChunk(content="Half an ans"), ConnectionError("reset by peer")]
        return ScriptedChatModel(turns=[list(turn) for _ in range(10)])

    monkeypatch.setattr(server.agent.models, "build_chat_model", build)


@pytest.mark.usefixtures("failing_model")
async def test_model_failure_is_run_failed_with_a_logged_reference(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    async with live_server(make_settings(delta_flush_ms=0)) as live:
        client, recorder = await connect(live, [NS], {"token": await live.token()})
        try:
            await recorder.wait_for(NS, "chat:ready")
            ack = await client.call(
                "chat:send", {"client_msg_id": str(uuid.uuid4()), "text": "hi"}, namespace=NS
            )
            name, failed = await wait_run_end(recorder, ack["data"]["run_id"])
            assert name == "agent:run_failed"
            assert failed["error"]["code"] == "model_error"
            ref = failed["error"]["message"].split("ref ")[1].rstrip(")")
            assert any(r.get("ref") == ref and r["level"] == "ERROR" for r in log_records)
            history = await client.call(
                "chat:history", {"thread_id": ack["data"]["thread_id"]}, namespace=NS
            )
            answer = history["data"]["messages"][-1]
            assert (answer["status"], answer["text"]) == ("failed", "Half an ans")
            # The server still answers, on this connection and on new ones.
            assert (await client.call("chat:examples", {}, namespace=NS))["ok"] is True
            other, _ = await connect(live, [NS], {"token": await live.token("bob")})
            await other.disconnect()
        finally:
            await client.disconnect()
