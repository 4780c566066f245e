"""Every refusal is logged on one line: namespace, sid, user, event, code; never the token or
the payload. Anyone can cause refusals, so under a flood the lines are sampled."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from server.app_keys import METRICS
from tests.conftest import SettingsFactory
from tests.harness import connect, live_server, refusal
from tests.raw_engineio import connect_packet, raw_socket
from tests.server.auth import tokens

SECRET_TEXT = "do-not-log-me"


def refused(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("event") == "event_refused"]


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("system:ping", {"client_time": SECRET_TEXT}, "invalid_payload"),
        ("system:nope", {"x": SECRET_TEXT}, "unknown_event"),
        ("system:ping", '{"client_time": 1}', "double_encoded_json"),
    ],
    ids=["invalid_payload", "unknown_event", "double_encoded_json"],
)
async def test_a_refused_event_is_one_line(
    make_settings: SettingsFactory,
    log_records: list[dict[str, Any]],
    event: str,
    payload: Any,
    code: str,
) -> None:
    async with live_server(make_settings()) as server:
        token = await server.token("alice")
        client, _ = await connect(server, ["/system"], {"token": token})
        try:
            ack = await client.call(event, payload, namespace="/system")
            sid = client.get_sid("/system")
        finally:
            await client.disconnect()
    assert ack["error"]["code"] == code
    [line] = refused(log_records)
    assert (line["namespace"], line["sid"], line["user"], line["code"]) == (
        "/system",
        sid,
        "alice",
        code,
    )
    assert f"event={event!r}" in line["message"]
    for record in log_records:
        assert token not in record["message"]
        assert SECRET_TEXT not in record["message"]


async def test_a_scope_refusal_is_one_line(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    async with live_server(make_settings(jwt_secret=tokens.SECRET)) as server:
        token = tokens.hs256(sub="bot", kind="service", scope="chat:read", iss=None, aud=None)
        client, recorder = await connect(server, ["/chat"], {"token": token})
        try:
            await recorder.wait_for("/chat", "chat:ready")
            ack = await client.call(
                "chat:send",
                {"client_msg_id": "00000000-0000-4000-8000-000000000001", "text": "hi"},
                namespace="/chat",
            )
        finally:
            await client.disconnect()
    assert ack["error"]["code"] == "forbidden"
    assert ack["error"]["details"] == {"scope": "chat:write"}
    [line] = refused(log_records)
    assert (line["namespace"], line["user"], line["code"]) == ("/chat", "bot", "forbidden")
    assert not any(token in r["message"] for r in log_records)


async def test_connect_refusals_and_unknown_namespaces_are_logged(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    async with live_server(make_settings()) as server:
        error = await refusal(server, "/chat", {"token": "not-a-jwt"})
        assert error["data"]["code"] == "token_invalid"
        async with raw_socket(server.url) as raw:
            await raw.send(connect_packet("/nowhere", None))
            assert (await raw.receive("4/nowhere,"))["data"]["code"] == "not_found"
    [auth] = [r for r in log_records if r.get("event") == "connect_refused"]
    assert (auth["namespace"], auth["code"]) == ("/chat", "token_invalid")
    assert "not-a-jwt" not in auth["message"]
    [unknown] = [r for r in log_records if r.get("kind") == "unknown_namespace"]
    assert "/nowhere" in unknown["message"]


async def test_a_flood_of_refused_events_is_sampled(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    async with live_server(make_settings(rate_limit_per_min=100_000)) as server:
        client, _ = await connect(server, ["/system"], {"token": await server.token()})
        try:
            for _ in range(300):
                ack = await client.call("system:nope", {}, namespace="/system")
                assert ack["error"]["code"] == "unknown_event"
        finally:
            await client.disconnect()
        counted = server.app[METRICS].registry.get_sample_value(
            "netra_acks_total", {"namespace": "/system", "code": "unknown_event"}
        )
    assert counted == 300  # every refusal is counted, whatever the log shows
    lines = refused(log_records)
    assert 1 <= len(lines) <= 15


async def test_no_line_for_an_accepted_event(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    async with live_server(make_settings()) as server:
        client: socketio.AsyncClient
        client, _ = await connect(server, ["/system"], {"token": await server.token()})
        try:
            ack = await client.call("system:ping", {"client_time": 1}, namespace="/system")
        finally:
            await client.disconnect()
    assert ack["ok"] is True
    assert refused(log_records) == []
