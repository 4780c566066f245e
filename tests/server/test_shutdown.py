"""SIGTERM on a real process: clients are told, answers end stored, nothing is lost."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.harness import counted, free_port
from tests.processes import ServerProcess, server_env, serving

SECRET = "shutdown-test-secret-long-enough-32b"
NS = "/chat"


def node(tmp_path: Path, port: int, **env: str) -> AbstractAsyncContextManager[ServerProcess]:
    """A node on `port` over the test's database; a restart on the same port finds its data."""
    variables = server_env(
        WS_DATABASE_URL=f"sqlite:///{tmp_path}/netra.db",
        WS_JWT_SECRET=SECRET,
        WS_LOG_LEVEL="WARNING",
        WS_CLIENT_DIST=str(tmp_path / "none"),
        **env,
    )
    return serving(variables, port=port)


async def dev_token(url: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/auth/dev-login", json={"user_id": "alice"}) as response,
    ):
        body: dict[str, Any] = await response.json()
        return str(body["token"])


async def test_sigterm_mid_answer_stores_it_and_clients_come_back(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    events: list[tuple[str, Any]] = []
    arrived = asyncio.Event()
    client = socketio.AsyncClient(
        reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.5
    )

    @client.on("*", namespace=NS)  # type: ignore[untyped-decorator]
    async def on_chat(name: str, data: Any) -> None:
        events.append((name, data))
        arrived.set()

    @client.on("system:shutdown", namespace="/system")  # type: ignore[untyped-decorator]
    async def on_shutdown(data: Any) -> None:
        events.append(("system:shutdown", data))
        arrived.set()

    async def until(name: str, count: int = 1) -> None:
        while sum(1 for n, _ in events if n == name) < count:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), 15)

    async with node(tmp_path, port, WS_DEMO_TOKENS_PER_S="100", WS_SHUTDOWN_GRACE_S="1") as first:
        token = await dev_token(url)
        await client.connect(url, namespaces=[NS, "/system"], auth={"token": token})
        await until("chat:ready")
        ack = await client.call(
            "chat:send",
            {"client_msg_id": "6d1c8f8e-0c43-4f57-9a57-5e2f6a1c3b21", "text": "count to 3000"},
            namespace=NS,
        )
        thread_id, run_id = ack["data"]["thread_id"], ack["data"]["run_id"]
        await until("agent:delta", 3)
        first.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.process.wait(), 20) == 0

    names = [n for n, _ in events]
    assert "system:shutdown" in names
    # The answer ran on through the grace period, then was stopped and told as such.
    assert names.index("system:shutdown") < names.index("agent:run_stopped")
    streamed = "".join(d["text"] for n, d in events if n == "agent:delta")
    assert counted(3000).startswith(streamed)

    async with node(tmp_path, port):
        # The client reconnects by itself; the history it finds holds the stopped answer.
        await until("chat:ready", 2)
        history = await client.call("chat:history", {"thread_id": thread_id}, namespace=NS)
        messages = history["data"]["messages"]
        assert [(m["role"], m["status"]) for m in messages] == [
            ("user", "complete"),
            ("assistant", "stopped"),
        ]
        assert messages[1]["run_id"] == run_id
        assert messages[1]["text"] == streamed
        again = await client.call(
            "chat:send",
            {"client_msg_id": "3f2b9a1e-8c7d-4e6f-b5a4-9d8c7b6a5f43", "text": "count to 3"},
            namespace=NS,
        )
        assert again["ok"] is True
        await until("agent:run_completed")
        await client.disconnect()


async def test_answers_that_finish_within_the_grace_period_complete(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with node(tmp_path, port, WS_DEMO_TOKENS_PER_S="100", WS_SHUTDOWN_GRACE_S="5") as first:
        client = socketio.AsyncClient(reconnection=False)
        done = asyncio.Event()
        client.on("agent:run_completed", lambda data: done.set(), namespace=NS)
        await client.connect(url, namespaces=[NS], auth={"token": await dev_token(url)})
        ack = await client.call(
            "chat:send",
            {"client_msg_id": "0b6f2f0e-2a55-4d2a-8b8a-2f1f0f3e4d5c", "text": "count to 100"},
            namespace=NS,
        )
        await asyncio.sleep(0.2)
        first.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(done.wait(), 5)
        assert await asyncio.wait_for(first.process.wait(), 20) == 0
    async with node(tmp_path, port):
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(url, namespaces=[NS], auth={"token": await dev_token(url)})
        history = await client.call(
            "chat:history", {"thread_id": ack["data"]["thread_id"]}, namespace=NS
        )
        answer = history["data"]["messages"][-1]
        assert (answer["status"], answer["text"]) == ("complete", counted(100))
        await client.disconnect()
