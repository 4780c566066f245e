"""Socket.IO packets whose JSON the server cannot decode, sent by hand over a websocket.

No Socket.IO client writes these, but anything can: each is answered like other bad input
(an `invalid_payload` ack, a `token_invalid` refusal), nothing reaches the log at ERROR and
the connection goes on.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from tests.harness import LiveServer
from tests.raw_engineio import RawSocket, raw_socket

DEEP = 100_000


@pytest.fixture
async def raw(server: LiveServer) -> AsyncIterator[RawSocket]:
    async with raw_socket(server.url) as sock:
        yield sock


def assert_no_errors(records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    """Neither our log nor the transport libraries' (standard logging) said ERROR."""
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def connect_system(raw: RawSocket, server: LiveServer) -> None:
    auth = orjson.dumps({"token": await server.token()}).decode()
    await raw.send(f"0/system,{auth}")
    assert "sid" in await raw.receive("0/system,")


@pytest.mark.parametrize(
    "payload",
    ["[" * DEEP + "]" * DEEP, "1" * 101, '{"client_time": 1,}', '{"client_time": NaN'],
    ids=["nested-too-deep", "101-digit-number", "trailing-comma", "cut-short"],
)
async def test_an_undecodable_event_is_acked_invalid_payload(
    server: LiveServer,
    raw: RawSocket,
    payload: str,
    log_records: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await connect_system(raw, server)
    await raw.send(f'2/system,7["system:ping",{payload}]')
    [ack] = await raw.receive("3/system,7")
    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_payload"
    await raw.send('2/system,8["system:ping",{"client_time":1}]')
    [ack] = await raw.receive("3/system,8")
    assert ack["ok"] is True
    assert_no_errors(log_records, caplog)


async def test_an_undecodable_connect_is_refused_token_invalid(
    server: LiveServer,
    raw: RawSocket,
    log_records: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await raw.send('0/system,{"token":"x","resume":{"last_seq":' + "9" * 200 + "}}")
    refusal = await raw.receive("4/system,")
    assert refusal["data"]["code"] == "token_invalid"
    refused = [r for r in log_records if r.get("event") == "connect_refused"]
    assert len(refused) == 1
    assert "undecodable connect packet" in refused[0]["message"]
    # The same socket may still connect properly.
    await connect_system(raw, server)
    assert_no_errors(log_records, caplog)
