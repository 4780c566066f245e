"""A state machine over raw Engine.IO frames, against one live server.

Raw websockets and long-polling connections open, join namespaces (or are refused), send valid
events, binary packets and frames, garbage, client acks and connect errors, and close:
cleanly, or by dropping the TCP connection. The model predicts every reply (a typed ack, a
typed refusal, nothing at all) and when a connection is closed for sending more than
`max_bad_frames` unanswered bad frames; after each step a ping on the connection checks that
nothing else arrived. Nothing may be logged at ERROR or with a traceback. After each run a
well-behaved client still gets its ping answered, and once every connection of the run is
closed each per-connection table of the server is back where it was.

The server lives on an event loop in a thread of its own, started once for the module; the
machine's rules are synchronous and hand their work to that loop.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import aiohttp
import orjson
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from loguru import logger

from schemas.ack import AckError, ErrorCode
from schemas.auth import ConnectRefusal, RefusalCode
from schemas.registry import CHAT, CLIENT_EVENTS, SYSTEM
from server.realtime.table_sizes import connection_table_sizes
from server.settings import Settings
from tests.harness import LiveServer, connect, live_server
from tests.loop_thread import LoopThread, without_ws_environment
from tests.raw_engineio import RawSocket, polling_handshake, raw_socket, socket_url

T = TypeVar("T")

LIMIT = 10  # max_bad_frames: low, so that runs reach it
MAX_WEBSOCKETS = 4
MAX_POLLING = 2
USERS = ("raw-a", "raw-b")
CALL_TIMEOUT_S = 20.0
REPLY_S = 2.0
CLOSE_S = 2.0
SETTLE_S = 5.0
REGISTERED = (CHAT, SYSTEM)
UNKNOWN = ("/", "/nope")
GREETING = {CHAT: "chat:ready", SYSTEM: "system:hello"}
REFUSED_AUTH = {"auth_required", "token_invalid"}
DUPLICATE_REFUSED = set(get_args(RefusalCode)) - {"internal"}
PLACEHOLDER = '{"_placeholder":true,"num":0}'


# Logs


class Problems:
    """Whatever the server must never do: log at ERROR, log a traceback, leave a task's
    exception unretrieved. Filled from any thread, read by the machine."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def loguru_sink(self, message: Any) -> None:
        record = message.record
        text = f"{record['message']} {record['exception'] or ''}"
        if record["level"].no >= logging.ERROR or record["exception"] or "Traceback" in text:
            self.seen.append(f"loguru {record['level'].name}: {text[:2000]}")

    def loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.seen.append(f"loop: {context.get('message')} {context.get('exception')!r}")


class _Collect(logging.Handler):
    def __init__(self, problems: Problems) -> None:
        super().__init__(level=logging.NOTSET)
        self.problems = problems
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in text:
            self.problems.seen.append(f"logging {text[:2000]}")


# Frames


def sio(kind: int, namespace: str, ack_id: int | None = None, data: str = "") -> str:
    """An Engine.IO MESSAGE holding one Socket.IO packet, written by hand."""
    head = f"4{kind}" if namespace == "/" else f"4{kind}{namespace},"
    return head + ("" if ack_id is None else str(ack_id)) + data


@dataclass(frozen=True)
class Frame:
    """One Socket.IO packet from the server, or what else came (`kind` says)."""

    kind: str  # the Socket.IO packet type, else "engineio", "binary" or "not JSON"
    namespace: str
    ack_id: int | None
    data: Any
    raw: str


def parse(frame: str | bytes) -> Frame:
    if isinstance(frame, bytes):
        return Frame("binary", "", None, None, repr(frame))
    if not frame.startswith("4") or len(frame) < 2:
        return Frame("engineio", "", None, None, frame)
    kind, rest = frame[1], frame[2:]
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    digits = len(rest) - len(rest.lstrip("0123456789"))
    ack_id = int(rest[:digits]) if digits else None
    rest = rest[digits:]
    try:
        data = orjson.loads(rest) if rest else None
    except orjson.JSONDecodeError:
        return Frame("not JSON", "", None, None, frame)
    return Frame(kind, namespace, ack_id, data, frame)


Effect = Literal["counted", "harmless", "close", "unknown"]


_ENGINEIO_EFFECTS: dict[int, Effect] = {1: "close", 3: "harmless", 4: "unknown"}


def engineio_effect(frame: str) -> Effect:
    """What a text frame does, read as python-engineio reads it (its first character is the
    packet type, any Unicode digit will do): CLOSE ends the connection, PONG is harmless, a
    MESSAGE goes on to Socket.IO (`unknown` here), anything else is a bad frame."""
    if not frame or frame[0] == "b":  # "b": base64, an attachment or garbage
        return "counted"
    try:
        packet_type = int(frame[0])
    except ValueError:
        return "counted"
    return _ENGINEIO_EFFECTS.get(packet_type, "counted")


# Engine.IO MESSAGEs that are no Socket.IO packet the server accepts: each is a bad frame.
BAD_MESSAGES = (
    "4",
    "4x",
    "4{}",
    "4[]",
    '4"x"',
    "4-1",
    "4null",
    "4true",
    "4 1",
    "47",
    "48/chat,1[]",
)
GARBAGE = (
    "hello",
    '{"a":1}',
    "null",
    "",
    " ",
    "0",
    '0{"sid":"x"}',
    "2",
    "2probe",
    "5",
    "6",
    "7",
    "9",
    "bhello",
    "b",
    "bAAAA",
    "\u0667",  # ARABIC-INDIC DIGIT SEVEN: int() reads it as 7
    "3",
    "3probe",
    "1",
    *BAD_MESSAGES,
)


def garbage_effect(frame: str) -> Effect:
    return "counted" if frame in BAD_MESSAGES else engineio_effect(frame)


# Checks


def check_ok(namespace: str, event: str, ack: Any) -> None:
    assert isinstance(ack, dict), ack
    assert ack.get("ok") is True, ack
    assert set(ack) == {"ok", "data"}, ack
    model = CLIENT_EVENTS[(namespace, event)].ack_model
    assert model is not None
    model.model_validate(ack["data"])


def check_error(ack: Any, code: ErrorCode) -> None:
    error = AckError.model_validate(ack).error
    assert error.code == code, ack
    assert error.message, ack


def check_refusal(reply: Any, codes: set[str]) -> None:
    assert isinstance(reply, dict), f"untyped connect refusal: {reply!r}"
    assert set(reply) == {"message", "data"}, reply
    refusal = ConnectRefusal.model_validate(reply["data"])
    assert refusal.code in codes, reply
    assert reply["message"] == refusal.message, reply


def single(ack: Any) -> Any:
    assert isinstance(ack, list), ack
    assert len(ack) == 1, ack
    return ack[0]


# Peers: one raw Engine.IO connection each


class Peer:
    """A raw connection and what the model knows of it."""

    def __init__(self, label: str, eio_sid: str) -> None:
        self.label = label
        self.eio_sid = eio_sid
        self.inbox: list[Frame] = []
        self.arrived = asyncio.Event()
        self.joined: set[str] = set()
        self.bad = 0  # unanswered bad frames so far
        self.ids = count(1)
        self.gone = False  # closed, by either side
        # Once False (after a frame whose effect the model does not predict), the peer is
        # only sent frames; nothing is expected of it any more.
        self.predictable = True

    def __repr__(self) -> str:
        return self.label

    @property
    def expecting(self) -> bool:
        return self.predictable and not self.gone

    async def send(self, *frames: str | bytes) -> None:
        raise NotImplementedError

    async def close(self, abrupt: bool) -> None:
        raise NotImplementedError

    async def _more(self, within_s: float) -> None:
        """Waits for more frames (or the end of the connection), at most `within_s`."""
        raise NotImplementedError

    async def closed_by_server(self, within_s: float) -> bool:
        raise NotImplementedError

    def _received(self, frame: str | bytes) -> None:
        self.inbox.append(parse(frame))
        self.arrived.set()

    async def expect(self, kind: str, namespace: str, ack_id: int | None = None) -> Any:
        """The data of the first packet of this kind, namespace and ack id."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_S
        while True:
            for i, frame in enumerate(self.inbox):
                if (frame.kind, frame.namespace, frame.ack_id) == (kind, namespace, ack_id):
                    del self.inbox[i]
                    return frame.data
            wanted = f"{kind}{namespace} id={ack_id}"
            assert not self.gone, f"{self}: closed while waiting for {wanted}; got {self.inbox}"
            remaining = deadline - loop.time()
            assert remaining > 0, f"{self}: no {wanted} in {REPLY_S}s; got {self.inbox}"
            await self._more(remaining)


class WebSocketPeer(Peer):
    def __init__(self, label: str, raw: RawSocket, stack: AsyncExitStack) -> None:
        super().__init__(label, raw.eio_sid)
        self.raw = raw
        self._stack = stack
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                msg = await self.raw.ws.receive()
                if msg.type is aiohttp.WSMsgType.TEXT and msg.data == "2":  # the server's PING
                    await self.raw.ws.send_str("3")
                elif msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self._received(msg.data)
                else:  # CLOSE, CLOSING, CLOSED, ERROR
                    break
        except (ConnectionError, aiohttp.ClientError):
            pass  # the PONG could not be written: the connection is going
        finally:
            self.gone = True
            self.arrived.set()

    async def send(self, *frames: str | bytes) -> None:
        for frame in frames:
            try:
                await self.raw.send_frame(frame)
            except (ConnectionError, aiohttp.ClientConnectionError):
                assert not self.expecting, f"{self}: the server went away"
                return

    async def _more(self, within_s: float) -> None:
        self.arrived.clear()
        if self.inbox or self.gone:
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self.arrived.wait(), within_s)

    async def closed_by_server(self, within_s: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), within_s)
        except TimeoutError:
            return False
        return True

    async def close(self, abrupt: bool) -> None:
        if abrupt:
            connection = self.raw.ws._conn  # the TCP connection under the websocket
            if connection is not None and connection.transport is not None:
                connection.transport.abort()
        await self._stack.aclose()  # a clean close (after an abort: nothing to close)
        await asyncio.wait_for(self._reader, CLOSE_S)
        self.gone = True


class PollingPeer(Peer):
    def __init__(self, label: str, http: aiohttp.ClientSession, server_url: str, sid: str):
        super().__init__(label, sid)
        self.http = http
        self.url = f"{socket_url(server_url, 'polling')}&sid={sid}"

    async def send(self, *frames: str | bytes) -> None:
        """One POST, its Engine.IO packets joined by the record separator."""
        packets = [
            "b" + base64.b64encode(f).decode() if isinstance(f, bytes) else f for f in frames
        ]
        async with self.http.post(self.url, data="\x1e".join(packets).encode()) as response:
            await response.read()
            if self.expecting or response.status >= 500:
                # 400: a body that is not an Engine.IO payload (or a connection already gone).
                assert response.status in (200, 400), (response.status, await response.text())

    async def _more(self, within_s: float) -> None:
        """One long-poll GET: whatever the server has queued, or its end."""
        if self.gone:
            return
        timeout = aiohttp.ClientTimeout(total=within_s)
        try:
            async with self.http.get(self.url, timeout=timeout) as response:
                body = await response.text()
        except TimeoutError:
            return
        if response.status != 200:
            assert response.status == 400, (response.status, body)
            self.gone = True
            return
        for packet in body.split("\x1e") if body else []:
            if packet == "2":  # the server's PING
                await self.send("3")
            elif packet == "1":  # the server's CLOSE
                self.gone = True
            elif packet != "6":  # NOOP
                self._received(packet)

    async def closed_by_server(self, within_s: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while not self.gone and loop.time() < deadline:
            await self._more(deadline - loop.time())
        return self.gone

    async def close(self, abrupt: bool) -> None:
        # Long-polling has no connection to drop: a client that goes away is only noticed
        # after the ping timeout. Both ways end with Engine.IO CLOSE, then the poll a client
        # keeps pending (python-engineio forgets a closed connection on its next request, or
        # else only once its sweep of all connections comes by).
        if not self.gone:
            async with self.http.post(self.url, data=b"1") as response:
                await response.read()
        timeout = aiohttp.ClientTimeout(total=REPLY_S)
        async with self.http.get(self.url, timeout=timeout) as response:
            await response.read()
        self.gone = True


# The rig: one live server and a well-behaved client, on a loop in a thread


class Rig(LoopThread):
    def __init__(self, settings: Settings, problems: Problems) -> None:
        super().__init__("raw-frames-loop", problems.loop_exception, CALL_TIMEOUT_S)
        self.settings = settings
        self.problems = problems
        self.tokens: dict[str, str] = {}
        self._stack = AsyncExitStack()

    async def start(self) -> None:
        self.live: LiveServer = await self._stack.enter_async_context(live_server(self.settings))
        self.http = await self._stack.enter_async_context(aiohttp.ClientSession())
        for user in USERS:
            self.tokens[user] = await self.live.token(user)
        watchdog_token = await self.live.token("raw-watchdog")
        self.watchdog, _ = await connect(self.live, [SYSTEM], {"token": watchdog_token})
        self._stack.push_async_callback(self.watchdog.disconnect)
        await self.ping_watchdog()  # its first event is what makes the rate limiter track it

    async def ping_watchdog(self) -> None:
        ack = await self.watchdog.call(
            "system:ping", {"client_time": 1}, namespace=SYSTEM, timeout=REPLY_S
        )
        check_ok(SYSTEM, "system:ping", ack)

    async def stop(self) -> None:
        await self._stack.aclose()
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await self.loop.shutdown_asyncgens()
        await self.loop.shutdown_default_executor()

    def tables(self) -> dict[str, int]:
        """The size of every table the server keeps per connection. Read on the loop."""
        return connection_table_sizes(self.live.app)

    async def settled(self, baseline: dict[str, int], within_s: float) -> dict[str, int]:
        """The tables once none is above `baseline`, or as they are after `within_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while True:
            now = self.tables()
            if all(now[k] <= baseline[k] for k in now) or loop.time() > deadline:
                return now
            await asyncio.sleep(0.02)


def _settings(tmp: Path) -> Settings:
    return Settings(
        _env_file=None,
        port=0,
        database_url=f"sqlite:///{tmp}/netra.db",
        client_dist=str(tmp / "no-client"),
        demo_tokens_per_s=0,
        max_bad_frames=LIMIT,
        # Limits other than bad frames are not under test: keep them out of the way.
        rate_limit_per_min=10**9,
        max_connections_per_user=10**6,
    )


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with without_ws_environment():
        settings = _settings(tmp_path_factory.mktemp("raw-frames"))
    problems = Problems()
    rig = Rig(settings, problems)
    sink = logger.add(problems.loguru_sink, level="DEBUG")
    collect = _Collect(problems)
    logging.getLogger().addHandler(collect)
    try:
        with rig.running(rig.start, rig.stop):
            yield rig
    finally:
        logging.getLogger().removeHandler(collect)
        logger.remove(sink)


# The machine

AUTHS = {
    "token": None,  # a valid dev token, filled in per user
    "none": "",
    "empty": "{}",
    "garbage_token": '{"token":"not.a.token"}',
    "list": "[1,2]",
    "string": '"x"',
    "number": "5",
    "token_not_a_string": '{"token":5}',
    "resume_not_an_object": None,  # a valid token with `"resume": 5`
    "undecodable": '{"token":',
}
# Valid events, each with the payload that makes it succeed.
EVENTS = {
    "system:ping": (SYSTEM, '{"client_time":1}'),
    "chat:examples": (CHAT, "{}"),
}
UNDECODABLE = (
    '["system:ping",{"client_time":1,}]',
    '["chat:examples",{]',
    '["system:ping",{"client_time":' + "9" * 120 + "}]",
    "[" * 5000 + "]" * 5000,
)
NAMELESS = ("", "[]", "{}", "[1]", '"system:ping"', "[null]", "[[]]")
BINARY = ("event", "huge", "ack")


class RawFramesMachine(RuleBasedStateMachine):
    peers = Bundle("peers")

    def __init__(self, rig: Rig) -> None:
        super().__init__()
        self.rig = rig
        self.labels = count()
        self.all: list[Peer] = []
        self.broken = False
        # Not a constant: a failed run (while shrinking, say) may leave entries behind, and
        # each run is judged on what it leaves itself.
        self.baseline = self.run(self._tables())
        rig.problems.seen.clear()

    # Plumbing

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return self.rig.run(coro)
        except BaseException:
            self.broken = True
            raise

    async def _tables(self) -> dict[str, int]:
        return self.rig.tables()

    def open_peers(self, kind: type[Peer]) -> int:
        return sum(1 for p in self.all if isinstance(p, kind) and not p.gone)

    async def sync(self, peer: Peer) -> None:
        """A ping with an ack id: answered whether /system was joined or not, so it comes
        back after whatever the frames before it caused; nothing else may have come."""
        ack_id = next(peer.ids)
        await peer.send(sio(2, SYSTEM, ack_id, '["system:ping",{"client_time":1}]'))
        ack = single(await peer.expect("3", SYSTEM, ack_id))
        if SYSTEM in peer.joined:
            check_ok(SYSTEM, "system:ping", ack)
        else:
            check_error(ack, ErrorCode.UNAUTHORIZED)
        assert peer.inbox == [], f"{peer}: unexpected frames {peer.inbox}"

    async def counted(self, peer: Peer, frames: int = 1) -> None:
        """`frames` bad frames went unanswered: past the limit the server closes."""
        peer.bad += frames
        if peer.bad > LIMIT:
            closed = await peer.closed_by_server(CLOSE_S)
            assert closed, f"{peer}: {peer.bad} bad frames (limit {LIMIT}) and still open"
            peer.gone = True
        else:
            await self.sync(peer)

    async def settle(self, peer: Peer, effect: Effect) -> None:
        if effect == "counted":
            await self.counted(peer)
        elif effect == "harmless":
            await self.sync(peer)
        else:  # "close" (Engine.IO CLOSE: the websocket may stay open) or "unknown"
            peer.predictable = False

    # Opening and closing

    @initialize(
        target=peers,
        namespaces=st.lists(st.sampled_from(REGISTERED), unique=True),
        user=st.sampled_from(USERS),
    )
    def first_websocket(self, namespaces: list[str], user: str) -> Peer:
        """A websocket to begin with, often joined already: most rules check more then."""
        peer = self._open_websocket()
        for namespace in namespaces:
            self._join(peer, namespace, "token", user)
        return peer

    @precondition(lambda self: self.open_peers(WebSocketPeer) < MAX_WEBSOCKETS)
    @rule(target=peers)
    def open_websocket(self) -> Peer:
        return self._open_websocket()

    def _open_websocket(self) -> Peer:
        async def go() -> Peer:
            stack = AsyncExitStack()
            raw = await stack.enter_async_context(raw_socket(self.rig.live.url, self.rig.http))
            return WebSocketPeer(f"ws{next(self.labels)}", raw, stack)

        peer = self.run(go())
        self.all.append(peer)
        return peer

    @precondition(lambda self: self.open_peers(PollingPeer) < MAX_POLLING)
    @rule(target=peers)
    def open_polling(self) -> Peer:
        async def go() -> Peer:
            sid = await polling_handshake(self.rig.http, self.rig.live.url)
            return PollingPeer(f"poll{next(self.labels)}", self.rig.http, self.rig.live.url, sid)

        peer = self.run(go())
        self.all.append(peer)
        return peer

    @rule(peer=consumes(peers), abrupt=st.booleans())
    def close(self, peer: Peer, abrupt: bool) -> None:
        self.run(peer.close(abrupt))

    # Namespaces

    @rule(
        peer=peers,
        # Half of the attempts are to a namespace the server has, half with a good token:
        # the states after a join are where most rules have something to check.
        namespace=st.sampled_from(REGISTERED) | st.sampled_from(UNKNOWN),
        auth=st.just("token") | st.sampled_from(sorted(AUTHS)),
        user=st.sampled_from(USERS),
    )
    def join(self, peer: Peer, namespace: str, auth: str, user: str) -> None:
        self._join(peer, namespace, auth, user)

    def _join(self, peer: Peer, namespace: str, auth: str, user: str) -> None:
        token = self.rig.tokens[user]
        if auth == "token":
            data = orjson.dumps({"token": token}).decode()
        elif auth == "resume_not_an_object":
            data = orjson.dumps({"token": token, "resume": 5}).decode()
        else:
            data = AUTHS[auth] or ""

        async def go() -> None:
            await peer.send(sio(0, namespace, data=data))
            if not peer.expecting:
                return
            if namespace in UNKNOWN:
                if auth == "undecodable":
                    await self.counted(peer)  # not even its namespace can be answered
                    return
                check_refusal(await peer.expect("4", namespace), {"not_found"})
            elif namespace in peer.joined:
                # Already joined: refused (typed), it stays joined, and no client library
                # does this, so it counts towards the bad-frame limit.
                check_refusal(await peer.expect("4", namespace), DUPLICATE_REFUSED)
                if auth != "undecodable":  # that one is refused as undecodable, answered
                    await self.counted(peer)
                    return
            elif auth == "token":
                reply = await peer.expect("0", namespace)
                assert isinstance(reply, dict), reply
                assert set(reply) == {"sid"}, reply
                greeting = await peer.expect("2", namespace)
                assert greeting[0] == GREETING[namespace], greeting
                peer.joined.add(namespace)
            else:
                check_refusal(await peer.expect("4", namespace), REFUSED_AUTH)
            await self.sync(peer)

        self.run(go())

    @rule(peer=peers, namespace=st.sampled_from(REGISTERED + UNKNOWN))
    def leave(self, peer: Peer, namespace: str) -> None:
        async def go() -> None:
            await peer.send(sio(1, namespace))
            peer.joined.discard(namespace)
            if peer.expecting:
                await self.sync(peer)  # a goodbye is no bad frame, joined or not

        self.run(go())

    # Events

    @rule(peer=peers, data=st.data(), with_id=st.booleans())
    def send_event(self, peer: Peer, data: st.DataObject, with_id: bool) -> None:
        # Half of the time an event of a namespace the peer has joined, if it has one.
        joined = sorted(n for n, (ns, _) in EVENTS.items() if ns in peer.joined)
        names = st.sampled_from(joined or sorted(EVENTS)) | st.sampled_from(sorted(EVENTS))
        name = data.draw(names, label="name")
        # Half of the time on its own namespace, else on one the server does not have.
        elsewhere = data.draw(st.none() | st.sampled_from(UNKNOWN), label="elsewhere")
        home, payload = EVENTS[name]
        namespace = elsewhere or home
        ack_id = next(peer.ids) if with_id else None

        async def go() -> None:
            await peer.send(sio(2, namespace, ack_id, f'["{name}",{payload}]'))
            if not peer.expecting:
                return
            if namespace in UNKNOWN or (ack_id is None and namespace not in peer.joined):
                await self.counted(peer)
                return
            if ack_id is not None:
                ack = single(await peer.expect("3", namespace, ack_id))
                if namespace in peer.joined:
                    check_ok(namespace, name, ack)
                else:
                    check_error(ack, ErrorCode.UNAUTHORIZED)
            await self.sync(peer)

        self.run(go())

    @rule(
        peer=peers,
        namespace=st.sampled_from(REGISTERED + UNKNOWN),
        body=st.sampled_from(UNDECODABLE + NAMELESS),
        with_id=st.booleans(),
    )
    def send_bad_event(self, peer: Peer, namespace: str, body: str, with_id: bool) -> None:
        """JSON that cannot be decoded, or an event without a name."""
        ack_id = next(peer.ids) if with_id else None
        decodable = body in NAMELESS

        async def go() -> None:
            await peer.send(sio(2, namespace, ack_id, body))
            if not peer.expecting:
                return
            if ack_id is None or namespace in UNKNOWN:
                await self.counted(peer)
            elif namespace in peer.joined:
                check_error(
                    single(await peer.expect("3", namespace, ack_id)), ErrorCode.INVALID_PAYLOAD
                )
                await self.sync(peer)
            elif decodable:
                check_error(
                    single(await peer.expect("3", namespace, ack_id)), ErrorCode.UNAUTHORIZED
                )
                await self.sync(peer)
            else:
                await self.counted(peer)  # no sid on that namespace to answer as

        self.run(go())

    # Binary

    @rule(
        peer=peers,
        kind=st.sampled_from(BINARY),
        namespace=st.sampled_from(REGISTERED + UNKNOWN),
        with_id=st.booleans(),
        attachment=st.booleans(),
    )
    def send_binary_packet(
        self, peer: Peer, kind: str, namespace: str, with_id: bool, attachment: bool
    ) -> None:
        """A binary event or ack (refused on arrival), and maybe the attachment it declares."""
        ack_id = next(peer.ids) if with_id else None
        attachments = "9999999" if kind == "huge" else "1"
        packet_type = 6 if kind == "ack" else 5
        data = f"[{PLACEHOLDER}]" if kind == "ack" else f'["x",{PLACEHOLDER}]'
        head = f"4{packet_type}{attachments}-" + ("" if namespace == "/" else f"{namespace},")
        frames: list[str | bytes] = [head + ("" if ack_id is None else str(ack_id)) + data]
        if attachment:
            frames.append(b"\x00\x01attachment")

        async def go() -> None:
            answered = kind != "ack" and ack_id is not None and namespace in peer.joined
            if answered:
                await peer.send(frames[0])
                if not peer.expecting:
                    return
                check_error(
                    single(await peer.expect("3", namespace, ack_id)), ErrorCode.INVALID_PAYLOAD
                )
                if attachment:
                    await peer.send(*frames[1:])
                    await self.counted(peer)
                else:
                    await self.sync(peer)
                return
            await peer.send(*frames)
            if peer.expecting:
                await self.counted(peer, len(frames))

        self.run(go())

    @rule(peer=peers, data=st.binary(max_size=64))
    def send_binary_frame(self, peer: Peer, data: bytes) -> None:
        async def go() -> None:
            await peer.send(data)
            if peer.expecting:
                await self.counted(peer)

        self.run(go())

    # Garbage

    @rule(peer=peers, frame=st.sampled_from(GARBAGE) | st.text(max_size=24))
    def send_garbage(self, peer: Peer, frame: str) -> None:
        effect = garbage_effect(frame)
        if isinstance(peer, PollingPeer) and "\x1e" in frame:
            effect = "unknown"  # more than one packet in the POST

        async def go() -> None:
            await peer.send(frame)
            if peer.expecting:
                await self.settle(peer, effect)

        self.run(go())

    @rule(
        peer=peers,
        kind=st.sampled_from(["ack", "connect_error"]),
        namespace=st.sampled_from(REGISTERED + UNKNOWN),
    )
    def send_client_only_packet(self, peer: Peer, kind: str, namespace: str) -> None:
        """What only a server sends: an ack (the server never asks a client for one), a
        connect error."""
        if kind == "ack":
            frame = sio(3, namespace, 1, "[{}]")
        else:
            frame = sio(4, namespace, data='{"message":"x"}')

        async def go() -> None:
            await peer.send(frame)
            if peer.expecting:
                await self.counted(peer)

        self.run(go())

    @precondition(lambda self: any(p.expecting and p.bad > LIMIT // 2 for p in self.all))
    @rule(
        peer=peers,
        extra=st.integers(0, 3),
        frame=st.sampled_from([f for f in GARBAGE if garbage_effect(f) == "counted"]),
    )
    def flood(self, peer: Peer, extra: int, frame: str) -> None:
        """Enough bad frames at once to go past the limit: the server closes."""

        async def go() -> None:
            if not peer.expecting:
                return
            frames = LIMIT - peer.bad + 1 + extra
            if isinstance(peer, PollingPeer):
                # One POST; each "6" (NOOP, never sent by a client) is one bad frame.
                await peer.send(*["6"] * frames)
            else:
                await peer.send(*[frame] * frames)
            await self.counted(peer, frames)
            assert peer.gone

        self.run(go())

    # Invariants and the end of a run

    @invariant()
    def nothing_logged_at_error(self) -> None:
        problems = list(self.rig.problems.seen)
        if problems:
            self.broken = True
        assert problems == [], "\n".join(problems)

    def teardown(self) -> None:
        async def close_all() -> None:
            for peer in self.all:
                if not peer.gone or isinstance(peer, WebSocketPeer):
                    await peer.close(abrupt=False)

        if self.broken:
            # The failing step is the report: close what can be closed, quietly.
            with suppress(Exception):
                self.rig.run(close_all())
            return
        self.run(close_all())

        async def check() -> None:
            now = await self.rig.settled(self.baseline, SETTLE_S)
            leaked = {k: (self.baseline[k], v) for k, v in now.items() if v > self.baseline[k]}
            assert leaked == {}, f"(baseline, now) of tables left above their baseline: {leaked}"
            await self.rig.ping_watchdog()

        self.run(check())
        self.nothing_logged_at_error()


# Built after tests/conftest.py loaded its profile (CI: derandomized), which it inherits.
# About 15 s on two cores; every step waits on a live server, hence no too_slow check.
MACHINE_SETTINGS = hypothesis_settings(
    max_examples=300,
    stateful_step_count=40,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_raw_frames(rig: Rig) -> None:
    class OnThisRig(RawFramesMachine):
        def __init__(self) -> None:
            super().__init__(rig)

    run_state_machine_as_test(OnThisRig, settings=MACHINE_SETTINGS)
