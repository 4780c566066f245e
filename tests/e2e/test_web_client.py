"""The web client in headless Chromium against the real server, as a user would use it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from playwright.async_api import BrowserContext, WebSocketRoute, expect

from server.settings import Settings
from tests.conftest import SettingsFactory
from tests.e2e.pages import assistant_messages, counted, open_chat, status, type_and_send
from tests.harness import LiveServer, free_port, live_server


async def test_discovery_first_then_one_websocket_connected_before_typing(
    context: BrowserContext, web_server: LiveServer
) -> None:
    requests: list[str] = []
    sockets: list[str] = []
    page = await context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.goto(web_server.url)
    await expect(status(page)).to_have_attribute("data-state", "connected")
    # Nothing typed yet: the socket is already up, found through discovery.
    await expect(page.get_by_test_id("message-input")).to_have_value("")
    config_at = next(i for i, url in enumerate(requests) if url.endswith("/api/ws-config"))
    socket_at = [i for i, url in enumerate(requests) if "/socket.io/" in url]
    assert not socket_at or config_at < socket_at[0]
    assert len(sockets) == 1
    assert "/socket.io/" in sockets[0]
    # StrictMode re-renders and a chat round trip open no second socket.
    await type_and_send(page, "count to 5")
    await expect(assistant_messages(page).last).to_have_attribute("data-status", "complete")
    assert len(sockets) == 1


async def test_example_prompt_streams_an_answer(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_chat(context, web_server.url)
    examples = page.get_by_test_id("example-prompt")
    await expect(examples.first).to_be_visible()
    assert await examples.count() >= 3
    await examples.filter(has_text=re.compile("calculator", re.I)).first.click()
    answer = assistant_messages(page).last
    await expect(answer).to_have_attribute("data-status", "complete")
    await expect(answer).to_contain_text("= 21.")
    tool = answer.get_by_test_id("tool-call")
    await expect(tool).to_contain_text("calculator")
    await expect(tool).to_contain_text('"expression": "(12 + 30) * 2 / 4"')
    await expect(page.get_by_test_id("thread-item").first).to_contain_text("calculate")


async def test_typed_text_gets_a_streamed_answer(
    context: BrowserContext, web_settings: Settings
) -> None:
    async with live_server(web_settings.model_copy(update={"demo_tokens_per_s": 40})) as live:
        page = await open_chat(context, live.url)
        await type_and_send(page, "count to 30")
        user = page.locator('[data-testid="message"][data-role="user"]').last
        await expect(user).to_contain_text("count to 30")
        answer = assistant_messages(page).last
        await expect(answer).to_have_attribute("data-status", "streaming")
        await expect(answer).to_have_attribute("data-status", "complete")
        await expect(answer.locator(".message-text")).to_have_text(counted(30))
        await expect(page.get_by_test_id("message-input")).to_have_value("")


async def test_stop_ends_the_answer(context: BrowserContext, web_settings: Settings) -> None:
    async with live_server(web_settings.model_copy(update={"demo_tokens_per_s": 50})) as live:
        page = await open_chat(context, live.url)
        await type_and_send(page, "count to 2000")
        answer = assistant_messages(page).last
        await expect(answer).to_contain_text("1 2 3 4 5")
        await page.get_by_test_id("stop-button").click()
        await expect(answer).to_have_attribute("data-status", "stopped")
        await expect(page.get_by_test_id("stop-button")).to_have_count(0)
        text = await answer.locator(".message-text").inner_text()
        assert counted(2000).startswith(text.strip())
        assert not text.strip().endswith("2000")


async def test_reload_mid_answer_shows_it_whole_and_it_completes(
    context: BrowserContext, web_settings: Settings
) -> None:
    async with live_server(web_settings.model_copy(update={"demo_tokens_per_s": 60})) as live:
        page = await open_chat(context, live.url)
        await type_and_send(page, "count to 200")
        answer = assistant_messages(page).last
        await expect(answer).to_contain_text("1 2 3 4 5 6 7 8 9 10")
        await page.reload()
        await expect(status(page)).to_have_attribute("data-state", "connected")
        answer = assistant_messages(page).last
        # Right after the reload: what was written so far, then more of it, never a gap.
        await expect(answer).to_contain_text("1 2 3 4 5 6 7 8 9 10")
        seen = (await answer.locator(".message-text").inner_text()).strip()
        assert counted(200).startswith(seen)
        await expect(answer).to_have_attribute("data-status", "complete", timeout=20_000)
        await expect(answer.locator(".message-text")).to_have_text(counted(200))
        assert await assistant_messages(page).count() == 1


async def test_two_tabs_stay_in_step(context: BrowserContext, web_server: LiveServer) -> None:
    first = await open_chat(context, web_server.url)
    second = await open_chat(context, web_server.url)  # same browser profile: same user
    await type_and_send(first, "calculate 6*7")
    await expect(assistant_messages(first).last).to_contain_text("6*7 = 42.")
    # The other tab learns of the new thread live, and opening it shows the same answer.
    thread = second.get_by_test_id("thread-item").filter(has_text="calculate 6*7")
    await expect(thread).to_have_count(1)
    await thread.click()
    await expect(assistant_messages(second).last).to_contain_text("6*7 = 42.")
    # With the thread open in both, the next answer streams into both.
    await type_and_send(first, "count to 12")
    for page in (first, second):
        answer = assistant_messages(page).last
        await expect(answer).to_have_attribute("data-status", "complete")
        await expect(answer.locator(".message-text")).to_have_text(counted(12))
        await expect(page.locator('[data-testid="message"]')).to_have_count(4)


async def test_a_blocked_socket_shows_the_error(
    context: BrowserContext, web_settings: Settings
) -> None:
    settings = web_settings.model_copy(update={"connect_timeout_ms": 3000})
    async with live_server(settings) as live:
        page = await context.new_page()

        async def refuse(ws: WebSocketRoute) -> None:
            await ws.close(code=1011, reason="blocked")

        await page.route_web_socket(re.compile(r".*/socket\.io/.*"), refuse)
        await page.route(re.compile(r".*/socket\.io/.*"), lambda route: route.abort())
        await page.goto(live.url)
        await expect(status(page)).to_have_attribute("data-state", "error")
        error = page.get_by_test_id("connection-error")
        await expect(error).to_be_visible()
        assert (await error.inner_text()).strip()
        # Text typed meanwhile is kept, not dropped.
        await page.get_by_test_id("message-input").fill("hold this")
        await expect(page.get_by_test_id("message-input")).to_have_value("hold this")


async def test_a_refused_connect_shows_the_reason(
    context: BrowserContext, make_settings: SettingsFactory, client_dist: Path
) -> None:
    settings = make_settings(client_dist=str(client_dist), auth_mode="jwt", jwt_secret="k" * 40)
    async with live_server(settings) as live:
        page = await context.new_page()
        await page.add_init_script("window.netraTokenProvider = async () => 'not-a-token';")
        await page.goto(live.url)
        await expect(status(page)).to_have_attribute("data-state", "error")
        await expect(page.get_by_test_id("connection-error")).to_contain_text("token_invalid")


async def test_server_restart_shows_reconnecting_then_the_chat_goes_on(
    context: BrowserContext, web_settings: Settings
) -> None:
    port = free_port()
    settings = web_settings.model_copy(update={"reconnect_delay_max_ms": 500})
    async with live_server(settings, port=port) as live:
        page = await open_chat(context, live.url)
        await type_and_send(page, "count to 3")
        await expect(assistant_messages(page).last).to_have_attribute("data-status", "complete")
    await expect(status(page)).to_have_attribute("data-state", "reconnecting")
    await asyncio.sleep(0.5)
    async with live_server(settings, port=port):
        await expect(status(page)).to_have_attribute("data-state", "connected")
        await type_and_send(page, "count to 4")
        await expect(assistant_messages(page).last.locator(".message-text")).to_have_text(
            counted(4)
        )
        await expect(assistant_messages(page).last).to_have_attribute("data-status", "complete")
        # What was said before the restart is still there, above the new answer.
        messages = page.locator('[data-testid="message"]')
        await expect(messages).to_have_count(4)
        await expect(messages.first).to_contain_text("count to 3")


async def test_a_message_typed_during_a_short_outage_waits_visibly_then_goes(
    context: BrowserContext, web_settings: Settings
) -> None:
    port = free_port()
    settings = web_settings.model_copy(update={"reconnect_delay_max_ms": 500})
    async with live_server(settings, port=port) as live:
        page = await open_chat(context, live.url)
        await expect(page.get_by_test_id("example-prompt").first).to_be_visible()
    await expect(status(page)).to_have_attribute("data-state", "reconnecting")
    await type_and_send(page, "count to 5")
    waiting = page.locator('[data-testid="message"][data-role="user"]').last
    await expect(waiting.get_by_test_id("delivery")).to_have_text("Waiting for the connection…")
    async with live_server(settings, port=port):
        await expect(status(page)).to_have_attribute("data-state", "connected")
        await expect(waiting.get_by_test_id("delivery")).to_have_count(0)
        answer = assistant_messages(page).last
        await expect(answer.locator(".message-text")).to_have_text(counted(5))
        await expect(page.locator('[data-testid="message"]')).to_have_count(2)
