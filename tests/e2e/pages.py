"""What the browser tests do on the chat page, in the user's terms."""

from __future__ import annotations

from typing import Any

from playwright.async_api import BrowserContext, Page, expect

TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


def counted(n: int) -> str:
    return " ".join(str(i) for i in range(1, n + 1))


def status(page: Page) -> Any:
    return page.get_by_test_id("connection-status")


def assistant_messages(page: Page) -> Any:
    return page.locator('[data-testid="message"][data-role="assistant"]')


async def open_chat(context: BrowserContext, url: str) -> Page:
    page = await context.new_page()
    await page.goto(url)
    await expect(status(page)).to_have_attribute("data-state", "connected")
    return page


async def type_and_send(page: Page, text: str) -> None:
    await page.get_by_test_id("message-input").fill(text)
    await page.get_by_test_id("send-button").click()


async def answer_to(page: Page, text: str) -> Any:
    """Sends `text` and returns the answer once it is complete."""
    await type_and_send(page, text)
    answer = assistant_messages(page).last
    await expect(answer).to_have_attribute("data-status", "complete")
    return answer
