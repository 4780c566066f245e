"""The ways authentication fails, each mapped to a code the client sees."""

from __future__ import annotations

from schemas.auth import RefusalCode


class AuthFailure(Exception):
    """Authentication refused; `reason` is for the log, `message` for the client."""

    def __init__(
        self, code: RefusalCode, message: str, reason: str, user: str | None = None
    ) -> None:
        super().__init__(reason)
        self.code: RefusalCode = code
        self.message = message
        self.reason = reason
        self.user = user
