"""The case page in a real browser. With JavaScript off, the system rows of a dispute's timeline
stay folded until the toggle is ticked, each row opens to its fields, and the facts of the
dispute are on the page; with it on, a live refresh keeps the toggle and the opened rows as the
reader left them.

The console, browser and dispute fixtures are those of ``test_console_pages``.
"""

from __future__ import annotations

from typing import Any

import nats

from tests.e2e.test_console_browser import _wait_state
from tests.e2e.test_console_pages import (  # noqa: F401 - fixtures used by name, marks by pytest
    PASSWORD,
    Console,
    browser,
    console,
    dispute,
    pytestmark,
)
from tests.events import event, example, new_case_id, publish


async def _signed_in(browser: Any, console: Console, *, javascript: bool) -> Any:  # noqa: F811
    context = await browser.new_context(
        base_url=console.url,
        locale="zh-CN",
        java_script_enabled=javascript,
        viewport={"width": 1400, "height": 900},
    )
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#username", "more-oper")
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_load_state("networkidle")
    return page


async def test_system_rows_fold_and_rows_open_without_javascript(
    console: Console,  # noqa: F811 - the fixture
    browser: Any,  # noqa: F811 - the fixture
    dispute: str,  # noqa: F811 - the fixture
) -> None:
    context = await browser.new_context(
        base_url=console.url,
        locale="zh-CN",
        java_script_enabled=False,
        viewport={"width": 1400, "height": 900},
    )
    try:
        page = await context.new_page()
        await page.goto("/login")
        await page.fill("#username", "more-oper")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.goto(f"/cases/jurisdiction_dispute/{dispute}")
        facts = page.locator("#case-facts")
        await facts.wait_for()
        assert (
            example("jurisdiction_dispute", "dispute_raised")["payload"]["case_title"]
            in await facts.inner_text()
        )
        system = page.locator("#timeline-table tr.system-row")
        others = page.locator("#timeline-table tbody tr:not(.system-row)")
        count = await system.count()
        assert count > 0 and await others.count() > 0
        assert not any([await system.nth(i).is_visible() for i in range(count)])
        assert await others.first.is_visible()
        toggle = page.locator("label[for=show-system]")
        assert await toggle.inner_text() == f"显示系统记录（{count} 条）"
        await toggle.click()
        assert all([await system.nth(i).is_visible() for i in range(count)])
        # A row opens to its fields by their labels.
        fields = page.locator("#details-1 > dl.payload")
        assert not await fields.is_visible()
        await page.locator("#details-1 > summary").click()
        assert await fields.is_visible() and "案件名称" in await fields.inner_text()
        await page.goto(f"/cases/jurisdiction_dispute/{dispute}?system=1")
        assert await page.locator("#timeline-table tr.system-row").first.is_visible()
    finally:
        await page.context.close()


async def test_a_live_refresh_keeps_the_toggle_and_the_opened_rows(
    stack: Any,
    console: Console,  # noqa: F811 - the fixture
    browser: Any,  # noqa: F811 - the fixture
) -> None:
    case_id = new_case_id("JDCASE")
    nc = await nats.connect(stack.nats_url)
    try:
        await publish(nc, event("jurisdiction_dispute", "dispute_raised", case_id=case_id))
        await _wait_state(stack, case_id, "negotiating")
        page = await _signed_in(browser, console, javascript=True)
        try:
            await page.goto(f"/cases/jurisdiction_dispute/{case_id}")
            await page.locator("#case-state", has_text="协商中").wait_for()
            await page.locator("label[for=show-system]").click()
            await page.locator("#details-1 > summary").click()
            await publish(nc, event("jurisdiction_dispute", "coordination_requested", case_id=case_id))
            await page.locator("#case-state", has_text="待受理").wait_for(timeout=15000)
            await page.locator("#timeline-table", has_text="提请协调").wait_for()
            assert await page.locator("#show-system").is_checked()
            assert await page.locator("#details-1").get_attribute("open") is not None
            assert await page.locator("#timeline-table tr.system-row").first.is_visible()
        finally:
            await page.context.close()
    finally:
        await nc.close()
