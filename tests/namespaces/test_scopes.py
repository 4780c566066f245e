"""Service principals on the socket may send only what their token's scopes grant: `chat:read`
for threads, history and examples, `chat:write` for send and stop. Anything else is acked
`forbidden` with `details.scope`, and nothing runs. User tokens hold the chat scopes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, Recorder, connect, live_server, send_chat, wait_run_end
from tests.server.auth.tokens import SECRET, hs256

NS = "/chat"
BOT = "ci-bot"


def service_token(sub: str = BOT, **claims: Any) -> str:
    return hs256(SECRET, sub=sub, kind="service", iss=None, aud=None, **claims)


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings(auth_mode="jwt", jwt_secret=SECRET)) as live:
        yield live


async def tab(server: LiveServer, token: str) -> tuple[socketio.AsyncClient, Recorder]:
    client, events = await connect(server, [NS, "/system"], {"token": token})
    await events.wait_for(NS, "chat:ready")
    return client, events


def send_payload(text: str = "count to 3") -> dict[str, Any]:
    return {"client_msg_id": str(uuid.uuid4()), "text": text}


def assert_forbidden(ack: dict[str, Any], event: str) -> None:
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "forbidden"
    assert ack["error"]["details"] == {"scope": "chat:write"}
    assert event in ack["error"]["message"]


async def test_a_read_only_service_reads_but_cannot_write(server: LiveServer) -> None:
    # The same bot with a token that may write starts a thread, to have something to read.
    writer, writer_events = await tab(server, service_token(scope="chat:read chat:write"))
    reader, events = await tab(server, service_token(scope="chat:read"))
    try:
        started = await send_chat(writer, "count to 3")
        await wait_run_end(writer_events, started["run_id"])
        await wait_run_end(events, started["run_id"])
        before = list(events.events[NS])

        threads = await reader.call("chat:threads", {}, namespace=NS)
        assert threads["ok"] is True, threads
        assert [t["id"] for t in threads["data"]["threads"]] == [started["thread_id"]]
        history = await reader.call(
            "chat:history", {"thread_id": started["thread_id"]}, namespace=NS
        )
        assert history["ok"] is True, history
        assert [m["text"] for m in history["data"]["messages"]] == ["count to 3", "1 2 3"]
        examples = await reader.call("chat:examples", {}, namespace=NS)
        assert examples["ok"] is True, examples
        assert examples["data"]["examples"]

        sent = await reader.call("chat:send", send_payload(), namespace=NS)
        assert_forbidden(sent, "chat:send")
        into = await reader.call(
            "chat:send",
            {**send_payload(), "thread_id": started["thread_id"]},
            namespace=NS,
        )
        assert_forbidden(into, "chat:send")
        stopped = await reader.call("chat:stop", {"run_id": started["run_id"]}, namespace=NS)
        assert_forbidden(stopped, "chat:stop")
        # A payload that would be refused as invalid is refused for its scope first.
        assert_forbidden(await reader.call("chat:send", {}, namespace=NS), "chat:send")
        # Without an ack, the refusal arrives as chat:error.
        await reader.emit("chat:send", send_payload(), namespace=NS)
        [error] = await events.wait_for(NS, "chat:error")
        assert (error["code"], error["event"]) == ("forbidden", "chat:send")

        # Nothing ran: the writer's next message is the stream's next event, for both tabs.
        after = await send_chat(writer, "count to 1")
        await wait_run_end(events, after["run_id"])
        new = [(n, d) for n, d in events.events[NS][len(before) :] if "seq" in d]
        assert all(d.get("run_id", after["run_id"]) == after["run_id"] for _, d in new)
        assert [n for n, _ in new].count("chat:message") == 1
        [message] = [d for n, d in new if n == "chat:message"]
        assert message["message"]["text"] == "count to 1"
        assert message["seq"] == max(d["seq"] for _, d in before if "seq" in d) + 1
        threads = await reader.call("chat:threads", {}, namespace=NS)
        assert {t["id"] for t in threads["data"]["threads"]} == {
            started["thread_id"],
            after["thread_id"],
        }
    finally:
        await writer.disconnect()
        await reader.disconnect()


async def test_a_service_with_chat_write_can_send_and_stop(server: LiveServer) -> None:
    client, events = await tab(server, service_token(scope="chat:write"))
    try:
        started = await send_chat(client, "count to 2")
        name, done = await wait_run_end(events, started["run_id"])
        assert (name, done["message"]["text"]) == ("agent:run_completed", "1 2")
        stopped = await client.call("chat:stop", {"run_id": started["run_id"]}, namespace=NS)
        assert stopped["ok"] is True, stopped
        # Write alone does not grant read.
        threads = await client.call("chat:threads", {}, namespace=NS)
        assert threads["ok"] is False
        assert threads["error"]["code"] == "forbidden"
        assert threads["error"]["details"] == {"scope": "chat:read"}
    finally:
        await client.disconnect()


async def test_the_scopes_list_claim_works_like_the_scope_string(server: LiveServer) -> None:
    reader, _ = await tab(server, service_token(scopes=["chat:read"]))
    writer, events = await tab(server, service_token("lister", scopes=["chat:read", "chat:write"]))
    try:
        assert_forbidden(await reader.call("chat:send", send_payload(), namespace=NS), "chat:send")
        assert (await reader.call("chat:threads", {}, namespace=NS))["ok"] is True
        started = await send_chat(writer, "count to 1")
        await wait_run_end(events, started["run_id"])
    finally:
        await reader.disconnect()
        await writer.disconnect()


async def test_user_tokens_and_system_events_need_no_scope(server: LiveServer) -> None:
    user, events = await tab(server, hs256(SECRET, sub="alice", iss=None, aud=None))
    bare, _ = await tab(server, service_token("no-scopes"))
    try:
        started = await send_chat(user, "count to 2")
        await wait_run_end(events, started["run_id"])
        threads = await user.call("chat:threads", {}, namespace=NS)
        assert [t["id"] for t in threads["data"]["threads"]] == [started["thread_id"]]

        # A service with no scopes at all: /system still answers, /chat refuses each event.
        pong = await bare.call("system:ping", {"client_time": 1}, namespace="/system")
        assert pong["ok"] is True, pong
        for event, payload, scope in (
            ("chat:threads", {}, "chat:read"),
            ("chat:examples", {}, "chat:read"),
            ("chat:history", {"thread_id": started["thread_id"]}, "chat:read"),
            ("chat:send", send_payload(), "chat:write"),
            ("chat:stop", {"run_id": started["run_id"]}, "chat:write"),
        ):
            ack = await bare.call(event, payload, namespace=NS)
            assert ack["ok"] is False, (event, ack)
            assert ack["error"]["code"] == "forbidden", (event, ack)
            assert ack["error"]["details"] == {"scope": scope}
    finally:
        await user.disconnect()
        await bare.disconnect()
