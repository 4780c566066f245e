"""Each node's subscription to the user streams its own connections follow.

One redis-py PubSub on a connection of its own. A stream's channel is subscribed when its
first local connection attaches and unsubscribed when the last one leaves, so a node receives
and decodes only events it has recipients for. `follow` returns once Redis has confirmed the
subscription: the Emitter calls it before it reads the stream's position, so every event
published after that read is heard (older ones are dropped by seq).

When its Redis connection is lost, the next one subscribes every followed channel again and,
once Redis confirmed them, has the Emitter bring each connection up to date from the replay
store: whatever was published meanwhile never reached this node.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from loguru import logger
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from server.cluster.delivery import STREAM_CHANNEL_PREFIX, decode

Deliver = Callable[[str, str, dict[str, Any], str], Awaitable[None]]
CatchUp = Callable[[], Awaitable[None]]

# Channels per command when many go at once (subscribing again after a lost connection).
BATCH = 500
FIRST_RETRY_S = 0.25
MAX_RETRY_S = 5.0


@dataclass(slots=True)
class _Channel:
    followers: int = 0
    # Resolved when Redis confirmed this node's SUBSCRIBE; None when none is awaited.
    confirmed: asyncio.Future[None] | None = None


# (subscribe or unsubscribe, channel, what the SUBSCRIBE's confirmation resolves)
_Command = tuple[bool, bytes, "asyncio.Future[None] | None"]


class StreamSubscriber:
    """See the module docstring. `bind` gives it the Emitter's delivery and catch-up."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = STREAM_CHANNEL_PREFIX,
        confirm_timeout_s: float = 5.0,
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._prefix_len = len(prefix.encode())
        self._confirm_timeout_s = confirm_timeout_s
        self._deliver: Deliver | None = None
        self._catch_up: CatchUp | None = None
        self._channels: dict[bytes, _Channel] = {}
        self._connected = False
        # How many times it has connected: work left by an earlier connection is skipped.
        self._generation = 0
        # Commands go out in the order follow/unfollow asked for them, from one writer: an
        # UNSUBSCRIBE overtaking a later SUBSCRIBE would leave a followed stream unheard.
        self._outbox: deque[_Command] = deque()
        self._wake = asyncio.Event()
        # Per channel, one entry per SUBSCRIBE sent, in order: Redis confirms them in order.
        self._awaiting: dict[bytes, deque[asyncio.Future[None] | None]] = {}
        self._broken = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self, deliver: Deliver, catch_up: CatchUp) -> None:
        self._deliver = deliver
        self._catch_up = catch_up

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def followed(self) -> frozenset[str]:
        """The stream keys this node is subscribed to (or will be, once connected)."""
        return frozenset(c[self._prefix_len :].decode() for c in self._channels)

    async def follow(self, key: str) -> None:
        """One more local follower of `key`; subscribes on the first. If this raises, nothing
        was added."""
        channel = (self._prefix + key).encode()
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel()
            if self._connected:
                state.confirmed = asyncio.get_running_loop().create_future()
                self._send(True, channel, state.confirmed)
            # Not connected: the next connection subscribes it and catches its followers up.
        state.followers += 1
        confirmed = state.confirmed
        if confirmed is None or confirmed.done():
            return
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation
            # that comes as the wait ends.
            async with asyncio.timeout(self._confirm_timeout_s):
                await asyncio.shield(confirmed)
        except TimeoutError:
            # Go on as if the connection were lost: the next one subscribes every followed
            # stream again and catches its connections up.
            logger.warning(
                "Redis did not confirm a subscription within {} s; subscribing again",
                self._confirm_timeout_s,
            )
            self._broken.set()
        except BaseException:
            self.unfollow(key)
            raise

    def unfollow(self, key: str) -> None:
        """One local follower of `key` fewer; unsubscribes after the last."""
        channel = (self._prefix + key).encode()
        state = self._channels.get(channel)
        if state is None:
            return
        state.followers -= 1
        if state.followers > 0:
            return
        del self._channels[channel]
        if self._connected:
            self._send(False, channel, None)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Subscribed (and subscribing again whenever the connection is lost) inside."""
        task = asyncio.create_task(self._run(), name="stream-subscriber")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            for pending in list(self._tasks):
                pending.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        delay = FIRST_RETRY_S
        while True:
            generation = self._generation
            reason = "the connection closed"
            try:
                await self._serve()
            except Exception as exc:  # every way a connection ends but being stopped
                reason = str(exc) or type(exc).__name__
            if self._generation != generation:
                delay = FIRST_RETRY_S  # it had connected: the first retry comes soon
            logger.error(
                "Cannot receive stream events from Redis ({}); subscribing again in {} s",
                reason,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)

    async def _serve(self) -> None:
        # No retries inside redis-py: a connection it silently made again would have none of
        # our subscriptions, and nothing would tell us to catch up.
        client = Redis.from_url(self._url, protocol=2, retry=Retry(NoBackoff(), 0))
        pubsub = client.pubsub()
        tasks: list[asyncio.Task[Any]] = []
        try:
            await pubsub.connect()  # type: ignore[no-untyped-call]
            resubscribed = self._begin()
            tasks = [
                asyncio.create_task(self._read(pubsub)),
                asyncio.create_task(self._write(pubsub)),
                asyncio.create_task(self._broken.wait()),
            ]
            if resubscribed:
                self._spawn(self._catch_up_once_confirmed(resubscribed, self._generation))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if (exc := task.exception()) is not None:
                    raise exc
            raise ConnectionError("a subscription was not confirmed in time")
        finally:
            self._end()
            await _stop(tasks)
            with suppress(Exception):
                await pubsub.aclose()
            with suppress(Exception):
                await client.aclose()

    def _begin(self) -> list[asyncio.Future[None]]:
        """Connected: subscribe every followed channel; returns the confirmations to await."""
        self._generation += 1
        self._connected = True
        self._broken.clear()
        loop = asyncio.get_running_loop()
        pending = []
        for channel, state in self._channels.items():
            state.confirmed = loop.create_future()
            self._send(True, channel, state.confirmed)
            pending.append(state.confirmed)
        return pending

    def _end(self) -> None:
        self._connected = False
        self._outbox.clear()
        self._awaiting.clear()
        for state in self._channels.values():
            # Followers waiting go on: the next connection catches their streams up.
            if state.confirmed is not None and not state.confirmed.done():
                state.confirmed.set_result(None)
            state.confirmed = None

    def _send(
        self, subscribe: bool, channel: bytes, confirmed: asyncio.Future[None] | None
    ) -> None:
        self._outbox.append((subscribe, channel, confirmed))
        self._wake.set()

    async def _write(self, pubsub: PubSub) -> None:
        outbox = self._outbox
        while True:
            await self._wake.wait()
            self._wake.clear()
            while outbox:
                subscribe = outbox[0][0]
                channels: list[bytes] = []
                while outbox and outbox[0][0] == subscribe and len(channels) < BATCH:
                    _, channel, confirmed = outbox.popleft()
                    channels.append(channel)
                    if subscribe:
                        self._awaiting.setdefault(channel, deque()).append(confirmed)
                await pubsub.execute_command("SUBSCRIBE" if subscribe else "UNSUBSCRIBE", *channels)

    async def _read(self, pubsub: PubSub) -> None:
        prefix_len = self._prefix_len
        while True:
            response = await pubsub.parse_response(block=True)
            if not response:
                continue
            kind = response[0]
            if kind == b"message":
                await self._on_message(response[1][prefix_len:].decode(), response[2])
            elif kind == b"subscribe":
                self._on_confirmed(response[1])

    async def _on_message(self, key: str, message: bytes) -> None:
        event = decode(message)
        if event is None:
            logger.warning("Ignoring a malformed message on the stream channel of {}", key)
            return
        if self._deliver is None:
            return
        try:
            await self._deliver(key, event.name, event.data, event.epoch)
        except Exception:
            # One stream's failure must not stop every other stream's delivery.
            logger.exception("Delivering an event of stream {} failed", key)

    def _on_confirmed(self, channel: bytes) -> None:
        waiting = self._awaiting.get(channel)
        if not waiting:
            return
        confirmed = waiting.popleft()
        if not waiting:
            del self._awaiting[channel]
        if confirmed is not None and not confirmed.done():
            confirmed.set_result(None)

    async def _catch_up_once_confirmed(
        self, confirmations: list[asyncio.Future[None]], generation: int
    ) -> None:
        await asyncio.gather(*confirmations)
        # A connection that ended meanwhile left that to the next one.
        if self._generation != generation or not self._connected or self._catch_up is None:
            return
        logger.info(
            "Subscribed again to {} streams: sending their connections what they missed",
            len(confirmations),
        )
        try:
            await self._catch_up()
        except Exception:
            logger.exception("Catching up after subscribing again failed")

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _stop(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel and wait for the tasks. A cancellation that lands as a command is written is
    lost inside redis-py on Python 3.11 (asyncio.wait_for), so cancel until they end."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.05)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: the connection's end was already reported
