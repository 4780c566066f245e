"""Conversations in the browser: parts, markdown, approvals, reasoning, versions, threads."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, expect

from server.settings import Settings
from tests.e2e.pages import answer_to, assistant_messages, open_chat, status, type_and_send
from tests.harness import LiveServer, free_port, live_server


async def test_a_tool_call_shows_the_same_before_and_after_a_reload(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_chat(context, web_server.url)
    answer = await answer_to(page, "calculate 2+3")
    for _ in range(2):
        tool = answer.get_by_test_id("tool-call")
        await expect(tool).to_have_count(1)
        await expect(tool).to_have_attribute("data-name", "calculator")
        await expect(tool).to_have_attribute("data-state", "done")
        await expect(tool.get_by_test_id("tool-args")).to_contain_text('"expression": "2+3"')
        await expect(tool.get_by_test_id("tool-result")).to_contain_text("5")
        await expect(answer).to_contain_text("5")
        # From history now: the same parts, the same block.
        await page.reload()
        await expect(status(page)).to_have_attribute("data-state", "connected")
        answer = assistant_messages(page).last
        await expect(answer).to_have_attribute("data-status", "complete")


async def test_markdown_is_rendered_and_raw_html_stays_text(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_chat(context, web_server.url)
    answer = await answer_to(page, "show markdown")
    for _ in range(2):
        await expect(answer.locator("h1")).to_have_text("Markdown in answers")
        await expect(answer.locator("strong").first).to_have_text("markdown")
        await expect(answer.locator("ul > li")).to_have_count(3)
        await expect(answer.locator("li code")).to_have_text("inline code")
        block = answer.get_by_test_id("code-block")
        await expect(block).to_have_attribute("data-language", "python")
        await expect(block.locator("pre")).to_contain_text("def greet(name: str) -> str:")
        await expect(block.locator(".hljs-keyword").first).to_have_text("def")
        await expect(block.get_by_test_id("copy-code")).to_be_visible()
        link = answer.get_by_role("link", name="link to LangChain")
        await expect(link).to_have_attribute("rel", re.compile("noopener"))
        # The raw HTML line is text on the page, and nothing of it ran.
        await expect(answer).to_contain_text('<img src=x onerror="window.__xss=1">')
        await expect(answer.locator("img")).to_have_count(0)
        assert await page.evaluate("() => window.__xss") is None
        await page.reload()
        await expect(status(page)).to_have_attribute("data-state", "connected")
        answer = assistant_messages(page).last
        await expect(answer).to_have_attribute("data-status", "complete")


async def test_a_code_block_still_streaming_shows_as_code(
    context: BrowserContext, web_settings: Settings
) -> None:
    async with live_server(web_settings.model_copy(update={"demo_tokens_per_s": 15})) as live:
        page = await open_chat(context, live.url)
        await type_and_send(page, "show markdown")
        answer = assistant_messages(page).last
        # The fence opened, not yet closed: already a code block, and the answer goes on.
        await expect(answer.get_by_test_id("code-block")).to_be_visible(timeout=30_000)
        await expect(answer).to_have_attribute("data-status", "streaming")
        await expect(answer).to_have_attribute("data-status", "complete", timeout=30_000)
        await expect(answer.locator("img")).to_have_count(0)
        assert await page.evaluate("() => window.__xss") is None


async def test_regenerate_keeps_both_answers_as_versions(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_chat(context, web_server.url)
    await answer_to(page, "count to 3")
    await expect(page.get_by_test_id("answer-version")).to_have_count(0)
    await page.get_by_test_id("regenerate-button").click()
    await expect(page.get_by_test_id("answer-version")).to_have_text("2 / 2")
    answer = assistant_messages(page).last
    await expect(answer).to_have_attribute("data-status", "complete")
    await expect(answer.locator(".message-text")).to_have_text("1 2 3")
    # One answer shown at a time: the older version is a click away.
    await expect(assistant_messages(page)).to_have_count(1)
    await page.get_by_test_id("answer-previous").click()
    await expect(page.get_by_test_id("answer-version")).to_have_text("1 / 2")
    await page.reload()
    await expect(status(page)).to_have_attribute("data-state", "connected")
    await expect(page.get_by_test_id("answer-version")).to_have_text("2 / 2")


async def test_rename_and_delete_reach_every_tab(
    context: BrowserContext, web_server: LiveServer
) -> None:
    first = await open_chat(context, web_server.url)
    second = await open_chat(context, web_server.url)  # same browser profile: same user
    await answer_to(first, "count to 2")
    await answer_to(first, "count to 4")
    await first.get_by_test_id("new-chat").click()
    await answer_to(first, "calculate 1+1")
    await expect(second.get_by_test_id("thread-item")).to_have_count(2)

    counting = first.get_by_test_id("thread-item").filter(has_text="count to 2")
    await counting.hover()
    await first.locator(".thread-row", has=counting).get_by_test_id("thread-rename").click()
    title = first.get_by_test_id("thread-rename-input")
    await title.fill("Counting practice")
    await title.press("Enter")
    await expect(
        first.get_by_test_id("thread-item").filter(has_text="Counting practice")
    ).to_have_count(1)
    await expect(first.get_by_test_id("thread-item").filter(has_text="count to 2")).to_have_count(0)
    renamed = second.get_by_test_id("thread-item").filter(has_text="Counting practice")
    await expect(renamed).to_have_count(1)

    # The other tab has the thread open when it is deleted: it goes to the new-chat view.
    await renamed.click()
    await expect(second.locator('[data-testid="message"]')).to_have_count(4)
    row = first.locator(
        ".thread-row", has=first.get_by_test_id("thread-item").filter(has_text="Counting practice")
    )
    await row.hover()
    await row.get_by_test_id("thread-delete").click()
    await row.get_by_test_id("thread-delete-confirm").click()
    for page in (first, second):
        await expect(page.get_by_test_id("thread-item")).to_have_count(1)
        await expect(page.get_by_test_id("thread-item")).to_contain_text("calculate 1+1")
    await expect(second.locator('[data-testid="message"]')).to_have_count(0)
    await expect(second.get_by_test_id("example-prompt").first).to_be_visible()


async def test_search_finds_threads_by_title_and_text(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_chat(context, web_server.url)
    await answer_to(page, "count to 2")
    await page.get_by_test_id("new-chat").click()
    await answer_to(page, "calculate 6*7")
    await expect(page.get_by_test_id("thread-item")).to_have_count(2)
    await page.get_by_test_id("thread-search").fill("calculate")
    await expect(page.get_by_test_id("thread-item")).to_have_count(1)
    await expect(page.get_by_test_id("thread-item")).to_contain_text("calculate 6*7")
    await page.get_by_test_id("thread-search").fill("")
    await expect(page.get_by_test_id("thread-item")).to_have_count(2)


async def test_stop_takes_the_place_of_send_while_an_answer_runs(
    context: BrowserContext, web_settings: Settings
) -> None:
    async with live_server(web_settings.model_copy(update={"demo_tokens_per_s": 50})) as live:
        page = await open_chat(context, live.url)
        await type_and_send(page, "count to 500")
        await expect(assistant_messages(page).last).to_contain_text("1 2 3")
        await expect(page.get_by_test_id("stop-button")).to_be_visible()
        await expect(page.get_by_test_id("send-button")).to_have_count(0)
        await page.get_by_test_id("stop-button").click()
        await expect(assistant_messages(page).last).to_have_attribute("data-status", "stopped")
        await expect(page.get_by_test_id("send-button")).to_be_visible()


async def test_sending_is_disabled_with_the_reason_while_the_server_is_down(
    context: BrowserContext, web_settings: Settings
) -> None:
    settings = web_settings.model_copy(update={"reconnect_delay_max_ms": 500})
    async with live_server(settings, port=free_port()) as live:
        page = await open_chat(context, live.url)
        await answer_to(page, "count to 2")
    # Down for longer than a short drop: Send is off, and the page says why.
    reason = page.get_by_test_id("composer-reason")
    await expect(reason).to_be_visible(timeout=20_000)
    await expect(reason).to_contain_text("cannot be reached")
    await page.get_by_test_id("message-input").fill("count to 3")
    await expect(page.get_by_test_id("send-button")).to_be_disabled()
    await expect(page.get_by_test_id("composer")).to_have_attribute("data-disabled", "true")


async def test_sending_is_disabled_with_the_reason_when_discovery_fails(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await context.new_page()
    await page.route(re.compile(r".*/api/ws-config$"), lambda route: route.abort())
    await page.goto(web_server.url)
    await expect(status(page)).to_have_attribute("data-state", "error")
    await expect(page.get_by_test_id("composer-reason")).to_contain_text("Not connected")
    await page.get_by_test_id("message-input").fill("hello")
    await expect(page.get_by_test_id("send-button")).to_be_disabled()


async def test_a_tool_call_waits_for_approval_then_runs(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_chat(context, web_server.url)
    await type_and_send(page, "remind me to water the plants")
    answer = assistant_messages(page).last
    tool = answer.get_by_test_id("tool-call")
    await expect(tool).to_have_attribute("data-name", "create_reminder")
    await expect(tool).to_have_attribute("data-state", "awaiting_approval")
    await expect(tool).to_contain_text('"text": "water the plants"')
    await expect(tool.get_by_test_id("deny-button")).to_be_visible()
    await tool.get_by_test_id("approve-button").click()
    await expect(tool).to_have_attribute("data-state", "done")
    await expect(tool.get_by_test_id("approve-button")).to_have_count(0)
    await expect(answer).to_have_attribute("data-status", "complete")
    await expect(tool.get_by_test_id("tool-result")).to_contain_text("reminder_id")


async def test_a_denied_tool_call_does_not_run(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_chat(context, web_server.url)
    await type_and_send(page, "remind me to call mum")
    tool = assistant_messages(page).last.get_by_test_id("tool-call")
    await expect(tool).to_have_attribute("data-state", "awaiting_approval")
    await tool.get_by_test_id("deny-button").click()
    await expect(tool).to_have_attribute("data-state", "denied")
    await expect(assistant_messages(page).last).to_have_attribute("data-status", "complete")
    await page.reload()
    await expect(status(page)).to_have_attribute("data-state", "connected")
    await expect(assistant_messages(page).last.get_by_test_id("tool-call")).to_have_attribute(
        "data-state", "denied"
    )


async def test_reasoning_shows_folded_above_the_answer(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_chat(context, web_server.url)
    answer = await answer_to(page, "think about tides")
    reasoning = answer.get_by_test_id("reasoning")
    await expect(reasoning).to_have_count(1)
    assert await reasoning.evaluate("(el) => el.tagName") == "DETAILS"
    await expect(reasoning).not_to_have_attribute("open", "")
    await expect(reasoning.locator(".reasoning-text")).to_be_hidden()
    await reasoning.locator("summary").click()
    await expect(reasoning.locator(".reasoning-text")).to_contain_text("think about tides")
    await expect(answer.locator(".message-text")).to_contain_text("tides")
