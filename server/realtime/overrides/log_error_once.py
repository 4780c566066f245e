"""Replaces python-engineio's `engineio.base_server.BaseServer._log_error_once`.

Upstream reports a bad request (an unknown session, a bad transport, a bad origin) at ERROR
once, then at INFO. It is a client's mistake, which anyone can make at will: here it goes to
`bad_request`, which the engine writes as a sampled WARNING line.
"""

from __future__ import annotations

import engineio

from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "engineio.base_server",
        "BaseServer._log_error_once",
        sha256="dccbb5602dc46a099ac4a351ea3850be355f6c75d436e741a5d6a630cb25757d",
    ),
)


class LogErrorOnce(engineio.AsyncServer):  # type: ignore[misc]
    def bad_request(self, message: str, kind: str) -> None:
        """A request python-engineio refuses; `kind` is its key ("bad-sid", ...)."""

    def _log_error_once(self, message: str, message_key: str) -> None:
        self.bad_request(message, message_key)
