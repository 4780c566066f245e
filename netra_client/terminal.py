"""`netra-ws chat`: a terminal chat on `NetraClient` that streams answers as they arrive.

One turn at a time: a line is sent, its answer streams, the next line waits (lines typed or
piped meanwhile are kept in order; terminal_turn.py). `/stop` or Ctrl-C stops the answer; a
tool call that needs approval asks y/n; Ctrl-C at the prompt or end of input quits.
Reconnecting is the client's job: a recovered stream just goes on, a reset is reconciled from
the stored history.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import deque

from rich.text import Text

from netra_client.chat_stream import AnswerStream, Turn
from netra_client.chat_view import HELP
from netra_client.client import NetraClient
from netra_client.connection import TokenProvider
from netra_client.errors import NetraError
from netra_client.http import dev_login, discover
from netra_client.terminal_commands import ThreadCommands
from netra_client.terminal_io import Input, LineReader, Screen, Signal
from netra_client.terminal_turn import POLL_S, TurnRunner
from schemas.chat import ChatReady
from schemas.system import SystemNotice, SystemShutdown, SystemTokenExpiring

PROMPT = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "
_NOTICE_STYLES = {"info": "dim", "warning": "yellow", "error": "bold red"}


class TerminalChat:
    def __init__(self, url: str, token: str | TokenProvider, *, timeout_s: float) -> None:
        self.screen = Screen()
        self.client = NetraClient(url, token, on_reset=self._on_reset)
        self.answers = AnswerStream(self.client, self.screen)
        self._token = token
        self._inbox: asyncio.Queue[Input] = asyncio.Queue()
        self._backlog: deque[Input] = deque()
        self.turns = TurnRunner(
            self.client, self.screen, self.answers, self._inbox, self._backlog, timeout_s
        )
        self.thread_commands = ThreadCommands(self.client, self.screen, self.answers, PROMPT)
        self._readies = 0
        self._drop_announced = False
        self.client.on(ChatReady, self._on_ready)
        self.client.on(SystemShutdown, self._on_shutdown)
        self.client.on(SystemNotice, self._on_notice)
        self.client.on(SystemTokenExpiring, self._on_token_expiring)

    # Connection news

    def _on_ready(self, ready: ChatReady) -> None:
        self._readies += 1
        self._drop_announced = False
        if self._readies > 1 and ready.recovery != "reset":
            missed = f", {ready.replayed} missed events replayed" if ready.replayed else ""
            self.screen.status(f"↻ reconnected: {ready.recovery}{missed}", "green")

    async def _on_reset(self, _: ChatReady) -> None:
        self.screen.status(
            "↻ reconnected, but what was missed cannot be replayed (reset): reloading", "yellow"
        )
        await self.answers.reconcile()

    def _on_shutdown(self, _: SystemShutdown) -> None:
        self._drop_announced = True
        self.screen.status("the server is shutting down; reconnecting when it is back…", "yellow")

    def _on_notice(self, notice: SystemNotice) -> None:
        self.screen.status(f"notice: {notice.text}", _NOTICE_STYLES[notice.level])

    async def _on_token_expiring(self, event: SystemTokenExpiring) -> None:
        if not isinstance(self._token, str):
            with contextlib.suppress(NetraError):
                await self.client.auth_refresh(await self._token())
                return
        self.screen.status(
            f"the token expires at {event.expires_at:%H:%M:%S} UTC; start again with a fresh one",
            "yellow",
        )

    async def _watch_connection(self) -> None:
        # NetraClient exposes its state, not a disconnect callback: poll it.
        was_connected = True
        while True:
            await asyncio.sleep(POLL_S)
            connected = self.client.connected
            if was_connected and not connected and not self._drop_announced:
                self._drop_announced = True
                self.screen.status("connection lost; reconnecting…", "yellow")
            was_connected = connected

    # The conversation

    async def run(self) -> int:
        """The whole session; returns the exit code."""
        reader = LineReader(self._inbox)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, self._inbox.put_nowait, Signal.INTERRUPT)
        watcher: asyncio.Task[None] | None = None
        try:
            await self.client.connect()
            self._greet(reader.interactive)
            watcher = asyncio.create_task(self._watch_connection())
            while True:
                item = await self._next(reader, PROMPT if reader.interactive else "")
                if isinstance(item, Signal):
                    break
                line = item.strip()
                if not line:
                    continue
                if not reader.interactive:
                    self.screen.say(Text(PROMPT + line, style="bold"))
                if not line.startswith("/"):
                    await self.turns.run(Turn(line), reader)
                elif not await self._command(line, reader):
                    break
        except NetraError as exc:
            self.screen.status(_failure(self.client.base_url, exc), "bold red")
            return 1
        finally:
            if reader.interactive:
                self.screen.end_line()
                self.screen.err.print()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
            if watcher is not None:
                watcher.cancel()
            reader.restore()
            await self.client.close()
        return 1 if self.turns.failures and not reader.interactive else 0

    def _greet(self, interactive: bool) -> None:
        hello = self.client.hello
        who = f"{hello.principal.id} ({hello.principal.kind})" if hello else "?"
        hint = " · /help for commands · Ctrl-D quits" if interactive else ""
        self.screen.status(f"connected to {self.client.base_url} as {who}{hint}")

    async def _next(self, reader: LineReader, prompt: str) -> Input:
        if self._backlog:
            return self._backlog.popleft()
        reader.request(prompt, self.screen.err)
        return await self._inbox.get()

    # Commands

    async def _command(self, line: str, reader: LineReader) -> bool:
        """Run a /command; False means quit."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        threads = self.thread_commands
        try:
            if name in ("/quit", "/exit"):
                return False
            if name == "/help":
                self.screen.say(HELP)
            elif name == "/new":
                self.answers.thread_id = None
                self.screen.status("the next message starts a new thread")
            elif name == "/threads":
                await threads.threads(arg)
            elif name in ("/history", "/open"):
                if name == "/open" and not arg:
                    self.screen.status("usage: /open ID (see /threads)", "yellow")
                else:
                    await threads.history(arg or None)
            elif name == "/more":
                await threads.more()
            elif name == "/rename":
                await threads.rename(arg)
            elif name == "/delete":
                await threads.delete()
            elif name == "/regenerate":
                if (answer := await threads.last_answer()) is not None:
                    turn = Turn("/regenerate", regenerate=answer.id, message_id=answer.reply_to)
                    await self.turns.run(turn, reader)
            elif name == "/stop":
                self.screen.status("nothing to stop: no answer is running")
            else:
                self.screen.status(f"unknown command {name}; /help lists them", "yellow")
        except NetraError as exc:
            self.screen.status(f"{name}: {exc}", "red")
        return True


async def run_chat(
    url: str,
    *,
    token: str | None = None,
    user: str | None = None,
    name: str | None = None,
    timeout_s: float = 120.0,
) -> int:
    """Chat with the server at `url` on this terminal; returns the exit code.

    Without `token` the user signs in through dev-login, again on every reconnect: a restarted
    dev server signs with a new secret, so the old token would be refused.
    """
    chat_token: str | TokenProvider
    if token is not None:
        chat_token = token
    else:
        screen = Screen()
        try:
            if (await discover(url)).auth.mode != "dev":
                screen.status(
                    "netra-ws chat: this server uses jwt auth and has no dev-login: pass --token "
                    "(`netra-ws token -u NAME` mints one with the server's secret)",
                    "bold red",
                )
                return 2
            first = await dev_login(url, user_id=user, display_name=name)
        except NetraError as exc:
            screen.status(_failure(url, exc), "bold red")
            return 1
        unused = [first.token]

        async def fresh_token() -> str:
            if unused:
                return unused.pop()
            login = await dev_login(url, user_id=first.principal.id, display_name=name)
            return login.token

        chat_token = fresh_token
    chat = TerminalChat(url, chat_token, timeout_s=timeout_s)
    chat.screen.show_logs_of("netra_client")
    return await chat.run()


def _failure(url: str, exc: NetraError) -> str:
    if exc.code == "connect_failed":
        return f"netra-ws chat: cannot reach {url}: {exc.message}"
    return f"netra-ws chat: {exc}"
