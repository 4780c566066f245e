"""The one shape every acknowledgement takes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class ErrorCode(StrEnum):
    INVALID_PAYLOAD = "invalid_payload"
    DOUBLE_ENCODED_JSON = "double_encoded_json"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNKNOWN_EVENT = "unknown_event"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"
    CONFLICT = "conflict"
    INTERNAL = "internal"


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: ErrorCode
    message: str
    details: dict[str, Any] | None = None


class AckOk(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: Literal[True] = True
    data: dict[str, Any]


class AckError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: Literal[False] = False
    error: ErrorBody
