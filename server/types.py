"""Type aliases shared across the server package."""

from __future__ import annotations

from typing import Any

# The WSGI-style environ python-socketio hands to connect handlers.
Environ = dict[str, Any]
# A JSON object as it arrives from a client, before validation.
JsonObject = dict[str, Any]
Sid = str
