"""Terminal plumbing for `netra-ws chat`: stdin lines into asyncio, and tidy output."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sys
import threading
from enum import Enum
from typing import Any

from rich.console import Console, RenderableType
from rich.text import Text

REASONING_PREFIX = "thinking: "
REASONING_STYLE = "dim italic"


class Signal(Enum):
    EOF = "eof"
    INTERRUPT = "interrupt"


Input = str | Signal


class LineReader:
    """Reads stdin one line per `request`, on a daemon thread, into an asyncio queue.

    A daemon thread rather than `asyncio.to_thread`: a read blocked at exit must not keep the
    process alive waiting for Enter. With a terminal on both ends `input()` gives readline
    editing and history; otherwise a private unbuffered reader is used, because a daemon thread
    blocked inside `sys.stdin` holds its lock and can abort interpreter shutdown.
    """

    def __init__(self, inbox: asyncio.Queue[Input]) -> None:
        self._inbox = inbox
        self._loop = asyncio.get_running_loop()
        self.interactive = sys.stdin.isatty()
        self._use_readline = self.interactive and sys.stdout.isatty()
        self._pending = False
        self._pending_prompt = ""
        self._eof = False
        self._saved_tty: list[Any] | None = None
        self._raw: io.RawIOBase | None = None
        if self._use_readline:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (input() gains line editing and history)
            with contextlib.suppress(ImportError, OSError):
                import termios

                self._saved_tty = termios.tcgetattr(sys.stdin.fileno())

    def request(self, prompt: str, err: Console) -> None:
        """Start reading a line unless a read is already waiting; show `prompt` either way."""
        if self._eof:
            return
        if self._pending:
            if prompt and not self._pending_prompt:
                # The waiting read began without a prompt (while an answer streamed).
                err.file.write(prompt)
                err.file.flush()
                self._pending_prompt = prompt
            return
        self._pending, self._pending_prompt = True, prompt
        threading.Thread(target=self._read, args=(prompt, err), daemon=True).start()

    def _read(self, prompt: str, err: Console) -> None:
        line: str | None
        try:
            if self._use_readline:
                line = input(prompt)
            else:
                if prompt and self.interactive:
                    err.file.write(prompt)
                    err.file.flush()
                line = self._read_raw()
        except (EOFError, OSError, ValueError):
            line = None
        with contextlib.suppress(RuntimeError):  # the loop closed while this thread waited
            self._loop.call_soon_threadsafe(self._deliver, line)

    def _read_raw(self) -> str | None:
        if self._raw is None:
            self._raw = io.FileIO(os.dup(sys.stdin.fileno()), "rb")
        data = self._raw.readline()
        if not data:
            return None
        return data.decode("utf-8", errors="replace").rstrip("\r\n")

    def _deliver(self, line: str | None) -> None:
        self._pending = False
        if line is None:
            self._eof = True
            self._inbox.put_nowait(Signal.EOF)
        else:
            self._inbox.put_nowait(line)

    def restore(self) -> None:
        """Give the terminal back as it was: a read abandoned at exit leaves readline's modes."""
        if self._saved_tty is not None:
            import termios

            with contextlib.suppress(OSError):
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved_tty)


class Screen:
    """Answers and tool lines on stdout, connection news on stderr, never mid-line clutter."""

    def __init__(self) -> None:
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self._mid_line = False
        # The call_id whose `⚙ name(args)` line waits for its `→ result`.
        self.open_tool: str | None = None
        # Reasoning is streaming on the current line (after its prefix).
        self._reasoning = False
        self._shared_terminal = sys.stdout.isatty()

    def stream(self, text: str) -> None:
        if not text:
            return
        if self.open_tool is not None or self._reasoning:
            self.end_line()
        sys.stdout.write(text)
        sys.stdout.flush()
        self._mid_line = not text.endswith("\n")

    def reasoning(self, text: str) -> None:
        """The model's reasoning as it streams: dim, after a `thinking:` prefix of its own."""
        if not text:
            return
        if not self._reasoning:
            self.end_line()
            self.out.print(Text(REASONING_PREFIX, style=REASONING_STYLE), end="")
            self._reasoning = True
        self.out.print(Text(text, style=REASONING_STYLE), end="")
        self._mid_line = not text.endswith("\n")

    def end_line(self) -> None:
        if self._mid_line:
            sys.stdout.write("\n")
            sys.stdout.flush()
        self._mid_line = False
        self.open_tool = None
        self._reasoning = False

    def say(self, text: RenderableType, style: str = "") -> None:
        """A whole line of the transcript (stdout)."""
        self.end_line()
        self.out.print(text, style=style)

    def tool_call(self, call_id: str, text: str) -> None:
        self.end_line()
        self.out.print(Text(text, style="dim"), end="")
        self._mid_line, self.open_tool = True, call_id

    def tool_result(self, call_id: str, head: str, tail: Text) -> None:
        """Completes the call's open line, or writes `head` + `tail` on a line of its own."""
        if self.open_tool == call_id:
            self.out.print(tail)
            self._mid_line, self.open_tool = False, None
        else:
            self.say(Text.assemble((head, "dim"), tail))

    def status(self, text: str, style: str = "dim") -> None:
        """Connection news and notices (stderr); on a shared terminal, on a line of its own."""
        if self._shared_terminal:
            self.end_line()
        self.err.print(Text(text, style=style))

    def show_logs_of(self, name: str) -> None:
        """A library's warnings as status lines, not stray log records among the answers."""
        screen = self

        class ToScreen(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                screen.status(f"{record.name}: {record.getMessage()}")

        logger = logging.getLogger(name)
        logger.addHandler(ToScreen(logging.WARNING))
        logger.propagate = False
