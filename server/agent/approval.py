"""Which tool calls wait for the user's yes, and what the model is told when none comes."""

from __future__ import annotations

from collections.abc import Collection

from langchain_core.tools import BaseTool

from server.agent.contract import Decision

# A tool asks for approval of every call with `metadata={"requires_approval": True}`.
REQUIRES_APPROVAL = "requires_approval"
DENIED = "The user denied this call"
EXPIRED = "The approval expired"


def needs_approval(tool: BaseTool, approval_tools: Collection[str] = ()) -> bool:
    return tool.name in approval_tools or bool((tool.metadata or {}).get(REQUIRES_APPROVAL))


def refusal(decision: Decision) -> str:
    """The tool result of a call that was not approved."""
    return EXPIRED if decision == "expired" else DENIED
