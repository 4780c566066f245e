"""Hypothesis against one live server: any payload on any client event gets a typed ack.

The server and its clients live on an event loop in a thread of their own, started once for
the module; the tests are synchronous and hand each example to that loop. After every test
the server must have logged nothing at ERROR, kept the fuzzing client connected and kept
answering a second, well-behaved client that pings throughout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import socketio
from hypothesis import assume, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from loguru import logger

from namespaces.payloads import parse_payload
from schemas.ack import AckError, ErrorCode
from schemas.registry import CHAT, ERROR_EVENTS, SYSTEM, EventSpec
from schemas.registry import CLIENT_EVENTS as ALL_CLIENT_EVENTS
from server.errors import AppError
from server.settings import Settings
from tests.harness import LiveServer, Recorder, connect, live_server
from tests.loop_thread import LoopThread, without_ws_environment

CALL_TIMEOUT_S = 10.0
ACK_TIMEOUT_S = 3.0
WATCHDOG_EVERY_S = 0.05
WATCHDOG_MAX_S = 3.0
MAX_MESSAGE_CHARS = 2_000
REFUSAL_CODES = {"auth_required", "token_invalid", "token_expired", "forbidden"}
# Codes a handler may answer a well-formed payload with.
HANDLER_CODES = {
    ErrorCode.NOT_FOUND,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.TOKEN_EXPIRED,
    ErrorCode.PAYLOAD_TOO_LARGE,
}
# The namespaces fuzzed here (/agui's one event, a RunAgentInput, is AG-UI's own model).
CLIENT_EVENTS = {key: spec for key, spec in ALL_CLIENT_EVENTS.items() if key[0] in (SYSTEM, CHAT)}
# One valid payload per client event: the wrong-type test breaks one field at a time.
VALID: dict[str, dict[str, Any]] = {
    "system:ping": {"client_time": 1.5},
    "system:auth_refresh": {"token": "x.y.z"},
    "chat:send": {"client_msg_id": "00000000-0000-4000-8000-000000000000", "text": "hi"},
    "chat:stop": {"run_id": "no-such-run"},
    "chat:threads": {},
    "chat:history": {"thread_id": "no-such-thread"},
    "chat:examples": {},
    "chat:rename_thread": {"thread_id": "no-such-thread", "title": "A title"},
    "chat:delete_thread": {"thread_id": "no-such-thread"},
    "chat:regenerate": {
        "client_msg_id": "00000000-0000-4000-8000-000000000001",
        "message_id": "no-such-message",
    },
    "chat:approve": {"run_id": "no-such-run", "call_id": "no-such-call", "approved": True},
}


class Rig(LoopThread):
    """A live server, a fuzzing client and a watchdog client on a loop in a thread."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("fuzz-loop", self._loop_exception, CALL_TIMEOUT_S)
        self.settings = settings
        self.errors: list[str] = []
        self.pings_answered = 0
        self.ping_failures: list[str] = []
        self.slowest_ping_s = 0.0
        self._stack = AsyncExitStack()
        self._watch_task: asyncio.Task[None] | None = None

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.errors.append(f"loop: {context.get('message')} {context.get('exception')!r}")

    async def start(self) -> None:
        self.live: LiveServer = await self._stack.enter_async_context(live_server(self.settings))
        self.client, self.recorder = await self._client("fuzzer", [SYSTEM, CHAT])
        await self.recorder.wait_for(CHAT, "chat:ready")
        self.watchdog, _ = await self._client("watchdog", [SYSTEM])
        self.auth_token = await self.live.token("auth-fuzzer")
        self._watch_task = asyncio.create_task(self._watch())

    async def _client(self, user: str, namespaces: list[str]) -> tuple[Any, Recorder]:
        client, recorder = await connect(
            self.live, namespaces, {"token": await self.live.token(user)}
        )
        self._stack.push_async_callback(client.disconnect)
        return client, recorder

    async def _watch(self) -> None:
        while True:
            began = time.monotonic()
            try:
                ack = await self.watchdog.call(
                    "system:ping", {"client_time": began}, namespace=SYSTEM, timeout=5
                )
                if ack.get("ok") is True:
                    self.pings_answered += 1
                else:
                    self.ping_failures.append(repr(ack))
            except Exception as exc:
                self.ping_failures.append(f"{type(exc).__name__}: {exc}")
            self.slowest_ping_s = max(self.slowest_ping_s, time.monotonic() - began)
            await asyncio.sleep(WATCHDOG_EVERY_S)

    async def stop(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
        await self._stack.aclose()
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await self.loop.shutdown_asyncgens()
        await self.loop.shutdown_default_executor()

    def call(self, namespace: str, event: str, data: Any) -> Any:
        return self.run(self.client.call(event, data, namespace=namespace, timeout=ACK_TIMEOUT_S))

    def assert_healthy(self, answered_before: int) -> None:
        self.run(asyncio.sleep(3 * WATCHDOG_EVERY_S))
        assert self.errors == []
        assert self.ping_failures == []
        assert self.pings_answered > answered_before
        assert self.slowest_ping_s < WATCHDOG_MAX_S
        assert self.client.connected
        assert set(self.client.namespaces) == {SYSTEM, CHAT}


def _fuzz_settings(tmp: Path) -> Settings:
    values: dict[str, Any] = {
        "port": 0,
        "database_url": f"sqlite:///{tmp}/netra.db",
        "client_dist": str(tmp / "no-client"),
        "demo_tokens_per_s": 0,
        "max_message_chars": MAX_MESSAGE_CHARS,
        # Limits are not under test here: thousands of events come from one client.
        "rate_limit_per_min": 10**9,
        "max_connections_per_user": 10**6,
    }
    return Settings(
        _env_file=None, **{k: v for k, v in values.items() if k in Settings.model_fields}
    )


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with without_ws_environment():
        settings = _fuzz_settings(tmp_path_factory.mktemp("fuzz"))
    rig = Rig(settings)

    def record(message: Any) -> None:
        record = message.record
        rig.errors.append(f"{record['level'].name} {record['message']} {record['exception']}")

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            rig.errors.append(f"{record.levelname} {record.name}: {record.getMessage()}")

    sink = logger.add(record, level="ERROR")
    collect = Collect(level=logging.ERROR)
    logging.getLogger().addHandler(collect)
    try:
        with rig.running(rig.start, rig.stop):
            yield rig
    finally:
        logging.getLogger().removeHandler(collect)
        logger.remove(sink)


@pytest.fixture(autouse=True)
def _stays_healthy(rig: Rig) -> Iterator[None]:
    answered = rig.pings_answered
    yield
    rig.assert_healthy(answered)


# Strategies

_keys = st.text(max_size=12) | st.sampled_from(["", "text", "token", "__proto__", "$ref"])
_short_text = st.text(max_size=40) | st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\u202e",
        "\ufeff",
        "\U0001d54f\U0001f642",
        "e\u0301",
        "null",
        "{}",
        "[]",
        "NaN",
    ]
)
_huge_ints = st.sampled_from([2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**30, -(10**400)])
_ints = st.integers() | _huge_ints
_floats = st.floats() | st.sampled_from([float("nan"), float("inf"), -0.0, 5e-324, 1.8e308])
_scalars = st.none() | st.booleans() | _ints | _floats | _short_text


class _DeepList(list[Any]):
    """A deeply nested value that reports itself in one line (Hypothesis prints examples)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {_depth(self)} deep>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class _DeepDict(dict[str, Any]):
    __repr__ = _DeepList.__repr__
    _repr_pretty_ = _DeepList._repr_pretty_


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list | dict) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
        depth += 1
    return depth


def _nest(depth: int, kind: str) -> Any:
    value: Any = 0
    for _ in range(depth - 1):
        value = [value] if kind == "list" else {"a": value}
    return _DeepList([value]) if kind == "list" else _DeepDict(a=value)


# Deep enough to hurt, shallow enough for the client's own encoder.
_deep = st.builds(_nest, st.integers(50, 800), st.sampled_from(["list", "dict"]))
_nested = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=20,
)
# One value in ten is a deep one.
json_values = st.integers(0, 9).flatmap(lambda i: _deep if i == 0 else _nested)
# Long strings only as one field's value: a payload stays under WS_MAX_PAYLOAD_BYTES.
_long_text = st.builds(
    lambda n, c: c * n,
    st.integers(1_000, 40_000),
    st.sampled_from(["x", "\u00e9", "\U0001f642", " "]),
)
field_values = json_values | _long_text | st.uuids().map(str) | st.just("typed")

known_events = st.sampled_from(sorted(CLIENT_EVENTS))
unknown_events = st.tuples(
    st.sampled_from([SYSTEM, CHAT]),
    st.text(max_size=30)
    | st.sampled_from(["connect", "disconnect", "message", "*", "chat:Send", "system:ping "]),
)
# One target in five is not a client event (one_of alone would pick either half as often).
any_event = st.integers(0, 4).flatmap(lambda i: unknown_events if i == 0 else known_events)


# Oracles


def _args(data: Any) -> tuple[Any, ...]:
    """What the server receives for `client.call(event, data)`."""
    if data is None:
        return ()
    return data if isinstance(data, tuple) else (data,)


def _has_long_int(value: Any) -> bool:
    """Engine.IO's decoder refuses integers written with more than 100 characters."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, int) and not isinstance(item, bool) and len(str(item)) > 100:
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def expected_error(spec: EventSpec | None, data: Any) -> ErrorCode | None:
    if _has_long_int(data):
        return ErrorCode.INVALID_PAYLOAD  # the packet itself cannot be decoded
    if spec is None:
        return ErrorCode.UNKNOWN_EVENT
    try:
        parse_payload(spec.model, _args(data))
    except AppError as exc:
        return exc.code
    return None


def starts_a_run(spec: EventSpec | None, data: Any) -> bool:
    if spec is None or spec.name != "chat:send" or expected_error(spec, data) is not None:
        return False
    return len(data["text"]) <= MAX_MESSAGE_CHARS


def check_ack(spec: EventSpec | None, data: Any, ack: Any) -> None:
    """The one ack shape, strictly JSON, with the code the payload deserves; never internal."""
    assert isinstance(ack, dict), ack
    json.dumps(ack, allow_nan=False)
    expected = expected_error(spec, data)
    if ack.get("ok") is True:
        assert set(ack) == {"ok", "data"}, ack
        assert expected is None, ack
        assert spec is not None
        assert spec.ack_model is not None
        spec.ack_model.model_validate(ack["data"])
        return
    error = AckError.model_validate(ack).error
    assert error.code is not ErrorCode.INTERNAL, ack
    assert error.message
    if expected is None:
        assert error.code in HANDLER_CODES, ack
    else:
        assert error.code == expected, ack


def send(rig: Rig, target: tuple[str, str], data: Any) -> None:
    spec = CLIENT_EVENTS.get(target)
    assume(not starts_a_run(spec, data))
    namespace, name = target
    ack = rig.call(namespace, name, data)
    check_ack(spec, data, ack)
    event("ok" if ack["ok"] else ack["error"]["code"])


# Tests


@hypothesis_settings(max_examples=2000)
@example(target=(SYSTEM, "system:ping"), data={"client_time": float("inf")})
@example(target=(SYSTEM, "system:ping"), data={"client_time": float("nan")})
@example(target=(SYSTEM, "system:ping"), data={"client_time": 10**400})
@example(target=(CHAT, "chat:history"), data={"thread_id": _nest(800, "list")})
@example(target=(CHAT, "disconnect"), data=None)
@given(
    target=any_event,
    data=json_values | st.tuples(json_values, json_values) | st.tuples(*[json_values] * 3),
)
def test_any_json_gets_a_typed_ack(rig: Rig, target: tuple[str, str], data: Any) -> None:
    send(rig, target, data)


@hypothesis_settings(max_examples=2000)
@given(st.data())
def test_each_field_with_wrong_values(rig: Rig, data: st.DataObject) -> None:
    target = data.draw(known_events)
    spec = CLIENT_EVENTS[target]
    payload = dict(VALID[spec.name])
    field = data.draw(st.sampled_from([*spec.model.model_fields, "unexpected"]), label="field")
    if data.draw(st.booleans(), label="remove") and field in payload:
        del payload[field]
    else:
        payload[field] = data.draw(field_values, label="value")
    send(rig, target, payload)


def test_every_client_event_has_a_valid_example() -> None:
    assert set(VALID) == {spec.name for spec in CLIENT_EVENTS.values()}
    for spec in CLIENT_EVENTS.values():
        spec.model.model_validate(VALID[spec.name])


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=10,
)
_containers = st.lists(_json_values, max_size=4) | st.dictionaries(_keys, _json_values, max_size=4)


@hypothesis_settings(max_examples=800)
@given(
    target=known_events,
    case=st.one_of(
        st.tuples(
            st.builds(
                lambda v, pad: pad + json.dumps(v) + pad,
                _containers,
                st.sampled_from(["", " ", "\n"]),
            ),
            st.just(ErrorCode.DOUBLE_ENCODED_JSON),
        ),
        st.tuples(
            st.text(max_size=40).filter(lambda s: s.strip()[:1] not in ("{", "[")),
            st.just(ErrorCode.INVALID_PAYLOAD),
        ),
        st.tuples(st.lists(json_values, max_size=4), st.just(ErrorCode.INVALID_PAYLOAD)),
        st.tuples(st.booleans() | _ints | _floats, st.just(ErrorCode.INVALID_PAYLOAD)),
        st.tuples(
            st.lists(json_values, min_size=2, max_size=4).map(tuple),
            st.just(ErrorCode.INVALID_PAYLOAD),
        ),
    ),
)
def test_non_object_payloads_are_named(
    rig: Rig, target: tuple[str, str], case: tuple[Any, ErrorCode]
) -> None:
    data, code = case
    namespace, name = target
    ack = rig.call(namespace, name, data)
    check_ack(CLIENT_EVENTS[target], data, ack)
    assert ack["error"]["code"] == code


@hypothesis_settings(max_examples=600)
@given(target=any_event, data=json_values)
def test_failed_events_without_ack_are_reported(
    rig: Rig, target: tuple[str, str], data: Any
) -> None:
    spec = CLIENT_EVENTS.get(target)
    code = expected_error(spec, data)
    # An undecodable packet has no event name to report: without an ack it is dropped.
    assume(code is not None and not _has_long_int(data))
    namespace, name = target
    report_name = f"{namespace[1:]}:error"

    async def emit_and_wait() -> dict[str, Any]:
        before = len(rig.recorder.of(namespace, report_name))
        await rig.client.emit(name, data, namespace=namespace)
        reports = await rig.recorder.wait_for(namespace, report_name, before + 1)
        report: dict[str, Any] = reports[before]
        return report

    report = ERROR_EVENTS[namespace].model_validate(rig.run(emit_and_wait()))
    assert report.code == code
    assert report.event == name[:200]
    event(report.code)


async def _attempt(rig: Rig, namespace: str, auth: Any) -> tuple[str, Any]:
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    ready = asyncio.Event()
    client.on("connect_error", errors.append, namespace=namespace)
    client.on("chat:ready", lambda *_: ready.set(), namespace=namespace)
    client.on("system:hello", lambda *_: ready.set(), namespace=namespace)
    try:
        await client.connect(
            rig.live.url,
            namespaces=[namespace],
            auth=auth,
            transports=["websocket"],
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        await client.disconnect()
        assert len(errors) == 1, f"no connect_error for {auth!r}"
        return "refused", errors[0]
    try:
        await asyncio.wait_for(ready.wait(), 5)
    finally:
        await client.disconnect()
    return "connected", None


_GOOD = object()  # stands for a valid token, made once the server is up
_resume = json_values | st.fixed_dictionaries(
    {"epoch": _short_text | json_values, "last_seq": _ints | json_values},
    optional={"extra": json_values},
)
_good_auth = st.one_of(
    st.just({}),
    st.builds(dict, epoch=_short_text, last_seq=st.integers(0, 2**40)),
    _resume,
).map(lambda resume: {"token": _GOOD} if resume == {} else {"token": _GOOD, "resume": resume})
_bad_auth = json_values | st.fixed_dictionaries(
    {"token": _short_text | json_values}, optional={"resume": _resume, "extra": json_values}
)
# Half of the attempts carry a good token, to reach the resume handling behind it.
auth_objects = st.booleans().flatmap(lambda good: _good_auth if good else _bad_auth)


@hypothesis_settings(max_examples=400)
@given(namespace=st.sampled_from([SYSTEM, CHAT]), auth=auth_objects)
def test_connect_auth_is_connected_or_refused(rig: Rig, namespace: str, auth: Any) -> None:
    if isinstance(auth, dict) and auth.get("token") is _GOOD:
        auth = {**auth, "token": rig.auth_token}
    outcome, error = rig.run(_attempt(rig, namespace, auth), timeout=20)
    event(outcome if error is None else error["data"]["code"])
    if outcome == "refused":
        assert error["data"]["code"] in REFUSAL_CODES, error
        assert error["message"] == error["data"]["message"]
    else:
        assert isinstance(auth, dict)
        assert auth["token"] == rig.auth_token
