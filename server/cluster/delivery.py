"""User-stream delivery across nodes: a channel per stream, both ends of its message.

The Redis replay store publishes each event in the same Lua script that numbers it, on the
channel of its stream (`netra-ws:s:<stream key>`), so publication order is seq order. A node
subscribes to a stream's channel while it has a connection following that stream
(server/cluster/stream_subscriber.py), so it receives and decodes only the events its own
connections are sent.

The message is the stored event JSON and the epoch, nothing else:
`{"n": <event name>, "d": <stored event>, "e": "<epoch>"}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

STREAM_CHANNEL_PREFIX = "netra-ws:s:"


@dataclass(frozen=True, slots=True)
class Announcement:
    name: str
    data: dict[str, Any]
    epoch: str


class StreamAnnouncer:
    """The channel and message the replay store publishes for each appended event."""

    def __init__(self, prefix: str = STREAM_CHANNEL_PREFIX) -> None:
        self.prefix = prefix
        self._heads: dict[str, bytes] = {}

    def channel(self, key: str) -> str:
        return self.prefix + key

    def envelope(self, key: str, name: str) -> tuple[bytes, bytes, bytes]:
        head = self._heads.get(name)
        if head is None:
            # A handful of event names, each encoded once.
            head = self._heads[name] = b'{"n":' + orjson.dumps(name) + b',"d":'
        return head, b',"e":"', b'"}'


def decode(message: bytes) -> Announcement | None:
    """The event in a message published by StreamAnnouncer's format, or None if malformed."""
    try:
        parsed = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    name, data, epoch = parsed.get("n"), parsed.get("d"), parsed.get("e")
    if not isinstance(name, str) or not isinstance(data, dict) or not isinstance(epoch, str):
        return None
    if not isinstance(data.get("seq"), int):
        return None
    return Announcement(name, data, epoch)
