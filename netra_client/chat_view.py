"""How `netra-ws chat` shows tool calls, threads and history: compact, one idea a line."""

from __future__ import annotations

import json

from pydantic import JsonValue
from rich.table import Table
from rich.text import Text

from schemas.chat import AgentToolCall, HistoryMessage, ThreadView

_MAX_VALUE_CHARS = 200
_MAX_THREADS = 20

HELP = Text.assemble(
    ("Type a message and press Enter; the answer streams in.\n", ""),
    ("  /new", "bold"),
    ("          start a new thread\n", ""),
    ("  /threads", "bold"),
    ("      list your threads\n", ""),
    ("  /open ID", "bold"),
    ("      continue thread ID and show it\n", ""),
    ("  /history", "bold"),
    ("      show the current thread\n", ""),
    ("  /stop", "bold"),
    ("         stop the answer being written (or Ctrl-C)\n", ""),
    ("  /help", "bold"),
    ("         this list\n", ""),
    ("  /quit", "bold"),
    ("         leave (or Ctrl-D, or Ctrl-C at the prompt)", ""),
)


def clip(text: str, limit: int = _MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json(value: JsonValue) -> str:
    return json.dumps(value, ensure_ascii=False)


def tool_call_text(call: AgentToolCall) -> str:
    """`⚙ calculator({"expression": "2*3"})`."""
    return f"⚙ {call.name}({clip(_json(call.args))})"


def value_text(result: JsonValue, is_error: bool) -> Text:
    """The ` → 6` that completes a tool line; a failed tool's message in red."""
    shown = result if isinstance(result, str) else _json(result)
    if is_error:
        return Text(f" ✗ {clip(shown)}", style="red")
    return Text(f" → {clip(shown)}", style="dim")


def threads_table(threads: list[ThreadView], current: str | None) -> Table | Text:
    if not threads:
        return Text("no threads yet", style="dim")
    table = Table(box=None, show_header=True, header_style="dim", pad_edge=False)
    table.add_column("")
    table.add_column("id", no_wrap=True)
    table.add_column("title", overflow="ellipsis", no_wrap=True, max_width=60)
    table.add_column("updated", no_wrap=True, style="dim")
    for thread in threads[:_MAX_THREADS]:
        table.add_row(
            "•" if thread.id == current else "",
            thread.id,
            Text(thread.title),
            f"{thread.updated_at:%Y-%m-%d %H:%M}",
        )
    if len(threads) > _MAX_THREADS:
        table.caption = f"{len(threads) - _MAX_THREADS} older threads not shown"
    return table


def history_lines(messages: list[HistoryMessage], prompt: str) -> list[Text]:
    """A thread as the live chat shows it: your lines after the prompt, answers plain."""
    if not messages:
        return [Text("this thread is empty", style="dim")]
    lines = []
    for message in messages:
        if message.role == "user":
            lines.append(Text(prompt + message.text, style="bold"))
            continue
        line = Text(message.text)
        if message.status != "complete":
            line.append(f" [{message.status}]", style="dim")
        lines.append(line)
    return lines
