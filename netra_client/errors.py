"""The one exception the client raises for anything the server or the connection refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class NetraError(Exception):
    """An `ok: false` ack, a refused connect, a failed HTTP call or a timeout.

    `code` is the server's error code (`not_found`, `invalid_payload`, `token_expired`, ...)
    or one of the client's own: `timeout`, `not_connected`, `connect_failed`, `http_error`,
    `bad_response`.
    """

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"NetraError(code={self.code!r}, message={self.message!r})"
