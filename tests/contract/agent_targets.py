"""Agents a test server is started with through WS_AGENT: a `create_agent` graph on a scripted
tool-calling model (a provider stand-in), and a graph that raises."""

from __future__ import annotations

import json
from typing import Any

from langchain.agents import create_agent
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import Pregel

from server.settings import Settings
from tests.server.agent.provider_chunks import openai_call, text
from tests.server.agent.scripted_model import ScriptedChatModel


@tool
def weather(city: str) -> str:
    """The weather in a city, as JSON text."""
    return json.dumps({"city": city, "sky": "clear", "note": '{"kept": "as text"}'})


def weather_graph(settings: Settings) -> Pregel[Any, Any, Any, Any]:
    """Streams text, an OpenAI-shaped tool call in fragments, then text after the result."""
    call = openai_call("weather", "call_oslo", '{"city": "Oslo", "days": [1, 2]}', (3, 5, 2, 7))
    model = ScriptedChatModel(
        turns=[[*text("Let me ", "check. "), *call], text("Clear ", "skies ", "in Oslo.")]
    )
    return create_agent(model, [weather])


def broken_graph(settings: Settings) -> CompiledStateGraph[MessagesState]:
    def explode(state: MessagesState) -> MessagesState:
        raise RuntimeError("the graph's own bug")

    builder = StateGraph(MessagesState)
    builder.add_node("explode", explode)
    builder.add_edge(START, "explode")
    return builder.compile()
