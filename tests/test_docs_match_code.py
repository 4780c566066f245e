"""The reference docs and the code name the same settings and events."""

from __future__ import annotations

import re
from pathlib import Path

from schemas.registry import EVENTS
from server.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
# `WS_` alone (as in "the `WS_` prefix") is not a variable.
_VARIABLE = re.compile(r"\bWS_[A-Z][A-Z0-9_]*\b")


def _settings_variables() -> set[str]:
    return {f"WS_{name.upper()}" for name in Settings.model_fields}


def test_every_setting_is_documented() -> None:
    documented = set(_VARIABLE.findall((DOCS / "configuration.md").read_text()))
    missing = sorted(_settings_variables() - documented)
    assert not missing, f"docs/configuration.md lacks {missing}"


def test_every_documented_variable_is_a_setting() -> None:
    documented = set(_VARIABLE.findall((DOCS / "configuration.md").read_text()))
    unknown = sorted(documented - _settings_variables())
    assert not unknown, f"docs/configuration.md names {unknown}, which server/settings.py lacks"


def test_every_event_is_in_the_protocol() -> None:
    protocol = (DOCS / "protocol.md").read_text()
    missing = [spec.name for spec in EVENTS if f"`{spec.name}`" not in protocol]
    assert not missing, f"docs/protocol.md lacks {missing}"
