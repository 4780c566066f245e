"""Base classes shared by every wire model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer


def rfc3339(value: datetime) -> str:
    # isoformat() of a UTC datetime always ends in "+00:00".
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"


# Datetimes leave the server as RFC 3339 UTC with a `Z` suffix.
UtcDatetime = Annotated[datetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]


class ClientPayload(BaseModel):
    """A payload sent by a client: unknown fields are refused, strings are not coerced.

    NaN and infinities (not JSON, though Python's decoder takes them) are refused too.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class ServerPayload(BaseModel):
    """A payload the server sends: built from trusted values, so no validation cost beyond types."""

    model_config = ConfigDict(extra="forbid", frozen=True)
