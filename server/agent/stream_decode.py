"""Turn a LangChain chat-model stream and tool outputs into wire-ready JSON values.

Pure helpers: no I/O. Every JSON text is decoded exactly once, here, so callers
always hold Python values and never re-encode (or double-decode) them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.messages.tool import ToolCall, tool_call
from pydantic import BaseModel

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None

_JSON_STARTS = ("{", "[", '"', "-", "true", "false", "null")
# Content-block types whose payload is user-visible text; everything else
# (tool_use, input_json_delta, thinking, reasoning, image, ...) is skipped.
_TEXT_BLOCK_TYPES = frozenset({"text"})


class ToolArgsError(ValueError):
    """A tool call whose arguments are not a JSON object."""

    def __init__(self, call_id: str, name: str, raw: str, reason: str = "") -> None:
        self.call_id = call_id
        self.name = name
        self.raw = raw
        detail = f": {reason}" if reason else ""
        super().__init__(f"tool call {call_id!r} ({name!r}) has invalid arguments {raw!r}{detail}")


@dataclass(frozen=True)
class ParsedToolCall:
    call_id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class TurnResult:
    text: str
    tool_calls: list[ParsedToolCall]

    def as_ai_message(self) -> AIMessage:
        """The turn as an ``AIMessage`` to append to the conversation history."""
        calls: list[ToolCall] = [
            tool_call(name=call.name, args=dict(call.args), id=call.call_id)
            for call in self.tool_calls
        ]
        return AIMessage(content=self.text, tool_calls=calls)


@dataclass
class _Slot:
    index: int | None
    id: str | None = None
    name: str | None = None
    fragments: list[str] = field(default_factory=list)
    # Set when a non-streaming model handed over already-parsed arguments.
    parsed: dict[str, Any] | None = None


class StreamAccumulator:
    """Collects the chunks of one model turn into text and parsed tool calls.

    Tool-call fragments are grouped by ``index``. A chunk whose ``id`` differs
    from the one already recorded at its index starts a new call (some
    OpenAI-compatible servers reuse index 0 for parallel calls); a chunk with
    ``index=None`` joins the call with the same id, or the latest call if it
    has no id either. The first non-empty id and name of a call win, so
    providers that repeat them on every fragment are handled too.
    """

    def __init__(self) -> None:
        self._text: list[str] = []
        self._slots: list[_Slot] = []
        self._by_index: dict[int, _Slot] = {}
        self._by_id: dict[str, _Slot] = {}

    def feed(self, chunk: AIMessage) -> str:
        """Record one chunk and return its new visible text (possibly "")."""
        text = content_text(chunk.content)
        self._text.append(text)
        if isinstance(chunk, AIMessageChunk):
            for part in chunk.tool_call_chunks:
                self._add_fragment(
                    part.get("index"), part.get("id"), part.get("name"), part["args"]
                )
        else:
            # Non-streaming models make ``astream`` yield one complete AIMessage.
            for call in chunk.tool_calls:
                self._new_slot(None, call["id"], call["name"]).parsed = call["args"]
            for bad in chunk.invalid_tool_calls:
                self._add_fragment(None, bad["id"], bad["name"], bad["args"])
        return text

    def finish(self) -> TurnResult:
        """Parse the collected tool calls; raises ``ToolArgsError`` on bad arguments."""
        taken = {slot.id for slot in self._slots if slot.id}
        calls: list[ParsedToolCall] = []
        for position, slot in enumerate(self._slots):
            call_id = slot.id or _fresh_id(position, taken)
            name = slot.name or ""
            args = slot.parsed if slot.parsed is not None else _parse_args(call_id, name, slot)
            calls.append(ParsedToolCall(call_id=call_id, name=name, args=args))
        return TurnResult(text="".join(self._text), tool_calls=calls)

    def _add_fragment(
        self, index: int | None, call_id: str | None, name: str | None, args: str | None
    ) -> None:
        slot = self._find_slot(index, call_id or None)
        if slot is None:
            slot = self._new_slot(index, call_id or None, name or None)
        if call_id and not slot.id:
            slot.id = call_id
            self._by_id[call_id] = slot
        if name and not slot.name:
            slot.name = name
        if args:
            slot.fragments.append(args)

    def _find_slot(self, index: int | None, call_id: str | None) -> _Slot | None:
        if call_id is not None and call_id in self._by_id:
            return self._by_id[call_id]
        if index is None:
            return self._slots[-1] if call_id is None and self._slots else None
        slot = self._by_index.get(index)
        if slot is not None and call_id is not None and slot.id not in (None, call_id):
            return None
        return slot

    def _new_slot(self, index: int | None, call_id: str | None, name: str | None) -> _Slot:
        slot = _Slot(index=index, id=call_id, name=name)
        self._slots.append(slot)
        if index is not None:
            self._by_index[index] = slot
        if call_id:
            self._by_id[call_id] = slot
        return slot


def content_text(content: str | list[str | dict[Any, Any]]) -> str:
    """Visible text of message content: a plain string or a list of content blocks."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") in _TEXT_BLOCK_TYPES and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "".join(parts)


def decode_tool_output(output: Any) -> JsonValue:
    """Convert a tool's return value (or its ``ToolMessage``) to a JSON value.

    A string holding JSON text is parsed exactly once; any other string is kept
    as is. Python values are made JSON-safe without being re-encoded.
    """
    if isinstance(output, ToolMessage):
        output = content_text(output.content)
    if isinstance(output, bytes):
        output = output.decode("utf-8", errors="replace")
    if isinstance(output, str):
        return _decode_json_text(output)
    return _to_json(output, set())


def tool_output_is_error(output: Any) -> bool:
    """Whether the output is a ``ToolMessage`` that reports a failed tool call."""
    return isinstance(output, ToolMessage) and output.status == "error"


def _fresh_id(position: int, taken: set[str]) -> str:
    candidate = f"call_{position}"
    suffix = 0
    while candidate in taken:
        suffix += 1
        candidate = f"call_{position}_{suffix}"
    taken.add(candidate)
    return candidate


def _parse_args(call_id: str, name: str, slot: _Slot) -> dict[str, Any]:
    raw = "".join(slot.fragments)
    if not raw.strip():
        return {}
    try:
        value = _strict_loads(raw)
    except ValueError as exc:
        raise ToolArgsError(call_id, name, raw, str(exc)) from exc
    if not isinstance(value, dict):
        raise ToolArgsError(call_id, name, raw, "arguments must be a JSON object")
    return value


def _reject_constant(token: str) -> float:
    raise ValueError(f"{token} is not valid JSON")


def _finite_float(token: str) -> float:
    number = float(token)
    if not math.isfinite(number):
        raise ValueError(f"{token} does not fit in a finite number")
    return number


def _strict_loads(text: str) -> JsonValue:
    # The stdlib parser accepts NaN/Infinity and overflows 1e999 to inf; neither
    # can be sent on the wire as JSON, so both are rejected.
    value: JsonValue = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    return value


def _decode_json_text(text: str) -> JsonValue:
    stripped = text.strip()
    if not stripped or not (stripped[0].isdigit() or stripped.startswith(_JSON_STARTS)):
        return text
    try:
        return _strict_loads(stripped)
    except ValueError:  # includes JSONDecodeError and int-digit-limit errors
        return text


def _to_json(value: Any, active: set[int]) -> JsonValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # drops int subclasses such as IntEnum
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return str.__str__(value)  # plain str even for str-based enums
    if isinstance(value, BaseModel):
        return _to_json(value.model_dump(mode="json"), active)
    if not isinstance(value, Mapping | list | tuple):
        return str(value)
    if id(value) in active:  # a container that contains itself cannot be JSON
        return str(value)
    active.add(id(value))
    try:
        if isinstance(value, Mapping):
            return {_key(key): _to_json(item, active) for key, item in value.items()}
        return [_to_json(item, active) for item in value]
    finally:
        active.discard(id(value))


def _key(key: Any) -> str:
    # Same key spelling as json.dumps uses for non-string keys.
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    return str.__str__(key) if isinstance(key, str) else str(key)
