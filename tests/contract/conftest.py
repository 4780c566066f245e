from __future__ import annotations

from tests.cluster_nodes import make_node, redis_server, two_nodes

__all__ = ["make_node", "redis_server", "two_nodes"]
