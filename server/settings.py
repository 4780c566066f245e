"""Process settings, read from `WS_*` environment variables with laptop-friendly defaults."""

from __future__ import annotations

import ipaddress
import secrets
from typing import Annotated, Literal
from urllib.parse import urlsplit

import jwt
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

HS_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MIN_HS_SECRET_BYTES = 32
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
# A chat:send frame around the text: event name, client_msg_id, thread_id, source, framing.
_CHAT_SEND_OVERHEAD_BYTES = 256
# The most UTF-8 bytes one character takes: the worst case a message of N characters sends.
_MAX_UTF8_BYTES_PER_CHAR = 4
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

CommaList = Annotated[list[str], NoDecode]


class SettingsError(ValueError):
    """Combinations of settings the server refuses to start with, one reason each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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
    allow_dev_auth_on_network: bool = False
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
    # Frames the protocol does not have that one connection may send before it is closed.
    max_bad_frames: int = Field(default=20, ge=1)
    # A long-polling POST whose body has not all arrived by then is answered 408.
    polling_body_timeout_s: float = Field(default=10.0, gt=0)

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
    # `package.module:attribute`: a LangChain chat model, a compiled LangGraph graph, or a
    # callable given the settings that returns one (docs/agent.md). Empty: WS_AGENT_MODEL.
    agent: str = ""
    # `demo`, or a `provider:model` name for LangChain's init_chat_model, run by our own
    # tool loop.
    agent_model: str = "demo"
    # Import paths (`module:attribute`) of LangChain tools for our tool loop; the demo's
    # calculator and reminder tools when empty.
    agent_tools: CommaList = Field(default_factory=list)
    agent_system_prompt: str = ""
    # Tools whose every call waits for the user's approval (besides tools whose metadata
    # says `requires_approval`).
    agent_approval_tools: CommaList = Field(default_factory=list)
    # A pending approval not answered in this time expires as denied.
    approval_timeout_s: float = Field(default=300.0, gt=0)
    # How much of the thread the model is given: the newest turns whose parts add up to at
    # most this many characters (the oldest turns are dropped first; the current message
    # always goes).
    agent_context_chars: int = Field(default=24_000, ge=1)
    demo_tokens_per_s: float = Field(default=40.0, ge=0)
    delta_flush_ms: int = Field(default=25, ge=0)
    delta_flush_chars: int = Field(default=64, ge=1)
    # Answers being streamed are written to the database this often (0: never), or sooner
    # once one has this many characters not yet written: what a crash leaves of them.
    checkpoint_interval_ms: int = Field(default=1000, ge=0)
    checkpoint_chars: int = Field(default=2000, ge=1)

    # Web client
    client_dist: str = "client_js/dist"

    # More namespaces and topics: `module:function` entries, each given the app to extend
    # (docs/extending.md).
    extensions: CommaList = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _cluster_transports(cls, data: object) -> object:
        # Several nodes behind a balancer: websocket alone needs no sticky sessions, so it
        # is the default there unless transports are chosen explicitly.
        if isinstance(data, dict) and data.get("redis_url") and "transports" not in data:
            return {**data, "transports": ["websocket"]}
        return data

    @field_validator(
        "jwt_algorithms",
        "allowed_origins",
        "transports",
        "extensions",
        "agent_tools",
        "agent_approval_tools",
        mode="before",
    )
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

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        # An unknown level would otherwise fail in the logging set-up, as a traceback.
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"WS_LOG_LEVEL takes one of {', '.join(LOG_LEVELS)}")
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
    """Refuse combinations that would be insecure, could never authenticate anyone, or
    contradict each other; every reason at once."""
    problems = startup_problems(settings)
    if problems:
        raise SettingsError(problems)


def startup_problems(settings: Settings) -> list[str]:
    problems = []
    if settings.admin_ui and not settings.admin_password:
        problems.append("WS_ADMIN_UI=1 needs WS_ADMIN_PASSWORD (the Admin UI's login)")
    problems += _auth_problems(settings)
    problems += _transport_problems(settings)
    if (
        settings.rate_limit_burst is not None
        and settings.rate_limit_burst > settings.rate_limit_per_min
    ):
        problems.append(
            f"WS_RATE_LIMIT_BURST={settings.rate_limit_burst} is more than "
            f"WS_RATE_LIMIT_PER_MIN={settings.rate_limit_per_min}: a connection could send "
            "more than a minute's allowance at once; lower the burst or raise the rate"
        )
    if settings.run_owner_ttl_s <= settings.run_heartbeat_s:
        # Other nodes would take a live run's lapsed claim for a dead node and fail the run.
        problems.append(
            f"WS_RUN_OWNER_TTL_S={settings.run_owner_ttl_s:g} must be longer than "
            f"WS_RUN_HEARTBEAT_S={settings.run_heartbeat_s:g}: a run's claim would expire "
            "between heartbeats and other nodes would end it as node_lost; "
            "keep the TTL at least twice the heartbeat"
        )
    return problems


def _auth_problems(settings: Settings) -> list[str]:
    if settings.auth_mode == "dev":
        if settings.is_production:
            return [
                "WS_AUTH_MODE=dev is refused when WS_ENV=production: "
                "set WS_AUTH_MODE=jwt with WS_JWT_SECRET, WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL"
            ]
        problems = []
        if settings.jwt_secret is not None and not _usable_hmac_secret(settings.jwt_secret):
            problems.append(_PEM_SECRET)
        if not settings.allow_dev_auth_on_network and not is_loopback(settings.host):
            problems.append(
                f"WS_AUTH_MODE=dev with WS_HOST={settings.host} (or --host), not a loopback "
                "address: anyone who can reach the port can mint a token for any user through "
                "POST /api/auth/dev-login. Use WS_AUTH_MODE=jwt, bind WS_HOST to 127.0.0.1, or "
                "set WS_ALLOW_DEV_AUTH_ON_NETWORK=1 to accept that knowingly"
            )
        return problems
    sources = [
        name
        for name, value in (
            ("WS_JWT_SECRET", settings.jwt_secret),
            ("WS_JWT_PUBLIC_KEY", settings.jwt_public_key),
            ("WS_JWT_JWKS_URL", settings.jwt_jwks_url),
        )
        if value
    ]
    if len(sources) > 1:
        # The verifier would use one of them, and with an HS algorithm and a PEM key it
        # fails every connect; refused here rather than guessed.
        both = "both" if len(sources) == 2 else "all"
        return [
            f"{' and '.join(sources)} are {both} set, but WS_AUTH_MODE=jwt verifies tokens "
            "with one key source: keep the one your tokens are signed for, unset the rest"
        ]
    algorithms = set(settings.jwt_algorithms)
    named = ",".join(settings.jwt_algorithms)
    if algorithms & HS_ALGORITHMS and algorithms & ASYMMETRIC_ALGORITHMS:
        # Mixing families invites key confusion (an HS token signed with the public key).
        return ["WS_JWT_ALGORITHMS must not mix HS* with asymmetric algorithms"]
    if algorithms & HS_ALGORITHMS:
        if sources and sources[0] != "WS_JWT_SECRET":
            return [
                f"WS_JWT_ALGORITHMS={named} verifies with a shared secret, WS_JWT_SECRET, but "
                f"only {sources[0]} is set: list the key's algorithm in WS_JWT_ALGORITHMS "
                "(e.g. RS256), or use WS_JWT_SECRET"
            ]
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
        if len(secret.encode()) < MIN_HS_SECRET_BYTES:
            return [
                f"WS_AUTH_MODE=jwt with {sorted(algorithms)} needs WS_JWT_SECRET "
                f"of at least {MIN_HS_SECRET_BYTES} bytes"
            ]
        if settings.jwt_secret is not None and not _usable_hmac_secret(settings.jwt_secret):
            return [_PEM_SECRET]
        return []
    if not (settings.jwt_public_key or settings.jwt_jwks_url):
        return [
            f"WS_AUTH_MODE=jwt with {sorted(algorithms)} needs WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL"
        ]
    if settings.jwt_public_key is not None:
        return _public_key_problems(settings.jwt_public_key.get_secret_value(), settings)
    return []


_PEM_SECRET = (
    "WS_JWT_SECRET holds a PEM or SSH key, which PyJWT refuses as an HMAC secret: use a "
    f"random string of at least {MIN_HS_SECRET_BYTES} bytes there, and put a public key in "
    "WS_JWT_PUBLIC_KEY"
)


def _usable_hmac_secret(secret: SecretStr) -> bool:
    try:
        jwt.get_algorithm_by_name("HS256").prepare_key(secret.get_secret_value())
    except jwt.PyJWTError:
        return False
    return True


def _public_key_problems(pem: str, settings: Settings) -> list[str]:
    # PyJWT reads the key on every token; a key it cannot use for an accepted algorithm
    # would fail each connect as an internal error instead of stopping here.
    for algorithm in settings.jwt_algorithms:
        try:
            key = jwt.get_algorithm_by_name(algorithm).prepare_key(pem)
        except (jwt.PyJWTError, ValueError, TypeError):
            return [
                f"WS_JWT_PUBLIC_KEY cannot verify {algorithm} (in WS_JWT_ALGORITHMS): it must "
                "be a PEM public key of that algorithm's type (RSA for RS*/PS*, EC on the "
                "algorithm's curve for ES*, Ed25519 or Ed448 for EdDSA); list only the "
                "algorithms your key signs with"
            ]
        if hasattr(key, "private_bytes"):
            return [
                "WS_JWT_PUBLIC_KEY holds a private key, which cannot verify tokens: give the "
                "server the public half only (the private key stays with whoever signs)"
            ]
    return []


def _transport_problems(settings: Settings) -> list[str]:
    problems = []
    if settings.reconnect_delay_ms > settings.reconnect_delay_max_ms:
        problems.append(
            f"WS_RECONNECT_DELAY_MS={settings.reconnect_delay_ms} is more than "
            f"WS_RECONNECT_DELAY_MAX_MS={settings.reconnect_delay_max_ms}: every delay would "
            "be cut to the maximum; make the first delay at most the largest"
        )
    if settings.reconnect_attempts is not None and settings.reconnect_attempts < 1:
        # socket.io-client reads 0 as "never", python-socketio as "forever".
        problems.append(
            f"WS_RECONNECT_ATTEMPTS={settings.reconnect_attempts} means never to the web "
            "client and forever to the Python client: give at least 1, or unset it to keep "
            "trying"
        )
    listed = settings.allowed_origins
    if "*" in listed and len(listed) > 1:
        problems.append(
            "WS_ALLOWED_ORIGINS lists `*` (any origin) together with origins: use `*` alone, "
            "or list the origins without it"
        )
    for entry in listed:
        if entry != "*" and (fix := _origin_fix(entry)) is not None:
            problems.append(
                f"WS_ALLOWED_ORIGINS entry {entry!r} can never match: a browser sends its "
                "origin as scheme://host[:port], lowercase, without the default port, a "
                f"path, a query or a user; {fix}"
            )
    if settings.public_url is not None:
        fix = _origin_fix(settings.public_url, schemes=frozenset(_DEFAULT_PORTS))
        if fix is not None:
            problems.append(
                f"WS_PUBLIC_URL={settings.public_url} is not an http(s) origin: clients take "
                f"scheme://host[:port] from it and always connect to /socket.io; {fix}"
            )
    return problems


def _origin_fix(value: str, schemes: frozenset[str] | None = None) -> str | None:
    """None when `value` is an origin as a browser writes it; else what to write instead."""
    if value == "null" and schemes is None:  # sent for opaque origins (sandboxed frames)
        return None
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        return "its port is not valid"
    if not parts.scheme or not parts.hostname or (schemes and parts.scheme.lower() not in schemes):
        return "write e.g. 'https://chat.example'"
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    origin = f"{scheme}://{host}"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        origin += f":{port}"
    if value.rstrip("/") == origin:
        return None
    return f"write {origin!r}"


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a host name, or empty for every interface
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def startup_warnings(settings: Settings) -> list[str]:
    """Settings that are allowed but probably not what was meant; logged at start."""
    warnings = []
    if settings.auth_mode == "dev":
        if settings.allow_dev_auth_on_network and not is_loopback(settings.host):
            warnings.append(
                f"dev auth on {settings.host}, not loopback (WS_ALLOW_DEV_AUTH_ON_NETWORK=1): "
                "anyone who can reach the port can sign in as any user through "
                "POST /api/auth/dev-login"
            )
        unused = [
            name
            for name, value in (
                ("WS_JWT_PUBLIC_KEY", settings.jwt_public_key),
                ("WS_JWT_JWKS_URL", settings.jwt_jwks_url),
            )
            if value
        ]
        if unused:
            warnings.append(
                f"{' and '.join(unused)} {'is' if len(unused) == 1 else 'are'} set but unused: "
                "WS_AUTH_MODE=dev verifies only HS256 tokens signed with WS_JWT_SECRET (or a "
                "secret made per process); set WS_AUTH_MODE=jwt to verify your identity "
                "provider's tokens"
            )
    largest_frame = (
        settings.max_message_chars * _MAX_UTF8_BYTES_PER_CHAR + _CHAT_SEND_OVERHEAD_BYTES
    )
    if largest_frame > settings.max_payload_bytes:
        warnings.append(
            f"WS_MAX_MESSAGE_CHARS={settings.max_message_chars} can take up to "
            f"{largest_frame} bytes in one frame, more than "
            f"WS_MAX_PAYLOAD_BYTES={settings.max_payload_bytes}: a message within the "
            "character limit can close its connection as too large; raise the payload limit "
            "or lower the character limit"
        )
    return warnings
