"""GET /metrics after real traffic: what an operator would graph."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SettingsFactory
from tests.harness import connect, live_server, refusal, send_chat, wait_run_end


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_what_happened(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings(rate_limit_per_min=60, rate_limit_burst=5)) as live:
        client, events = await connect(live, ["/chat", "/system"], {"token": await live.token()})
        await events.wait_for("/chat", "chat:ready")
        sent = await send_chat(client, "count to 5")
        await wait_run_end(events, sent["run_id"])
        await client.call("chat:history", {"thread_id": "nope"}, namespace="/chat")
        for _ in range(6):  # past the burst of 5 (one token already spent above)
            await client.call("system:ping", {"client_time": 1}, namespace="/system")
        await refusal(live, "/system", {"token": "bad"})
        m = await scrape(live.url)
        assert m[("netra_connections", (("namespace", "/chat"),))] == 1
        assert (
            m[
                (
                    "netra_connects_refused_total",
                    (("code", "token_invalid"), ("namespace", "/system")),
                )
            ]
            == 1
        )
        assert m[("netra_events_in_total", (("event", "chat:send"), ("namespace", "/chat")))] == 1
        assert m[("netra_acks_total", (("code", "not_found"), ("namespace", "/chat")))] == 1
        assert m[("netra_acks_total", (("code", "rate_limited"), ("namespace", "/system")))] >= 1
        assert m[("netra_rate_limited_total", (("namespace", "/system"),))] >= 1
        assert m[("netra_events_out_total", (("event", "agent:delta"),))] >= 1
        assert m[("netra_runs_total", (("outcome", "completed"),))] == 1
        assert m[("netra_emit_seconds_count", ())] >= 4
        assert m[("netra_resumes_total", (("recovery", "fresh"),))] == 1
        await client.disconnect()
        after = await scrape(live.url)
        assert after[("netra_connections", (("namespace", "/chat"),))] == 0
