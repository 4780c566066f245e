"""A client's view of an answer: its live events folded into parts the way the contract says,
written apart from the server's fold so the two can be compared."""

from __future__ import annotations

from typing import Any

from tests.harness import Recorder, run_events


def fold(
    events: list[tuple[str, dict[str, Any]]],
    parts: list[dict[str, Any]] | None = None,
    after_seq: int = 0,
) -> list[dict[str, Any]]:
    """Apply the events with seq > after_seq to `parts` (a copy) and return them."""
    out = [dict(part) for part in parts or []]
    for name, data in events:
        if data.get("seq", 0) <= after_seq:
            continue
        last = out[-1] if out else None
        if name in ("agent:delta", "agent:reasoning"):
            kind = "text" if name == "agent:delta" else "reasoning"
            if last is not None and last["type"] == kind:
                last["text"] += data["text"]
            else:
                out.append({"type": kind, "text": data["text"]})
        elif name == "agent:tool_call":
            out.append({"type": "tool_call", **_pick(data, "call_id", "name", "args")})
        elif name == "agent:tool_result":
            fields = _pick(data, "call_id", "name", "result", "is_error")
            out.append({"type": "tool_result", **fields})
        elif name == "agent:approval_requested":
            fields = _pick(data, "call_id", "name", "args")
            out.append({"type": "approval", **fields, "decision": "pending"})
        elif name == "agent:approval_resolved":
            for part in out:
                if part["type"] == "approval" and part["call_id"] == data["call_id"]:
                    part["decision"] = data["decision"]
                    if data.get("args") is not None:
                        part["args"] = data["args"]
    return out


def live_parts(recorder: Recorder, run_id: str) -> list[dict[str, Any]]:
    return fold(run_events(recorder, run_id))


def _pick(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: data[key] for key in keys}
