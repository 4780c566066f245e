"""Frames the protocol does not have, from anyone, with or without a token.

Each is dropped where it is found (or answered with a typed ack where it carries an ack
id), counted by kind, and logged through a sampled log so a flood writes a bounded number
of lines. A connection that keeps sending them is closed after `limit`: a client that
speaks the protocol sends none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from loguru import logger

from server.auth.connect import client_address
from server.realtime.sampled_log import SampledLog
from server.types import Environ

BadFrameKind = Literal[
    "engineio_garbage",  # not an Engine.IO packet at all (`hello`, `{"a":1}`, `null`)
    "engineio_unexpected",  # an Engine.IO packet a client never sends (OPEN, PING, NOOP)
    "binary",  # a binary event or ack: the protocol is JSON only
    "attachment",  # a binary frame, which would only ever be an attachment
    "undecodable",  # a Socket.IO packet whose header or JSON cannot be read
    "not_connected",  # an event on a namespace this connection has not joined
    "no_event_name",  # an event without a name
    "unexpected_packet",  # an ack or connect_error from a client, or an unknown type
    "unknown_namespace",  # a connect to a namespace the server does not have
]

TOO_MANY_BAD_FRAMES = "too many bad frames"


class BadFrames:
    def __init__(
        self,
        limit: int,
        count: Callable[[str], None] | None = None,
        sampler: SampledLog | None = None,
    ) -> None:
        self.limit = limit
        self._count = count
        self._seen: dict[str, int] = {}  # eio_sid -> bad frames so far
        # The app's one sampler: refusals and closes draw on it too (their own keys).
        self.sampler = sampler or SampledLog()

    def note(
        self, eio_sid: str, kind: BadFrameKind, detail: str, environ: Environ, answered: bool
    ) -> bool:
        """Count one bad frame of `eio_sid`; True once it has sent more than the limit.

        A frame `answered` with a typed error (an ack the client asked for, a connect
        refusal) is bad input like any other and does not count towards closing."""
        if self._count is not None:
            self._count(kind)
        seen = self._seen.get(eio_sid, 0)
        if not answered:
            seen = self._seen[eio_sid] = seen + 1
        held = self.sampler.admit(f"bad_frame {kind}")
        if held is not None:
            client = client_address(environ) if environ else "unknown"
            logger.bind(event="bad_frame", kind=kind, eio_sid=eio_sid, client=client).warning(
                "{} bad frame kind={} eio_sid={} client={} detail={!r} suppressed={}",
                "answered" if answered else "dropped",
                kind,
                eio_sid,
                client,
                detail[:120],
                held,
            )
        return seen > self.limit

    def forget(self, eio_sid: str) -> None:
        self._seen.pop(eio_sid, None)

    def __len__(self) -> int:
        return len(self._seen)
