"""JSON Schema of every event, generated from the registry (served at /api/ws-schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from schemas.ack import AckError, AckOk
from schemas.auth import (
    ConnectAuth,
    ConnectRefusal,
    DevLoginRequest,
    DevLoginResponse,
    ResumePosition,
)
from schemas.base import ClientPayload
from schemas.discovery import WsConfig
from schemas.events import StreamEnvelope
from schemas.publish import PublishAccepted, PublishRequest
from schemas.registry import Registry, is_user_stream


def build_event_schema(registry: Registry, protocol_version: int = 1) -> dict[str, Any]:
    """One document: `events` maps each name to its payload (and ack data) schema refs."""
    models: list[type[BaseModel]] = [
        AckOk,
        AckError,
        ConnectAuth,
        ConnectRefusal,
        DevLoginRequest,
        DevLoginResponse,
        WsConfig,
        StreamEnvelope,
        PublishRequest,
        PublishAccepted,
    ]
    for spec in registry.events:
        models.append(spec.model)
        if spec.ack_model is not None:
            models.append(spec.ack_model)
    unique = list(dict.fromkeys(models))
    keyed, defs = models_json_schema(
        [(m, _mode(m)) for m in unique], ref_template="#/$defs/{model}"
    )

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return keyed[(model, _mode(model))]

    events: dict[str, Any] = {}
    for spec in registry.events:
        entry: dict[str, Any] = {
            "namespace": spec.namespace,
            "direction": spec.direction.value,
            "payload": ref(spec.model),
        }
        if is_user_stream(spec):
            # The emitter stamps seq and ts on top of the event's own fields.
            entry["payload"] = {"allOf": [ref(StreamEnvelope), ref(spec.model)]}
        if spec.ack_model is not None:
            entry["ack_data"] = ref(spec.ack_model)
        events[spec.name] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "netra-ws events",
        "protocol_version": protocol_version,
        "events": events,
        "ack": {"oneOf": [ref(AckOk), ref(AckError)]},
        "$defs": defs.get("$defs", {}),
    }


def _mode(model: type[BaseModel]) -> JsonSchemaMode:
    # What clients send is described as accepted input; what the server sends as produced output.
    inbound = issubclass(model, ClientPayload) or model in (ConnectAuth, ResumePosition)
    return "validation" if inbound else "serialization"
