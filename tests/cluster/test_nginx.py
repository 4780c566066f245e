"""deploy/nginx.conf in front of two nodes: discovery, login and chat through a real nginx."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from server.app_keys import SIO
from tests.cluster_nodes import NodeFactory
from tests.harness import (
    CONNECT_TIMEOUT_S,
    LiveServer,
    Recorder,
    counted,
    deltas_text,
    free_port,
    recording_client,
    send_chat,
    wait_run_end,
)
from tests.processes import answers

NS = "/chat"
ROOT = Path(__file__).resolve().parents[2]
RENDER = ROOT / "scripts" / "render-nginx.sh"
# Debian installs nginx in /usr/sbin, which is often not on an unprivileged user's PATH.
DEBIAN_NGINX = Path("/usr/sbin/nginx")
START_TIMEOUT_S = 10.0
CLIENTS = 6


def require_nginx() -> str:
    found = shutil.which("nginx")
    if found:
        return found
    if os.access(DEBIAN_NGINX, os.X_OK):
        return str(DEBIAN_NGINX)
    reason = "nginx not found (install the nginx package; `make system-deps` does)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def main_config(directory: Path, site: Path) -> str:
    """A minimal nginx.conf around the rendered site file: everything nginx writes stays in
    `directory`."""
    lines = [
        # As root the workers would otherwise run as nobody, who cannot enter pytest's tmp.
        "user root;" if os.geteuid() == 0 else "",
        "worker_processes 1;",
        f"pid {directory}/nginx.pid;",
        f"error_log {directory}/error.log info;",
        "events { worker_connections 256; }",
        "http {",
        f"    access_log {directory}/access.log;",
        *(
            f"    {kind}_temp_path {directory}/{kind}_temp;"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        f"    include {site};",
        "}",
    ]
    return "\n".join(lines) + "\n"


def prepare(directory: Path, nodes: list[str]) -> tuple[int, Path]:
    """Renders deploy/nginx.conf for `nodes` on a free loopback port, as the shipped script
    does, inside a minimal nginx.conf; returns the port and that nginx.conf."""
    directory.mkdir()
    port = free_port()
    rendered = subprocess.run(
        ["bash", str(RENDER), f"127.0.0.1:{port}", *nodes],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    site = directory / "netra-ws.conf"
    site.write_text(rendered)
    config = directory / "nginx.conf"
    config.write_text(main_config(directory, site))
    return port, config


@asynccontextmanager
async def running_nginx(directory: Path, nodes: list[str]) -> AsyncIterator[str]:
    """nginx in front of `nodes` on a free loopback port; yields its URL."""
    binary = require_nginx()
    port, config = await asyncio.to_thread(prepare, directory, nodes)
    error_log = directory / "error.log"
    process = await asyncio.create_subprocess_exec(
        binary,
        *("-p", str(directory), "-c", str(config), "-e", str(error_log)),
        *("-g", "daemon off;"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_serving(process, url, error_log)
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_until_serving(
    process: asyncio.subprocess.Process, url: str, error_log: Path
) -> None:
    if await answers(process, f"{url}/healthz", START_TIMEOUT_S):
        return
    if process.returncode is not None:
        raise RuntimeError(f"nginx exited with {process.returncode}: {_tail(error_log)}")
    raise TimeoutError(f"nginx did not serve {url}/healthz: {_tail(error_log)}")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else "(no error log)"


async def _get_json(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def _connect(
    url: str, path: str, token: str, origin: str
) -> tuple[socketio.AsyncClient, Recorder]:
    """A websocket-only Socket.IO client through nginx, with a browser's Origin header."""
    client, recorder = recording_client([NS])
    await client.connect(
        url,
        namespaces=[NS],
        auth={"token": token},
        headers={"Origin": origin},
        transports=["websocket"],
        socketio_path=path,
        wait_timeout=CONNECT_TIMEOUT_S,
    )
    await recorder.wait_for(NS, "chat:ready")
    return client, recorder


def _node_of(client: socketio.AsyncClient, nodes: tuple[LiveServer, ...]) -> int:
    """Which node holds this client's Engine.IO session."""
    [index] = [i for i, node in enumerate(nodes) if client.eio.sid in node.app[SIO].eio.sockets]
    return index


async def test_chat_through_nginx_lands_on_both_nodes(
    make_node: NodeFactory, tmp_path: Path
) -> None:
    async with make_node() as first, make_node() as second:
        nodes = (first, second)
        upstreams = [node.url.removeprefix("http://") for node in nodes]
        async with running_nginx(tmp_path / "nginx", upstreams) as url:
            async with aiohttp.ClientSession() as http:
                status, config = await _get_json(http, f"{url}/api/ws-config")
                assert status == 200
                assert config["transports"] == ["websocket"]
                status, ready = await _get_json(http, f"{url}/readyz")
                assert status == 200
                assert set(ready["checks"]) == {"redis", "database"}
                async with http.post(
                    f"{url}/api/auth/dev-login", json={"user_id": "alice"}
                ) as response:
                    assert response.status == 200
                    token = str((await response.json())["token"])

            clients: list[tuple[socketio.AsyncClient, Recorder]] = []
            try:
                for _ in range(CLIENTS):
                    clients.append(await _connect(url, config["path"], token, origin=url))
                # Round robin: the tabs of one user are spread over both nodes.
                landed = {_node_of(client, nodes) for client, _ in clients}
                assert landed == {0, 1}

                sender, _ = clients[0]
                sent = await send_chat(sender, "count to 20")
                for _, events in clients:
                    name, done = await wait_run_end(events, sent["run_id"])
                    assert name == "agent:run_completed"
                    assert done["message"]["text"] == counted(20)
                    assert deltas_text(events, sent["run_id"]) == counted(20)
            finally:
                for client, _ in clients:
                    await client.disconnect()


def test_operations_doc_shows_the_rendered_config() -> None:
    """docs/operations.md shows deploy/nginx.conf as scripts/render-nginx.sh renders it."""
    rendered = subprocess.run(
        ["bash", str(RENDER)], check=True, capture_output=True, text=True
    ).stdout
    doc = (ROOT / "docs" / "operations.md").read_text()
    shown = doc.split("```nginx\n", 1)[1].split("```", 1)[0]
    assert shown == rendered
