"""/system: hello, ping, auth refresh and every bad-payload code, over a real connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import socketio

from namespaces.base import on
from namespaces.system import SystemNamespace
from schemas.registry import SYSTEM_PING
from schemas.system import PingResult, SystemPing
from server.app_keys import SIO
from tests.harness import LiveServer, Recorder, connect

NS = "/system"


@pytest.fixture
async def alice(server: LiveServer) -> AsyncIterator[tuple[socketio.AsyncClient, Recorder]]:
    client, recorder = await connect(server, [NS], {"token": await server.token("alice")})
    yield client, recorder
    await client.disconnect()


async def test_hello_on_connect(
    server: LiveServer, alice: tuple[socketio.AsyncClient, Recorder]
) -> None:
    _, recorder = alice
    [hello] = await recorder.wait_for(NS, "system:hello")
    assert hello["protocol_version"] == 1
    assert hello["principal"]["id"] == "alice"
    assert hello["principal"]["kind"] == "dev"
    server_time = datetime.fromisoformat(hello["server_time"])
    assert abs(server_time - datetime.now(UTC)) < timedelta(seconds=5)
    assert datetime.fromisoformat(hello["token_expires_at"]) > server_time
    assert hello["server_time"].endswith("Z")


async def test_ping_echoes_client_time_with_server_time(
    alice: tuple[socketio.AsyncClient, Recorder],
) -> None:
    client, _ = alice
    ack = await client.call("system:ping", {"client_time": 1234.5}, namespace=NS)
    assert ack["ok"] is True
    assert ack["data"]["client_time"] == 1234.5
    assert datetime.fromisoformat(ack["data"]["server_time"]).tzinfo is not None


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (({"client_time": "soon"},), "invalid_payload"),
        (({"client_time": 1, "extra": True},), "invalid_payload"),
        (({},), "invalid_payload"),
        (([1, 2],), "invalid_payload"),
        ((42,), "invalid_payload"),
        (("hello",), "invalid_payload"),
        (('{"client_time": 1}',), "double_encoded_json"),
        (("  [1, 2]",), "double_encoded_json"),
        (({"client_time": 1}, {"client_time": 2}), "invalid_payload"),
    ],
    ids=[
        "wrong-type",
        "unknown-field",
        "missing-field",
        "array",
        "number",
        "plain-string",
        "json-object-in-string",
        "json-array-in-string",
        "two-arguments",
    ],
)
async def test_bad_payloads_get_a_code_and_the_connection_lives(
    alice: tuple[socketio.AsyncClient, Recorder], args: tuple[Any, ...], code: str
) -> None:
    client, _ = alice
    data: Any = args if len(args) > 1 else args[0]
    ack = await client.call("system:ping", data, namespace=NS)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert ack["error"]["message"]
    again = await client.call("system:ping", {"client_time": 1}, namespace=NS)
    assert again["ok"] is True


async def test_validation_errors_say_which_field(
    alice: tuple[socketio.AsyncClient, Recorder],
) -> None:
    client, _ = alice
    ack = await client.call("system:ping", {"client_time": "soon"}, namespace=NS)
    locations = [error["loc"][0] for error in ack["error"]["details"]["errors"]]
    assert "client_time" in locations


async def test_unknown_event_is_acked_with_unknown_event(
    alice: tuple[socketio.AsyncClient, Recorder],
) -> None:
    client, _ = alice
    ack = await client.call("system:teleport", {}, namespace=NS)
    assert ack == {
        "ok": False,
        "error": {"code": "unknown_event", "message": "Unknown event 'system:teleport' on /system"},
    }


async def test_failing_handler_acks_internal_with_the_logged_reference(
    server: LiveServer,
    alice: tuple[socketio.AsyncClient, Recorder],
    monkeypatch: pytest.MonkeyPatch,
    log_records: list[dict[str, Any]],
) -> None:
    async def broken(sid: str, payload: SystemPing) -> PingResult:
        raise RuntimeError("disk on fire")

    live_namespace: SystemNamespace = server.app[SIO].namespace_handlers[NS]
    monkeypatch.setitem(live_namespace.handlers, SYSTEM_PING.name, on(SYSTEM_PING, broken))
    client, _ = alice
    ack = await client.call("system:ping", {"client_time": 1}, namespace=NS)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "internal"
    ref = ack["error"]["details"]["ref"]
    assert ref in ack["error"]["message"]
    logged = [r for r in log_records if r.get("ref") == ref]
    assert len(logged) == 1
    assert logged[0]["level"] == "ERROR"
    assert "disk on fire" not in ack["error"]["message"]


async def test_failed_event_without_ack_reports_system_error(
    alice: tuple[socketio.AsyncClient, Recorder],
) -> None:
    client, recorder = alice
    await client.emit("system:ping", '{"client_time": 1}', namespace=NS)
    [error] = await recorder.wait_for(NS, "system:error")
    assert error["code"] == "double_encoded_json"
    assert error["event"] == "system:ping"


async def test_auth_refresh_extends_the_connection(
    server: LiveServer, alice: tuple[socketio.AsyncClient, Recorder]
) -> None:
    client, _ = alice
    fresh = await server.dev_login("alice", ttl_s=7200)
    ack = await client.call("system:auth_refresh", {"token": fresh["token"]}, namespace=NS)
    assert ack == {"ok": True, "data": {"expires_at": fresh["expires_at"]}}


async def test_auth_refresh_for_another_subject_is_forbidden(
    server: LiveServer, alice: tuple[socketio.AsyncClient, Recorder]
) -> None:
    client, _ = alice
    mallory = await server.token("mallory")
    ack = await client.call("system:auth_refresh", {"token": mallory}, namespace=NS)
    assert ack["error"]["code"] == "forbidden"


async def test_auth_refresh_with_a_bad_token_is_unauthorized(
    alice: tuple[socketio.AsyncClient, Recorder],
) -> None:
    client, _ = alice
    ack = await client.call("system:auth_refresh", {"token": "x.y.z"}, namespace=NS)
    assert ack["error"]["code"] == "unauthorized"
    still = await client.call("system:ping", {"client_time": 1}, namespace=NS)
    assert still["ok"] is True
