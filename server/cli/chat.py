"""`netra-ws chat`: the command line of the terminal chat in netra_client.terminal."""

from __future__ import annotations

import asyncio

import typer

EPILOG = """\
**Examples**

`netra-ws chat --user alice`: dev-login as alice on 127.0.0.1:8080.

`netra-ws chat https://chat.example.com --token "$TOKEN"`

`printf 'count to 5\\ncalculate 6*7\\n' | netra-ws chat --user bob`

**In the chat**: /new, /threads [TEXT], /open ID, /history, /more, /rename TITLE, /delete,
/regenerate, /stop, /help, /quit. A tool call that needs approval asks y/n. Ctrl-C stops a
running answer; at the prompt it quits, as does Ctrl-D. Piped input sends each line, waits for
its answer and exits at the end: 0, or 1 if an answer failed.
"""


def chat(
    url: str = typer.Argument(
        "http://127.0.0.1:8080", metavar="URL", help="The server to talk to."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        metavar="JWT",
        help="A bearer token (see `netra-ws token`). Default: sign in with dev-login.",
        show_default=False,
    ),
    user: str | None = typer.Option(
        None,
        "--user",
        "-u",
        metavar="ID",
        help="Dev-login as this user id (dev auth servers). Default: a generated one.",
        show_default=False,
    ),
    name: str | None = typer.Option(
        None, "--name", metavar="NAME", help="Display name for dev-login.", show_default=False
    ),
    timeout: float = typer.Option(
        120.0,
        "--timeout",
        min=1,
        metavar="SECONDS",
        help="Give up on an answer after this many seconds.",
    ),
) -> None:
    """Chat with a server from the terminal; answers stream in as they are written.

    Tool calls show as one dim line each, e.g. ⚙ calculator({"expression": "6*7"}) → 42.
    Drops and server restarts are ridden out: the client reconnects and the answer goes on
    or ends plainly.
    """
    from netra_client.terminal import run_chat

    if token is not None and (user is not None or name is not None):
        raise typer.BadParameter("--user and --name are for dev-login; a --token names its user")
    code = asyncio.run(run_chat(url, token=token, user=user, name=name, timeout_s=timeout))
    raise typer.Exit(code=code)
