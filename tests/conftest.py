from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from loguru import logger

from server.settings import Settings
from tests.harness import LiveServer, live_server

SettingsFactory = Callable[..., Settings]

# Cluster and contract tests share the multi-node fixtures (Redis, PostgreSQL, nodes).
pytest_plugins = ["tests.cluster_nodes"]

# Property tests drive a live server, so example times vary: no deadline. CI runs the same
# examples every time; failures print a blob to reproduce them. No example database is kept.
hypothesis_settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None, print_blob=True
)
hypothesis_settings.register_profile("dev", deadline=None, database=None, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings isolated from the environment and from other tests."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "port": 0,
            "database_url": f"sqlite:///{tmp_path}/netra.db",
            "client_dist": str(tmp_path / "no-client"),
            "demo_tokens_per_s": 0,
            # Tests that stop a server mid-answer need not wait the production grace period.
            "shutdown_grace_s": 0.5,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return factory


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings()) as live:
        yield live


@pytest.fixture
def log_records() -> Iterator[list[dict[str, Any]]]:
    """Every loguru record emitted during the test: message plus bound fields."""
    records: list[dict[str, Any]] = []

    def sink(message: Any) -> None:
        record = message.record
        records.append(
            {"level": record["level"].name, "message": record["message"], **record["extra"]}
        )

    handler_id = logger.add(sink, level="DEBUG")
    yield records
    logger.remove(handler_id)


@pytest.fixture(autouse=True)
def _no_ws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set their settings explicitly; a WS_* variable in the shell must not leak in."""
    import os

    for name in list(os.environ):
        if name.startswith("WS_"):
            monkeypatch.delenv(name)
