"""The `netra-ws` command."""

from __future__ import annotations

import asyncio

import typer
from aiohttp import web
from loguru import logger
from pydantic import ValidationError

from server import __version__
from server.cli import chat as cli_chat
from server.cli import config as cli_config
from server.cli import token as cli_token
from server.log_setup import configure_logging
from server.settings import Settings, SettingsError, startup_warnings

cli = typer.Typer(
    help="netra-ws: Socket.IO backbone for AI-agent chat.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    epilog="Run `netra-ws COMMAND --help` for a command's options and examples.",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"netra-ws {__version__}")
        raise typer.Exit()


@cli.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    pass


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed: about 1.1x the acked round trips (docs/performance.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def load_settings(**overrides: object) -> Settings:
    """Settings from WS_* variables; a bad combination exits with the reason, not a traceback."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            refused = error.get("ctx", {}).get("error")
            if isinstance(refused, SettingsError):
                # Its reasons name their variables already.
                lines += [f"  {problem}" for problem in refused.problems]
            else:
                lines.append(f"  {'.'.join(map(str, error['loc'])) or 'settings'}: {error['msg']}")
        typer.echo("netra-ws: refusing to start:\n" + "\n".join(lines), err=True)
        raise typer.Exit(code=2) from None


@cli.command(
    epilog="**Examples**\n\n`netra-ws serve --port 9000`\n\n"
    "`WS_AUTH_MODE=jwt WS_JWT_SECRET=... netra-ws serve`: "
    "`netra-ws config` first shows what it will run with."
)
def serve(
    host: str | None = typer.Option(None, help="Bind address (default WS_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default WS_PORT, 8080)."),
) -> None:
    """Run the server in the foreground until Ctrl-C."""
    from server.agent.models import AgentConfigError
    from server.app import create_app
    from server.gc_tuning import tune_for_serving
    from server.realtime.assembly import ExtensionError

    settings = load_settings(host=host, port=port)
    configure_logging(settings.log_level, settings.log_json)
    for warning in startup_warnings(settings):
        logger.warning("{}", warning)
    try:
        app = create_app(settings)
    except (AgentConfigError, ExtensionError) as exc:
        typer.echo(f"netra-ws: refusing to start: {exc}", err=True)
        raise typer.Exit(code=2) from None
    tune_for_serving()
    web.run_app(
        app,
        loop=_event_loop(),
        host=settings.host,
        port=settings.port,
        print=lambda _: None,
        access_log=None,
        # Open websockets are closed this long after the answers were stored.
        shutdown_timeout=1,
    )


@cli.command(
    epilog="**Examples**\n\n`netra-ws smoke`: against a throwaway server.\n\n"
    "`netra-ws smoke http://127.0.0.1:8080`: against a running one."
)
def smoke(
    url: str | None = typer.Argument(
        None, help="Server to check, e.g. http://127.0.0.1:8080 (default: start a throwaway one)."
    ),
) -> None:
    """Check a server end to end through the Python client; exit 1 on any failure."""
    import asyncio

    from rich.console import Console

    from netra_client.smoke import render, run_smoke

    if url is None:
        # The in-process server's info lines would interleave with the table.
        configure_logging("WARNING")
    report = asyncio.run(run_smoke(url))
    render(report, Console())
    if not report.ok:
        raise typer.Exit(code=1)


@cli.command()
def version() -> None:
    """Print the server version."""
    typer.echo(__version__)


cli.command(epilog=cli_token.EPILOG)(cli_token.token)
cli.command(epilog=cli_config.EPILOG)(cli_config.config)
cli.command(epilog=cli_chat.EPILOG)(cli_chat.chat)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
