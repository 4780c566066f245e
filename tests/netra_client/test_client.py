"""netra_client against a real server: typed acks and errors, events, runs, dedupe, resume."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from netra_client import (
    NetraClient,
    NetraError,
    Sequenced,
    StreamCursor,
    dev_login,
    discover,
)
from schemas.auth import ResumePosition
from schemas.chat import (
    AgentDelta,
    AgentToolCall,
    ChatMessageEvent,
    ChatReady,
    ChatSend,
    UserStreamPayload,
)
from schemas.registry import SERVER_EVENTS
from schemas.system import SystemHello
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, live_server
from tests.proxy import cuttable_proxy


async def _client(server: LiveServer, user_id: str = "alice") -> NetraClient:
    client = NetraClient(server.url, await server.token(user_id))
    await client.connect()
    return client


def _record_stream(client: NetraClient) -> list[Sequenced[UserStreamPayload]]:
    seen: list[Sequenced[UserStreamPayload]] = []
    for model in SERVER_EVENTS:
        if issubclass(model, UserStreamPayload):
            client.on(model, seen.append)
    return seen


# HTTP


async def test_discover_and_dev_login_are_typed(server: LiveServer) -> None:
    config = await discover(server.url + "/")
    assert config.path == "/socket.io"
    assert config.auth.mode == "dev"
    login = await dev_login(server.url, user_id="bob", display_name="Bob", ttl_s=600)
    assert login.principal.id == "bob"
    assert login.token_type == "Bearer"


async def test_dev_login_checks_its_arguments_before_sending(server: LiveServer) -> None:
    with pytest.raises(NetraError) as caught:
        await dev_login(server.url, user_id="no spaces allowed")
    assert caught.value.code == "invalid_payload"


async def test_http_errors_carry_the_server_code(make_settings: SettingsFactory) -> None:
    settings = make_settings(auth_mode="jwt", jwt_secret="s" * 32)
    async with live_server(settings) as live:
        with pytest.raises(NetraError) as caught:
            await dev_login(live.url)
    assert caught.value.code == "http_error"
    assert caught.value.details == {"status": 404}


async def test_nothing_listening_is_connect_failed() -> None:
    with pytest.raises(NetraError) as caught:
        await discover("http://127.0.0.1:1")
    assert caught.value.code == "connect_failed"


# Connecting


async def test_connect_waits_for_hello_and_ready(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        assert client.connected
        assert client.hello is not None
        assert client.hello.principal.id == "alice"
        assert client.ready is not None
        assert client.ready.recovery == "fresh"
        assert client.cursor.epoch == client.ready.epoch
    assert not client.connected


async def test_token_provider_is_asked_on_every_connect(server: LiveServer) -> None:
    token = await server.token("alice")
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return token

    client = NetraClient(server.url, provider)
    await client.connect()
    await client.close()
    await client.connect()
    await client.close()
    assert calls == 2


async def test_a_failing_token_provider_is_reported(server: LiveServer) -> None:
    async def provider() -> str:
        raise RuntimeError("vault unreachable")

    with pytest.raises(NetraError) as caught:
        await NetraClient(server.url, provider).connect()
    assert caught.value.code == "token_provider_failed"
    assert "vault unreachable" in caught.value.message


async def test_refused_connect_raises_the_refusal_code(server: LiveServer) -> None:
    client = NetraClient(server.url, "not-a-jwt")
    with pytest.raises(NetraError) as caught:
        await client.connect()
    assert caught.value.code == "token_invalid"
    assert not client.connected


async def test_calls_before_connect_are_not_connected(server: LiveServer) -> None:
    client = NetraClient(server.url, "unused")
    with pytest.raises(NetraError) as caught:
        await client.ping()
    assert caught.value.code == "not_connected"


# Typed acks


async def test_acks_are_parsed_into_schema_models(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        pong = await client.ping()
        assert pong.server_time.tzinfo is not None
        examples = (await client.examples()).examples
        assert {"count", "calculate", "explain"} <= {e.id for e in examples}

        sent = await client.send("count to 3")
        assert not sent.duplicate
        threads = (await client.threads()).threads
        assert [t.id for t in threads] == [sent.thread_id]
        transcript = await client.run_prompt("count to 2", thread_id=sent.thread_id)
        assert transcript.thread_id == sent.thread_id
        history = (await client.history(sent.thread_id, limit=10)).messages
        assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
        assert (await client.stop(transcript.run_id)).stopped is False

        refreshed = await client.auth_refresh(await server.token("alice"))
        assert refreshed.expires_at.tzinfo is not None


async def test_error_acks_raise_netra_error(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        with pytest.raises(NetraError) as caught:
            await client.history("no-such-thread")
        assert caught.value.code == "not_found"
        assert caught.value.message
        with pytest.raises(NetraError) as stopped:
            await client.stop("no-such-run")
        assert stopped.value.code == "not_found"
        with pytest.raises(NetraError) as other_user:
            await client.auth_refresh(await server.token("mallory"))
        assert other_user.value.code == "forbidden"


async def test_bad_arguments_fail_before_the_wire(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        with pytest.raises(NetraError) as caught:
            await client.history("t", limit=0)
        assert caught.value.code == "invalid_payload"
        assert "limit" in caught.value.message


async def test_resend_with_the_same_client_msg_id_is_a_duplicate(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        msg_id = uuid.uuid4()
        first = await client.send("count to 3", client_msg_id=msg_id)
        again = await client.send("count to 3", client_msg_id=str(msg_id))
        assert again.duplicate
        assert (again.message_id, again.run_id) == (first.message_id, first.run_id)


# Runs


async def test_run_prompt_count_streams_exact_text(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        transcript = await client.run_prompt("count to 12")
    assert transcript.outcome == "completed"
    assert transcript.text == transcript.streamed_text == " ".join(map(str, range(1, 13)))
    assert transcript.tool_calls == []
    assert transcript.seqs == list(
        range(transcript.seqs[0], transcript.seqs[0] + len(transcript.seqs))
    )
    assert isinstance(transcript.events[0].event, ChatMessageEvent)


async def test_run_prompt_calculate_reports_the_tool_exchange(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        transcript = await client.run_prompt("calculate (12 + 30) * 2 / 4")
    assert transcript.outcome == "completed"
    [call] = transcript.tool_calls
    [result] = transcript.tool_results
    assert call.name == "calculator"
    assert call.args == {"expression": "(12 + 30) * 2 / 4"}
    assert result.call_id == call.call_id
    assert result.result == 21
    assert not result.is_error
    assert "21" in transcript.text


async def test_run_prompt_other_text_answers_in_sentences(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        transcript = await client.run_prompt("How are you?")
    assert transcript.outcome == "completed"
    assert transcript.text.count(". ") >= 2
    assert transcript.assistant_message_id is not None
    assert transcript.error is None


async def test_run_prompt_times_out_with_netra_error(make_settings: SettingsFactory) -> None:
    async with (
        live_server(make_settings(demo_tokens_per_s=5)) as live,
        NetraClient(live.url, await live.token("alice")) as client,
    ):
        with pytest.raises(NetraError) as caught:
            await client.run_prompt("count to 50", timeout_s=0.3)
    assert caught.value.code == "timeout"


async def test_run_prompt_keeps_only_its_own_run(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        first, second = await asyncio.gather(
            client.run_prompt("count to 5"), client.run_prompt("calculate 6 * 7")
        )
    assert first.text == "1 2 3 4 5"
    assert first.tool_calls == []
    assert second.tool_results[0].result == 42
    assert not set(first.seqs) & set(second.seqs)


# Events and sequencing


async def test_handlers_get_typed_events(server: LiveServer) -> None:
    deltas: list[Sequenced[AgentDelta]] = []
    calls: list[Sequenced[AgentToolCall]] = []
    readies: list[ChatReady] = []
    hellos: list[SystemHello] = []
    async with NetraClient(server.url, await server.token("alice")) as client:
        client.on(ChatReady, readies.append)
        client.on(SystemHello, hellos.append)
        client.on(AgentDelta, deltas.append)

        async def on_call(item: Sequenced[AgentToolCall]) -> None:
            await asyncio.sleep(0)
            calls.append(item)

        unsubscribe = client.on(AgentToolCall, on_call)
        await client.run_prompt("calculate 1 + 1")
        unsubscribe()
        await client.run_prompt("calculate 2 + 2")
    assert readies == []  # subscribed after connect() had already seen it
    assert hellos == []
    assert "".join(d.event.text for d in deltas).endswith("2 + 2 = 4.")
    assert [c.event.args for c in calls] == [{"expression": "1 + 1"}]
    assert all(d.ts.tzinfo is not None for d in deltas)


async def test_a_failing_handler_does_not_stop_the_others(server: LiveServer) -> None:
    seen: list[int] = []

    def broken(item: Sequenced[AgentDelta]) -> None:
        raise RuntimeError("handler bug")

    async with NetraClient(server.url, await server.token("alice")) as client:
        client.on(AgentDelta, broken)
        client.on(AgentDelta, lambda item: seen.append(item.seq))
        transcript = await client.run_prompt("count to 3")
    assert transcript.text == "1 2 3"
    assert seen


async def test_on_refuses_models_the_server_never_sends(server: LiveServer) -> None:
    client = NetraClient(server.url, "unused")
    with pytest.raises(TypeError):
        client.on(ChatSend, print)  # type: ignore[type-var]


async def test_seqs_are_contiguous_and_tracked(server: LiveServer) -> None:
    async with NetraClient(server.url, await server.token("alice")) as client:
        seen = _record_stream(client)
        await client.run_prompt("count to 30")
        await client.run_prompt("calculate 3 * 3")
    seqs = [item.seq for item in seen]
    assert seqs == list(range(1, len(seqs) + 1))
    assert client.cursor.last_seq == seqs[-1]
    assert client.cursor.duplicates == 0
    assert client.cursor.gaps == []


async def test_replayed_events_already_seen_are_dropped(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = NetraClient(server.url, await server.token("alice"))
    seen = _record_stream(client)
    await client.connect()
    try:
        await client.run_prompt("count to 20")
        delivered = [item.seq for item in seen]
        await client.close()
        # Resume from the start of the epoch: the server replays everything again.
        epoch = client.cursor.epoch
        assert epoch is not None
        monkeypatch.setattr(
            client.cursor, "resume", lambda: ResumePosition(epoch=epoch, last_seq=0)
        )
        await client.connect()
        assert client.ready is not None
        assert client.ready.recovery == "recovered"
        assert client.ready.replayed == len(delivered)
        assert [item.seq for item in seen] == delivered
        assert client.cursor.duplicates == len(delivered)
        assert client.cursor.last_seq == delivered[-1]
    finally:
        await client.close()


async def test_reconnect_resumes_where_it_left_off(server: LiveServer) -> None:
    client = NetraClient(server.url, await server.token("alice"))
    seen = _record_stream(client)
    await client.connect()
    try:
        await client.run_prompt("count to 5")
        await client.close()
        # Events the client misses while away come back on the next connect.
        async with NetraClient(server.url, await server.token("alice")) as other:
            await other.run_prompt("count to 4")
        await client.connect()
        assert client.ready is not None
        assert client.ready.recovery == "recovered"
        seqs = [item.seq for item in seen]
        assert seqs == list(range(1, len(seqs) + 1))
        assert seqs[-1] == client.ready.head_seq
    finally:
        await client.close()


async def test_reset_is_reported_so_history_can_be_reloaded(server: LiveServer) -> None:
    resets: list[ChatReady] = []
    client = NetraClient(server.url, await server.token("alice"), on_reset=resets.append)
    await client.connect()
    try:
        await client.run_prompt("count to 3")
        await client.close()
        client.cursor.epoch = "an-epoch-the-server-never-had"
        await client.connect()
    finally:
        await client.close()
    assert client.ready is not None
    assert client.ready.recovery == "reset"
    assert resets == [client.ready]
    assert client.resets == 1
    assert client.cursor.epoch == client.ready.epoch
    assert client.cursor.last_seq == client.ready.head_seq


async def test_dropped_transport_reconnects_and_the_run_completes(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(
        demo_tokens_per_s=60,
        reconnect_delay_ms=50,
        reconnect_delay_max_ms=100,
        reconnect_randomization=0,
    )
    async with live_server(settings) as live, cuttable_proxy(live.url) as proxy:
        client = NetraClient(proxy.url, await live.token("alice"))
        seen = _record_stream(client)
        first_delta = asyncio.Event()
        client.on(AgentDelta, lambda _: first_delta.set())
        await client.connect()
        try:
            run = asyncio.create_task(client.run_prompt("count to 40", timeout_s=20))
            await asyncio.wait_for(first_delta.wait(), 5)
            assert proxy.cut() > 0
            transcript = await run
        finally:
            await client.close()
    assert transcript.text == " ".join(map(str, range(1, 41)))
    assert client.ready is not None
    assert client.ready.recovery == "recovered"
    seqs = [item.seq for item in seen]
    assert seqs == list(range(1, len(seqs) + 1))
    assert client.cursor.gaps == []


# The cursor on its own


def test_cursor_drops_repeats_and_notes_gaps() -> None:
    cursor = StreamCursor()
    cursor.on_ready(ChatReady(epoch="e1", head_seq=4, recovery="fresh", replayed=0))
    assert [cursor.accept(seq) for seq in (5, 6, 6, 3, 8)] == [True, True, False, False, True]
    assert cursor.duplicates == 2
    assert cursor.gaps == [(7, 8)]
    assert cursor.resume() == ResumePosition(epoch="e1", last_seq=8)


def test_cursor_follows_a_reset_to_a_lower_head() -> None:
    cursor = StreamCursor(epoch="old", last_seq=500)
    cursor.on_ready(ChatReady(epoch="new", head_seq=2, recovery="reset", replayed=0))
    assert (cursor.epoch, cursor.last_seq) == ("new", 2)
    assert cursor.accept(3)
    assert cursor.gaps == []
