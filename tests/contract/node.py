"""Runs a Node socket.io-client script against a live server and returns what it observed."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
TIMEOUT_S = 60.0


def require_node() -> str:
    node = shutil.which("node")
    installed = (NODE_DIR / "node_modules" / "socket.io-client").is_dir()
    if node and installed:
        return node
    reason = "node or tests/node/node_modules missing (run `make test`, which installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


async def run_node_script(script: str, *args: str) -> dict[str, Any]:
    node = require_node()
    process = await asyncio.create_subprocess_exec(
        node,
        str(NODE_DIR / script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT_S)
    assert process.returncode == 0, stderr.decode()
    result: dict[str, Any] = orjson.loads(stdout.splitlines()[-1])
    return result
