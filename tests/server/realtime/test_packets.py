"""User-stream packets encoded once: the same wire text python-socketio would send."""

from __future__ import annotations

import json

from engineio import packet as eio_packet
from socketio import packet as sio_packet

from server.realtime.packets import event_packet


def test_the_text_is_what_python_socketio_encodes() -> None:
    data = {"seq": 7, "ts": "2026-01-01T00:00:00Z", "run_id": "r", "text": " 12", "n": None}
    ours = event_packet("/chat", "agent:delta", data)
    theirs = sio_packet.Packet(sio_packet.EVENT, namespace="/chat", data=["agent:delta", data])
    assert ours.packet_type == eio_packet.MESSAGE
    assert ours.encode() == "4" + theirs.encode()


def test_what_orjson_cannot_encode_is_still_sent() -> None:
    data = {"seq": 1, "result": 2**80}
    text = event_packet("/chat", "agent:tool_result", data).encode()
    assert json.loads(text.removeprefix("42/chat,")) == ["agent:tool_result", data]
