"""The AI SDK example page: `useChat` from @ai-sdk/react over the netra socket, in Chromium."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from server.settings import Settings
from tests.e2e.pages import counted
from tests.harness import LiveServer, live_server

# Uncaught errors and console errors of each page opened here.
_ERRORS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


async def open_page(context: BrowserContext, base_url: str) -> Page:
    page = await context.new_page()
    errors = _ERRORS.setdefault(page, [])
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(f"{base_url}/ai-sdk")
    await connected(page)
    return page


def page_errors(page: Page) -> list[str]:
    return _ERRORS.get(page, [])


async def connected(page: Page) -> None:
    await expect(page.get_by_test_id("aisdk-connection")).to_have_attribute(
        "data-state", "connected"
    )


def answers(page: Page) -> Any:
    return page.locator('[data-testid="aisdk-message"][data-role="assistant"]')


async def send(page: Page, text: str) -> Any:
    await page.get_by_test_id("aisdk-input").fill(text)
    await page.get_by_test_id("aisdk-send").click()
    return answers(page).last


async def answered(page: Page, text: str) -> Any:
    """Sends `text` and returns the answer once useChat is ready again."""
    answer = await send(page, text)
    await expect(page.get_by_test_id("aisdk-chat")).to_have_attribute("data-status", "ready")
    return answer


async def test_text_streams_into_a_ui_message_with_the_servers_id(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_page(context, web_server.url)
    answer = await answered(page, "count to 5")
    await expect(answer.get_by_test_id("aisdk-text")).to_have_text("1 2 3 4 5")
    await expect(page.locator('[data-testid="aisdk-message"][data-role="user"]')).to_have_text(
        "count to 5"
    )
    streamed_id = await answer.get_attribute("data-id")
    # After a reload the thread comes from history: the same message, under the same id.
    await page.reload()
    await connected(page)
    await expect(answers(page)).to_have_count(1)
    await expect(answers(page).last).to_have_attribute("data-id", streamed_id or "")
    await expect(answers(page).last.get_by_test_id("aisdk-text")).to_have_text("1 2 3 4 5")


async def test_a_tool_call_shows_its_input_and_output(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_page(context, web_server.url)
    answer = await answered(page, "calculate 2+3")
    tool = answer.get_by_test_id("aisdk-tool")
    await expect(tool).to_have_count(1)
    await expect(tool).to_have_attribute("data-name", "calculator")
    await expect(tool).to_have_attribute("data-state", "output-available")
    await expect(tool.get_by_test_id("aisdk-tool-input")).to_contain_text('"expression": "2+3"')
    await expect(tool.get_by_test_id("aisdk-tool-output")).to_have_text("5")
    await expect(answer.get_by_test_id("aisdk-text")).to_contain_text("5")


async def test_reasoning_is_its_own_part_before_the_text(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_page(context, web_server.url)
    answer = await answered(page, "think about tides")
    reasoning = answer.get_by_test_id("aisdk-reasoning")
    await expect(reasoning).to_have_count(1)
    await expect(reasoning).not_to_have_text("Reasoning")
    await expect(answer.get_by_test_id("aisdk-text")).not_to_have_count(0)
    kinds = await answer.locator("[data-testid]").evaluate_all(
        "els => els.map(e => e.dataset.testid)"
        ".filter(t => t === 'aisdk-reasoning' || t === 'aisdk-text')"
    )
    assert kinds[0] == "aisdk-reasoning"


async def test_an_approval_waits_for_the_user_then_the_tool_runs(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_page(context, web_server.url)
    answer = await send(page, "remind me to water the plants")
    tool = answer.get_by_test_id("aisdk-tool")
    await expect(tool).to_have_attribute("data-state", "approval-requested")
    await expect(tool).to_have_attribute("data-name", "create_reminder")
    await expect(tool.get_by_test_id("aisdk-tool-input")).to_contain_text("water the plants")
    # The run waits on the server with its stream open.
    await expect(page.get_by_test_id("aisdk-chat")).to_have_attribute("data-status", "streaming")
    await tool.get_by_test_id("aisdk-approve").click()
    await expect(tool).to_have_attribute("data-state", "output-available")
    await expect(tool.get_by_test_id("aisdk-tool-output")).to_contain_text("water the plants")
    await expect(page.get_by_test_id("aisdk-chat")).to_have_attribute("data-status", "ready")
    await expect(answer.get_by_test_id("aisdk-text")).not_to_have_count(0)
    assert page_errors(page) == []


async def test_a_denied_approval_is_output_denied(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_page(context, web_server.url)
    answer = await send(page, "remind me to call mom")
    tool = answer.get_by_test_id("aisdk-tool")
    await tool.get_by_test_id("aisdk-deny").click()
    await expect(tool).to_have_attribute("data-state", "output-denied")
    await expect(page.get_by_test_id("aisdk-chat")).to_have_attribute("data-status", "ready")


async def test_stop_ends_the_answer_on_the_server(
    context: BrowserContext, web_settings: Settings
) -> None:
    async with live_server(web_settings.model_copy(update={"demo_tokens_per_s": 40})) as live:
        page = await open_page(context, live.url)
        answer = await send(page, "count to 200")
        text = answer.get_by_test_id("aisdk-text")
        await expect(text).to_contain_text("1 2 3 4 5")
        await page.get_by_test_id("aisdk-stop").click()
        await expect(page.get_by_test_id("aisdk-chat")).to_have_attribute("data-status", "ready")
        # Give a run that kept going time to show it; then history must hold what was shown.
        await asyncio.sleep(1)
        await page.reload()
        await connected(page)
        stored = (await answers(page).last.get_by_test_id("aisdk-text").inner_text()).strip()
        assert counted(200).startswith(stored)
        assert not stored.endswith("200")
        await asyncio.sleep(0.5)
        await expect(answers(page).last.get_by_test_id("aisdk-text")).to_have_text(stored)
        assert page_errors(page) == []


async def test_regenerate_replaces_the_answer_with_a_new_one(
    context: BrowserContext, web_server: LiveServer
) -> None:
    page = await open_page(context, web_server.url)
    first = await answered(page, "count to 3")
    first_id = await first.get_attribute("data-id")
    await page.get_by_test_id("aisdk-regenerate").click()
    await expect(answers(page)).to_have_count(1)
    await expect(answers(page).last).not_to_have_attribute("data-id", first_id or "")
    await expect(page.get_by_test_id("aisdk-chat")).to_have_attribute("data-status", "ready")
    await expect(answers(page).last.get_by_test_id("aisdk-text")).to_have_text("1 2 3")
    regenerated_id = await answers(page).last.get_attribute("data-id")
    # History's newest version is the one shown after a reload.
    await page.reload()
    await connected(page)
    await expect(answers(page)).to_have_count(1)
    await expect(answers(page).last).to_have_attribute("data-id", regenerated_id or "")


async def test_reload_mid_answer_resumes_to_the_exact_full_text(
    context: BrowserContext, web_settings: Settings
) -> None:
    async with live_server(web_settings.model_copy(update={"demo_tokens_per_s": 50})) as live:
        page = await open_page(context, live.url)
        answer = await send(page, "count to 200")
        await expect(answer.get_by_test_id("aisdk-text")).to_contain_text("1 2 3 4 5 6 7 8 9 10")
        await page.reload()
        await connected(page)
        answer = answers(page).last
        # Right after the reload: the text so far, and it goes on where it was.
        await expect(page.get_by_test_id("aisdk-chat")).to_have_attribute(
            "data-status", "streaming"
        )
        seen = (await answer.get_by_test_id("aisdk-text").inner_text()).strip()
        assert counted(200).startswith(seen)
        await expect(page.get_by_test_id("aisdk-chat")).to_have_attribute(
            "data-status", "ready", timeout=30_000
        )
        await expect(answer.get_by_test_id("aisdk-text")).to_have_text(counted(200))
        await expect(answers(page)).to_have_count(1)
        await expect(answer.get_by_test_id("aisdk-text")).to_have_count(1)
        assert page_errors(page) == []
