"""The /notes example namespace end to end: installed by one `WS_EXTENSIONS` entry, it
appears in discovery, the schema and the generated TypeScript, keeps a user stream in step
across tabs, resumes a Node socket.io-client with exactly what it missed, and enforces scopes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from schemas.publish import Notification
from server.app_keys import PUBLISHER
from server.realtime.topics import NOTIFICATION
from tests.client_js.test_generated_types import generate_typescript
from tests.conftest import SettingsFactory
from tests.contract.node import run_node_script
from tests.harness import LiveServer, connect, live_server, refusal
from tests.server.auth.tokens import SECRET, hs256

NOTES = "/notes"
ROOT = Path(__file__).resolve().parents[2]
NOTES_EVENTS = {
    "notes:add": ("client_to_server", "NotesAdd", "NoteResult"),
    "notes:delete": ("client_to_server", "NotesDelete", "DeleteResult"),
    "notes:list": ("client_to_server", "NotesList", "NotesResult"),
    "notes:added": ("server_to_client", "NoteAdded", None),
    "notes:deleted": ("server_to_client", "NoteDeleted", None),
    "notes:ready": ("server_to_client", "NotesReady", None),
    "notes:error": ("server_to_client", "NotesError", None),
}


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    settings = make_settings(jwt_secret=SECRET, extensions=["examples.notes:install"])
    async with live_server(settings) as live:
        yield live


async def test_discovery_and_schema_list_the_namespace(server: LiveServer) -> None:
    _, config = await server.get_json("/api/ws-config")
    assert config["namespaces"] == {
        "agui": "/agui",
        "chat": "/chat",
        "system": "/system",
        "notes": "/notes",
    }

    _, schema = await server.get_json("/api/ws-schema")
    for name, (direction, payload, ack) in NOTES_EVENTS.items():
        event = schema["events"][name]
        assert (event["namespace"], event["direction"]) == (NOTES, direction)
        refs = [part["$ref"] for part in event["payload"].get("allOf", [event["payload"]])]
        assert refs[-1] == f"#/$defs/{payload}"
        if ack is not None:
            assert event["ack_data"] == {"$ref": f"#/$defs/{ack}"}
    # The user-stream events carry the envelope the emitter stamps.
    added = schema["events"]["notes:added"]["payload"]["allOf"]
    assert added[0] == {"$ref": "#/$defs/StreamEnvelope"}
    assert {"text"} <= set(schema["$defs"]["NotesAdd"]["properties"])
    assert set(schema["$defs"]["Note"]["properties"]) == {"id", "text", "created_at"}


async def test_two_tabs_see_each_change_with_one_seq(server: LiveServer) -> None:
    token = await server.token("alice")
    tab1, events1 = await connect(server, [NOTES, "/chat"], {"token": token})
    tab2, events2 = await connect(server, [NOTES], {"token": token})
    try:
        [ready1] = await events1.wait_for(NOTES, "notes:ready")
        [ready2] = await events2.wait_for(NOTES, "notes:ready")
        assert ready1["recovery"] == ready2["recovery"] == "fresh"
        await events1.wait_for("/chat", "chat:ready")
        # The user's /chat stream is numbered on its own.
        await server.app[PUBLISHER].publish(NOTIFICATION, "alice", Notification(title="x"))
        await events1.wait_for("/chat", "app:event")

        added = await tab1.call("notes:add", {"text": "buy milk"}, namespace=NOTES)
        assert added["ok"] is True, added
        note = added["data"]["note"]
        assert note["text"] == "buy milk"
        [seen1] = await events1.wait_for(NOTES, "notes:added")
        [seen2] = await events2.wait_for(NOTES, "notes:added")
        assert seen1 == seen2
        assert seen1["note"] == note
        assert seen1["seq"] == ready1["head_seq"] + 1

        deleted = await tab2.call("notes:delete", {"note_id": note["id"]}, namespace=NOTES)
        assert deleted == {"ok": True, "data": {"deleted": True}}
        [gone1] = await events1.wait_for(NOTES, "notes:deleted")
        [gone2] = await events2.wait_for(NOTES, "notes:deleted")
        assert gone1 == gone2 == {**gone1, "note_id": note["id"], "seq": seen1["seq"] + 1}

        listed = await tab2.call("notes:list", {}, namespace=NOTES)
        assert listed == {"ok": True, "data": {"notes": []}}
        # Bob's notes are his own.
        bob, bob_events = await connect(server, [NOTES], {"token": await server.token("bob")})
        try:
            await bob_events.wait_for(NOTES, "notes:ready")
            await bob.call("notes:add", {"text": "bob's"}, namespace=NOTES)
            [bobs] = await bob_events.wait_for(NOTES, "notes:added")
            assert bobs["seq"] == 1
            assert [n for n, _ in events1.events[NOTES]].count("notes:added") == 1
        finally:
            await bob.disconnect()
    finally:
        await tab1.disconnect()
        await tab2.disconnect()


async def test_a_node_client_resumes_with_exactly_what_it_missed(server: LiveServer) -> None:
    seen = await run_node_script("notes_contract.mjs", server.url)

    assert seen["namespaces"]["notes"] == NOTES
    assert seen["firstReady"]["recovery"] == "fresh"
    assert all(ack["ok"] for ack in seen["firstAcks"] + seen["otherAcks"])
    assert seen["deleteAck"] == {"ok": True, "data": {"deleted": True}}
    assert seen["deleteMissing"]["error"]["code"] == "not_found"
    assert seen["invalidAdd"]["error"]["code"] == "invalid_payload"

    first_ids = [ack["data"]["note"]["id"] for ack in seen["firstAcks"]]
    other_ids = [ack["data"]["note"]["id"] for ack in seen["otherAcks"]]
    before = [e for e in seen["beforeLeaving"] if "seq" in e]
    assert [e["note"]["id"] for e in before] == first_ids
    left_at = seen["resumedWith"]["last_seq"]
    assert left_at == before[-1]["seq"]

    # While it was away: two notes added and one deleted, through the other tab.
    missed = [e for e in seen["otherSeen"] if "seq" in e]
    assert [e["event"] for e in missed] == ["notes:added", "notes:added", "notes:deleted"]
    assert [e["seq"] for e in missed] == [left_at + 1, left_at + 2, left_at + 3]

    # Back: exactly those, in order, then notes:ready.
    back = seen["afterReturning"]
    assert [e["event"] for e in back] == [
        "notes:added",
        "notes:added",
        "notes:deleted",
        "notes:ready",
    ]
    assert back[:3] == missed
    assert [e["note"]["id"] for e in back[:2]] == other_ids
    assert back[2]["note_id"] == first_ids[0]
    ready = back[3]
    assert ready["epoch"] == seen["firstReady"]["epoch"]
    assert (ready["recovery"], ready["replayed"], ready["head_seq"]) == (
        "recovered",
        3,
        left_at + 3,
    )

    # No event twice, none lost.
    seqs = [e["seq"] for e in seen["allReceived"] if "seq" in e]
    assert seqs == list(range(1, left_at + 4))
    listed = [note["id"] for note in seen["list"]["data"]["notes"]]
    assert listed == first_ids[1:] + other_ids


def service_token(**claims: Any) -> str:
    return hs256(SECRET, sub="notes-bot", kind="service", iss=None, aud=None, **claims)


async def test_a_read_only_service_can_list_but_not_add(server: LiveServer) -> None:
    client, events = await connect(server, [NOTES], {"token": service_token(scope="chat:read")})
    try:
        await events.wait_for(NOTES, "notes:ready")
        assert await client.call("notes:list", {}, namespace=NOTES) == {
            "ok": True,
            "data": {"notes": []},
        }
        for event, payload in (("notes:add", {"text": "x"}), ("notes:delete", {"note_id": "n"})):
            ack = await client.call(event, payload, namespace=NOTES)
            assert ack["ok"] is False, ack
            assert ack["error"]["code"] == "forbidden"
            assert ack["error"]["details"] == {"scope": "chat:write"}
        assert await client.call("notes:list", {}, namespace=NOTES) == {
            "ok": True,
            "data": {"notes": []},
        }
        assert events.of(NOTES, "notes:added") == []
    finally:
        await client.disconnect()

    writer, events = await connect(server, [NOTES], {"token": service_token(scope="chat:write")})
    try:
        await events.wait_for(NOTES, "notes:ready")
        ack = await writer.call("notes:add", {"text": "x"}, namespace=NOTES)
        assert ack["ok"] is True, ack
        await events.wait_for(NOTES, "notes:added")
    finally:
        await writer.disconnect()


async def test_without_the_extension_there_is_no_notes_namespace(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings()) as live:
        refused = await refusal(live, NOTES, {"token": await live.token("alice")})
        _, config = await live.get_json("/api/ws-config")
        _, schema = await live.get_json("/api/ws-schema")
    assert refused["data"]["code"] == "not_found"
    assert "notes" not in config["namespaces"]
    assert not [name for name in schema["events"] if name.startswith("notes:")]


def test_generated_typescript_has_the_namespace(tmp_path: Path) -> None:
    exported = subprocess.run(
        [sys.executable, "-m", "schemas.export", "examples.notes:NOTES_NAMESPACE"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    ts = generate_typescript(exported.stdout, tmp_path)
    assert '"notes:add": { payload: NotesAdd; ack: NoteResult };' in ts
    assert '"notes:added": StreamEnvelope & NoteAdded;' in ts
    assert "export interface NoteAdded {" in ts
    assert "export interface NotesClientEvents {" in ts
    assert '"/notes": NotesServerEvents;' in ts
    # The built-in namespaces are still there.
    assert '"chat:send": { payload: ChatSend; ack: SendResult };' in ts
