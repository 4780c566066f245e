"""Prints the JSON Schema of every event (the /api/ws-schema document), for `make types`."""

from __future__ import annotations

import json

from schemas.json_schema import build_event_schema


def main() -> None:
    print(json.dumps(build_event_schema(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
