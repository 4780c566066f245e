"""Prints the JSON Schema of every event (the /api/ws-schema document), for `make types`.

`python -m schemas.export` covers the built-in namespaces; each extra argument names a
`NamespaceSpec` to add (`examples.presence.schemas:PRESENCE_NAMESPACE`), for an application
that generates its client's types with its own namespaces in.
"""

from __future__ import annotations

import importlib
import json
import sys

from schemas.events import NamespaceSpec
from schemas.json_schema import build_event_schema
from schemas.registry import Registry


def main(argv: list[str] | None = None) -> None:
    registry = Registry()
    for path in sys.argv[1:] if argv is None else argv:
        module, _, attribute = path.partition(":")
        spec = getattr(importlib.import_module(module), attribute)
        if not isinstance(spec, NamespaceSpec):
            raise SystemExit(f"{path} is not a NamespaceSpec")
        registry.include(spec)
    print(json.dumps(build_event_schema(registry), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
