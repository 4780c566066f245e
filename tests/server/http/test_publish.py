"""POST /api/publish and the in-process Publisher: an `app:event` joins the user's stream on
/chat (sequenced with the chat's own events, every tab, replayed on resume); 401, 403 and 400
as the contract says, each refusal on one log line without the token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import pytest
from pydantic import Field

from schemas.publish import Notification, TopicData
from server.app_keys import PUBLISHER
from server.realtime.assembly import Realtime
from server.realtime.publisher import UnknownTopic
from server.realtime.topics import NOTIFICATION, Topic
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server, send_chat, stream_seqs, wait_run_end
from tests.server.auth.tokens import SECRET, hs256

NS = "/chat"
PUBLISH = "/api/publish"


class BuildFinished(TopicData):
    """The data of a topic an extension registers (below, `install_topic`)."""

    build_id: str = Field(min_length=1)
    status: Literal["passed", "failed"]
    duration_s: float = Field(ge=0)


BUILD_FINISHED = Topic("build.finished", BuildFinished)


def install_topic(realtime: Realtime) -> None:
    """`WS_EXTENSIONS=tests.server.http.test_publish:install_topic`."""
    realtime.topic(BUILD_FINISHED)


def service_token(sub: str = "notifier", **claims: Any) -> str:
    """A service principal's token, signed with the server's WS_JWT_SECRET."""
    return hs256(SECRET, sub=sub, kind="service", iss=None, aud=None, **claims)


PUBLISHER_TOKEN = service_token(scope="publish")


async def post(
    server: LiveServer, body: Any, token: str | None = PUBLISHER_TOKEN, raw: bytes | None = None
) -> tuple[int, Any]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with http.post(f"{server.url}{PUBLISH}", headers=headers, **kwargs) as r:
            return r.status, await r.json()


def notification(user_id: str = "alice", **data: Any) -> dict[str, Any]:
    return {"user_id": user_id, "topic": "notification", "data": {"title": "Build done", **data}}


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    """Dev auth (the tabs log in), with dev tokens and service tokens signed by one secret."""
    settings = make_settings(jwt_secret=SECRET, extensions=[f"{__name__}:install_topic"])
    async with live_server(settings) as live:
        yield live


def app_events(events: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = events.of(NS, "app:event")
    return result


async def test_a_notification_reaches_every_tab_in_the_users_stream(server: LiveServer) -> None:
    alice = await server.token("alice")
    tab1, events1 = await connect(server, [NS], {"token": alice})
    tab2, events2 = await connect(server, [NS], {"token": alice})
    bob, bob_events = await connect(server, [NS], {"token": await server.token("bob")})
    try:
        for events in (events1, events2, bob_events):
            await events.wait_for(NS, "chat:ready")
        run = await send_chat(tab1, "count to 3")
        await wait_run_end(events1, run["run_id"])
        await wait_run_end(events2, run["run_id"])
        chat_head = max(stream_seqs(events1))

        status, accepted = await post(server, notification(body="All green", level="warning"))
        assert status == 202
        assert accepted == {"seq": chat_head + 1}
        [got1] = await events1.wait_for(NS, "app:event")
        [got2] = await events2.wait_for(NS, "app:event")
        assert got1 == got2
        assert got1["seq"] == accepted["seq"]
        assert got1["topic"] == "notification"
        assert got1["data"] == {"title": "Build done", "body": "All green", "level": "warning"}
        assert got1["ts"]

        # The chat goes on after it in the same numbering.
        more = await send_chat(tab2, "count to 2")
        await wait_run_end(events1, more["run_id"])
        await wait_run_end(events2, more["run_id"])
        assert stream_seqs(events1) == stream_seqs(events2)
        assert stream_seqs(events1) == list(range(1, len(stream_seqs(events1)) + 1))

        # Bob's own event is the barrier: anything of Alice's sent to him came before it.
        status, for_bob = await post(server, notification("bob", title="For Bob"))
        assert (status, for_bob) == (202, {"seq": 1})
        [bobs] = await bob_events.wait_for(NS, "app:event")
        assert bobs["data"]["title"] == "For Bob"
        assert [n for n, d in bob_events.events[NS] if "seq" in d] == ["app:event"]
        assert len(app_events(events1)) == len(app_events(events2)) == 1
    finally:
        for client in (tab1, tab2, bob):
            await client.disconnect()


async def test_a_tab_that_was_away_gets_the_event_replayed_before_ready(
    server: LiveServer,
) -> None:
    token = await server.token("alice")
    tab, events = await connect(server, [NS], {"token": token})
    [ready] = await events.wait_for(NS, "chat:ready")
    run = await send_chat(tab, "count to 2")
    await wait_run_end(events, run["run_id"])
    last_seq = max(stream_seqs(events))
    await tab.disconnect()

    status, accepted = await post(server, notification(title="While you were away"))
    assert status == 202

    back, back_events = await connect(
        server, [NS], {"token": token, "resume": {"epoch": ready["epoch"], "last_seq": last_seq}}
    )
    try:
        [again] = await back_events.wait_for(NS, "chat:ready")
        assert [name for name, _ in back_events.events[NS]] == ["app:event", "chat:ready"]
        [replayed] = app_events(back_events)
        assert replayed["seq"] == accepted["seq"] == last_seq + 1
        assert replayed["data"]["title"] == "While you were away"
        assert again["recovery"] == "recovered"
        assert again["replayed"] == 1
        assert again["head_seq"] == accepted["seq"]
    finally:
        await back.disconnect()


async def test_in_process_code_publishes_typed(server: LiveServer) -> None:
    token = await server.token("alice")
    tab1, events1 = await connect(server, [NS], {"token": token})
    tab2, events2 = await connect(server, [NS], {"token": token})
    try:
        await events1.wait_for(NS, "chat:ready")
        await events2.wait_for(NS, "chat:ready")
        publisher = server.app[PUBLISHER]
        seq = await publisher.publish(NOTIFICATION, "alice", Notification(title="x"))
        [got1] = await events1.wait_for(NS, "app:event")
        [got2] = await events2.wait_for(NS, "app:event")
        assert got1 == got2
        assert got1["seq"] == seq
        assert got1["topic"] == "notification"
        assert got1["data"] == {"title": "x", "body": "", "level": "info"}

        unregistered = Topic("not.registered", Notification)
        with pytest.raises(UnknownTopic):
            await publisher.publish(unregistered, "alice", Notification(title="x"))
    finally:
        await tab1.disconnect()
        await tab2.disconnect()


async def test_a_topic_registered_by_an_extension_is_validated_by_its_model(
    server: LiveServer,
) -> None:
    token = await server.token("alice")
    tab, events = await connect(server, [NS], {"token": token})
    try:
        await events.wait_for(NS, "chat:ready")
        data = {"build_id": "b-17", "status": "passed", "duration_s": 12.5}
        body = {"user_id": "alice", "topic": "build.finished", "data": data}
        status, accepted = await post(server, body)
        assert status == 202
        [got] = await events.wait_for(NS, "app:event")
        assert (got["seq"], got["topic"], got["data"]) == (accepted["seq"], "build.finished", data)

        for bad in (
            {**data, "status": "flaky"},
            {**data, "duration_s": -1},
            {"build_id": "b-18", "status": "passed"},
            {**data, "title": "a notification's field"},
        ):
            status, refused = await post(server, {**body, "data": bad})
            assert status == 400, bad
            assert refused["error"]["code"] == "invalid_payload"
            assert "build.finished" in refused["error"]["message"]

        # In process, the same topic is typed by its model.
        seq = await server.app[PUBLISHER].publish(
            BUILD_FINISHED, "alice", BuildFinished(build_id="b-19", status="failed", duration_s=3)
        )
        [_, typed] = await events.wait_for(NS, "app:event", count=2)
        assert typed["seq"] == seq
        assert typed["data"] == {"build_id": "b-19", "status": "failed", "duration_s": 3.0}
    finally:
        await tab.disconnect()


def assert_error(status: int, body: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_without_a_valid_token_it_is_401(
    server: LiveServer, log_records: list[dict[str, Any]]
) -> None:
    expired = service_token(scope="publish", exp=int(time.time()) - 60)
    garbage = "not.a.token"
    forged = hs256("another-secret-that-is-long-enough-32", sub="x", kind="service", iss=None)
    cases: list[tuple[str | None, str]] = [
        (None, "auth_required"),
        ("", "auth_required"),
        (garbage, "unauthorized"),
        (forged, "unauthorized"),
        (expired, "token_expired"),
    ]
    for token, code in cases:
        status, body = await post(server, notification(), token=token)
        assert_error(status, body, 401, code)

    # Not a Bearer scheme at all.
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}{PUBLISH}",
            json=notification(),
            headers={"Authorization": f"Basic {PUBLISHER_TOKEN}"},
        ) as r,
    ):
        assert_error(r.status, await r.json(), 401, "auth_required")

    refused = [r for r in log_records if r["message"].startswith("publish refused")]
    assert [r["code"] for r in refused] == [code for _, code in cases] + ["auth_required"]
    for record in refused:
        assert "\n" not in record["message"]
        assert "status=401" in record["message"]
    secrets = [expired, garbage, forged, PUBLISHER_TOKEN, SECRET]
    for record in log_records:
        line = repr(record)
        assert not any(secret in line for secret in secrets), line


async def test_a_token_that_is_not_a_publishing_service_is_403(
    server: LiveServer, log_records: list[dict[str, Any]]
) -> None:
    user = hs256(SECRET, sub="carol", iss=None, aud=None)
    tokens = {
        "user": user,
        "dev": await server.token("dave"),
        "service": service_token("reader", scope="chat:read chat:write"),
        "service-list": service_token("lister", scopes=["chat:read"]),
    }
    for token in tokens.values():
        status, body = await post(server, notification(), token=token)
        assert_error(status, body, 403, "forbidden")

    refused = [r for r in log_records if r["message"].startswith("publish refused")]
    assert len(refused) == len(tokens)
    assert [r["user"] for r in refused] == ["carol", "dave", "reader", "lister"]
    for record in refused:
        assert record["code"] == "forbidden"
        assert "status=403" in record["message"]
    for record in log_records:
        line = repr(record)
        assert not any(token in line for token in tokens.values()), line

    # The `scopes` list grants `publish` like the `scope` string.
    status, _ = await post(server, notification(), token=service_token(scopes=["publish"]))
    assert status == 202


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (notification(level="loud"), "'notification': level"),
        (notification(extra="unknown field"), "'notification': extra"),
        (notification(title=""), "'notification': title"),
        (notification(title=5), "'notification': title"),
        ({"user_id": "alice", "topic": "notification", "data": {}}, "'notification': title"),
        ({"user_id": "alice", "topic": "no.such.topic", "data": {"title": "x"}}, "no.such.topic"),
        ({"user_id": "alice", "topic": "Not A Topic", "data": {"title": "x"}}, "topic"),
        ({"topic": "notification", "data": {"title": "x"}}, "user_id"),
        ({"user_id": "alice", "topic": "notification", "data": ["x"]}, "data"),
        ({**notification(), "priority": 1}, "priority"),
        ([notification()], "(body)"),
    ],
)
async def test_a_body_topic_or_data_the_server_refuses_is_400(
    server: LiveServer, body: Any, names: str
) -> None:
    status, refused = await post(server, body)
    assert_error(status, refused, 400, "invalid_payload")
    assert names in refused["error"]["message"]


async def test_a_body_that_is_not_json_is_400(server: LiveServer) -> None:
    for raw in (b"{not json", b"", b"\xff\xfe", b"null"):
        status, refused = await post(server, None, raw=raw)
        assert_error(status, refused, 400, "invalid_payload")


async def test_nothing_refused_reaches_the_user(server: LiveServer) -> None:
    tab, events = await connect(server, [NS], {"token": await server.token("alice")})
    try:
        await events.wait_for(NS, "chat:ready")
        await post(server, notification(level="loud"))
        await post(server, notification(), token=await server.token("alice"))
        await post(server, notification(), token=None)
        status, accepted = await post(server, notification(title="the only one"))
        assert (status, accepted) == (202, {"seq": 1})
        [only] = await events.wait_for(NS, "app:event")
        assert only["data"]["title"] == "the only one"
        await asyncio.sleep(0.05)
        assert len(app_events(events)) == 1
    finally:
        await tab.disconnect()
