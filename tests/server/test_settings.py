from __future__ import annotations

import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from server.settings import Settings, SettingsError, is_loopback, startup_warnings
from tests.server.auth import tokens

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


# Every rule the server starts by: one reason each, naming exactly the variables involved.

_RSA = tokens.rsa_key("settings")
RSA_PUBLIC = tokens.public_pem(_RSA)
RSA_PRIVATE = _RSA.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
EC_PUBLIC = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
JWKS = "https://idp.example/.well-known/jwks.json"
JWT: dict[str, Any] = {"auth_mode": "jwt"}
AUTH_VARIABLES = {"WS_AUTH_MODE", "WS_JWT_SECRET", "WS_JWT_PUBLIC_KEY", "WS_JWT_JWKS_URL"}
_VARIABLE = re.compile(r"\bWS_[A-Z][A-Z0-9_]*\b")


def _refusals(**values: Any) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, **values)
    [error] = refused.value.errors()
    problem = error["ctx"]["error"]
    assert isinstance(problem, SettingsError), error
    return problem.problems


RULES: list[tuple[str, dict[str, Any], set[str], str]] = [
    ("admin UI without password", {"admin_ui": True}, {"WS_ADMIN_UI", "WS_ADMIN_PASSWORD"}, ""),
    ("dev auth in production", {"env": "production"}, AUTH_VARIABLES | {"WS_ENV"}, "refused"),
    (
        "dev auth on every interface",
        {"host": "0.0.0.0"},
        {"WS_AUTH_MODE", "WS_HOST", "WS_ALLOW_DEV_AUTH_ON_NETWORK"},
        "POST /api/auth/dev-login",
    ),
    (
        "dev auth on a LAN address",
        {"host": "192.168.1.20"},
        {"WS_AUTH_MODE", "WS_HOST", "WS_ALLOW_DEV_AUTH_ON_NETWORK"},
        "not a loopback address",
    ),
    (
        "dev auth with a PEM as its secret",
        {"jwt_secret": RSA_PUBLIC},
        {"WS_JWT_SECRET", "WS_JWT_PUBLIC_KEY"},
        "PEM or SSH key",
    ),
    (
        "jwt with a secret and a public key",
        {**JWT, "jwt_secret": STRONG, "jwt_public_key": RSA_PUBLIC},
        {"WS_JWT_SECRET", "WS_JWT_PUBLIC_KEY", "WS_AUTH_MODE"},
        "both set",
    ),
    (
        "jwt with a public key and a JWKS URL",
        {**JWT, "jwt_algorithms": ["RS256"], "jwt_public_key": RSA_PUBLIC, "jwt_jwks_url": JWKS},
        {"WS_JWT_PUBLIC_KEY", "WS_JWT_JWKS_URL", "WS_AUTH_MODE"},
        "both set",
    ),
    (
        "jwt with every key source",
        {**JWT, "jwt_secret": STRONG, "jwt_public_key": RSA_PUBLIC, "jwt_jwks_url": JWKS},
        AUTH_VARIABLES,
        "all set",
    ),
    (
        "jwt mixing algorithm families",
        {**JWT, "jwt_secret": STRONG, "jwt_algorithms": ["HS256", "RS256"]},
        {"WS_JWT_ALGORITHMS"},
        "must not mix",
    ),
    (
        "HS algorithms with only a public key",
        {**JWT, "jwt_public_key": RSA_PUBLIC},
        {"WS_JWT_ALGORITHMS", "WS_JWT_SECRET", "WS_JWT_PUBLIC_KEY"},
        "only WS_JWT_PUBLIC_KEY is set",
    ),
    (
        "HS algorithms with only a JWKS URL",
        {**JWT, "jwt_algorithms": ["HS512"], "jwt_jwks_url": JWKS},
        {"WS_JWT_ALGORITHMS", "WS_JWT_SECRET", "WS_JWT_JWKS_URL"},
        "only WS_JWT_JWKS_URL is set",
    ),
    (
        "HS algorithms with a short secret",
        {**JWT, "jwt_secret": "short"},
        {"WS_AUTH_MODE", "WS_JWT_SECRET"},
        "at least 32 bytes",
    ),
    (
        "HS algorithms with a PEM as the secret",
        {**JWT, "jwt_secret": RSA_PUBLIC},
        {"WS_JWT_SECRET", "WS_JWT_PUBLIC_KEY"},
        "PEM or SSH key",
    ),
    (
        "asymmetric algorithms without a key",
        {**JWT, "jwt_algorithms": ["RS256"], "jwt_secret": STRONG},
        {"WS_AUTH_MODE", "WS_JWT_PUBLIC_KEY", "WS_JWT_JWKS_URL"},
        "needs",
    ),
    (
        "an RSA key for ES256",
        {**JWT, "jwt_algorithms": ["ES256"], "jwt_public_key": RSA_PUBLIC},
        {"WS_JWT_PUBLIC_KEY", "WS_JWT_ALGORITHMS"},
        "cannot verify ES256",
    ),
    (
        "an RSA key for RS256 and ES256",
        {**JWT, "jwt_algorithms": ["RS256", "ES256"], "jwt_public_key": RSA_PUBLIC},
        {"WS_JWT_PUBLIC_KEY", "WS_JWT_ALGORITHMS"},
        "cannot verify ES256",
    ),
    (
        "an EC key on another curve",
        {**JWT, "jwt_algorithms": ["ES384"], "jwt_public_key": EC_PUBLIC},
        {"WS_JWT_PUBLIC_KEY", "WS_JWT_ALGORITHMS"},
        "cannot verify ES384",
    ),
    (
        "a public key that is no key",
        {**JWT, "jwt_algorithms": ["RS256"], "jwt_public_key": "not a key"},
        {"WS_JWT_PUBLIC_KEY", "WS_JWT_ALGORITHMS"},
        "cannot verify RS256",
    ),
    (
        "a private key as the public key",
        {**JWT, "jwt_algorithms": ["RS256"], "jwt_public_key": RSA_PRIVATE},
        {"WS_JWT_PUBLIC_KEY"},
        "private key",
    ),
    (
        "first reconnect delay above the largest",
        {"reconnect_delay_ms": 6000, "reconnect_delay_max_ms": 5000},
        {"WS_RECONNECT_DELAY_MS", "WS_RECONNECT_DELAY_MAX_MS"},
        "6000",
    ),
    (
        "zero reconnect attempts",
        {"reconnect_attempts": 0},
        {"WS_RECONNECT_ATTEMPTS"},
        "never to the web client and forever to the Python client",
    ),
    ("negative reconnect attempts", {"reconnect_attempts": -1}, {"WS_RECONNECT_ATTEMPTS"}, "-1"),
    (
        "any origin and listed origins",
        {"allowed_origins": ["*", "https://a.example"]},
        {"WS_ALLOWED_ORIGINS"},
        "`*` alone",
    ),
    (
        "an allowed origin with a path",
        {"allowed_origins": ["https://a.example/app"]},
        {"WS_ALLOWED_ORIGINS"},
        "write 'https://a.example'",
    ),
    (
        "an allowed origin in capitals",
        {"allowed_origins": ["HTTPS://A.example"]},
        {"WS_ALLOWED_ORIGINS"},
        "write 'https://a.example'",
    ),
    (
        "an allowed origin with its default port",
        {"allowed_origins": ["https://a.example:443"]},
        {"WS_ALLOWED_ORIGINS"},
        "write 'https://a.example'",
    ),
    (
        "an allowed origin with a user and a query",
        {"allowed_origins": ["https://me@a.example:8443?x=1"]},
        {"WS_ALLOWED_ORIGINS"},
        "write 'https://a.example:8443'",
    ),
    (
        "an allowed origin without a scheme",
        {"allowed_origins": ["a.example"]},
        {"WS_ALLOWED_ORIGINS"},
        "can never match",
    ),
    (
        "a public URL with a path",
        {"public_url": "https://chat.example/ws"},
        {"WS_PUBLIC_URL"},
        "write 'https://chat.example'",
    ),
    (
        "a public URL without a scheme",
        {"public_url": "chat.example"},
        {"WS_PUBLIC_URL"},
        "not an http(s) origin",
    ),
    (
        "a burst above a minute's rate",
        {"rate_limit_per_min": 60, "rate_limit_burst": 61},
        {"WS_RATE_LIMIT_BURST", "WS_RATE_LIMIT_PER_MIN"},
        "more than a minute's allowance",
    ),
    (
        "a run claim as long as the heartbeat",
        {"run_heartbeat_s": 5, "run_owner_ttl_s": 5},
        {"WS_RUN_OWNER_TTL_S", "WS_RUN_HEARTBEAT_S"},
        "expire between heartbeats",
    ),
    (
        "a run claim shorter than the heartbeat",
        {"run_heartbeat_s": 10, "run_owner_ttl_s": 3},
        {"WS_RUN_OWNER_TTL_S", "WS_RUN_HEARTBEAT_S"},
        "expire between heartbeats",
    ),
]


@pytest.mark.parametrize(
    ("values", "variables", "needle"),
    [pytest.param(values, variables, needle, id=name) for name, values, variables, needle in RULES],
)
def test_each_rule_refuses_with_one_reason_naming_its_variables(
    values: dict[str, Any], variables: set[str], needle: str
) -> None:
    [reason] = _refusals(**values)
    assert set(_VARIABLE.findall(reason)) == variables, reason
    assert needle in reason


def test_every_refused_combination_is_reported_at_once() -> None:
    reasons = _refusals(
        host="0.0.0.0",
        reconnect_delay_ms=9000,
        run_owner_ttl_s=1,
        allowed_origins=["https://a.example/app"],
    )
    assert [_VARIABLE.findall(reason)[0] for reason in reasons] == [
        "WS_AUTH_MODE",
        "WS_RECONNECT_DELAY_MS",
        "WS_ALLOWED_ORIGINS",
        "WS_RUN_OWNER_TTL_S",
    ]


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValidationError, match="WS_LOG_LEVEL takes one of TRACE, DEBUG"):
        Settings(_env_file=None, log_level="verbose")
    assert Settings(_env_file=None, log_level="debug").log_level == "debug"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.8.9.10", "localhost", "LocalHost", "::1", "[::1]", "::ffff:127.0.0.1"],
)
def test_dev_auth_on_loopback_starts(host: str) -> None:
    assert is_loopback(host)
    assert Settings(_env_file=None, host=host).host == host


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.5", "fe80::1", "my-laptop.local"])
def test_anything_else_is_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_dev_auth_on_the_network_starts_when_allowed_knowingly() -> None:
    settings = Settings(_env_file=None, host="0.0.0.0", allow_dev_auth_on_network=True)
    [warning] = startup_warnings(settings)
    assert "WS_ALLOW_DEV_AUTH_ON_NETWORK=1" in warning
    assert "POST /api/auth/dev-login" in warning


def test_jwt_auth_may_bind_every_interface() -> None:
    settings = Settings(
        _env_file=None, host="0.0.0.0", env="production", auth_mode="jwt", jwt_secret=STRONG
    )
    assert startup_warnings(settings) == []


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"reconnect_delay_ms": 500, "reconnect_delay_max_ms": 500}, id="equal delays"),
        pytest.param({"reconnect_attempts": 1}, id="one reconnect attempt"),
        pytest.param({"rate_limit_per_min": 60, "rate_limit_burst": 60}, id="a minute's burst"),
        pytest.param({"run_heartbeat_s": 0.2, "run_owner_ttl_s": 1.0}, id="short cluster timers"),
        pytest.param(
            {"rate_limit_per_min": 300, "user_rate_limit_per_min": 120}, id="user rate below one"
        ),
        pytest.param({"token_expiry_warning_s": 1, "token_expiry_grace_s": 30}, id="token timers"),
        pytest.param({"ping_interval_s": 5, "ping_timeout_s": 60}, id="ping timeout past interval"),
        pytest.param(
            {"redis_url": "redis://127.0.0.1:6379/0", "transports": ["websocket", "polling"]},
            id="polling in a cluster",
        ),
        pytest.param({"allowed_origins": ["*"]}, id="any origin"),
        pytest.param(
            {
                "allowed_origins": [
                    "https://a.example/",
                    "http://127.0.0.1:5173",
                    "http://[::1]:8080",
                    "chrome-extension://abcdefgh",
                    "null",
                ]
            },
            id="origins as browsers send them",
        ),
        pytest.param({"public_url": "https://chat.example/"}, id="public URL"),
        pytest.param(
            {**JWT, "jwt_algorithms": ["RS256", "PS256"], "jwt_public_key": RSA_PUBLIC},
            id="an RSA key for RS256 and PS256",
        ),
        pytest.param(
            {**JWT, "jwt_algorithms": ["ES256"], "jwt_public_key": EC_PUBLIC}, id="an EC key"
        ),
        pytest.param(
            {**JWT, "jwt_algorithms": ["RS256"], "jwt_jwks_url": JWKS}, id="a JWKS URL alone"
        ),
        pytest.param({"jwt_secret": "short dev secret"}, id="a short secret in dev mode"),
    ],
)
def test_combinations_that_only_look_odd_start(values: dict[str, Any]) -> None:
    Settings(_env_file=None, **values)


def test_key_sources_dev_auth_does_not_use_are_warned_about() -> None:
    settings = Settings(_env_file=None, jwt_public_key=RSA_PUBLIC, jwt_jwks_url=JWKS)
    [warning] = startup_warnings(settings)
    assert set(_VARIABLE.findall(warning)) == {
        "WS_JWT_PUBLIC_KEY",
        "WS_JWT_JWKS_URL",
        "WS_AUTH_MODE",
        "WS_JWT_SECRET",
    }
    assert "set but unused" in warning


def test_a_message_limit_past_the_frame_limit_is_warned_about() -> None:
    assert startup_warnings(Settings(_env_file=None)) == []
    [warning] = startup_warnings(Settings(_env_file=None, max_payload_bytes=4096))
    assert set(_VARIABLE.findall(warning)) == {"WS_MAX_MESSAGE_CHARS", "WS_MAX_PAYLOAD_BYTES"}
    assert "80256 bytes" in warning
