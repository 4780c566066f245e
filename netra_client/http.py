"""The two HTTP calls a client makes before opening a socket: discovery and dev-login."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from netra_client.errors import NetraError
from schemas.auth import DevLoginRequest, DevLoginResponse
from schemas.discovery import WsConfig

WS_CONFIG_PATH = "/api/ws-config"
DEV_LOGIN_PATH = "/api/auth/dev-login"
HTTP_TIMEOUT_S = 10.0

_Model = TypeVar("_Model", bound=BaseModel)


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


async def discover(base_url: str, *, timeout_s: float = HTTP_TIMEOUT_S) -> WsConfig:
    """Fetch and parse the server's discovery document (`GET /api/ws-config`)."""
    return await _request("GET", _join(base_url, WS_CONFIG_PATH), WsConfig, None, timeout_s)


async def dev_login(
    base_url: str,
    user_id: str | None = None,
    display_name: str | None = None,
    ttl_s: int | None = None,
    *,
    timeout_s: float = HTTP_TIMEOUT_S,
) -> DevLoginResponse:
    """Get a development token (`POST /api/auth/dev-login`); dev auth mode only.

    Omitted fields are left to the server's defaults (a generated user, the default ttl).
    """
    try:
        body = DevLoginRequest(user_id=user_id, display_name=display_name, ttl_s=ttl_s)
    except ValidationError as exc:
        raise NetraError("invalid_payload", _summary(exc)) from None
    return await _request(
        "POST",
        _join(base_url, DEV_LOGIN_PATH),
        DevLoginResponse,
        body.model_dump(exclude_none=True),
        timeout_s,
    )


async def _request(
    method: str, url: str, model: type[_Model], body: dict[str, Any] | None, timeout_s: float
) -> _Model:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.request(method, url, json=body) as response,
        ):
            text = await response.text()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        # ClientConnectorError's text already names the host and port.
        raise NetraError("connect_failed", str(exc) or type(exc).__name__) from None
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = None
    if status != 200:
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            raise NetraError(error["code"], str(error.get("message", "")), {"status": status})
        raise NetraError("http_error", f"{method} {url} answered {status}", {"status": status})
    if payload is None:
        raise NetraError("bad_response", f"{method} {url}: the answer is not JSON")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise NetraError("bad_response", f"{method} {url}: {_summary(exc)}") from None


def _summary(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}" for e in exc.errors()
    )
