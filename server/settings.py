"""Process settings, read from `WS_*` environment variables with laptop-friendly defaults."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

HS_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MIN_HS_SECRET_BYTES = 32

CommaList = Annotated[list[str], NoDecode]


class SettingsError(ValueError):
    """A combination of settings the server refuses to start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WS_", extra="ignore", frozen=True)

    # Process
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    env: Literal["development", "production"] = "development"
    public_url: str | None = None
    deployment_id: str = Field(default_factory=lambda: secrets.token_hex(6))
    log_level: str = "INFO"
    log_json: bool = False

    # Auth
    auth_mode: Literal["dev", "jwt"] = "dev"
    jwt_secret: SecretStr | None = None
    jwt_algorithms: CommaList = Field(default_factory=lambda: ["HS256"])
    jwt_public_key: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_s: int = Field(default=0, ge=0, le=300)
    token_expiry_warning_s: float = Field(default=60.0, ge=0)
    token_expiry_grace_s: float = Field(default=25.0, ge=0)
    dev_token_ttl_s: int = Field(default=12 * 3600, ge=60, le=7 * 24 * 3600)

    # Transport
    allowed_origins: CommaList = Field(default_factory=list)
    transports: CommaList = Field(default_factory=lambda: ["websocket", "polling"])
    ping_interval_s: float = Field(default=25.0, gt=0)
    ping_timeout_s: float = Field(default=20.0, gt=0)
    ack_timeout_ms: int = Field(default=10_000, gt=0)
    connect_timeout_ms: int = Field(default=10_000, gt=0)
    reconnect_delay_ms: int = Field(default=500, gt=0)
    reconnect_delay_max_ms: int = Field(default=5_000, gt=0)
    reconnect_randomization: float = Field(default=0.5, ge=0, le=1)
    reconnect_attempts: int | None = None

    # Limits
    max_payload_bytes: int = Field(default=1_000_000, ge=1024)
    max_message_chars: int = Field(default=20_000, ge=1)
    rate_limit_per_min: int = Field(default=600, ge=1)
    rate_limit_burst: int | None = Field(default=None, ge=1)
    user_rate_limit_per_min: int | None = Field(default=None, ge=1)
    max_connections_per_user: int = Field(default=20, ge=1)
    max_outbound_queue: int = Field(default=1000, ge=1)
    websocket_compression: bool = False

    # Backends
    redis_url: str | None = None
    database_url: str = "sqlite:///./data/netra.db"
    replay_max_events: int = Field(default=10_000, ge=1)
    replay_ttl_s: int = Field(default=3600, ge=1)
    run_heartbeat_s: float = Field(default=5.0, gt=0)
    run_owner_ttl_s: float = Field(default=15.0, gt=0)

    # Socket.IO Admin UI (https://admin.socket.io), on the /admin namespace
    admin_ui: bool = False
    admin_username: str = "admin"
    admin_password: SecretStr | None = None

    # Shutdown
    shutdown_grace_s: float = Field(default=10.0, ge=0)

    # Agent
    agent_model: str = "demo"
    demo_tokens_per_s: float = Field(default=40.0, ge=0)
    delta_flush_ms: int = Field(default=25, ge=0)
    delta_flush_chars: int = Field(default=64, ge=1)

    # Web client
    client_dist: str = "client_js/dist"

    @model_validator(mode="before")
    @classmethod
    def _cluster_transports(cls, data: object) -> object:
        # Several nodes behind a balancer: websocket alone needs no sticky sessions, so it
        # is the default there unless transports are chosen explicitly.
        if isinstance(data, dict) and data.get("redis_url") and "transports" not in data:
            return {**data, "transports": ["websocket"]}
        return data

    @field_validator("jwt_algorithms", "allowed_origins", "transports", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("transports")
    @classmethod
    def _known_transports(cls, value: list[str]) -> list[str]:
        unknown = set(value) - {"websocket", "polling"}
        if unknown or not value:
            raise ValueError("WS_TRANSPORTS takes websocket and/or polling")
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _known_algorithms(cls, value: list[str]) -> list[str]:
        unknown = set(value) - HS_ALGORITHMS - ASYMMETRIC_ALGORITHMS
        if unknown:
            raise ValueError(f"unsupported JWT algorithms: {sorted(unknown)} (never 'none')")
        if not value:
            raise ValueError("WS_JWT_ALGORITHMS must name at least one algorithm")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        check_startup_rules(self)
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def connection_burst(self) -> int:
        """Events one connection may send at once: WS_RATE_LIMIT_BURST, else 6 s worth."""
        return self.rate_limit_burst or max(1, self.rate_limit_per_min // 10)

    @property
    def user_rate_per_min(self) -> int:
        """All connections of one user together: unset, three busy connections' worth."""
        return self.user_rate_limit_per_min or 3 * self.rate_limit_per_min

    @property
    def user_burst(self) -> int:
        # The same share of a minute as a connection's burst.
        return max(1, -(-self.connection_burst * self.user_rate_per_min // self.rate_limit_per_min))


def check_startup_rules(settings: Settings) -> None:
    """Refuse combinations that would be insecure or could never authenticate anyone."""
    if settings.admin_ui and not settings.admin_password:
        raise SettingsError("WS_ADMIN_UI=1 needs WS_ADMIN_PASSWORD (the Admin UI's login)")
    if settings.auth_mode == "dev":
        if settings.is_production:
            raise SettingsError(
                "WS_AUTH_MODE=dev is refused when WS_ENV=production: "
                "set WS_AUTH_MODE=jwt with WS_JWT_SECRET, WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL"
            )
        return
    algorithms = set(settings.jwt_algorithms)
    if algorithms & HS_ALGORITHMS and algorithms & ASYMMETRIC_ALGORITHMS:
        # Mixing families invites key confusion (an HS token signed with the public key).
        raise SettingsError("WS_JWT_ALGORITHMS must not mix HS* with asymmetric algorithms")
    if algorithms & HS_ALGORITHMS:
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
        if len(secret.encode()) < MIN_HS_SECRET_BYTES:
            raise SettingsError(
                f"WS_AUTH_MODE=jwt with {sorted(algorithms)} needs WS_JWT_SECRET "
                f"of at least {MIN_HS_SECRET_BYTES} bytes"
            )
    elif not (settings.jwt_public_key or settings.jwt_jwks_url):
        raise SettingsError(
            f"WS_AUTH_MODE=jwt with {sorted(algorithms)} needs WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL"
        )
