"""What the namespaces are handed: shared services and the stores that keep per-client state,
so that none is kept on the namespaces themselves."""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.verifier import TokenVerifier
from server.connection import ConnectionRegistry
from server.emitter import Emitter
from server.limits import ConnectionCap, RateLimiter
from server.metrics import Metrics
from server.sampled_log import SampledLog
from server.settings import Settings
from server.token_watch import TokenWatch


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
