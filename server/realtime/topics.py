"""Topics other parts of the application publish to users on, each with its data's model.

A `Topic[Data]` binds a name to the Pydantic model of its data, so in-process publishing is
typed (`Publisher.publish(NOTIFICATION, user, Notification(...))`) and `POST /api/publish`
validates what other services send against the same model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from schemas.publish import TOPIC_PATTERN, Notification, TopicData

D = TypeVar("D", bound=TopicData)


@dataclass(frozen=True, slots=True)
class Topic(Generic[D]):
    name: str
    model: type[D]

    def __post_init__(self) -> None:
        if not re.match(TOPIC_PATTERN, self.name):
            raise ValueError(f"topic name {self.name!r} does not match {TOPIC_PATTERN}")


NOTIFICATION = Topic("notification", Notification)


class Topics:
    """The topics one app accepts; `notification` is always there."""

    def __init__(self) -> None:
        self._topics: dict[str, Topic[Any]] = {}
        self.register(NOTIFICATION)

    def register(self, topic: Topic[Any]) -> None:
        known = self._topics.get(topic.name)
        if known is not None and known != topic:
            raise ValueError(f"topic {topic.name!r} is already registered with another model")
        self._topics[topic.name] = topic

    def get(self, name: str) -> Topic[Any] | None:
        return self._topics.get(name)

    def __iter__(self) -> Any:
        return iter(self._topics.values())
