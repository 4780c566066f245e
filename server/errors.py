"""Errors a handler raises to answer with a typed error ack."""

from __future__ import annotations

from typing import Any

from schemas.ack import ErrorCode


class AppError(Exception):
    def __init__(self, code: ErrorCode, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
