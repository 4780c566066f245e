"""Replaces python-engineio's `engineio.async_drivers.aiohttp.translate_request` in the
server's `_async` driver table, on this server only (the table is module-wide upstream): the
same environ, with the strings every handshake repeats shared instead of built again.

The environ lives as long as the connection (python-engineio's and python-socketio's
handlers keep it). Upstream builds a new `HTTP_*` key for every header of every handshake
and a new `SERVER_PROTOCOL`; here the keys of common header names and the protocol strings
come from a bounded cache, so a held connection does not carry its own copies.
"""

from __future__ import annotations

import sys
from typing import Any

import engineio
from aiohttp import web

from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "engineio.async_drivers.aiohttp",
        "translate_request",
        sha256="20aa782740060790c268f6d63fd31518b015e52d352528823d2cfbae7221cb7e",
    ),
    Upstream(
        "engineio.async_drivers.aiohttp",
        "_async",
        sha256="1571b7b72ab7fd521d757a0eff632946e2bcdd62a9a5e922507dd64affa8a088",
        part="keys",
    ),
)

# Header names a client picks: bounded, so that a flood of made-up names cannot grow it.
_KEYS_CACHED = 512
_keys: dict[str, str] = {}
_protocols: dict[tuple[int, int], str] = {}


class TranslateRequest(engineio.AsyncServer):  # type: ignore[misc]
    _async: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async = {**self._async, "translate_request": translate_request}


def _environ_key(header: str) -> str:
    key = _keys.get(header)
    if key is None:
        key = "HTTP_" + header.upper().replace("-", "_")
        if len(_keys) < _KEYS_CACHED:
            _keys[header] = key
    return key


def translate_request(request: web.Request) -> dict[str, Any]:
    version = (request.version[0], request.version[1])
    protocol = _protocols.get(version)
    if protocol is None:
        protocol = _protocols[version] = f"HTTP/{version[0]}.{version[1]}"
    environ: dict[str, Any] = {
        "wsgi.input": request.content,
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.async": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "aiohttp",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query_string or "",
        "RAW_URI": request.path_qs,
        "SERVER_PROTOCOL": protocol,
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "0",
        "SERVER_NAME": "aiohttp",
        "SERVER_PORT": "0",
        "aiohttp.request": request,
    }
    for name, value in request.headers.items():
        key = _environ_key(name)
        if key == "HTTP_CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if key == "HTTP_CONTENT_LENGTH":
            environ["CONTENT_LENGTH"] = value
            continue
        if key in environ:
            value = f"{environ[key]},{value}"
        environ[key] = value
    environ["wsgi.url_scheme"] = environ.get("HTTP_X_FORWARDED_PROTO", "http")
    environ["PATH_INFO"] = request.path
    environ["SCRIPT_NAME"] = ""
    return environ
