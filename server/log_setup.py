"""Logging configured once: loguru as the sink, standard logging routed into it."""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any

import orjson
from loguru import logger

if TYPE_CHECKING:
    from loguru import Message, Record

_QUIET_LIBRARIES = ("engineio.server", "socketio.server", "aiohttp.access")

# Library debug logs print whole packets (connect `auth` and `system:auth_refresh` included):
# credentials in them are masked, the rest of the line is kept.
_SECRETS = (
    # "token": "..." (or access_token, refresh_token...), JSON or Python repr.
    (
        re.compile(r"""(["'](?:\w*_)?token["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2""", re.I),
        r"\1\2[redacted]\2",
    ),
    (re.compile(r"(\bBearer\s+)[^\s\"',;\]}]+", re.I), r"\1[redacted]"),
    # Anything shaped like a JWT, wherever it sits.
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
)


def redact_secrets(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class _InterceptHandler(logging.Handler):
    """Forwards standard-library records (aiohttp, engineio, socketio) to loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).bind(logger_name=record.name).log(
            level, redact_secrets(record.getMessage())
        )


def _json_sink(message: Message) -> None:
    record: Record = message.record
    line: dict[str, Any] = {
        "ts": record["time"].isoformat(),
        "level": record["level"].name,
        "logger": record["extra"].get("logger_name", record["name"]),
        "msg": record["message"],
    }
    line.update({k: v for k, v in record["extra"].items() if k != "logger_name"})
    if record["exception"] is not None:
        line["exception"] = str(record["exception"].value)
    sys.stderr.write(orjson.dumps(line, default=str).decode() + "\n")


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Replace every handler: loguru writes to stderr, plain text or one JSON object a line."""
    logger.remove()
    if json_lines:
        logger.add(_json_sink, level=level.upper(), backtrace=False, diagnose=False)
    else:
        logger.add(
            sys.stderr,
            level=level.upper(),
            format="<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
            "<cyan>{extra[logger_name]}</cyan> {message}",
            backtrace=False,
            diagnose=False,
        )
    logger.configure(extra={"logger_name": "netra"})
    logging.basicConfig(handlers=[_InterceptHandler()], level=0, force=True)
    # Per-packet chatter from the transport libraries stays out unless debugging.
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(
            logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
        )
