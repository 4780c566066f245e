"""Backing services failing under a running server: runs end with a code, the rest goes on."""

from __future__ import annotations

import asyncio

from tests.conftest import SettingsFactory
from tests.harness import connect, live_server, send_chat, wait_run_end
from tests.postgres_server import running_postgres


async def test_the_database_failing_mid_run_fails_that_run_and_the_server_serves_on(
    make_settings: SettingsFactory,
) -> None:
    async with running_postgres() as postgres:
        url = await postgres.create_database()
        async with live_server(make_settings(database_url=url, demo_tokens_per_s=100)) as live:
            client, events = await connect(live, ["/chat"], {"token": await live.token()})
            await events.wait_for("/chat", "chat:ready")
            sent = await send_chat(client, "count to 150")
            await events.wait_for("/chat", "agent:delta", count=2)
            await asyncio.to_thread(postgres.stop)

            name, failed = await wait_run_end(events, sent["run_id"])
            assert name == "agent:run_failed"
            assert failed["error"]["code"] == "store_error"
            status, ready = await live.get_json("/readyz")
            assert status == 503
            assert ready["checks"]["database"] != "ok"
            # What needs no database still answers, on this connection.
            examples = await client.call("chat:examples", {}, namespace="/chat")
            assert examples["ok"] is True
            history = await client.call(
                "chat:history", {"thread_id": sent["thread_id"]}, namespace="/chat"
            )
            assert history["error"]["code"] == "internal"

            await asyncio.to_thread(postgres.start)
            for _ in range(50):
                status, _ = await live.get_json("/readyz")
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert status == 200
            again = await send_chat(client, "count to 3")
            name, _ = await wait_run_end(events, again["run_id"])
            assert name == "agent:run_completed"
            await client.disconnect()
