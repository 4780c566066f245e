"""Each override pins what it depends on in python-socketio and python-engineio; a release
that changes any of it fails here, naming the override to review. And no override of a
library internal hides outside server/realtime/overrides/."""

from __future__ import annotations

import ast
import inspect
from importlib import metadata
from pathlib import Path
from types import ModuleType

import engineio
import pytest
import socketio
from engineio.async_socket import AsyncSocket
from socketio.packet import Packet

from server.realtime.overrides.upstream import Upstream, declared, override_modules

ROOT = Path(__file__).resolve().parents[4]
OVERRIDES = ROOT / "server" / "realtime" / "overrides"
SCANNED = ("server", "namespaces")
# The classes whose private methods only an override may define (or assign).
UPSTREAM_CLASSES = (socketio.AsyncServer, engineio.AsyncServer, AsyncSocket, Packet)


def _path(module: ModuleType) -> str:
    return str(Path(inspect.getfile(module)).resolve().relative_to(ROOT))


DEPENDENCIES = [
    pytest.param(module, dep, id=f"{module.__name__.rsplit('.', 1)[-1]}:{dep.qualname}")
    for module in override_modules()
    for dep in declared(module)
]


@pytest.mark.parametrize(("module", "dep"), DEPENDENCIES)
def test_upstream_is_what_the_override_was_written_against(
    module: ModuleType, dep: Upstream
) -> None:
    library = f"{dep.distribution} {metadata.version(dep.distribution)}"
    review = f"review {_path(module)}, then update its hash"
    try:
        now = dep.current()
    except (AttributeError, ImportError) as exc:
        pytest.fail(f"{library} no longer has {dep.describe()} ({exc}): {review}")
    assert now == dep.sha256, (
        f"{library} changed {dep.describe()}: {review} to {now}"
        " (python -m server.realtime.overrides.upstream prints them all)"
    )


def test_every_override_declares_what_it_depends_on() -> None:
    modules = override_modules()
    assert len(modules) >= 10, "the scan must see the overrides"
    bare = [_path(module) for module in modules if not declared(module)]
    assert bare == [], "each override names the upstream functions it replaces in UPSTREAM"
    for module in modules:
        assert all(isinstance(dep, Upstream) for dep in declared(module)), _path(module)
        assert "Replaces" in (module.__doc__ or ""), (
            f"{_path(module)}: its docstring says which upstream function it replaces"
        )


def _private_upstream_names() -> set[str]:
    return {
        name
        for cls in UPSTREAM_CLASSES
        for name in dir(cls)
        if name.startswith("_") and not name.startswith("__")
    }


def _overrides_in(path: Path, private: set[str]) -> list[str]:
    """Methods defined, or attributes assigned, under a private upstream method's name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ClassDef):
            found += [
                f"{node.name}.{item.name} (line {item.lineno})"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name in private
            ]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [
                f"{ast.unparse(target)} = ... (line {node.lineno})"
                for target in targets
                if isinstance(target, ast.Attribute) and target.attr in private
            ]
    return found


def test_no_override_of_a_library_internal_outside_the_overrides_package() -> None:
    private = _private_upstream_names()
    assert {"_trigger_event", "_handle_connect", "_websocket_handler"} <= private
    offenders = {}
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(OVERRIDES):
                continue
            if found := _overrides_in(path, private):
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}, (
        "a private method of python-socketio/python-engineio overridden outside "
        "server/realtime/overrides/: move it there, one module per upstream function"
    )
    # The scan sees what it looks for.
    assert _overrides_in(OVERRIDES / "handle_connect.py", private)
