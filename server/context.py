"""What the namespaces are handed: shared services, never per-client state."""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.verifier import TokenVerifier
from server.emitter import Emitter
from server.limits import ConnectionCap, RateLimiter
from server.metrics import Metrics
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
