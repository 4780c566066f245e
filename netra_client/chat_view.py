"""How `netra-ws chat` shows answers, tool calls, threads and history: one idea a line.

An answer is shown from its parts, the same way whether it streams live or comes from
history: text plain, reasoning dim after `thinking:`, each tool call on one dim line that its
approval and its result complete (`⚙ calculator({"expression": "6*7"}) → 42`).
"""

from __future__ import annotations

import json

from pydantic import JsonValue
from rich.table import Table
from rich.text import Text

from netra_client.terminal_io import REASONING_PREFIX, REASONING_STYLE
from schemas.chat import HistoryMessage, ThreadView
from schemas.parts import (
    ApprovalDecision,
    ApprovalPart,
    MessagePart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

_MAX_VALUE_CHARS = 200

# (usage, what it does): the /help list, in this order.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("/new", "start a new thread"),
    ("/threads [TEXT]", "list your threads (those whose title or messages match TEXT)"),
    ("/open ID", "continue thread ID and show it"),
    ("/history", "show the current thread"),
    ("/more", "show older messages of the current thread"),
    ("/rename TITLE", "rename the current thread"),
    ("/delete", "delete the current thread"),
    ("/regenerate", "answer the last message again"),
    ("/stop", "stop the answer being written (or Ctrl-C)"),
    ("/help", "this list"),
    ("/quit", "leave (or Ctrl-D, or Ctrl-C at the prompt)"),
)

HELP = Text(
    "Type a message and press Enter; the answer streams in. When a tool asks for your\n"
    "approval, answer y or n.\n"
)
for _usage, _what in COMMANDS:
    HELP.append(f"  {_usage:<17}", style="bold").append(f"{_what}\n")
HELP.rstrip()

_DECISIONS: dict[ApprovalDecision, tuple[str, str]] = {
    "pending": (" ? awaiting your approval", "yellow"),
    "approved": (" ✓ approved", "green"),
    "denied": (" ✗ denied", "red"),
    "expired": (" ⌛ expired", "yellow"),
}


def clip(text: str, limit: int = _MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json(value: JsonValue) -> str:
    return json.dumps(value, ensure_ascii=False)


def tool_call_text(name: str, args: dict[str, JsonValue]) -> str:
    """`⚙ calculator({"expression": "2*3"})`."""
    return f"⚙ {name}({clip(_json(args))})"


def value_text(result: JsonValue, is_error: bool) -> Text:
    """The ` → 6` that completes a tool line; a failed tool's message in red."""
    shown = result if isinstance(result, str) else _json(result)
    if is_error:
        return Text(f" ✗ {clip(shown)}", style="red")
    return Text(f" → {clip(shown)}", style="dim")


def decision_text(decision: ApprovalDecision) -> Text:
    words, style = _DECISIONS[decision]
    return Text(words, style=style)


def approval_question(name: str, args: dict[str, JsonValue]) -> str:
    return f"approve {tool_call_text(name, args)[2:]}? [y/n] "


def answer_lines(parts: list[MessagePart]) -> list[Text]:
    """An answer's parts as the live chat showed them."""
    calls = {part.call_id for part in parts if isinstance(part, ToolCallPart)}
    results = {part.call_id: part for part in parts if isinstance(part, ToolResultPart)}
    approvals = {part.call_id: part for part in parts if isinstance(part, ApprovalPart)}
    lines: list[Text] = []
    for part in parts:
        if isinstance(part, TextPart):
            lines.append(Text(part.text))
        elif isinstance(part, ReasoningPart):
            lines.append(Text(REASONING_PREFIX + part.text, style=REASONING_STYLE))
        elif isinstance(part, ToolCallPart):
            line = Text(tool_call_text(part.name, part.args), style="dim")
            if (approval := approvals.get(part.call_id)) is not None:
                line.append_text(decision_text(approval.decision))
            if (result := results.get(part.call_id)) is not None:
                line.append_text(value_text(result.result, result.is_error))
            lines.append(line)
        elif part.call_id not in calls:  # a result or approval whose call is not shown
            head = Text(f"⚙ {part.name}", style="dim")
            if isinstance(part, ApprovalPart):
                lines.append(head.append_text(decision_text(part.decision)))
            else:
                lines.append(head.append_text(value_text(part.result, part.is_error)))
    return lines


def threads_table(
    threads: list[ThreadView], current: str | None, more: bool = False
) -> Table | Text:
    if not threads:
        return Text("no threads", style="dim")
    table = Table(box=None, show_header=True, header_style="dim", pad_edge=False)
    table.add_column("")
    table.add_column("id", no_wrap=True)
    table.add_column("title", overflow="ellipsis", no_wrap=True, max_width=60)
    table.add_column("updated", no_wrap=True, style="dim")
    for thread in threads:
        table.add_row(
            "•" if thread.id == current else "",
            thread.id,
            Text(thread.title),
            f"{thread.updated_at:%Y-%m-%d %H:%M}",
        )
    if more:
        table.caption = "older threads not shown"
    return table


def history_lines(messages: list[HistoryMessage], prompt: str) -> list[Text]:
    """Messages as the live chat shows them: your lines after the prompt, answers plain."""
    versions: dict[str, list[str]] = {}
    for message in messages:
        if message.role == "assistant" and message.reply_to is not None:
            versions.setdefault(message.reply_to, []).append(message.id)
    lines = []
    for message in messages:
        if message.role == "user":
            lines.append(Text(prompt + message.text, style="bold"))
            continue
        shown = answer_lines(message.parts) if message.parts else [Text(message.text)]
        # Regenerated: every answer to the message stays, the newest counts.
        answers = versions.get(message.reply_to or "", [])
        if len(answers) > 1:
            number = answers.index(message.id) + 1
            shown.insert(0, Text(f"↻ answer {number} / {len(answers)}", style="dim"))
        if message.status != "complete":
            shown.append(Text(f"[{message.status}]", style="dim"))
        lines.extend(shown)
    return lines
