"""`netra-ws chat`: a terminal chat on `NetraClient` that streams answers as they arrive.

One turn at a time: a line is sent, its answer streams, the next line waits (lines typed or
piped meanwhile are kept in order). `/stop` or Ctrl-C stops the answer; Ctrl-C at the prompt
or end of input quits. Reconnecting is the client's job: a recovered stream just goes on, a
reset is reconciled from the stored history.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import deque

from rich.text import Text

from netra_client.chat_stream import AnswerStream, Turn
from netra_client.chat_view import HELP, history_lines, threads_table
from netra_client.client import NetraClient
from netra_client.connection import TokenProvider
from netra_client.errors import NetraError
from netra_client.http import dev_login, discover
from netra_client.terminal_io import Input, LineReader, Screen, Signal
from schemas.chat import ChatReady
from schemas.system import SystemNotice, SystemShutdown, SystemTokenExpiring

PROMPT = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "
_POLL_S = 0.2
_NOTICE_STYLES = {"info": "dim", "warning": "yellow", "error": "bold red"}


class TerminalChat:
    def __init__(self, url: str, token: str | TokenProvider, *, timeout_s: float) -> None:
        self.screen = Screen()
        self.client = NetraClient(url, token, on_reset=self._on_reset)
        self.answers = AnswerStream(self.client, self.screen)
        self._token = token
        self._timeout_s = timeout_s
        self._inbox: asyncio.Queue[Input] = asyncio.Queue()
        self._backlog: deque[Input] = deque()
        self._readies = 0
        self._drop_announced = False
        self.failures = 0
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
            await asyncio.sleep(_POLL_S)
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
                    await self._ask(line, reader)
                elif not await self._command(line):
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
        return 1 if self.failures and not reader.interactive else 0

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

    async def _ask(self, text: str, reader: LineReader) -> None:
        turn = self.answers.turn = Turn(text)
        deadline = time.monotonic() + self._timeout_s
        try:
            if not await self._send(turn, deadline):
                return
            while not turn.done.is_set():
                # Keep reading meanwhile, so /stop and Ctrl-C reach a running answer.
                reader.request("", self.screen.err)
                getter = asyncio.ensure_future(self._inbox.get())
                waiter = asyncio.ensure_future(turn.done.wait())
                done, _ = await asyncio.wait(
                    {getter, waiter},
                    timeout=max(deadline - time.monotonic(), 0),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
                if getter in done:
                    await self._during_turn(turn, getter.result())
                else:
                    getter.cancel()
                if not done:
                    note = f"✗ no end of the answer within {self._timeout_s:g} s"
                    self.answers.end(turn, "failed", note)
            if turn.outcome == "failed":
                self.failures += 1
        finally:
            self.answers.turn = None

    async def _during_turn(self, turn: Turn, item: Input) -> None:
        if item is Signal.INTERRUPT or (isinstance(item, str) and item.strip() == "/stop"):
            await self._stop(turn)
        else:
            self._backlog.append(item)  # typed or piped ahead: handled after this answer

    async def _send(self, turn: Turn, deadline: float) -> bool:
        """Send, retrying across a reconnect with the same client_msg_id (stored once)."""
        while True:
            try:
                sent = await self.client.send(turn.text, self.answers.thread_id, turn.client_msg_id)
                break
            except NetraError as exc:
                if exc.code not in ("not_connected", "timeout") or time.monotonic() > deadline:
                    self.screen.say(Text(f"✗ {exc}", style="red"))
                    self.failures += 1
                    return False
                await asyncio.sleep(_POLL_S)
        self.answers.thread_id, turn.run_id = sent.thread_id, sent.run_id
        if sent.duplicate:
            await self.answers.reconcile()  # an earlier attempt got through; its events may be past
        return True

    async def _stop(self, turn: Turn) -> None:
        if turn.run_id is None:
            return
        try:
            await self.client.stop(turn.run_id)  # agent:run_stopped then ends the turn
        except NetraError as exc:
            self.answers.end(turn, "stopped", f"⏹ stopped waiting ({exc.code})")

    # Commands

    async def _command(self, line: str) -> bool:
        """Run a /command; False means quit."""
        name, _, arg = line.partition(" ")
        try:
            if name in ("/quit", "/exit"):
                return False
            if name == "/help":
                self.screen.say(HELP)
            elif name == "/new":
                self.answers.thread_id = None
                self.screen.status("the next message starts a new thread")
            elif name == "/threads":
                threads = (await self.client.threads()).threads
                self.screen.say(threads_table(threads, self.answers.thread_id))
            elif name in ("/history", "/open"):
                await self._show_history(arg.strip() if name == "/open" else None)
            elif name == "/stop":
                self.screen.status("nothing to stop: no answer is running")
            else:
                self.screen.status(f"unknown command {name}; /help lists them", "yellow")
        except NetraError as exc:
            self.screen.status(f"{name}: {exc}", "red")
        return True

    async def _show_history(self, thread_id: str | None) -> None:
        target = thread_id or self.answers.thread_id
        if not target:
            self.screen.status("no thread yet: send a message, or /open ID (see /threads)")
            return
        messages = (await self.client.history(target)).messages
        self.answers.thread_id = target
        for line in history_lines(messages, PROMPT):
            self.screen.say(line)


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
