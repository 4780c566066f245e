"""Reconnection: a client that drops and comes back gets exactly what it missed, or a reset."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import socketio

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server, wait_run_end
from tests.proxy import cuttable_proxy

NS = "/chat"


async def test_resume_replays_missed_events_before_ready(server: LiveServer) -> None:
    token = await server.token("alice")
    first, first_events = await connect(server, [NS], {"token": token})
    ready = (await first_events.wait_for(NS, "chat:ready"))[0]
    ack = await first.call(
        "chat:send", {"client_msg_id": str(uuid.uuid4()), "text": "count to 50"}, namespace=NS
    )
    await wait_run_end(first_events, ack["data"]["run_id"])
    seen = [d["seq"] for _, d in first_events.events[NS] if "seq" in d]
    await first.disconnect()

    # Another tab keeps the stream going while the first is away.
    other, other_events = await connect(server, [NS], {"token": token})
    await other_events.wait_for(NS, "chat:ready")
    more = await other.call(
        "chat:send", {"client_msg_id": str(uuid.uuid4()), "text": "count to 20"}, namespace=NS
    )
    await wait_run_end(other_events, more["data"]["run_id"])
    head = max(d["seq"] for _, d in other_events.events[NS] if "seq" in d)
    await other.disconnect()

    last_seq = seen[-1] - 5  # pretend the last five never arrived
    back, back_events = await connect(
        server, [NS], {"token": token, "resume": {"epoch": ready["epoch"], "last_seq": last_seq}}
    )
    try:
        [again] = await back_events.wait_for(NS, "chat:ready")
        names = [name for name, _ in back_events.events[NS]]
        replayed = [d["seq"] for _, d in back_events.events[NS] if "seq" in d]
        assert replayed == list(range(last_seq + 1, head + 1))
        assert names[-1] == "chat:ready"  # every replayed event came first
        assert again == {
            "epoch": ready["epoch"],
            "head_seq": head,
            "recovery": "recovered",
            "replayed": head - last_seq,
        }
    finally:
        await back.disconnect()


async def test_unknown_epoch_gets_reset_and_nothing_replayed(server: LiveServer) -> None:
    token = await server.token("alice")
    client, events = await connect(server, [NS], {"token": token})
    await events.wait_for(NS, "chat:ready")
    ack = await client.call(
        "chat:send", {"client_msg_id": str(uuid.uuid4()), "text": "count to 3"}, namespace=NS
    )
    await wait_run_end(events, ack["data"]["run_id"])
    await client.disconnect()
    for resume in ({"epoch": "bogus", "last_seq": 1}, {"epoch": "bogus", "last_seq": 0}):
        back, back_events = await connect(server, [NS], {"token": token, "resume": resume})
        [ready] = await back_events.wait_for(NS, "chat:ready")
        assert ready["recovery"] == "reset"
        assert ready["replayed"] == 0
        assert [n for n, _ in back_events.events[NS]] == ["chat:ready"]
        await back.disconnect()


async def test_position_ahead_of_the_server_gets_reset(server: LiveServer) -> None:
    token = await server.token("alice")
    client, events = await connect(server, [NS], {"token": token})
    [ready] = await events.wait_for(NS, "chat:ready")
    await client.disconnect()
    resume = {"epoch": ready["epoch"], "last_seq": 99}
    back, back_events = await connect(server, [NS], {"token": token, "resume": resume})
    assert (await back_events.wait_for(NS, "chat:ready"))[0]["recovery"] == "reset"
    await back.disconnect()


async def test_a_restarted_server_answers_reset(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    async with live_server(settings) as live:
        token = await live.token("alice")
        client, events = await connect(live, [NS], {"token": token})
        [ready] = await events.wait_for(NS, "chat:ready")
        await client.disconnect()
    async with live_server(settings.model_copy(update={"jwt_secret": None})) as again:
        token = await again.token("alice")
        resume = {"epoch": ready["epoch"], "last_seq": 0}
        back, back_events = await connect(again, [NS], {"token": token, "resume": resume})
        [after] = await back_events.wait_for(NS, "chat:ready")
        assert after["recovery"] == "reset"
        assert after["epoch"] != ready["epoch"]
        await back.disconnect()


async def test_transport_cut_repeatedly_mid_stream_loses_and_doubles_nothing(
    make_settings: SettingsFactory,
) -> None:
    count = 4000
    async with live_server(make_settings(demo_tokens_per_s=1000)) as live:
        token = await live.token("alice")
        async with cuttable_proxy(live.url) as proxy:
            position: dict[str, Any] = {}
            received: list[dict[str, Any]] = []
            readies: list[dict[str, Any]] = []
            first_ready = asyncio.Event()
            client = socketio.AsyncClient(
                reconnection=True, reconnection_delay=0.05, reconnection_delay_max=0.2
            )

            def auth() -> dict[str, Any]:
                return {"token": token, **({"resume": dict(position)} if position else {})}

            @client.on("chat:ready", namespace=NS)  # type: ignore[untyped-decorator]
            async def on_ready(data: dict[str, Any]) -> None:
                readies.append(data)
                first_ready.set()
                position.update(epoch=data["epoch"], last_seq=data["head_seq"])

            @client.on("*", namespace=NS)  # type: ignore[untyped-decorator]
            async def on_event(name: str, data: dict[str, Any]) -> None:
                if "seq" in data and data["seq"] > position.get("last_seq", 0):
                    received.append({"event": name, **data})
                    position["last_seq"] = data["seq"]

            await client.connect(proxy.url, namespaces=[NS], auth=auth, transports=["websocket"])
            await asyncio.wait_for(first_ready.wait(), 5)
            ack = await client.call(
                "chat:send",
                {"client_msg_id": str(uuid.uuid4()), "text": f"count to {count}"},
                namespace=NS,
            )
            run_id = ack["data"]["run_id"]
            cuts = 0
            while not any(e["event"] == "agent:run_completed" for e in received):
                await asyncio.sleep(0.1)
                # Cut only a session that is back (its chat:ready arrived): a cut during a
                # reconnect's handshake costs the client a connect timeout, not a resume.
                if cuts < 6 and len(readies) > cuts and proxy.cut():
                    cuts += 1
            await client.disconnect()

    assert cuts >= 5
    assert len(readies) >= 6
    assert all(r["recovery"] == "recovered" for r in readies[1:])
    seqs = [e["seq"] for e in received]
    assert seqs == list(range(1, len(seqs) + 1))  # contiguous, no duplicates
    text = "".join(e["text"] for e in received if e["event"] == "agent:delta")
    expected = " ".join(str(n) for n in range(1, count + 1))
    assert text == expected
    [done] = [e for e in received if e["event"] == "agent:run_completed"]
    assert done["run_id"] == run_id
    assert done["message"]["text"] == expected


async def test_resuming_while_the_stream_runs_neither_loses_nor_reorders(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings(demo_tokens_per_s=2000, delta_flush_ms=0)) as live:
        token = await live.token("alice")
        writer, writer_events = await connect(live, [NS], {"token": token})
        [ready] = await writer_events.wait_for(NS, "chat:ready")
        ack = await writer.call(
            "chat:send", {"client_msg_id": str(uuid.uuid4()), "text": "count to 1500"}, namespace=NS
        )
        run_id = ack["data"]["run_id"]
        resumers = []
        for last_seq in (1, 3, 10, 20, 30, 40, 50, 60):
            # Each joins mid-stream from an old position: replay and live events meet.
            client, events = await connect(
                live,
                [NS],
                {"token": token, "resume": {"epoch": ready["epoch"], "last_seq": last_seq}},
            )
            resumers.append((last_seq, client, events))
            await asyncio.sleep(0.05)
        await wait_run_end(writer_events, run_id)
        for last_seq, client, events in resumers:
            await wait_run_end(events, run_id)
            seqs = [d["seq"] for _, d in events.events[NS] if "seq" in d]
            assert seqs == list(range(last_seq + 1, seqs[-1] + 1))
            [ready_again] = events.of(NS, "chat:ready")
            assert ready_again["recovery"] == "recovered"
            # What it missed comes before chat:ready, every live event after it.
            ready_at = [name for name, _ in events.events[NS]].index("chat:ready")
            replayed = [d["seq"] for _, d in events.events[NS][:ready_at] if "seq" in d]
            assert replayed == list(range(last_seq + 1, ready_again["head_seq"] + 1))
            await client.disconnect()
        await writer.disconnect()
