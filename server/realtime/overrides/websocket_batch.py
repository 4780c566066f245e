"""Replaces aiohttp's `aiohttp._websocket.writer.WebSocketWriter.send_frame` for several text
frames at once, handed to the transport in one write, and for one text frame written at once
by its sender, without waiting.

aiohttp writes each frame with its own `transport.write`, and uvloop sends each one to the
socket at once: one system call per frame. A resume queues a thousand packets together,
and the writer (websocket_loop.py) finds them all waiting; here they are framed as
`WebSocketWriter._write_websocket_frame` frames them (a server's frames are never masked) and
written with one `transport.writelines`, then flow control runs as `send_frame`'s does: past
the writer's limit, wait while the transport is paused.

`write_text_now` writes one frame synchronously, or nothing if the transport could not take it
without waiting (paused, or the writer's limit reached): the engine writes a packet this way
when the connection's writer is idle (server/realtime/engine.py), instead of waking the
writer's task for it.

Only where the writer is what this was written against (no compression, no mask, attributes
as below): anything else goes through `send_str`, frame by frame.
tests/server/realtime/overrides/test_websocket_batch.py proves the bytes are aiohttp's own,
and fails if the installed aiohttp no longer takes the batch path.
"""

from __future__ import annotations

from struct import Struct
from typing import Any

from aiohttp import ClientConnectionResetError
from aiohttp.web import WebSocketResponse

from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    # Its framing of an uncompressed, unmasked frame, reproduced here.
    Upstream(
        "aiohttp._websocket.writer",
        "WebSocketWriter._write_websocket_frame",
        sha256="b677e4e11a7bdfb5054ccb793fb49566d508913edda115b21a6d18df245a42b2",
    ),
    # Its closing check and flow control, kept for the batch.
    Upstream(
        "aiohttp._websocket.writer",
        "WebSocketWriter.send_frame",
        sha256="7ab812cc70561f8ede71bb76d97c75c20ebcae26751be5559e42cdd7fa019674",
    ),
)

_TEXT_FIN = 0x81  # FIN, opcode 1 (text)
_LEN1 = Struct("!BB").pack
_LEN2 = Struct("!BBH").pack
_LEN3 = Struct("!BBQ").pack


def frame_header(length: int) -> bytes:
    """The header of an unmasked final text frame of `length` bytes (RFC 6455 5.2)."""
    if length < 126:
        return _LEN1(_TEXT_FIN, length)
    if length < 65536:
        return _LEN2(_TEXT_FIN, 126, length)
    return _LEN3(_TEXT_FIN, 127, length)


def batch_writer(ws: WebSocketResponse) -> Any:
    """aiohttp's writer of `ws` if a batch can bypass it, else None."""
    writer = getattr(ws, "_writer", None)
    if writer is None or writer.compress or writer.use_mask:
        return None
    return writer


async def send_texts(ws: WebSocketResponse, messages: list[str]) -> None:
    """Each message as its own text frame, in order, in one write."""
    writer = batch_writer(ws)
    if writer is None:
        for message in messages:
            await ws.send_str(message)
        return
    if writer._closing or writer.transport.is_closing():
        raise ClientConnectionResetError("Cannot write to closing transport")
    chunks: list[bytes] = []
    size = 0
    for message in messages:
        data = message.encode()
        header = frame_header(len(data))
        chunks += (header, data)
        size += len(header) + len(data)
    writer.transport.writelines(chunks)
    writer._output_size += size
    if writer._output_size > writer._limit:
        writer._output_size = 0
        if writer.protocol._paused:
            await writer.protocol._drain_helper()


def write_text_now(ws: WebSocketResponse, message: str) -> bool:
    """`message` as one text frame, written now; False, with nothing written, if that
    would mean waiting for the transport or going past the writer's limit."""
    writer = batch_writer(ws)
    if writer is None or writer._closing or writer.protocol._paused:
        return False
    transport = writer.transport
    if transport.is_closing():
        return False
    data = message.encode()
    header = frame_header(len(data))
    size = len(header) + len(data)
    if writer._output_size + size > writer._limit:
        return False  # send_frame's turn: it drains when the limit is passed
    transport.write(header + data)
    writer._output_size += size
    return True
