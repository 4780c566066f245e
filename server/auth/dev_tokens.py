"""Tokens for dev-login: HS256 with WS_JWT_SECRET or a secret made per process."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import jwt

from schemas.principal import DevPrincipal
from server.auth.verifier import KIND_CLAIM
from server.settings import Settings


def dev_signing_secret(settings: Settings) -> str:
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    # Tokens from a previous process stop verifying after a restart; clients log in again.
    return secrets.token_urlsafe(48)


class DevTokenIssuer:
    def __init__(
        self,
        secret: str,
        default_ttl_s: int,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        self._secret = secret
        self._default_ttl_s = default_ttl_s
        # The verifier checks iss and aud whenever they are set, dev mode included.
        self._registered = {k: v for k, v in (("iss", issuer), ("aud", audience)) if v}

    def issue(
        self, user_id: str | None, display_name: str | None, ttl_s: int | None
    ) -> tuple[str, datetime, DevPrincipal]:
        uid = user_id or f"dev-{secrets.token_hex(4)}"
        principal = DevPrincipal(id=uid, display_name=display_name or uid)
        now = datetime.now(UTC).replace(microsecond=0)
        expires_at = now + timedelta(seconds=ttl_s or self._default_ttl_s)
        claims = {
            "sub": principal.id,
            "name": principal.display_name,
            KIND_CLAIM: "dev",
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            **self._registered,
        }
        token = jwt.encode(claims, self._secret, algorithm="HS256")
        return token, expires_at, principal
