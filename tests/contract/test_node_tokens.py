"""Token lifecycle as a Node socket.io-client sees it: warned, then refreshed or cut off."""

from __future__ import annotations

import time

from tests.conftest import SettingsFactory
from tests.contract.node import run_node_script
from tests.harness import live_server
from tests.server.auth import tokens


async def test_unrefreshed_token_is_cut_off_and_refreshed_one_is_not(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(
        auth_mode="jwt",
        jwt_secret=tokens.SECRET,
        token_expiry_warning_s=1.5,
        token_expiry_grace_s=0.5,
    )
    short = tokens.hs256(exp=int(time.time()) + 3, iss=None, aud=None)
    fresh = tokens.hs256(exp=int(time.time()) + 120, iss=None, aud=None)
    async with live_server(settings) as live:
        seen = await run_node_script("token_contract.mjs", live.url, short, fresh, "5000")

    assert seen["idle"]["warned"] is True
    assert seen["idle"]["disconnect"] == "io server disconnect"
    assert seen["refreshing"]["warned"]["expires_at"]
    assert seen["refreshing"]["refresh"]["ok"] is True
    assert seen["refreshing"]["disconnect"] is None
    assert seen["refreshing"]["stillConnected"] is True
    assert seen["refreshing"]["ping"]["ok"] is True
