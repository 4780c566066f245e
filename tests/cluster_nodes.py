"""Fixtures for tests that run several nodes on one Redis and one database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, live_server
from tests.postgres_server import fixture_postgres_server, fixture_postgres_url
from tests.redis_server import RedisServer, redis_server

__all__ = [
    "NodeFactory",
    "fixture_postgres_server",
    "fixture_postgres_url",
    "make_node",
    "redis_server",
    "two_nodes",
]

NodeFactory = Callable[..., AbstractAsyncContextManager[LiveServer]]

# Every node of a deployment verifies the same tokens.
SHARED_SECRET = "cluster-test-secret-long-enough-32b"


@pytest.fixture
def make_node(
    make_settings: SettingsFactory, redis_server: RedisServer, postgres_url: str
) -> NodeFactory:
    """A server node on the shared Redis and PostgreSQL; call it once per node."""

    def factory(**overrides: object) -> AbstractAsyncContextManager[LiveServer]:
        values: dict[str, object] = {
            "redis_url": redis_server.url,
            "jwt_secret": SHARED_SECRET,
            "database_url": postgres_url,
        }
        values.update(overrides)
        return live_server(make_settings(**values))

    return factory


@pytest.fixture
async def two_nodes(make_node: NodeFactory) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    async with make_node() as first, make_node() as second:
        yield first, second
