"""The committed client protocol types match what the Pydantic models generate today."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from schemas.json_schema import build_event_schema
from schemas.registry import Registry

CLIENT_DIR = Path(__file__).resolve().parents[2] / "client_js"
GENERATED = CLIENT_DIR / "src" / "generated"
STALE = "client_js/src/generated is stale: run `make types` and commit the result"


def require_generator() -> str:
    node = shutil.which("node")
    installed = (CLIENT_DIR / "node_modules" / "json-schema-to-typescript").is_dir()
    if node and installed:
        return node
    reason = "node or client_js/node_modules missing (run `make client`, which installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def generate_typescript(schema_json: str, tmp_path: Path) -> str:
    """What client_js/scripts/gen-types.mjs makes of a /api/ws-schema document."""
    node = require_generator()
    schema = tmp_path / "ws-schema.json"
    schema.write_text(schema_json)
    out = tmp_path / "protocol.ts"
    done = subprocess.run(
        [node, str(CLIENT_DIR / "scripts" / "gen-types.mjs"), str(schema), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out.read_text()


def test_schema_json_is_current() -> None:
    # `python -m schemas.export` prints exactly this (print adds the newline).
    fresh = json.dumps(build_event_schema(Registry()), indent=2, sort_keys=True) + "\n"
    committed = (GENERATED / "ws-schema.json").read_text()
    assert committed == fresh, STALE


def test_protocol_ts_is_current(tmp_path: Path) -> None:
    fresh = json.dumps(build_event_schema(Registry()), indent=2, sort_keys=True) + "\n"
    assert (GENERATED / "protocol.ts").read_text() == generate_typescript(fresh, tmp_path), STALE
