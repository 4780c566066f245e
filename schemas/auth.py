"""Authentication payloads: dev-login over HTTP and the Socket.IO connect `auth` object."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import ClientPayload, ServerPayload, UtcDatetime
from schemas.principal import Principal


class DevLoginRequest(ClientPayload):
    user_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[\w.@-]+$")
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    ttl_s: int | None = Field(default=None, ge=60, le=7 * 24 * 3600)


class DevLoginResponse(ServerPayload):
    token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_at: UtcDatetime
    principal: Principal


class ResumePosition(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    epoch: str = Field(max_length=200)
    last_seq: int = Field(ge=0)


class ConnectAuth(BaseModel):
    """The `auth` object a client sends with each namespace connect; unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    token: str | None = Field(default=None, max_length=16384)
    resume: ResumePosition | None = None


# Added to the contract's four: `internal` for a fault on our side, never an auth decision;
# `not_found` for a namespace the server does not have.
RefusalCode = Literal[
    "auth_required", "token_invalid", "token_expired", "forbidden", "internal", "not_found"
]


class ConnectRefusal(ServerPayload):
    """`err.data` of a refused connect as the client sees it."""

    code: RefusalCode
    message: str
