"""Replay store in Redis Streams: one history shared by every node of a deployment."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas.base import rfc3339
from server.stores.replay_store import Position, Replay, StoredEvent

DEFAULT_PREFIX = "netra:replay:"
# How long a user's seq counter outlives their last connect or event. A counter that is
# gone starts a new history, and a still-connected client would see seqs restart.
DEFAULT_HEAD_TTL_S = 30 * 24 * 3600.0

# One script for every operation, so each one sees the epoch, the user's counter and the
# stream at a single instant. KEYS: epoch hash, user's head hash, user's stream.
# ARGV: op, epoch id to create if missing, now in ms ('' = Redis TIME), ttl ms, head ttl ms,
# then append: max_events, name, ts as JSON, body JSON after its `{` (with a leading comma),
# and optionally the stream's channel, then the message around the stored event JSON: before
# it, between it and the epoch, after the epoch; since: claimed epoch, last_seq.
_SCRIPT = """
local op = ARGV[1]
redis.call('HSETNX', KEYS[1], 'id', ARGV[2])
local epoch_id = redis.call('HGET', KEYS[1], 'id')
local state = redis.call('HMGET', KEYS[2], 'gen', 'seq')
local gen, head = state[1], tonumber(state[2])
if not gen or not head then
  -- A new history: a generation number never issued before under this epoch id, so no
  -- earlier position of this user can match it. Drop any stream left by a lost counter.
  gen = redis.call('HINCRBY', KEYS[1], 'gens', 1)
  head = 0
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[2], 'gen', gen, 'seq', 0)
end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local epoch = epoch_id .. '.' .. gen
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

if op == 'append' then
  local seq = head + 1
  local data = '{"seq":' .. seq .. ',"ts":' .. ARGV[8] .. ARGV[9]
  -- XADD first: if it fails, the counter has not moved and no seq is lost.
  redis.call('XADD', KEYS[3], 'MAXLEN', '=', ARGV[6], seq .. '-0',
    'n', ARGV[7], 't', now, 'd', data)
  redis.call('HSET', KEYS[2], 'seq', seq)
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  if ARGV[10] then
    -- Published in the same script: a subscriber hears a stream's events in seq order.
    redis.call('PUBLISH', ARGV[10], ARGV[11] .. data .. ARGV[12] .. epoch .. ARGV[13])
  end
  return {epoch, seq}
end
if op == 'position' then
  return {epoch, head}
end

local last = tonumber(ARGV[7])
if ARGV[6] ~= epoch or not last or last < 0 or last > head then
  return {epoch, head, 0}
end
if last == head then
  return {epoch, head, 1}
end
local entries = redis.call('XRANGE', KEYS[3], (last + 1) .. '-0', '+')
-- Stream ids are distinct seqs in last+1..head, so the right count means none is missing.
if #entries ~= head - last then
  return {epoch, head, 0}
end
local cutoff = now - tonumber(ARGV[4])
local out = {epoch, head, 1}
for _, entry in ipairs(entries) do
  local fields = {}
  for i = 1, #entry[2], 2 do
    fields[entry[2][i]] = entry[2][i + 1]
  end
  if tonumber(fields['t']) < cutoff then
    return {epoch, head, 0}
  end
  table.insert(out, fields['n'])
  table.insert(out, fields['d'])
end
return out
"""


class Announcer(Protocol):
    """Where and how appended events are published, atomically with the append."""

    def channel(self, key: str) -> str:
        """The pub/sub channel of a stream's events."""
        ...

    def envelope(self, key: str, name: str) -> tuple[bytes, bytes, bytes]:
        """The message's bytes before the stored event JSON, between it and the epoch, after
        that."""
        ...


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisReplayStore:
    """See ReplayStore; every guarantee holds across all nodes sharing one Redis.

    Keys: `{prefix}epoch` is a hash (`id`: random, `gens`: counter) with no expiry;
    `{prefix}head:{user}` a hash (`gen`, `seq`); `{prefix}user:{user}` a stream whose ids
    are `<seq>-0`, each entry holding the event name, its append time in ms and the payload
    JSON. Every operation is one run of one Lua script, which numbers (seq = stream id, so
    `since` is an XRANGE from `last_seq + 1`), stores, trims (exact MAXLEN) and reads.

    Continuity: a position's epoch is `<epoch id>.<gen>`. Losing Redis data (FLUSHALL, a
    restart without persistence) removes the epoch hash, which the next operation recreates
    with a new random id. Losing only a user's head (expiry after `head_ttl_s` without a
    connect or event, eviction) starts that user at seq 1 under a new gen drawn from
    `gens`, so an old position never matches a new history and is answered with a reset.
    A gen is issued even before the first event so that a client's first epoch stays valid.
    Not covered: restoring an older snapshot of the same data (persistence, failover to a
    lagging replica) brings back counters that are behind; run it without persistence.

    Window: streams keep exactly `max_events` entries and expire `ttl_s` after the last
    append; `since` also refuses any needed entry older than `ttl_s`, by Redis TIME unless
    a clock is given. All keys are read in one script, so this needs one Redis, not Cluster.
    A client passed in should speak RESP2 (see `from_url`).

    With an `announcer`, each append is also published by the same script on the stream's
    channel, so a subscriber hears each stream's events in seq order, whichever node appended
    them.
    """

    def __init__(
        self,
        client: Redis,
        max_events: int,
        ttl_s: float,
        *,
        prefix: str = DEFAULT_PREFIX,
        head_ttl_s: float = DEFAULT_HEAD_TTL_S,
        clock: Callable[[], float] | None = None,
        owns_client: bool = False,
        announcer: Announcer | None = None,
    ) -> None:
        self._client = client
        self._max_events = max_events
        self._ttl_ms = max(1, round(ttl_s * 1000))
        # The counter must outlive the events, or "nothing missed" could not be answered.
        self._head_ttl_ms = max(self._ttl_ms, round(head_ttl_s * 1000))
        self._prefix = prefix
        self._clock = clock
        self._owns_client = owns_client
        self._announcer = announcer
        self._script = client.register_script(_SCRIPT)

    @classmethod
    def from_url(
        cls,
        url: str,
        max_events: int,
        ttl_s: float,
        **options: Any,
    ) -> RedisReplayStore:
        """A store with its own client, closed by `close()`."""
        # RESP2: with RESP3 the pool skips its check for connections the server closed, so
        # the first command on each after a Redis restart would fail instead of reconnecting.
        client = Redis.from_url(url, protocol=2)
        return cls(client, max_events, ttl_s, owns_client=True, **options)

    @property
    def publishes(self) -> bool:
        return self._announcer is not None

    async def open(self) -> None:
        await self._client.script_load(_SCRIPT)
        await self._client.hsetnx(self._prefix + "epoch", "id", secrets.token_hex(8))

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def ping(self) -> bool:
        """Readiness: whether Redis answers."""
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def append(
        self, user_id: str, name: str, body: dict[str, Any], ts: datetime
    ) -> StoredEvent:
        stamped_ts = rfc3339(ts)
        body_json = orjson.dumps(body)
        # The script writes `{"seq":N,"ts":...` and then the body's members.
        rest = b"}" if body_json == b"{}" else b"," + body_json[1:]
        announce: tuple[str | bytes, ...] = ()
        if self._announcer is not None:
            announce = (
                self._announcer.channel(user_id),
                *self._announcer.envelope(user_id, name),
            )
        result = await self._run(
            "append",
            user_id,
            str(self._max_events),
            name,
            orjson.dumps(stamped_ts),
            rest,
            *announce,
        )
        seq = int(result[1])
        data = {"seq": seq, "ts": stamped_ts, **body}
        return StoredEvent(seq=seq, name=name, data=data, epoch=_text(result[0]))

    async def position(self, user_id: str) -> Position:
        result = await self._run("position", user_id)
        return Position(epoch=_text(result[0]), head_seq=int(result[1]))

    async def since(self, user_id: str, epoch: str, last_seq: int) -> Replay:
        result = await self._run("since", user_id, epoch, str(last_seq))
        position = Position(epoch=_text(result[0]), head_seq=int(result[1]))
        if int(result[2]) == 0:
            return Replay(position=position, events=None)
        pairs = result[3:]
        events = [
            StoredEvent(
                seq=last_seq + 1 + i,
                name=_text(name),
                data=orjson.loads(data),
                epoch=position.epoch,
            )
            for i, (name, data) in enumerate(zip(pairs[::2], pairs[1::2], strict=True))
        ]
        return Replay(position=position, events=events)

    async def _run(self, op: str, user_id: str, *args: str | bytes) -> list[Any]:
        now = "" if self._clock is None else str(round(self._clock() * 1000))
        keys = [
            self._prefix + "epoch",
            f"{self._prefix}head:{user_id}",
            f"{self._prefix}user:{user_id}",
        ]
        fixed = [op, secrets.token_hex(8), now, str(self._ttl_ms), str(self._head_ttl_ms)]
        result: list[Any] = await self._script(keys=keys, args=[*fixed, *args])
        return result
