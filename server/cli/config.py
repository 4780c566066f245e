"""`netra-ws config`: the settings a server started from this shell would run with."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from rich.text import Text

from server.settings import Settings, startup_warnings

EPILOG = """\
**Examples**

`netra-ws config`: the table.

`netra-ws config --json | jq -r .WS_AUTH_MODE.value`

`WS_AUTH_MODE=jwt netra-ws config`: would the server start? Exit 2 says why not.

Secrets are masked: WS_JWT_SECRET, WS_JWT_PUBLIC_KEY and passwords inside URLs.
"""

MASK = "***"
Source = Literal["env", "default", "derived"]
JsonScalar = str | int | float | bool | None
_SECRET_QUERY_KEYS = frozenset({"password", "pass", "secret", "token"})


@dataclass(frozen=True)
class SettingRow:
    variable: str
    value: JsonScalar | list[str]
    source: Source
    # Shown instead of an empty value, e.g. for an id made anew by every process.
    note: str | None = None


def mask_url(url: str) -> str:
    """`postgresql://user:pw@host/db` -> `postgresql://user:***@host/db`; query secrets too."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_QUERY_KEYS for k, _ in pairs):
            masked = [(k, MASK if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs]
            query = urlencode(masked, safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # urlunsplit would also rewrite `sqlite:///x` as `sqlite:/x`
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def effective_settings(settings: Settings, environ: Mapping[str, str]) -> list[SettingRow]:
    """One row per setting, in the order settings.py declares them, secrets masked."""
    # pydantic-settings matches WS_* names case-insensitively.
    from_env = {name.upper() for name in environ}
    rows = []
    for field in Settings.model_fields:
        variable = f"WS_{field.upper()}"
        value = getattr(settings, field)
        source: Source = "env" if variable in from_env else "default"
        note = None
        if isinstance(value, SecretStr):
            value = MASK
        elif isinstance(value, str) and field.endswith("_url"):
            value = mask_url(value)
        if field == "deployment_id" and source == "default":
            value, note = None, "random per process"
        elif field == "transports" and source == "default" and settings.redis_url:
            source = "derived"
            note = "WS_REDIS_URL is set"
        rows.append(SettingRow(variable, value, source, note))
    return rows


def as_json(rows: list[SettingRow]) -> str:
    document = {
        row.variable: {"value": row.value, "source": row.source}
        | ({"note": row.note} if row.note else {})
        for row in rows
    }
    return json.dumps(document, indent=2)


def render(rows: list[SettingRow], console: Console) -> None:
    table = Table(title=Text("netra-ws settings"), title_justify="left")
    table.add_column("variable", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("source", no_wrap=True)
    for row in rows:
        if row.value is None:
            value = Text(row.note or "unset", style="dim italic")
        else:
            value = Text(_display(row.value), style="bold" if row.source == "env" else "")
            if row.note:
                value.append(f"  ({row.note})", style="dim")
        source_style = {"env": "cyan", "default": "dim", "derived": "magenta"}[row.source]
        table.add_row(row.variable, value, Text(row.source, style=source_style))
    console.print(table)
    from_env = sum(row.source == "env" for row in rows)
    console.print(
        Text(f"{from_env} from the environment, {len(rows) - from_env} defaults", style="dim")
    )


def _display(value: JsonScalar | list[str]) -> str:
    if isinstance(value, list):
        return ",".join(value) or "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config(
    json_output: bool = typer.Option(
        False, "--json", help="One JSON object: {WS_NAME: {value, source}}, secrets masked."
    ),
) -> None:
    """Print the effective settings: WS_* environment variables over the defaults.

    Each row shows where its value came from: env, default, or derived from another setting.
    Settings the server would refuse exit 2 with the same reason `serve` gives; settings it
    would warn about at start are printed to stderr the same way.
    """
    # Imported here: server.cli.main imports this module.
    from server.cli.main import load_settings

    settings = load_settings()
    for warning in startup_warnings(settings):
        typer.echo(f"netra-ws: warning: {warning}", err=True)
    rows = effective_settings(settings, os.environ)
    if json_output:
        typer.echo(as_json(rows))
    else:
        render(rows, Console(highlight=False))
