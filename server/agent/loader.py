"""Which agent answers: `WS_AGENT` (your own model, graph, or factory of either), else our
tool loop over `WS_AGENT_MODEL` with `WS_AGENT_TOOLS` (the demo tools when empty)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from loguru import logger

from server.agent import models
from server.agent.answer_stream import CoalescePolicy
from server.agent.calculator import calculator_tool
from server.agent.contract import ChatAgent
from server.agent.graph_runner import GraphAgent
from server.agent.models import AgentConfigError
from server.agent.reminder import reminder_tool
from server.agent.runner import ToolLoopAgent
from server.settings import Settings

__all__ = ["AgentConfigError", "build_agent", "load_object", "load_tools"]

DEMO_TOOLS: tuple[BaseTool, ...] = (calculator_tool, reminder_tool)
_WANTED = "a LangChain chat model, a compiled LangGraph graph, or a callable returning one"


def build_agent(settings: Settings) -> ChatAgent:
    """The agent the chat runs. AgentConfigError, saying what to change, when it cannot be
    set up: raised at start, before any user waits."""
    coalesce = CoalescePolicy(settings.delta_flush_ms / 1000, settings.delta_flush_chars)
    if not settings.agent:
        tools = load_tools(settings.agent_tools) if settings.agent_tools else DEMO_TOOLS
        return _tool_loop(models.build_chat_model(settings), tools, settings, coalesce)
    target = load_object(settings.agent, "WS_AGENT")
    if callable(target) and not _is_agent(target):
        try:
            target = target(settings)
        except Exception as exc:
            raise AgentConfigError(
                f"WS_AGENT={settings.agent!r} raised {type(exc).__name__}: {exc}"
            ) from exc
    if isinstance(target, BaseChatModel):
        return _tool_loop(target, load_tools(settings.agent_tools), settings, coalesce)
    if isinstance(target, Pregel):
        _warn_ignored(settings)
        return GraphAgent(target, coalesce=coalesce)
    if isinstance(target, StateGraph):
        raise AgentConfigError(
            f"WS_AGENT={settings.agent!r} is a StateGraph that is not compiled: "
            "point it at builder.compile(...)"
        )
    raise AgentConfigError(f"WS_AGENT={settings.agent!r} is {_kind(target)}, not {_WANTED}")


def load_object(path: str, setting: str) -> object:
    """The object `module:attribute` names (the attribute may be dotted)."""
    module_name, colon, attribute = path.partition(":")
    if not colon or not module_name or not attribute:
        raise AgentConfigError(f"{setting}={path!r}: write it as package.module:attribute")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise AgentConfigError(f"{setting}={path!r}: cannot import {module_name}: {exc}") from exc
    except Exception as exc:
        raise AgentConfigError(
            f"{setting}={path!r}: importing {module_name} raised {type(exc).__name__}: {exc}"
        ) from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise AgentConfigError(
                f"{setting}={path!r}: {module_name} has no attribute {attribute!r}"
            )
        target = getattr(target, part)
    return target


def load_tools(paths: Sequence[str]) -> list[BaseTool]:
    tools: list[BaseTool] = []
    for path in paths:
        tool = load_object(path, "WS_AGENT_TOOLS")
        if not isinstance(tool, BaseTool):
            raise AgentConfigError(
                f"WS_AGENT_TOOLS entry {path!r} is {_kind(tool)}, not a LangChain tool "
                "(make one with langchain_core.tools.tool)"
            )
        if any(other.name == tool.name for other in tools):
            raise AgentConfigError(f"WS_AGENT_TOOLS has two tools named {tool.name!r}")
        tools.append(tool)
    return tools


def _tool_loop(
    model: BaseChatModel, tools: Sequence[BaseTool], settings: Settings, coalesce: CoalescePolicy
) -> ToolLoopAgent:
    names = {tool.name for tool in tools}
    # A misspelt name would let that tool run without asking: refused, not ignored.
    unknown = sorted(set(settings.agent_approval_tools) - names)
    if unknown:
        raise AgentConfigError(
            f"WS_AGENT_APPROVAL_TOOLS names {', '.join(unknown)}, which the agent does not "
            f"have (its tools: {', '.join(sorted(names)) or 'none'})"
        )
    return ToolLoopAgent(
        model,
        tools,
        coalesce=coalesce,
        system_prompt=settings.agent_system_prompt,
        approval_tools=settings.agent_approval_tools,
    )


def _warn_ignored(settings: Settings) -> None:
    ignored = [
        name
        for name, value in (
            ("WS_AGENT_TOOLS", settings.agent_tools),
            ("WS_AGENT_SYSTEM_PROMPT", settings.agent_system_prompt),
            ("WS_AGENT_APPROVAL_TOOLS", settings.agent_approval_tools),
        )
        if value
    ]
    if ignored:
        logger.warning(
            "WS_AGENT is a graph, which has its own tools, prompt and approvals: {} ignored",
            ", ".join(ignored),
        )


def _is_agent(target: object) -> bool:
    return isinstance(target, BaseChatModel | Pregel | StateGraph)


def _kind(value: object) -> str:
    return "None" if value is None else f"a {type(value).__module__}.{type(value).__qualname__}"
