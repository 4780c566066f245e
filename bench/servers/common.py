"""What every Python baseline serves: `/system` with `system:ping`, `/chat` with
`chat:examples`, both answering the full stack's ack shape, and `GET /healthz`.

Connects accept any auth: the baselines measure the transport stack, not token checks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import socketio

EXAMPLES: list[dict[str, str]] = [
    {"id": "count", "title": "Count to 20", "prompt": "count to 20"},
    {
        "id": "calculate",
        "title": "Use the calculator",
        "prompt": "calculate (12 + 30) * 2 / 4",
    },
    {
        "id": "explain",
        "title": "Ask a question",
        "prompt": "What makes a chat server recover well from dropped connections?",
    },
]


class OrjsonJson:
    """A `json` module for python-socketio backed by orjson; `dumps` returns str as
    python-socketio expects, and extra keyword arguments (separators=...) are ignored."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        return orjson.loads(data)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class SystemNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        return True

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        return None

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "system:ping":
            payload = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
            return {
                "ok": True,
                "data": {"client_time": payload.get("client_time"), "server_time": _now()},
            }
        return await super().trigger_event(event, *args)


class ChatNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        return True

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        return None

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "chat:examples":
            return {"ok": True, "data": {"examples": EXAMPLES}}
        return await super().trigger_event(event, *args)


def register_handlers(sio: socketio.AsyncServer) -> None:
    sio.register_namespace(SystemNamespace("/system"))
    sio.register_namespace(ChatNamespace("/chat"))
