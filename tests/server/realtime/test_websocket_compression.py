"""permessage-deflate is declined unless turned on: it costs memory on every connection."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import SettingsFactory
from tests.harness import live_server


@pytest.mark.parametrize(("enabled", "negotiated"), [(False, 0), (True, 15)])
async def test_deflate_is_negotiated_only_when_enabled(
    make_settings: SettingsFactory, enabled: bool, negotiated: int
) -> None:
    async with live_server(make_settings(websocket_compression=enabled)) as live:
        url = f"{live.url}/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as http, http.ws_connect(url, compress=15) as ws:
            assert ws.compress == negotiated
            opened = await ws.receive_str()
            assert opened.startswith("0{")  # Engine.IO open packet: the socket works
