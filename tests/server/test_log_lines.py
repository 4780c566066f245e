"""One log line per connect, disconnect (with its reason), refusal, run start and run end,
each carrying the sid, user and run id it is about."""

from __future__ import annotations

from typing import Any

from tests.harness import LiveServer, connect, refusal, send_chat, wait_run_end


async def test_lifecycle_lines_carry_their_ids(
    server: LiveServer, log_records: list[dict[str, Any]]
) -> None:
    client, events = await connect(server, ["/chat"], {"token": await server.token("alice")})
    await events.wait_for("/chat", "chat:ready")
    sid = client.get_sid("/chat")
    sent = await send_chat(client, "count to 3")
    await wait_run_end(events, sent["run_id"])
    await client.disconnect()
    await refusal(server, "/chat", {"token": "forged"})

    def lines(prefix: str) -> list[dict[str, Any]]:
        return [r for r in log_records if r["message"].startswith(prefix)]

    [connected] = lines("connected namespace=/chat")
    assert (connected["sid"], connected["user"]) == (sid, "alice")
    [started] = lines("run started")
    [ended] = lines("run ended")
    for line in (started, ended):
        assert (line["run_id"], line["user"]) == (sent["run_id"], "alice")
    assert "outcome=completed" in ended["message"]
    [disconnected] = lines("disconnected namespace=/chat")
    assert disconnected["sid"] == sid
    # The python client closes its transport when it leaves; the line says so.
    assert "reason=transport close" in disconnected["message"]
    [refused] = lines("connect refused namespace=/chat")
    assert refused["code"] == "token_invalid"
