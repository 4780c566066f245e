"""The Socket.IO Admin UI: behind a setting and a login, and the chat unaffected by it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio
from pydantic import ValidationError

from server.settings import Settings
from tests.conftest import SettingsFactory
from tests.harness import connect, live_server, send_chat, wait_run_end

LOGIN = {"username": "ops", "password": "correct horse battery staple"}


async def test_admin_ui_reports_with_the_login_and_refuses_without(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(
        admin_ui=True, admin_username=LOGIN["username"], admin_password=LOGIN["password"]
    )
    async with live_server(settings) as live:
        admin = socketio.AsyncClient(reconnection=False)
        stats: list[Any] = []
        got = asyncio.Event()

        @admin.on("server_stats", namespace="/admin")  # type: ignore[untyped-decorator]
        async def on_stats(data: Any) -> None:
            stats.append(data)
            got.set()

        await admin.connect(live.url, namespaces=["/admin"], auth=LOGIN, transports=["websocket"])
        # The chat works as before while instrumented.
        client, events = await connect(live, ["/chat"], {"token": await live.token()})
        await events.wait_for("/chat", "chat:ready")
        sent = await send_chat(client, "count to 3")
        assert (await wait_run_end(events, sent["run_id"]))[0] == "agent:run_completed"
        await asyncio.wait_for(got.wait(), 10)
        assert stats[-1]["clientsCount"] >= 1
        await client.disconnect()
        await admin.disconnect()

        intruder = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await intruder.connect(
                live.url,
                namespaces=["/admin"],
                auth={**LOGIN, "password": "guess"},
                transports=["websocket"],
                wait_timeout=5,
            )
        await intruder.disconnect()


async def test_admin_ui_is_off_unless_asked(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings()) as live:
        admin = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await admin.connect(
                live.url,
                namespaces=["/admin"],
                auth=LOGIN,
                transports=["websocket"],
                wait_timeout=5,
            )
        await admin.disconnect()


def test_admin_ui_needs_a_password() -> None:
    with pytest.raises(ValidationError, match="WS_ADMIN_PASSWORD"):
        Settings(_env_file=None, admin_ui=True)
