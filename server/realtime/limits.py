"""Per-client limits the namespaces enforce: event rate and open connections per user.

Both are shared services keyed by sid, connection and user, so the namespace objects hold no
per-client state; both are local to this process (a user on two nodes has two allowances).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.settings import Settings

Clock = Callable[[], float]


@dataclass(slots=True)
class TokenBucket:
    rate_per_s: float
    capacity: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate_per_s)
        self.stamp = now

    def wait_s(self) -> float:
        """How long until one token is there (0 if it already is)."""
        return max(0.0, (1 - self.tokens) / self.rate_per_s)

    @property
    def full(self) -> bool:
        return self.tokens >= self.capacity


@dataclass(slots=True)
class _Owner:
    bucket: TokenBucket
    sids: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Throttled:
    retry_after_s: float
    first: bool  # the first refusal since this connection's last accepted event


class RateLimiter:
    """Two token buckets per event: the connection's and the user's; both must have a token.

    A refused event takes no token, so a client that keeps sending while limited still gets
    through as soon as its buckets refill.
    """

    def __init__(
        self,
        per_min: int,
        burst: int,
        user_per_min: int,
        user_burst: int,
        clock: Clock = time.monotonic,
    ) -> None:
        self._connection_shape = (per_min / 60, float(burst))
        self._user_shape = (user_per_min / 60, float(user_burst))
        self._clock = clock
        self._connections: dict[str, _Owner] = {}
        self._users: dict[str, _Owner] = {}
        self._sids: dict[str, tuple[str, str]] = {}  # sid -> (connection, user)
        self._throttled: set[str] = set()
        self._idle_users: set[str] = set()  # users whose last connection left

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(
            settings.rate_limit_per_min,
            settings.connection_burst,
            settings.user_rate_per_min,
            settings.user_burst,
        )

    def take(self, sid: str, connection: str, user: str) -> Throttled | None:
        """One event of `sid` (on `connection`, for `user`): None if allowed, else how long."""
        now = self._clock()
        if sid not in self._sids:
            self._sids[sid] = (connection, user)
            self._owner(self._connections, connection, self._connection_shape, now).sids.add(sid)
            self._owner(self._users, user, self._user_shape, now).sids.add(sid)
            self._idle_users.discard(user)
        # Taken on every event: the two buckets by name, with no tuple or generator per call.
        ours = self._connections[connection].bucket
        theirs = self._users[user].bucket
        ours.refill(now)
        theirs.refill(now)
        if ours.tokens < 1 or theirs.tokens < 1:
            wait = max(ours.wait_s(), theirs.wait_s())
            first = connection not in self._throttled
            self._throttled.add(connection)
            return Throttled(wait, first)
        ours.tokens -= 1
        theirs.tokens -= 1
        if self._throttled:
            self._throttled.discard(connection)
        return None

    def forget(self, sid: str) -> None:
        """A namespace connection closed: drop what only it was keeping."""
        owners = self._sids.pop(sid, None)
        if owners is None:
            return
        connection, user = owners
        conn = self._connections[connection]
        conn.sids.discard(sid)
        if not conn.sids:
            del self._connections[connection]
            self._throttled.discard(connection)
        # A user's bucket outlives their last connection until it refills, so reconnecting
        # does not reset it; such idle buckets are pruned once full.
        owner = self._users[user]
        owner.sids.discard(sid)
        if not owner.sids:
            self._idle_users.add(user)
        now = self._clock()
        for idle in list(self._idle_users):
            bucket = self._users[idle].bucket
            bucket.refill(now)
            if bucket.full:
                del self._users[idle]
                self._idle_users.discard(idle)

    def tracked(self) -> tuple[int, int, int]:
        """(sids, connections, users) held: lets tests see that state is dropped."""
        return len(self._sids), len(self._connections), len(self._users)

    def _owner(
        self, owners: dict[str, _Owner], key: str, shape: tuple[float, float], now: float
    ) -> _Owner:
        owner = owners.get(key)
        if owner is None:
            rate, capacity = shape
            owner = owners[key] = _Owner(TokenBucket(rate, capacity, capacity, now))
        return owner


class ConnectionCap:
    """At most `limit` open connections per user on each namespace."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # A tuple, not a set: a user has one or two sids here, and a set is 216 bytes empty.
        self._open: dict[tuple[str, str], tuple[str, ...]] = {}

    def claim(self, namespace: str, user: str, sid: str) -> bool:
        # Check and add with no await between them: concurrent connects cannot both slip in.
        key = (namespace, user)
        sids = self._open.get(key, ())
        if sid in sids:
            return True
        if len(sids) >= self.limit:
            return False
        self._open[key] = (*sids, sid)
        return True

    def release(self, namespace: str, user: str, sid: str) -> None:
        key = (namespace, user)
        sids = self._open.get(key)
        if sids is None or sid not in sids:
            return
        rest = tuple(other for other in sids if other != sid)
        if rest:
            self._open[key] = rest
        else:
            del self._open[key]

    def count(self, namespace: str, user: str) -> int:
        return len(self._open.get((namespace, user), ()))
