"""The authentication step every namespace runs in its connect handler."""

from __future__ import annotations

from typing import Any, NoReturn

from loguru import logger
from pydantic import ValidationError
from socketio.exceptions import ConnectionRefusedError as SioConnectionRefusedError

from schemas.auth import ConnectAuth, ConnectRefusal
from server.auth.errors import AuthFailure
from server.auth.verifier import TokenVerifier, VerifiedToken
from server.realtime.sampled_log import SampledLog
from server.types import Environ


def client_address(environ: Environ) -> str:
    request = environ.get("aiohttp.request")
    remote = getattr(request, "remote", None)
    return str(remote) if remote else "unknown"


def _bearer_header(environ: Environ) -> str | None:
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = str(header).partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def authenticate_connect(
    verifier: TokenVerifier, namespace: str, environ: Environ, auth: Any, sampler: SampledLog
) -> tuple[VerifiedToken, ConnectAuth]:
    """Verify the connect credentials or raise python-socketio's refusal with a code.

    The token comes from `auth.token`, else from an `Authorization: Bearer` header
    (non-browser clients). Each refusal is logged once, on one line, without the token.
    """
    try:
        connect_auth = _parse_auth(auth)
        token = connect_auth.token or _bearer_header(environ)
        if not token:
            raise AuthFailure("auth_required", "Authentication required", "no token presented")
        verified = await verifier.verify(token)
    except AuthFailure as failure:
        refuse(namespace, failure, environ, sampler)
    return verified, connect_auth


def refuse(namespace: str, failure: AuthFailure, environ: Environ, sampler: SampledLog) -> NoReturn:
    """Log the refusal once and raise it as the client's `connect_error`."""
    log_refusal(namespace, failure, environ, sampler)
    refusal = ConnectRefusal(code=failure.code, message=failure.message)
    raise SioConnectionRefusedError(failure.message, refusal.model_dump()) from None


def _parse_auth(auth: Any) -> ConnectAuth:
    if auth is None:
        return ConnectAuth()
    if not isinstance(auth, dict):
        raise AuthFailure(
            "auth_required", "auth must be an object with a token", "auth is not an object"
        )
    try:
        return ConnectAuth.model_validate(auth)
    except ValidationError as exc:
        fields = ",".join(".".join(map(str, err["loc"])) for err in exc.errors())
        raise AuthFailure(
            "token_invalid", "auth object is malformed", f"malformed auth fields: {fields}"
        ) from None


def log_refusal(
    namespace: str, failure: AuthFailure, environ: Environ, sampler: SampledLog
) -> None:
    """One line per refusal, or per `sampler`'s budget under a flood (anyone can cause
    refusals): `suppressed` says how many lines of this kind were held back before it."""
    held = sampler.admit(f"refused {namespace} {failure.code}")
    if held is None:
        return
    logger.bind(
        event="connect_refused",
        namespace=namespace,
        code=failure.code,
        client=client_address(environ),
        origin=environ.get("HTTP_ORIGIN"),
        user=failure.user,
    ).warning(
        "connect refused namespace={} code={} reason={!r} client={} origin={} user={} "
        "suppressed={}",
        namespace,
        failure.code,
        failure.reason,
        client_address(environ),
        environ.get("HTTP_ORIGIN") or "-",
        failure.user or "-",
        held,
    )
