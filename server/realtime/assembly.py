"""What the app is assembled from, and what an extension is handed to add to it.

A namespace is one `EventNamespace` subclass with its `NamespaceSpec`, included with one
line; a topic is one `Topic` registered with one line. The built-in /system and /chat are
included the same way (server/app.py), and `WS_EXTENSIONS` names more: each a
`module:function` taking this object (docs/extending.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from namespaces.base import EventNamespace
from schemas.registry import Registry
from server.context import ServerContext
from server.realtime.publisher import Publisher
from server.realtime.sio_server import NetraServer
from server.realtime.topics import Topic

Extension = Callable[["Realtime"], None]


class Realtime:
    def __init__(
        self, app: web.Application, sio: NetraServer, ctx: ServerContext, publisher: Publisher
    ) -> None:
        self.app = app
        self.sio = sio
        self.ctx = ctx
        self.publisher = publisher

    @property
    def registry(self) -> Registry:
        return self.ctx.registry

    def include(self, namespace: EventNamespace) -> None:
        """Serve a namespace: its events join the registry (discovery, schema, types)."""
        self.registry.include(namespace.spec)
        self.sio.register_namespace(namespace)

    def topic(self, topic: Topic[Any]) -> None:
        """Accept `app:event`s on `topic`, from in-process code and `POST /api/publish`."""
        self.publisher.topics.register(topic)


class ExtensionError(ValueError):
    """A `WS_EXTENSIONS` entry that cannot be loaded."""


def load_extensions(paths: Iterable[str]) -> list[Extension]:
    extensions = []
    for path in paths:
        module_name, _, attribute = path.partition(":")
        if not module_name or not attribute:
            raise ExtensionError(f"WS_EXTENSIONS entry {path!r}: write module.path:function")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ExtensionError(f"WS_EXTENSIONS entry {path!r}: {exc}") from exc
        extension = getattr(module, attribute, None)
        if not callable(extension):
            raise ExtensionError(f"WS_EXTENSIONS entry {path!r}: {attribute} is not callable")
        extensions.append(extension)
    return extensions
