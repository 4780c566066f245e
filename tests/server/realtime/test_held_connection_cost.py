"""What an idle, authenticated connection holds on the server: no outbound queue storage,
no task for its pings (they are timers on the loop's wheel), no writer task, and pings that
still keep it alive, while a client that stops answering them is still closed. A regression
here is memory every held connection pays (docs/performance.md)."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from pathlib import Path

import aiohttp
import pytest

from schemas.registry import SYSTEM
from server.app_keys import CONTEXT, SIO
from server.realtime.packet_queue import PacketQueue
from server.realtime.timer_wheel import timer_wheel
from tests.conftest import SettingsFactory
from tests.harness import connect, live_server

CLIENTS = 3
PING_INTERVAL_S = 0.3


def _ping_tasks() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "AsyncSocket._send_ping"
    ]


def _writer_tasks() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "Writer._drain"
    ]


async def test_idle_connections_hold_no_queue_storage_no_ping_task_and_no_writer_task(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(ping_interval_s=PING_INTERVAL_S, ping_timeout_s=0.5)
    async with live_server(settings) as server:
        clients = []
        for n in range(CLIENTS):
            auth = {"token": await server.token(f"held-{n}")}
            client, recorder = await connect(server, ["/system", "/chat"], auth)
            await recorder.wait_for("/chat", "chat:ready")
            clients.append(client)
        try:
            # Several ping intervals, longer than interval + timeout: had the server's pings
            # stopped, the clients would have given up on it.
            await asyncio.sleep(PING_INTERVAL_S * 6)
            assert all(client.connected for client in clients)
            sockets = list(server.app[SIO].eio.sockets.values())
            assert len(sockets) == CLIENTS
            for socket in sockets:
                assert type(socket.queue) is PacketQueue
                assert socket.queue._items is None, "an idle queue holds no deque"
            assert _ping_tasks() == []
            # Their writers have written every ping and ended; each connection is ready for
            # a packet to be written at once.
            assert _writer_tasks() == []
            engine = server.app[SIO].eio
            assert set(engine._idle_writers) == set(engine.sockets)
            # Per connection: its ping, its reader's idle deadline, the token checks of its
            # two namespaces.
            assert len(timer_wheel()) >= CLIENTS * 4
            cap = server.app[CONTEXT].connection_cap
            assert all(type(sids) is tuple for sids in cap._open.values())
        finally:
            for client in clients:
                await client.disconnect()


@pytest.mark.parametrize("chatty", [False, True], ids=["silent", "sending-events"])
async def test_a_client_that_stops_answering_pings_is_closed(
    make_settings: SettingsFactory, chatty: bool
) -> None:
    """No writer waits to time out on an idle connection: a client that never answers a
    ping is closed all the same, whether it goes silent or keeps sending events."""
    settings = make_settings(ping_interval_s=PING_INTERVAL_S, ping_timeout_s=0.5)
    async with live_server(settings) as server, aiohttp.ClientSession() as http:
        url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        ws = await http.ws_connect(url)
        try:
            assert (await ws.receive_str()).startswith("0{")
            await ws.send_str(f"40{SYSTEM}," + json.dumps({"token": await server.token("mute")}))
            engine = server.app[SIO].eio
            [eio_sid] = list(engine.sockets)
            loop = asyncio.get_running_loop()
            started = loop.time()
            while eio_sid in engine.sockets and loop.time() - started < 5:
                if chatty:
                    ping = ["system:ping", {"client_time": 1}]
                    await ws.send_str(f"42{SYSTEM}," + json.dumps(ping))
                await asyncio.sleep(0.1)
            # Interval + timeout, then the engine's sweep or the reader's idle deadline.
            assert eio_sid not in engine.sockets
            assert loop.time() - started < 3
            # And its websocket is closed: what was sent before, then the close.
            ends = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            while (await asyncio.wait_for(ws.receive(), 2)).type not in ends:
                pass
        finally:
            await ws.close()


def _awaiting(task: asyncio.Task[object]) -> list[str]:
    """The qualified names of the coroutines a task is suspended in, outermost first."""
    names = []
    coro: object = task.get_coro()
    while coro is not None:
        names.append(getattr(coro, "__qualname__", type(coro).__name__))
        coro = getattr(coro, "cr_await", None)
    return names


async def test_a_held_websocket_keeps_none_of_the_handshake_frames(
    make_settings: SettingsFactory,
) -> None:
    """A websocket opened directly is served from one handler frame: python-engineio's
    `handle_request`, `_handle_connect`, `handle_get_request` and `_upgrade_websocket` have
    returned, instead of waiting as long as the connection is open."""
    async with live_server(make_settings()) as server:
        client, recorder = await connect(server, [SYSTEM], {"token": await server.token("ann")})
        try:
            await recorder.wait_for(SYSTEM, "system:hello")
            [chain] = [
                names
                for task in asyncio.all_tasks()
                if "run_websocket" in (names := _awaiting(task))
            ]
            handshake = {
                "AsyncServer.handle_request",
                "EngineHandleConnect._handle_connect",
                "AsyncServer._handle_connect",
                "AsyncSocket.handle_get_request",
                "AsyncSocket._upgrade_websocket",
                "PollingPost.handle_request",
            }
            assert handshake.isdisjoint(chain), chain
            assert "WebSocketConnect.handle_request" in chain
            assert client.connected
        finally:
            await client.disconnect()


async def test_one_principal_per_connection_where_its_namespaces_share_a_user(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings()) as server, aiohttp.ClientSession() as http:
        url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        tokens = {"ann": await server.token("ann"), "bob": await server.token("bob")}
        connections = server.app[CONTEXT].connections
        sio = server.app[SIO]
        held = []
        try:
            for chat_user in ("ann", "bob"):
                ws = await http.ws_connect(url)
                held.append(ws)
                assert (await ws.receive_str()).startswith("0{")
                await ws.send_str(f"40{SYSTEM}," + json.dumps({"token": tokens["ann"]}))
                await ws.send_str("40/chat," + json.dumps({"token": tokens[chat_user]}))
                while "chat:ready" not in await asyncio.wait_for(ws.receive_str(), 5):
                    pass
            states = {}
            for eio_sid in sio.eio.sockets:
                system = connections.get(sio.manager.sid_from_eio_sid(eio_sid, SYSTEM))
                chat = connections.get(sio.manager.sid_from_eio_sid(eio_sid, "/chat"))
                assert system is not None
                assert chat is not None
                states[chat.principal.id] = (system, chat)
            # Ann on both: one principal, one expiry.
            system, chat = states["ann"]
            assert chat.principal is system.principal
            assert chat.token_expires_at is system.token_expires_at
            # Ann on /system, Bob on /chat of the same connection: each keeps their own.
            system, chat = states["bob"]
            assert (system.principal.id, chat.principal.id) == ("ann", "bob")
        finally:
            for ws in held:
                await ws.close()


ROOT = Path(__file__).resolve().parents[3]
OUR_CODE = ("server", "namespaces", "schemas")
HELD = 40
# Measured: 455 bytes for the token watch (a timer and what it runs per namespace, and its
# tables' share), 1.0 KB with a partial of bound methods per timer; 6.2 KB for all of our
# code together (the environ, the websocket, the rate limiter's bucket, the connection state).
TOKEN_WATCH_BYTES = 700
OUR_BYTES = 7_000


async def test_what_our_own_code_holds_per_held_connection(
    make_settings: SettingsFactory,
) -> None:
    """The heap allocated in the server's own modules, and still held, per connection on
    /system and /chat once they are idle (tracemalloc, by the line that allocated it)."""
    ours = [tracemalloc.Filter(True, str(ROOT / part / "*")) for part in OUR_CODE]
    async with live_server(make_settings()) as server:
        clients = []

        async def hold(n: int, prefix: str) -> None:
            for i in range(n):
                auth = {"token": await server.token(f"{prefix}-{i}")}
                client, recorder = await connect(server, [SYSTEM, "/chat"], auth)
                await recorder.wait_for("/chat", "chat:ready")
                clients.append(client)

        try:
            await hold(10, "warm")  # what the first connections build once (caches, tables)
            await asyncio.sleep(0.2)
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.take_snapshot().filter_traces(ours)
                await hold(HELD, "held")
                await asyncio.sleep(0.2)
                gc.collect()
                after = tracemalloc.take_snapshot().filter_traces(ours)
            finally:
                tracemalloc.stop()
        finally:
            for client in clients:
                await client.disconnect()
    by_file = {
        str(Path(stat.traceback[0].filename).relative_to(ROOT)): stat.size_diff / HELD
        for stat in after.compare_to(before, "filename")
    }
    total = sum(by_file.values())
    assert by_file.get("server/auth/token_watch.py", 0) <= TOKEN_WATCH_BYTES, by_file
    assert total <= OUR_BYTES, sorted(by_file.items(), key=lambda kv: -kv[1])
