"""Token minting for tests: every way a JWT can be right or wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from functools import cache
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SECRET = "test-secret-that-is-long-enough-32b!"
ISSUER = "https://issuer.example"
AUDIENCE = "netra-chat"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": "alice",
        "name": "Alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    for key, value in overrides.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def hs256(secret: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


def expiring(lifetime_s: int, sub: str = "alice") -> str:
    """HS256 without issuer or audience, expiring `lifetime_s` from now."""
    return hs256(exp=int(time.time()) + lifetime_s, iss=None, aud=None, sub=sub)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def alg_none(header: dict[str, Any] | None = None, **overrides: Any) -> str:
    encoded = _b64(orjson.dumps({"alg": "none", "typ": "JWT", **(header or {})}))
    return f"{encoded}.{_b64(orjson.dumps(claims(**overrides)))}."


def hs256_with_raw_key(key: bytes, header: dict[str, Any] | None = None, **overrides: Any) -> str:
    """HS256 signed by hand, for keys PyJWT refuses to sign with (a public key, say)."""
    encoded = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT", **(header or {})}))
    body = _b64(orjson.dumps(claims(**overrides)))
    signature = hmac.new(key, f"{encoded}.{body}".encode(), hashlib.sha256).digest()
    return f"{encoded}.{body}.{_b64(signature)}"


def tampered(token: str, **overrides: Any) -> str:
    """The token with its claims edited (None removes one) and the original signature kept."""
    header, body, signature = token.split(".")
    values = orjson.loads(_unb64(body))
    for key, value in overrides.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return f"{header}.{_b64(orjson.dumps(values))}.{signature}"


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """A 2048-bit key per name, made once per process (generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rs256(
    key: rsa.RSAPrivateKey,
    kid: str | None = None,
    algorithm: str = "RS256",
    header: dict[str, Any] | None = None,
    **overrides: Any,
) -> str:
    headers = {**({"kid": kid} if kid else {}), **(header or {})}
    return jwt.encode(claims(**overrides), key, algorithm=algorithm, headers=headers or None)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    """The public half as a JWKS entry."""
    jwk: dict[str, Any] = orjson.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}
