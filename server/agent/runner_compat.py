"""The runner's previous interface, kept only until server/app.py builds its agent with
`server.agent.loader.build_agent`; remove this module then."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.tools import BaseTool
from pydantic import JsonValue

from schemas.chat import AgentDelta, UserStreamPayload
from server.agent.answer_stream import DEFAULT_COALESCE, CoalescePolicy
from server.agent.contract import ApprovalAnswer, RunInput, RunSink
from server.agent.runner import ToolLoopAgent


@dataclass
class RunProgress:
    text: str = ""
    seq: int | None = None


class AgentRunner:
    def __init__(
        self,
        model: BaseChatModel,
        tools: Sequence[BaseTool],
        coalesce: CoalescePolicy = DEFAULT_COALESCE,
        max_tool_rounds: int = 5,
    ) -> None:
        self._agent = ToolLoopAgent(
            model, tools, coalesce=coalesce, max_tool_rounds=max_tool_rounds
        )

    async def run(
        self,
        run_id: str,
        conversation: Sequence[BaseMessage],
        sink: RunSink,
        progress: RunProgress,
    ) -> str:
        async def record(payload: UserStreamPayload) -> int:
            seq = await sink(payload)
            if isinstance(payload, AgentDelta):
                progress.text += payload.text
                progress.seq = seq
            return seq

        async def approve(call_id: str, name: str, args: dict[str, JsonValue]) -> ApprovalAnswer:
            return ApprovalAnswer("denied", args)

        await self._agent.run(RunInput(run_id, "", run_id, conversation, record, approve))
        return progress.text
