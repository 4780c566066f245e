"""The demo's `create_reminder` tool: a call the user must approve before it runs."""

from __future__ import annotations

import uuid

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from server.agent.approval import REQUIRES_APPROVAL

REMINDER_TOOL_NAME = "create_reminder"


class ReminderInput(BaseModel):
    text: str = Field(description="What to remind the user of, e.g. 'water the plants'.")


def _create(text: str) -> dict[str, str]:
    # A demo: the reminder is acknowledged, not scheduled anywhere.
    return {"reminder_id": f"rem_{uuid.uuid4().hex[:12]}", "text": text}


async def _acreate(text: str) -> dict[str, str]:
    return _create(text)


reminder_tool: BaseTool = StructuredTool.from_function(
    func=_create,
    coroutine=_acreate,
    name=REMINDER_TOOL_NAME,
    description="Create a reminder for the user. Every call waits for the user's approval.",
    args_schema=ReminderInput,
    metadata={REQUIRES_APPROVAL: True},
)
