"""One origin allowlist for the socket handshake and for CORS on /api, over real connections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio

from tests.conftest import SettingsFactory
from tests.harness import CONNECT_TIMEOUT_S, LiveServer, connect, live_server

APP = "https://app.example"
EVIL = "https://evil.example"


@pytest.fixture
async def listed(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings(allowed_origins=[APP, "https://other.example/"])) as live:
        yield live


def refusals(records: list[dict[str, Any]]) -> list[str]:
    return [r["message"] for r in records if r.get("event") == "connect_refused"]


async def refused_socket(server: LiveServer, origin: str, transport: str = "websocket") -> None:
    client = socketio.AsyncClient(reconnection=False)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                server.url,
                namespaces=["/system"],
                auth={"token": await server.token()},
                headers={"Origin": origin},
                transports=[transport],
                wait_timeout=CONNECT_TIMEOUT_S,
            )
    finally:
        await client.disconnect()


async def test_a_listed_origin_connects(listed: LiveServer) -> None:
    for origin in (APP, "https://other.example"):
        client, recorder = await connect(
            listed, ["/system"], {"token": await listed.token()}, headers={"Origin": origin}
        )
        await recorder.wait_for("/system", "system:hello")
        await client.disconnect()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_foreign_origin_is_refused_and_logged_once(
    listed: LiveServer, log_records: list[dict[str, Any]], transport: str
) -> None:
    token = await listed.token()
    await refused_socket(listed, EVIL, transport)
    [line] = refusals(log_records)
    assert line == (
        "connect refused code=forbidden reason='origin not allowed' client=127.0.0.1 "
        f"origin={EVIL} suppressed=0"
    )
    assert not any(token in r["message"] for r in log_records)


async def test_a_client_sending_no_origin_connects(listed: LiveServer) -> None:
    client, recorder = await connect(listed, ["/chat"], {"token": await listed.token()})
    await recorder.wait_for("/chat", "chat:ready")
    await client.disconnect()


async def test_with_no_list_only_the_same_origin_connects(
    server: LiveServer, log_records: list[dict[str, Any]]
) -> None:
    client, recorder = await connect(
        server, ["/system"], {"token": await server.token()}, headers={"Origin": server.url}
    )
    await recorder.wait_for("/system", "system:hello")
    await client.disconnect()
    await refused_socket(server, EVIL)
    await refused_socket(server, "http://127.0.0.1:1")  # same host, another port
    assert len(refusals(log_records)) == 2


async def test_a_listed_origin_replaces_same_origin(listed: LiveServer) -> None:
    await refused_socket(listed, listed.url)


async def _request(
    server: LiveServer, method: str, path: str, headers: dict[str, str], **kw: Any
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{server.url}{path}", headers=headers, **kw) as response,
    ):
        await response.read()
        return response.status, response.headers


PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


async def test_cors_preflight_answers_listed_origins_only(listed: LiveServer) -> None:
    status, headers = await _request(
        listed, "OPTIONS", "/api/auth/dev-login", {"Origin": APP, **PREFLIGHT}
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Vary"] == "Origin"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]

    status, headers = await _request(
        listed, "OPTIONS", "/api/auth/dev-login", {"Origin": EVIL, **PREFLIGHT}
    )
    assert status == 403
    assert not [h for h in headers if h.lower().startswith("access-control-")]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/ws-config", None, 200),
        ("POST", "/api/auth/dev-login", {"user_id": "alice"}, 200),
        ("POST", "/api/auth/dev-login", {"ttl_s": 1}, 400),
    ],
)
async def test_cors_headers_only_for_listed_origins(
    listed: LiveServer, method: str, path: str, body: Any, status: int
) -> None:
    got, headers = await _request(listed, method, path, {"Origin": APP}, json=body)
    assert got == status
    assert headers["Access-Control-Allow-Origin"] == APP
    assert "Origin" in headers["Vary"]

    for others in ({"Origin": EVIL}, {}):
        got, headers = await _request(listed, method, path, others, json=body)
        assert got == status
        assert "Access-Control-Allow-Origin" not in headers


async def test_cors_with_no_list_allows_the_same_origin(server: LiveServer) -> None:
    _, headers = await _request(server, "GET", "/api/ws-config", {"Origin": server.url})
    assert headers["Access-Control-Allow-Origin"] == server.url
    _, headers = await _request(server, "GET", "/api/ws-config", {"Origin": EVIL})
    assert "Access-Control-Allow-Origin" not in headers


async def test_routes_outside_api_get_no_cors_headers(listed: LiveServer) -> None:
    _, headers = await _request(listed, "GET", "/healthz", {"Origin": APP})
    assert "Access-Control-Allow-Origin" not in headers
