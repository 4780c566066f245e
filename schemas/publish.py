"""Events other parts of the application send to a user: `app:event` on /chat, by topic.

A topic is a name registered with the Pydantic model of its `data` (server/realtime/topics.py);
`notification` is registered by default and shown by the web client.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import ClientPayload, ServerPayload
from schemas.chat import UserStreamPayload

TOPIC_PATTERN = r"^[a-z][a-z0-9_.:-]{0,63}$"


class AppEvent(UserStreamPayload):
    """`app:event`: sequenced, replayed and sent to every tab like the chat's own events."""

    topic: str
    data: dict[str, Any]


class TopicData(BaseModel):
    """The data of a topic: it arrives from other services, so it is validated like client
    input (unknown fields refused, no coercion, no NaN)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Notification(TopicData):
    """The data of topic `notification`."""

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=4000)
    level: Literal["info", "warning", "error"] = "info"


class PublishRequest(ClientPayload):
    """`POST /api/publish`: `data` is validated against the model registered for `topic`."""

    user_id: str = Field(min_length=1, max_length=200)
    topic: str = Field(pattern=TOPIC_PATTERN)
    data: dict[str, Any]


class PublishAccepted(ServerPayload):
    """`202`: the event's seq in the user's stream."""

    seq: int
