"""Publishing from the rest of the application: `app:event` to every connection of a user.

The same path for in-process code (a background job holding the app) and for other services
(`POST /api/publish`, server/http/publish.py): through the emitter, so the event is
sequenced, kept for replay and reaches every tab on every node.
"""

from __future__ import annotations

from typing import Any

from schemas.publish import AppEvent, TopicData
from server.realtime.emitter import Emitter
from server.realtime.topics import D, Topic, Topics


class UnknownTopic(LookupError):
    pass


class Publisher:
    def __init__(self, emitter: Emitter, topics: Topics) -> None:
        self._emitter = emitter
        self.topics = topics

    async def publish(self, topic: Topic[D], user_id: str, data: D) -> int:
        """Send `data` on `topic` to the user; returns the event's seq in their stream."""
        if self.topics.get(topic.name) != topic:
            raise UnknownTopic(topic.name)
        return await self._send(topic.name, user_id, data)

    async def publish_raw(self, topic_name: str, user_id: str, data: dict[str, Any]) -> int:
        """What another service sent: validated against the topic's model first.

        Raises UnknownTopic, or pydantic's ValidationError for data the model refuses."""
        topic = self.topics.get(topic_name)
        if topic is None:
            raise UnknownTopic(topic_name)
        return await self._send(topic.name, user_id, topic.model.model_validate(data))

    async def _send(self, name: str, user_id: str, data: TopicData) -> int:
        event = AppEvent(topic=name, data=data.model_dump(mode="json"))
        return await self._emitter.to_user(user_id, event)
