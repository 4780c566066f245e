"""`netra-ws token`: mint a signed test token the way an identity provider would."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import jwt
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from server.auth.errors import AuthFailure
from server.auth.verifier import KIND_CLAIM, principal_from_claims
from server.settings import MIN_HS_SECRET_BYTES, Settings

EPILOG = """\
**Examples**

`TOKEN=$(netra-ws token -u alice)`: signed with WS_JWT_SECRET.

`netra-ws token -u ci-bot --kind service --scope chat:read --ttl 15m`

`netra-ws chat --token "$(netra-ws token -u alice --name Alice)"`

Only the token goes to stdout, so it can be captured; the summary goes to stderr.
`--kind dev` is refused unless WS_AUTH_MODE=dev, since a jwt-mode server refuses dev tokens.
"""

_TTL_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Kind(StrEnum):
    user = "user"
    dev = "dev"
    service = "service"


class Algorithm(StrEnum):
    HS256 = "HS256"
    HS384 = "HS384"
    HS512 = "HS512"


def parse_ttl(text: str) -> int:
    """Seconds from `3600`, `90s`, `30m`, `1h`, `2d`, `1w` or a sum such as `1h30m`."""
    text = text.strip().lower()
    if text.isdigit():
        seconds = int(text)
    elif text and _TTL_PART.sub("", text) == "":
        seconds = sum(int(n) * _UNIT_S[unit] for n, unit in _TTL_PART.findall(text))
    else:
        raise typer.BadParameter(
            "use seconds or a duration such as 90s, 30m, 1h, 2d, 1h30m", param_hint="'--ttl'"
        )
    if seconds <= 0:
        raise typer.BadParameter("must be longer than 0 seconds", param_hint="'--ttl'")
    return seconds


def mint(secret: str, algorithm: str, claims: dict[str, Any]) -> str:
    with warnings.catch_warnings():
        # Short secrets are reported by `token` itself, in the server's terms.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


def token(
    user: Annotated[
        str,
        typer.Option(
            "--user", "-u", metavar="ID", help="Subject (`sub`): the user id the server will see."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Display name (`name` claim). Default: the user id."),
    ] = None,
    kind: Annotated[Kind, typer.Option(help="Principal kind (`kind` claim).")] = Kind.user,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SCOPE",
            help="A scope of a service principal; repeat for more.",
            show_default=False,
        ),
    ] = None,
    ttl: Annotated[
        str, typer.Option(metavar="DURATION", help="Lifetime: seconds, or 90s, 30m, 1h, 2d, 1h30m.")
    ] = "1h",
    secret: Annotated[
        str | None,
        typer.Option(metavar="SECRET", help="HS signing secret. Default: WS_JWT_SECRET."),
    ] = None,
    algorithm: Annotated[Algorithm, typer.Option(help="Signing algorithm.")] = Algorithm.HS256,
    issuer: Annotated[
        str | None, typer.Option(metavar="ISS", help="`iss` claim. Default: WS_JWT_ISSUER.")
    ] = None,
    audience: Annotated[
        str | None, typer.Option(metavar="AUD", help="`aud` claim. Default: WS_JWT_AUDIENCE.")
    ] = None,
) -> None:
    """Mint a signed token for testing, as the server's JWT verifier expects it.

    Signs `sub`, `name`, `kind`, `iat` and `exp` (plus `scope`, `iss`, `aud` when given)
    with an HS secret shared with the server.
    """
    # Imported here: server.cli.main imports this module.
    from server.cli.main import load_settings

    # --secret stands in for WS_JWT_SECRET, so a shell set up for jwt mode need not have it.
    settings = load_settings(jwt_secret=secret)
    err = Console(stderr=True, highlight=False)
    seconds = parse_ttl(ttl)
    scopes = scope or []
    if scopes and kind is not Kind.service:
        _refuse(err, "--scope is for --kind service only")
    if kind is Kind.dev and settings.auth_mode != "dev":
        _refuse(
            err,
            "refusing to mint a dev token: WS_AUTH_MODE is jwt, and a jwt-mode server refuses "
            "dev tokens (forbidden). Use --kind user or --kind service.",
        )
    key = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    if not key:
        _refuse(err, _missing_secret(settings))
    now = datetime.now(UTC).replace(microsecond=0)
    expires_at = now + timedelta(seconds=seconds)
    claims: dict[str, Any] = {"sub": user, "name": name or user, KIND_CLAIM: kind.value}
    if scopes:
        claims["scope"] = " ".join(scopes)
    if iss := issuer if issuer is not None else settings.jwt_issuer:
        claims["iss"] = iss
    if aud := audience if audience is not None else settings.jwt_audience:
        claims["aud"] = aud
    claims |= {"iat": int(now.timestamp()), "exp": int(expires_at.timestamp())}
    try:
        # The verifier's own reading of the claims: a token it would refuse is never printed.
        principal_from_claims(claims)
    except AuthFailure as exc:
        _refuse(err, f"the server would refuse these claims: {exc.reason}")
    typer.echo(mint(key, algorithm.value, claims))
    _summary(err, claims, expires_at, seconds, algorithm.value)
    for warning in _warnings(settings, key, algorithm.value, explicit=secret is not None):
        err.print(f"[yellow]note:[/] {warning}")


def _missing_secret(settings: Settings) -> str:
    if settings.auth_mode == "dev":
        return (
            "no signing secret: WS_JWT_SECRET is unset. A dev-mode server without it signs with "
            "a random secret made per process, which no minted token can match: use "
            "`POST /api/auth/dev-login` (or `netra-ws chat --user NAME`), or set WS_JWT_SECRET "
            "for the server and here. --secret names one explicitly."
        )
    return "no signing secret: set WS_JWT_SECRET or pass --secret"


def _warnings(settings: Settings, key: str, algorithm: str, *, explicit: bool) -> list[str]:
    notes = []
    accepted = ["HS256"] if settings.auth_mode == "dev" else list(settings.jwt_algorithms)
    if algorithm not in accepted:
        notes.append(
            f"a server with these settings accepts {', '.join(accepted)} only, not {algorithm}"
        )
    # A short secret passed load_settings only in dev mode; say what jwt mode would make of it.
    if explicit and len(key.encode()) < MIN_HS_SECRET_BYTES:
        notes.append(
            f"the secret is shorter than {MIN_HS_SECRET_BYTES} bytes; "
            "a jwt-mode server refuses to start with it"
        )
    return notes


def _summary(
    err: Console, claims: dict[str, Any], expires_at: datetime, seconds: int, algorithm: str
) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    same = claims["name"] == claims["sub"]
    grid.add_row("subject", claims["sub"] if same else f"{claims['sub']} ({claims['name']})")
    grid.add_row("kind", claims[KIND_CLAIM])
    if "scope" in claims:
        grid.add_row("scopes", claims["scope"])
    grid.add_row("expires", f"{expires_at:%Y-%m-%d %H:%M:%S}Z (in {_duration(seconds)})")
    for claim, label in (("iss", "issuer"), ("aud", "audience")):
        if claim in claims:
            grid.add_row(label, str(claims[claim]))
    grid.add_row("signed", algorithm)
    err.print(grid)


def _duration(seconds: int) -> str:
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_S[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _refuse(err: Console, message: str) -> NoReturn:
    err.print(Text.assemble(("netra-ws token: ", "bold red"), message))
    raise typer.Exit(code=2)
