"""JWT verification with PyJWT: algorithms pinned, exp and sub required, iss/aud when set."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from pydantic import ValidationError

from schemas.principal import DevPrincipal, Principal, ServicePrincipal, UserPrincipal
from server.auth.errors import AuthFailure
from server.settings import Settings

# Claim naming the principal kind; tokens from an identity provider usually lack it (-> user).
KIND_CLAIM = "kind"

# The JWKS is cached whole and refetched when stale or when a token names a kid it lacks (a
# rotated-in key), at most once per cooldown so unknown kids cannot hammer the endpoint. No
# per-kid cache: a key dropped from the set stops verifying as soon as the set is refetched.
JWKS_LIFESPAN_S = 300.0
JWKS_REFRESH_COOLDOWN_S = 5.0


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    principal: Principal
    expires_at: datetime
    claims: dict[str, Any]


class TokenVerifier:
    """Verifies bearer tokens against the configured key source."""

    def __init__(self, settings: Settings, signing_secret: str | None) -> None:
        self._algorithms = list(settings.jwt_algorithms)
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_s
        self._allow_dev = settings.auth_mode == "dev"
        self._static_key: str | None = None
        self._jwks: jwt.PyJWKClient | None = None
        if settings.auth_mode == "dev":
            self._algorithms = ["HS256"]
            self._static_key = signing_secret
        elif settings.jwt_jwks_url:
            self._jwks = jwt.PyJWKClient(
                settings.jwt_jwks_url,
                lifespan=JWKS_LIFESPAN_S,
                cooldown_duration=JWKS_REFRESH_COOLDOWN_S,
            )
        elif settings.jwt_public_key is not None:
            self._static_key = settings.jwt_public_key.get_secret_value()
        elif settings.jwt_secret is not None:
            self._static_key = settings.jwt_secret.get_secret_value()

    async def verify(self, token: str) -> VerifiedToken:
        key = await self._key_for(token)
        options: dict[str, Any] = {
            "require": ["exp", "sub"],
            "verify_aud": self._audience is not None,
            "verify_iss": self._issuer is not None,
        }
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthFailure("token_expired", "Token has expired", str(exc)) from exc
        except jwt.PyJWTError as exc:
            # InvalidTokenError, and also InvalidKeyError: a JWKS key whose type does not
            # fit the token's algorithm, chosen by the token's `kid`, is the token's fault.
            reason = f"{type(exc).__name__}: {exc}"
            raise AuthFailure("token_invalid", "Token is not valid", reason) from exc
        principal = principal_from_claims(claims)
        if principal.kind == "dev" and not self._allow_dev:
            raise AuthFailure(
                "forbidden",
                "Dev tokens are not accepted by this server",
                "dev principal outside dev auth mode",
                user=principal.id,
            )
        try:
            expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        except (OverflowError, ValueError, OSError) as exc:
            # Signed, but beyond what a datetime holds (year 10000 and on).
            raise AuthFailure("token_invalid", "Token is not valid", "exp out of range") from exc
        return VerifiedToken(principal=principal, expires_at=expires_at, claims=claims)

    async def _key_for(self, token: str) -> Any:
        if self._jwks is None:
            return self._static_key
        jwks = self._jwks
        try:
            # PyJWKClient fetches over blocking urllib: keep it off the event loop.
            signing_key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWTError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise AuthFailure("token_invalid", "Token is not valid", reason) from exc
        # The PyJWK itself, not its bare key: PyJWT then refuses a token whose algorithm is
        # not the key's (an RS256 token naming an EC key's kid), instead of a TypeError.
        return signing_key


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    sub = claims["sub"]
    kind = claims.get(KIND_CLAIM, "user")
    name = claims.get("name") or claims.get("preferred_username") or sub
    try:
        if kind == "user":
            return UserPrincipal(id=sub, display_name=str(name))
        if kind == "dev":
            return DevPrincipal(id=sub, display_name=str(name))
        if kind == "service":
            return ServicePrincipal(id=sub, display_name=str(name), scopes=_scopes(claims))
    except ValidationError as exc:
        raise AuthFailure(
            "token_invalid", "Token is not valid", "malformed identity claims"
        ) from exc
    raise AuthFailure("forbidden", "Unknown principal kind", f"unknown kind claim {kind!r}", sub)


def _scopes(claims: dict[str, Any]) -> tuple[str, ...]:
    """`scope` (space-separated, OAuth 2.0) and `scopes` (a list), together."""
    found: list[str] = []
    scope = claims.get("scope")
    if isinstance(scope, str):
        found.extend(scope.split())
    listed = claims.get("scopes")
    if isinstance(listed, list):
        found.extend(item for item in listed if isinstance(item, str))
    return tuple(dict.fromkeys(found))
