"""`on(event, handler)` is checked by mypy at both ends: a handler that takes another payload
model, or returns another result model, than its event declares does not type-check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]
WRONG = "# wrong"

# Bindings that fit their events, alone and the way a namespace lists them.
GOOD = """
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from examples.notes import NOTES_ADD, NoteResult, NotesAdd
from namespaces.base import BoundHandler, EventNamespace, on
from schemas.chat import ChatSend, ChatStop, SendResult, StopResult
from schemas.registry import CHAT_SEND, CHAT_STOP


async def add(sid: str, payload: NotesAdd) -> NoteResult:
    raise NotImplementedError


binding = on(NOTES_ADD, add)


class Chat(EventNamespace):
    def event_handlers(self) -> Sequence[BoundHandler[Any, Any]]:
        return (on(CHAT_SEND, self.send), on(CHAT_STOP, self.stop))

    async def send(self, sid: str, payload: ChatSend) -> SendResult:
        raise NotImplementedError

    async def stop(self, sid: str, payload: ChatStop) -> StopResult:
        raise NotImplementedError
"""

# Handlers bound to an event whose payload or result they do not take or return.
BAD = f"""
from __future__ import annotations

from examples.notes import NOTES_ADD, NoteResult, NotesDelete
from namespaces.base import on
from schemas.chat import ChatSend, ChatStop, SendResult, StopResult
from schemas.registry import CHAT_SEND


async def takes_stop(sid: str, payload: ChatStop) -> SendResult:
    raise NotImplementedError


async def returns_stop(sid: str, payload: ChatSend) -> StopResult:
    raise NotImplementedError


async def takes_delete(sid: str, payload: NotesDelete) -> NoteResult:
    raise NotImplementedError


wrong_payload = on(CHAT_SEND, takes_stop)  {WRONG} ChatStop
wrong_result = on(CHAT_SEND, returns_stop)  {WRONG} StopResult
wrong_namespace_event = on(NOTES_ADD, takes_delete)  {WRONG} NotesDelete
"""

# The same mistakes the way a namespace lists its handlers (namespaces/chat.py).
BAD_NAMESPACE = f"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from namespaces.base import BoundHandler, EventNamespace, on
from schemas.chat import ChatSend, ChatStop, SendResult, StopResult
from schemas.registry import CHAT_SEND, CHAT_STOP


class Chat(EventNamespace):
    def event_handlers(self) -> Sequence[BoundHandler[Any, Any]]:
        return (
            on(CHAT_SEND, self.stop),  {WRONG} ChatStop
            on(CHAT_STOP, self.send),  {WRONG} ChatSend
        )

    async def send(self, sid: str, payload: ChatSend) -> SendResult:
        raise NotImplementedError

    async def stop(self, sid: str, payload: ChatStop) -> StopResult:
        raise NotImplementedError
"""

MODULES = {"good_binding": GOOD, "bad_binding": BAD, "bad_namespace": BAD_NAMESPACE}

Errors = dict[str, dict[int, str]]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Errors:
    """One run of mypy with the project's config (strict) over the modules: their errors by
    module and line. Imports are followed silently: only these modules are reported."""
    directory = tmp_path_factory.mktemp("bindings")
    for name, source in MODULES.items():
        (directory / f"{name}.py").write_text(source.lstrip())
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # where mypy finds the project's packages
        stdout, stderr, _ = api.run(
            [
                "--config-file",
                str(ROOT / "pyproject.toml"),
                "--follow-imports=silent",
                "--cache-dir",
                str(directory / "mypy-cache"),
                "--no-error-summary",
                "--show-error-codes",
                *(str(directory / f"{name}.py") for name in MODULES),
            ]
        )
    assert not stderr, stderr
    errors: Errors = {name: {} for name in MODULES}
    for line in stdout.splitlines():
        found = re.match(r".*?(\w+)\.py:(\d+): error: (.*)$", line)
        assert found, line
        assert found[1] in errors, line
        errors[found[1]][int(found[2])] = found[3]
    return errors


def wrong_lines(module: str) -> dict[int, str]:
    """The lines marked wrong in a module, each with the type mypy must name."""
    lines = MODULES[module].lstrip().splitlines()
    return {n: line.split(WRONG)[1].strip() for n, line in enumerate(lines, 1) if WRONG in line}


def assert_refused(errors: dict[int, str], module: str) -> None:
    expected = wrong_lines(module)
    assert set(errors) == set(expected), errors
    for line, named in expected.items():
        assert errors[line].startswith('Argument 2 to "on" has incompatible type'), errors[line]
        assert named in errors[line]
        assert errors[line].endswith("[arg-type]")


def test_bindings_that_fit_their_events_pass(checked: Errors) -> None:
    assert checked["good_binding"] == {}


def test_a_handler_of_another_payload_or_result_is_an_arg_type_error(checked: Errors) -> None:
    assert_refused(checked["bad_binding"], "bad_binding")


def test_a_namespace_listing_a_wrong_handler_does_not_type_check(checked: Errors) -> None:
    assert_refused(checked["bad_namespace"], "bad_namespace")
