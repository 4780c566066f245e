"""A real server on a loopback port, and real Socket.IO clients connected to it."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from aiohttp import web

from server.app import create_app
from server.settings import Settings

CONNECT_TIMEOUT_S = 5.0


@dataclass
class LiveServer:
    settings: Settings
    app: web.Application
    url: str

    async def dev_login(self, user_id: str = "alice", **extra: Any) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/api/auth/dev-login", json={"user_id": user_id, **extra}) as r,
        ):
            assert r.status == 200, await r.text()
            body: dict[str, Any] = await r.json()
            return body

    async def token(self, user_id: str = "alice") -> str:
        return str((await self.dev_login(user_id))["token"])

    async def get_json(self, path: str) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}{path}") as r:
            return r.status, await r.json()

    async def get_text(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}{path}") as r:
            return r.status, await r.text()


@dataclass
class Recorder:
    """Every event a client receives, per namespace, in arrival order."""

    events: dict[str, list[tuple[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, namespace: str, name: str) -> list[Any]:
        return [data for event, data in self.events[namespace] if event == name]

    async def wait_for(
        self, namespace: str, name: str, count: int = 1, within_s: float = 5.0
    ) -> list[Any]:
        async def until() -> None:
            while len(self.of(namespace, name)) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(until(), within_s)
        return self.of(namespace, name)


def recording_client(namespaces: list[str]) -> tuple[socketio.AsyncClient, Recorder]:
    client = socketio.AsyncClient(reconnection=False)
    recorder = Recorder()
    for namespace in namespaces:

        def make(ns: str) -> Any:
            async def on_any(event: str, *args: Any) -> None:
                recorder.events[ns].append((event, args[0] if len(args) == 1 else list(args)))
                recorder.arrived.set()

            return on_any

        client.on("*", make(namespace), namespace=namespace)
    return client, recorder


async def connect(
    server: LiveServer,
    namespaces: list[str],
    auth: Any,
    headers: dict[str, str] | None = None,
) -> tuple[socketio.AsyncClient, Recorder]:
    client, recorder = recording_client(namespaces)
    await client.connect(
        server.url,
        namespaces=namespaces,
        auth=auth,
        headers=headers or {},
        transports=["websocket"],
        wait_timeout=CONNECT_TIMEOUT_S,
    )
    return client, recorder


async def refusal(server: LiveServer, namespace: str, auth: Any, **kw: Any) -> dict[str, Any]:
    """Connects expecting a refusal; returns what the client's connect_error carried."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", lambda data: errors.append(data), namespace=namespace)
    try:
        await client.connect(
            server.url,
            namespaces=[namespace],
            auth=auth,
            transports=["websocket"],
            wait_timeout=CONNECT_TIMEOUT_S,
            **kw,
        )
    except socketio.exceptions.ConnectionError:
        pass
    else:
        await client.disconnect()
        raise AssertionError("connect was accepted")
    finally:
        await client.disconnect()
    assert len(errors) == 1, errors
    result: dict[str, Any] = errors[0]
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def live_server(settings: Settings, port: int = 0) -> AsyncIterator[LiveServer]:
    """The real app on 127.0.0.1; a fixed `port` lets a test restart it where clients expect."""
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield LiveServer(settings=settings, app=app, url=f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


TERMINAL_EVENTS = ("agent:run_completed", "agent:run_failed", "agent:run_stopped")


def run_events(recorder: Recorder, run_id: str) -> list[tuple[str, Any]]:
    """The /chat events of one run, in arrival order."""
    return [
        (name, data)
        for name, data in recorder.events["/chat"]
        if isinstance(data, dict) and data.get("run_id") == run_id
    ]


async def wait_run_end(
    recorder: Recorder, run_id: str, within_s: float = 20.0
) -> tuple[str, dict[str, Any]]:
    """Waits for the run's terminal event; returns (event name, payload)."""

    async def until() -> tuple[str, dict[str, Any]]:
        seen = 0  # events already looked at: each wake-up reads only what is new
        while True:
            events = recorder.events["/chat"]
            for name, data in events[seen:]:
                ours = isinstance(data, dict) and data.get("run_id") == run_id
                if ours and name in TERMINAL_EVENTS:
                    return name, data
            seen = len(events)
            recorder.arrived.clear()
            await recorder.arrived.wait()

    return await asyncio.wait_for(until(), within_s)


def stream_seqs(recorder: Recorder) -> list[int]:
    return [data["seq"] for _, data in recorder.events["/chat"] if "seq" in data]


def deltas_text(recorder: Recorder, run_id: str) -> str:
    return "".join(d["text"] for n, d in run_events(recorder, run_id) if n == "agent:delta")


async def send_chat(client: socketio.AsyncClient, text: str, **extra: Any) -> dict[str, Any]:
    """Sends a chat message and returns the ack's data, asserting it was accepted."""
    payload = {"client_msg_id": str(uuid.uuid4()), "text": text, **extra}
    ack: dict[str, Any] = await client.call("chat:send", payload, namespace="/chat")
    assert ack["ok"] is True, ack
    data: dict[str, Any] = ack["data"]
    return data


def counted(n: int) -> str:
    """What the demo model answers to `count to n`."""
    return " ".join(str(i) for i in range(1, n + 1))


async def readyz_becomes(server: LiveServer, status: int, within_s: float = 10.0) -> None:
    """Waits until GET /readyz answers `status`, as a load balancer's probe would."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        got, _ = await server.get_json("/readyz")
        if got == status:
            return
        assert loop.time() < deadline, f"/readyz stayed {got}, wanted {status}"
        await asyncio.sleep(0.1)


async def until(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    """Wait until `condition()` holds, polled every 50 ms; fail after `within_s`."""
    for _ in range(int(within_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within_s} s")
