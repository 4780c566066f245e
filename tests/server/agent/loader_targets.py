"""What `WS_AGENT` and `WS_AGENT_TOOLS` may name, right and wrong, for the loader's tests."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.pregel import Pregel

from server.agent.demo_model import DemoChatModel
from server.settings import Settings

model = DemoChatModel(tokens_per_s=0)
graph = create_agent(DemoChatModel(tokens_per_s=0))
not_an_agent = 42
uncompiled: StateGraph[MessagesState] = StateGraph(MessagesState)
uncompiled.add_node("noop", lambda state: {})
uncompiled.add_edge(START, "noop")


class Holder:
    graph = graph


def make_model(settings: Settings) -> BaseChatModel:
    return DemoChatModel(tokens_per_s=settings.demo_tokens_per_s)


def make_graph(settings: Settings) -> Pregel[Any, Any, Any, Any]:
    return create_agent(DemoChatModel(tokens_per_s=0), system_prompt="From the factory.")


def make_nothing(settings: Settings) -> str:
    return "not an agent"


def broken_factory(settings: Settings) -> BaseChatModel:
    raise RuntimeError("no API key")


@tool
def echo(text: str) -> str:
    """Say it back."""
    return text


@tool
def calculator(expression: str) -> str:
    """A second tool named calculator."""
    return expression
