"""The server is built from the overrides through python-socketio's public arguments, and
changes nothing module-wide in the libraries."""

from __future__ import annotations

import engineio
from engineio.async_drivers import aiohttp as aiohttp_driver
from socketio import packet

from server.realtime.engine import GuardedEngine
from server.realtime.overrides.aiohttp_websocket import GuardedWebSocket
from server.realtime.overrides.packet_codec import ServerPacket
from server.realtime.sio_server import NetraServer


def test_the_packet_class_and_engine_are_ours_and_the_libraries_are_untouched() -> None:
    sio = NetraServer(async_mode="aiohttp")
    assert sio.packet_class is ServerPacket
    assert isinstance(sio.eio, GuardedEngine)
    assert sio.eio._async["websocket"] is GuardedWebSocket
    assert aiohttp_driver._async["websocket"] is aiohttp_driver.WebSocket
    assert packet.Packet.json is not ServerPacket.json
    assert engineio.AsyncServer(async_mode="aiohttp")._async["websocket"] is not GuardedWebSocket
