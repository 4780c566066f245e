"""The server's fold of a run's events into parts."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.chat import (
    AgentApprovalRequested,
    AgentApprovalResolved,
    AgentDelta,
    AgentReasoning,
    AgentRunStarted,
    AgentToolCall,
    AgentToolResult,
)
from schemas.parts import ApprovalPart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from server.chat.answer import Answer


def test_events_fold_into_ordered_parts_and_report_their_size() -> None:
    answer = Answer()
    sizes: list[int] = []
    answer.on_change = sizes.append
    run = "r"
    events = [
        AgentRunStarted(run_id=run, thread_id="t", reply_to="m", message_id="a"),
        AgentReasoning(run_id=run, text="Think"),
        AgentReasoning(run_id=run, text="ing."),
        AgentDelta(run_id=run, text="Setting "),
        AgentDelta(run_id=run, text="it. "),
        AgentToolCall(run_id=run, call_id="c", name="create_reminder", args={"text": "a"}),
        AgentApprovalRequested(
            run_id=run,
            call_id="c",
            name="create_reminder",
            args={"text": "a"},
            expires_at=datetime.now(UTC),
        ),
        AgentApprovalResolved(run_id=run, call_id="c", decision="approved", args={"text": "b"}),
        AgentToolResult(
            run_id=run, call_id="c", name="create_reminder", result={"id": 1}, is_error=False
        ),
        AgentDelta(run_id=run, text="Done."),
    ]
    for seq, event in enumerate(events, start=1):
        answer.apply(event, seq)
    assert answer.seq == len(events)
    assert answer.parts == [
        ReasoningPart(text="Thinking."),
        TextPart(text="Setting it. "),
        ToolCallPart(call_id="c", name="create_reminder", args={"text": "a"}),
        ApprovalPart(call_id="c", name="create_reminder", args={"text": "b"}, decision="approved"),
        ToolResultPart(call_id="c", name="create_reminder", result={"id": 1}, is_error=False),
        TextPart(text="Done."),
    ]
    assert answer.text == "Setting it. Done."
    # run_started is not part of the message: no change reported for it.
    assert sizes == [5, 4, 8, 4, 1, 1, 1, 1, 5]
