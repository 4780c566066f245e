"""What an override depends on in python-socketio or python-engineio, pinned by a hash.

Each override module declares `UPSTREAM`, a tuple of `Upstream`: the function (or class, or
table) it replaces or relies on, and the sha256 of that object in the pinned version.
tests/server/realtime/overrides/test_upstream.py recomputes every hash from the installed
libraries, so a release that touches one fails with the override to review.

After reviewing an override against a new release, print the new hashes with
`python -m server.realtime.overrides.upstream`.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any, Literal

# What of the object is hashed: its source text, its call signature (where only the way
# we call it matters), or the sorted keys of a dict (a driver table).
Part = Literal["source", "signature", "keys"]

_PACKAGE = "server.realtime.overrides"
_DISTRIBUTIONS = {
    "engineio": "python-engineio",
    "socketio": "python-socketio",
    "aiohttp": "aiohttp",
}


@dataclass(frozen=True)
class Upstream:
    module: str  # "engineio.async_socket"
    qualname: str  # "AsyncSocket._websocket_handler"
    sha256: str
    part: Part = "source"

    @property
    def distribution(self) -> str:
        return _DISTRIBUTIONS[self.module.split(".")[0]]

    def resolve(self) -> Any:
        """The object in the installed library; AttributeError or ImportError if gone."""
        obj: Any = importlib.import_module(self.module)
        for name in self.qualname.split("."):
            obj = getattr(obj, name)
        return obj

    def current(self) -> str:
        """The hash of the object as installed now."""
        obj = self.resolve()
        if self.part == "source":
            text = inspect.getsource(obj)
        elif self.part == "signature":
            text = str(inspect.signature(obj))
        else:
            text = "\n".join(sorted(obj))
        return hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        what = {"source": "", "signature": " (its signature)", "keys": " (its keys)"}[self.part]
        return f"{self.module}.{self.qualname}{what}"


def override_modules() -> list[ModuleType]:
    """Every module of this package but this one: each is one override."""
    package = importlib.import_module(_PACKAGE)
    return [
        importlib.import_module(f"{_PACKAGE}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name != "upstream"
    ]


def declared(module: ModuleType) -> tuple[Upstream, ...]:
    upstream: tuple[Upstream, ...] = getattr(module, "UPSTREAM", ())
    return upstream


def main() -> None:
    for module in override_modules():
        print(module.__name__)
        for dep in declared(module):
            version = metadata.version(dep.distribution)
            try:
                now = dep.current()
            except (AttributeError, ImportError) as exc:
                now = f"gone in {version}: {exc}"
            mark = "" if now == dep.sha256 else "   <- changed"
            print(f"  {dep.describe()}  {now}{mark}")


if __name__ == "__main__":
    main()
