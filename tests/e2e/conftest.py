from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import chromium

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
