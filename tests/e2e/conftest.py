from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext

from server.settings import Settings
from tests.conftest import SettingsFactory
from tests.e2e.browser import chromium
from tests.harness import LiveServer, live_server

CLIENT_DIST = Path(__file__).resolve().parents[2] / "client_js" / "dist"


@pytest.fixture
def client_dist() -> Path:
    if (CLIENT_DIST / "index.html").is_file():
        return CLIENT_DIST
    reason = "the web client is not built (run `make test`, which builds it)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
def web_settings(make_settings: SettingsFactory, client_dist: Path) -> Settings:
    return make_settings(client_dist=str(client_dist), demo_tokens_per_s=400)


@pytest.fixture
async def web_server(web_settings: Settings) -> AsyncIterator[LiveServer]:
    async with live_server(web_settings) as live:
        yield live


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(viewport={"width": 1280, "height": 800})
    yield made
    await made.close()
