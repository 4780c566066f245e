from __future__ import annotations

from tests.cluster_nodes import (
    fixture_postgres_server,
    fixture_postgres_url,
    make_node,
    redis_server,
    two_nodes,
)

__all__ = [
    "fixture_postgres_server",
    "fixture_postgres_url",
    "make_node",
    "redis_server",
    "two_nodes",
]
