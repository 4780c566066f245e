from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from server.settings import Settings

STRONG = "s" * 32


def test_defaults_run_on_a_laptop() -> None:
    settings = Settings(_env_file=None)
    assert (settings.host, settings.port, settings.env) == ("127.0.0.1", 8080, "development")
    assert settings.auth_mode == "dev"
    assert settings.agent_model == "demo"


def test_comma_lists_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WS_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("WS_TRANSPORTS", "websocket")
    settings = Settings()
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.transports == ["websocket"]


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"env": "production"}, "WS_AUTH_MODE=dev is refused when WS_ENV=production"),
        ({"auth_mode": "jwt"}, "needs WS_JWT_SECRET of at least 32 bytes"),
        ({"auth_mode": "jwt", "jwt_secret": "short"}, "needs WS_JWT_SECRET of at least 32 bytes"),
        (
            {"auth_mode": "jwt", "jwt_algorithms": ["RS256"]},
            "needs WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL",
        ),
        (
            {"auth_mode": "jwt", "jwt_secret": STRONG, "jwt_algorithms": ["HS256", "RS256"]},
            "must not mix",
        ),
        ({"jwt_algorithms": ["none"]}, "unsupported JWT algorithms"),
        ({"transports": ["carrier-pigeon"]}, "websocket and/or polling"),
    ],
)
def test_refuses_unsafe_or_unusable_settings(values: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        Settings(_env_file=None, **values)


def test_jwt_mode_with_strong_secret_starts() -> None:
    settings = Settings(_env_file=None, auth_mode="jwt", jwt_secret=STRONG)
    assert settings.auth_mode == "jwt"


def test_cluster_mode_defaults_to_websocket_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WS_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert Settings().transports == ["websocket"]
    monkeypatch.setenv("WS_TRANSPORTS", "websocket,polling")
    assert Settings().transports == ["websocket", "polling"]
