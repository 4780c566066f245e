"""What each `netra-ws smoke` step checks, driving a server through `netra_client`.

Each check returns the detail shown when it passes and raises `CheckFailed` when the server
does not meet the expectation; checks keep what later ones build on (the client, the runs).
"""

from __future__ import annotations

import re
import secrets
import time

from netra_client import NetraClient, RunTranscript, Sequenced, dev_login, discover
from schemas.chat import AgentDelta, Example, UserStreamPayload
from schemas.discovery import WsConfig
from schemas.registry import SERVER_EVENTS

# Below the smoke step limit (STEP_TIMEOUT_S), so a slow run reports the client's timeout.
RUN_TIMEOUT_S = 25.0

_COUNT_RE = re.compile(r"^\s*count\s+to\s+(\d+)\s*$", re.IGNORECASE)
_CALCULATE_RE = re.compile(r"^\s*calculate\s+(.+?)\s*$", re.IGNORECASE | re.DOTALL)
# The demo's version 1.1 prompts, whose answers are not plain sentences.
_V11_KINDS_RE = re.compile(r"^\s*(remind\s+me\s+to|think\s+about|show\s+markdown)\b", re.I)
# A sentence ends at . ! or ? (closing quotes and brackets allowed) before a space or the end.
_SENTENCE_END_RE = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
_MIN_SENTENCES = 3


class CheckFailed(Exception):
    """An expectation the server did not meet; the message is the FAIL detail."""


class SmokeChecks:
    """The checks of one smoke run, against one server, sharing one client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.config: WsConfig | None = None
        self.token = ""
        self.client: NetraClient | None = None
        self.examples: dict[str, Example] = {}
        self.runs: dict[str, RunTranscript] = {}
        self.seqs: list[int] = []
        self.first_seq = 1

    def connected(self) -> NetraClient:
        assert self.client is not None
        return self.client

    async def discovery(self) -> str:
        self.config = config = await discover(self.url)
        transports = "+".join(config.transports)
        return (
            f"protocol {config.protocol_version}, server {config.server_version}, "
            f"auth {config.auth.mode}, {transports}"
        )

    async def dev_login(self) -> str:
        assert self.config is not None
        if self.config.auth.mode != "dev":
            raise CheckFailed("the server uses jwt auth, so dev-login is off")
        login = await dev_login(self.url, user_id=f"smoke-{secrets.token_hex(4)}")
        self.token = login.token
        return f"user {login.principal.id}, expires {login.expires_at:%Y-%m-%d %H:%M}Z"

    async def connect(self) -> str:
        self.client = client = NetraClient(self.url, self.token)

        def record(item: Sequenced[UserStreamPayload]) -> None:
            self.seqs.append(item.seq)

        for model in SERVER_EVENTS:
            if issubclass(model, UserStreamPayload):
                client.on(model, record)
        await client.connect()
        hello, ready = client.hello, client.ready
        # connect() returns only once both arrived.
        assert hello is not None
        assert ready is not None
        self.first_seq = ready.head_seq + 1
        return f"hello as {hello.principal.id}; ready {ready.recovery}, head_seq {ready.head_seq}"

    async def ping(self) -> str:
        started = time.perf_counter()
        await self.connected().ping()
        return f"round trip {(time.perf_counter() - started) * 1000:.1f} ms"

    async def list_examples(self) -> str:
        examples = (await self.connected().examples()).examples
        for example in examples:
            if _COUNT_RE.match(example.prompt):
                kind = "count"
            elif _CALCULATE_RE.match(example.prompt):
                kind = "calculate"
            elif _V11_KINDS_RE.match(example.prompt):
                continue  # approvals, reasoning, markdown: not what these steps check
            else:
                kind = "other"
            self.examples.setdefault(kind, example)
        missing = {"count", "calculate", "other"} - set(self.examples)
        if len(examples) < 3 or missing:
            raise CheckFailed(f"{len(examples)} examples; no {', '.join(sorted(missing))} kind")
        return f"{len(examples)} examples: count, calculate, other"

    async def run(self, kind: str) -> RunTranscript:
        transcript = await self.connected().run_prompt(
            self.examples[kind].prompt, timeout_s=RUN_TIMEOUT_S
        )
        self.runs[kind] = transcript
        if transcript.outcome != "completed":
            raise CheckFailed(f"run {transcript.outcome}: {transcript.error}")
        return transcript

    async def run_count(self) -> str:
        match = _COUNT_RE.match(self.examples["count"].prompt)
        assert match is not None
        expected = " ".join(str(i) for i in range(1, int(match.group(1)) + 1))
        transcript = await self.run("count")
        if transcript.text != expected or transcript.streamed_text != expected:
            raise CheckFailed(f"expected {expected!r}, got {transcript.text[:60]!r}")
        deltas = sum(isinstance(item.event, AgentDelta) for item in transcript.events)
        shown = expected if len(expected) <= 20 else f"1 2 ... {expected.rsplit(' ', 1)[-1]}"
        return f"exact {shown!r}, {deltas} delta{'' if deltas == 1 else 's'}"

    async def run_calculate(self) -> str:
        match = _CALCULATE_RE.match(self.examples["calculate"].prompt)
        assert match is not None
        transcript = await self.run("calculate")
        calls, results = transcript.tool_calls, transcript.tool_results
        if len(calls) != 1 or len(results) != 1:
            raise CheckFailed(f"{len(calls)} tool calls and {len(results)} results, expected 1")
        args, result = calls[0].args, results[0].result
        if not isinstance(args, dict) or args.get("expression") != match.group(1):
            raise CheckFailed(f"tool args {args!r}, expected {{'expression': {match.group(1)!r}}}")
        if isinstance(result, bool) or not isinstance(result, int | float):
            raise CheckFailed(f"tool result {result!r} is {type(result).__name__}, not a number")
        if str(result) not in transcript.text:
            raise CheckFailed(f"answer {transcript.text!r} does not contain {result}")
        return f"{calls[0].name}({args}) -> {result}; answer {_clip(transcript.text)!r}"

    async def run_other(self) -> str:
        transcript = await self.run("other")
        sentences = len(_SENTENCE_END_RE.findall(transcript.text))
        if sentences < _MIN_SENTENCES:
            raise CheckFailed(f"{sentences} sentences: {_clip(transcript.text)!r}")
        return f"{sentences} sentences, {len(transcript.text)} chars"

    async def history(self) -> str:
        transcript = self.runs["count"]
        messages = (await self.connected().history(transcript.thread_id)).messages
        answer = next(
            (m for m in messages if m.role == "assistant" and m.run_id == transcript.run_id), None
        )
        if answer is None:
            raise CheckFailed(f"no assistant message for run {transcript.run_id}")
        if answer.status != "complete" or answer.text != transcript.text:
            raise CheckFailed(f"assistant message {answer.status}: {_clip(answer.text)!r}")
        return f"{len(messages)} messages, assistant answer complete"

    async def resend(self) -> str:
        transcript = self.runs["count"]
        again = await self.connected().send(
            self.examples["count"].prompt, transcript.thread_id, transcript.client_msg_id
        )
        same = (again.message_id, again.run_id) == (transcript.reply_to, transcript.run_id)
        if not (again.duplicate and same):
            raise CheckFailed(f"duplicate={again.duplicate}, message {again.message_id}")
        return "same client_msg_id -> duplicate=true, same message and run"

    async def seq_contiguity(self) -> str:
        client = self.connected()
        first = self.first_seq
        expected = list(range(first, first + len(self.seqs)))
        if not self.seqs or self.seqs != expected:
            raise CheckFailed(f"seqs not {first}, {first + 1}, ...: {self.seqs[:20]}")
        if client.cursor.duplicates or client.cursor.gaps:
            raise CheckFailed(
                f"{client.cursor.duplicates} repeats, gaps at {client.cursor.gaps[:5]}"
            )
        return f"{len(self.seqs)} events, seq {self.seqs[0]}..{self.seqs[-1]}, no gaps or repeats"


def _clip(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
