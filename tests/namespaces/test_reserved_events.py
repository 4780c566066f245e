"""Client events named `connect` or `disconnect`: unknown events, never lifecycle calls.

python-socketio hands such an event to the namespace like the real connect or disconnect;
run as one, it would drop the connection's token watch and stream, or re-authenticate it
with an environ the client wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from namespaces.base import EventNamespace
from server.app_keys import SIO
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server
from tests.server.auth import tokens

NAMESPACES = ("/system", "/chat")


@pytest.fixture
async def jwt_server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        auth_mode="jwt",
        jwt_secret=tokens.SECRET,
        token_expiry_warning_s=1,
        token_expiry_grace_s=0.5,
    )
    async with live_server(settings) as live:
        yield live


async def test_a_disconnect_event_does_not_escape_token_expiry(jwt_server: LiveServer) -> None:
    lifetime_s = 2
    client, recorder = await connect(
        jwt_server, list(NAMESPACES), {"token": tokens.expiring(lifetime_s)}
    )
    cut_off = asyncio.Event()
    client.on("disconnect", lambda *_: cut_off.set(), namespace="/chat")
    try:
        for namespace in NAMESPACES:
            ack = await client.call("disconnect", "spoofed", namespace=namespace)
            assert ack == {
                "ok": False,
                "error": {
                    "code": "unknown_event",
                    "message": f"Unknown event 'disconnect' on {namespace}",
                },
            }
            await client.emit("disconnect", namespace=namespace)
            [report] = await recorder.wait_for(namespace, f"{namespace[1:]}:error")
            assert (report["code"], report["event"]) == ("unknown_event", "disconnect")
        # Still watched: cut off once the token has expired and the grace period passed.
        await asyncio.wait_for(cut_off.wait(), lifetime_s + 3)
    finally:
        await client.disconnect()


async def test_a_connect_event_does_not_authenticate_again(jwt_server: LiveServer) -> None:
    client, _ = await connect(jwt_server, list(NAMESPACES), {"token": tokens.expiring(600)})
    spoof = (
        {"HTTP_ORIGIN": "https://evil.example"},
        {"token": tokens.expiring(600, sub="mallory")},
    )
    try:
        for namespace in NAMESPACES:
            for data in (spoof, None):
                ack = await client.call("connect", data, namespace=namespace, timeout=5)
                assert ack["error"]["code"] == "unknown_event", ack
            handler: EventNamespace = jwt_server.app[SIO].namespace_handlers[namespace]
            state = await handler.connection(client.get_sid(namespace))
            assert (state.principal.id, state.origin) == ("alice", None)
        ping = await client.call("system:ping", {"client_time": 1}, namespace="/system")
        assert ping["ok"] is True
    finally:
        await client.disconnect()
