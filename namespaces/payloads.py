"""Turning the arguments of a client event into its validated payload model."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas.ack import ErrorCode
from server.errors import AppError

M = TypeVar("M", bound=BaseModel)

_MAX_REPORTED_ERRORS = 10


def parse_payload(model: type[M], args: tuple[Any, ...]) -> M:
    """Exactly one JSON object (none counts as `{}`); a string holding JSON is refused."""
    if len(args) > 1:
        raise AppError(ErrorCode.INVALID_PAYLOAD, "Send exactly one JSON object per event")
    raw = args[0] if args else {}
    if isinstance(raw, str):
        if _holds_json_container(raw):
            raise AppError(
                ErrorCode.DOUBLE_ENCODED_JSON,
                "Payload is a string holding JSON; send the object itself",
            )
        raise AppError(ErrorCode.INVALID_PAYLOAD, "Payload must be a JSON object, not a string")
    if not isinstance(raw, dict):
        kind = "null" if raw is None else type(raw).__name__
        raise AppError(ErrorCode.INVALID_PAYLOAD, f"Payload must be a JSON object, not {kind}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False)[:_MAX_REPORTED_ERRORS]
        ]
        fields = ", ".join(".".join(map(str, e["loc"])) or "(root)" for e in errors)
        raise AppError(
            ErrorCode.INVALID_PAYLOAD, f"Invalid payload: {fields}", {"errors": errors}
        ) from None


def _holds_json_container(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return False
    try:
        return isinstance(orjson.loads(stripped), dict | list)
    except orjson.JSONDecodeError:
        return False
