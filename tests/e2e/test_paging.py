"""Long histories in the browser: a thread's older messages behind "load older", threads
beyond the first page behind "load more"."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from tests.e2e.pages import open_chat
from tests.harness import LiveServer, connect, send_chat, wait_run_end

NS = "/chat"
USER = "dev-pager"


async def _fill(server: LiveServer, turns: int, threads: int) -> str:
    """As the browser's dev user: `turns` answered messages in one thread, then more threads
    of one turn each. Returns the long thread's id."""
    client, recorder = await connect(server, [NS], {"token": await server.token(USER)})
    try:
        await recorder.wait_for(NS, "chat:ready")
        thread_id: str | None = None
        for n in range(turns):
            extra: dict[str, str] = {"thread_id": thread_id} if thread_id else {}
            sent = await send_chat(client, f"count to {n % 3 + 1}", **extra)
            thread_id = str(sent["thread_id"])
            await wait_run_end(recorder, sent["run_id"])
        for n in range(threads):
            sent = await send_chat(client, f"short thread {n}")
            await wait_run_end(recorder, sent["run_id"])
    finally:
        await client.disconnect()
    assert thread_id is not None
    return thread_id


async def test_older_messages_and_more_threads_load_on_demand(
    context: BrowserContext, web_server: LiveServer
) -> None:
    await _fill(web_server, turns=30, threads=30)
    await context.add_init_script(f"localStorage.setItem('netra.devUserId', '{USER}')")
    page = await open_chat(context, web_server.url)
    items = page.get_by_test_id("thread-item")
    # 31 threads: the first page holds 30; the long thread, least recently active, is not on it.
    await expect(items).to_have_count(30)
    await expect(items.filter(has_text="count to 1")).to_have_count(0)
    await page.get_by_test_id("threads-load-more").click()
    await expect(items).to_have_count(31)
    await expect(page.get_by_test_id("threads-load-more")).to_have_count(0)

    await items.filter(has_text="count to 1").click()
    messages = page.locator('[data-testid="message"]')
    await expect(messages).to_have_count(50)
    await expect(messages.first).not_to_contain_text("count to 1")
    await page.get_by_test_id("load-older").click()
    await expect(messages).to_have_count(60)
    await expect(messages.first).to_have_text("count to 1")
    await expect(page.get_by_test_id("load-older")).to_have_count(0)
