"""What the namespaces are handed: shared services and the stores that keep per-client state,
so that none is kept on the namespaces themselves."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.registry import Registry
from server.auth.token_watch import TokenWatch
from server.auth.verifier import TokenVerifier
from server.metrics import Metrics
from server.realtime.connection import ConnectionRegistry
from server.realtime.emitter import Emitter
from server.realtime.limits import ConnectionCap, RateLimiter
from server.realtime.sampled_log import SampledLog
from server.settings import Settings


@dataclass(frozen=True, slots=True)
class ServerContext:
    settings: Settings
    verifier: TokenVerifier
    emitter: Emitter
    metrics: Metrics
    token_watch: TokenWatch
    rate_limiter: RateLimiter
    connection_cap: ConnectionCap
    # Each connected sid's state, read by the per-event path (sids are unique across namespaces).
    connections: ConnectionRegistry
    # Lines anyone can cause (refusals, bad frames) are written within its budget.
    log_sampler: SampledLog
    # The namespaces and events this app serves.
    registry: Registry
