"""What WS_REDIS_URL switches on: the Redis client manager, the shared replay store and the
subscriber to the streams this node's connections follow."""

from __future__ import annotations

import contextlib

from pydantic import JsonValue

from server.chat.approvals import NoPendingApproval
from server.chat.runs import RunRegistry, UnknownRun
from server.cluster.delivery import StreamAnnouncer
from server.cluster.manager import ClusterManager
from server.cluster.run_control import RunControl
from server.cluster.stream_subscriber import StreamSubscriber
from server.settings import Settings
from server.stores.replay_failover import FailoverReplayStore
from server.stores.replay_memory import MemoryReplayStore
from server.stores.replay_redis import RedisReplayStore
from server.stores.replay_store import ReplayStore

# python-socketio's own messages (room emits, disconnects); user streams have a channel each.
CHANNEL = "netra-ws"


def client_manager(settings: Settings) -> ClusterManager | None:
    return ClusterManager(settings.redis_url, CHANNEL) if settings.redis_url else None


def stream_subscriber(settings: Settings) -> StreamSubscriber | None:
    return StreamSubscriber(settings.redis_url) if settings.redis_url else None


def replay_store(settings: Settings) -> ReplayStore:
    if settings.redis_url:
        shared = RedisReplayStore.from_url(
            settings.redis_url,
            settings.replay_max_events,
            settings.replay_ttl_s,
            announcer=StreamAnnouncer(),
        )
        return FailoverReplayStore(shared, lambda: local_replay_store(settings))
    return local_replay_store(settings)


def local_replay_store(settings: Settings) -> MemoryReplayStore:
    return MemoryReplayStore(settings.replay_max_events, settings.replay_ttl_s)


def run_control(settings: Settings, runs: RunRegistry) -> RunControl | None:
    if not settings.redis_url:
        return None
    control = RunControl(settings.redis_url, settings.run_heartbeat_s, settings.run_owner_ttl_s)

    def stop_local(user_id: str, run_id: str) -> bool:
        try:
            return runs.stop(user_id, run_id)
        except UnknownRun:
            return False

    def approve_local(
        user_id: str,
        run_id: str,
        call_id: str,
        approved: bool,
        args: dict[str, JsonValue] | None,
    ) -> None:
        # An answer that lost the race (answered elsewhere, expired) changes nothing.
        with contextlib.suppress(UnknownRun, NoPendingApproval):
            runs.approve(user_id, run_id, call_id, approved, args)

    control.stop_local = stop_local
    control.approve_local = approve_local
    return control


async def check_redis(store: ReplayStore) -> None:
    """Readiness: raises when the shared store does not answer."""
    if not isinstance(store, FailoverReplayStore):
        return
    if not await store.ping():
        raise ConnectionError("Redis does not answer")
    if store.degraded:
        raise ConnectionError("Redis answers again; switching back to the shared history")
