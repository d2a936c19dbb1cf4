"""The console in a real browser (Debian's chromium through Playwright) against the real stack.

The root ``stack`` fixture runs NATS, the Temporal dev server, the worker, intake and the
registry; the console runs beside them here. Agency events go in over NATS exactly as an
agency's system would send them; the coordinator's decisions go through the console's forms to
Temporal; the page learns the outcome from the domain events (live, over SSE).

Screenshots of the main pages are written to ``tests/e2e/screenshots/`` on each run.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
import pytest_asyncio
from sqlmodel import Session

from services.console.actions import TemporalDisputeActions
from services.console.app import create_app
from services.console.auth import create_user
from services.console.settings import ConsoleSettings
from services.readmodel.db import make_engine, migrate
from tests.events import event, new_case_id, publish
from tests.servers import free_port, serve_asgi

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "e2e-password-" + secrets.token_hex(4)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium fonts-noto-cjk)"
    ),
]


async def _wait_state(stack: Any, case_id: str, state: str, timeout: float = 20.0) -> None:
    handle = stack.temporal.get_workflow_handle(f"jurisdiction_dispute/{case_id}")
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    last = None
    while loop.time() < end:
        try:
            last = (await handle.query("status"))["state"]
        except Exception:  # noqa: BLE001 - not started yet
            last = None
        if last == state:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"dispute {case_id} did not reach {state} (last {last})")


@pytest_asyncio.fixture(scope="module")
async def console(stack: Any) -> AsyncIterator[str]:
    migrate(stack.database_url)
    engine = make_engine(stack.database_url)
    with Session(engine) as session:
        for username, role, agency in (
            ("e2e-coord", "coordinator", "rz-sfj"),
            ("e2e-other", "agency_officer", "rz-sthjj"),
            ("e2e-oper", "operator", None),
        ):
            try:
                create_user(
                    session,
                    username=username,
                    password=PASSWORD,
                    role=role,
                    agency=agency,
                    display_name={"e2e-coord": "张明", "e2e-other": "孙丽", "e2e-oper": "李静"}[username],
                )
            except ValueError:
                pass
        session.commit()
    engine.dispose()
    settings = ConsoleSettings(
        DATABASE_URL=stack.database_url,
        NATS_URL=stack.nats_url,
        LAWLINK_ENV="test",
        LAWLINK_SESSION_SECRET=secrets.token_urlsafe(32),
    )
    app = create_app(settings, actions=TemporalDisputeActions(settings, client=stack.temporal), live=True)
    port = free_port()
    server, task = await serve_asgi(app, port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest_asyncio.fixture(scope="module")
async def browser(console: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    SHOTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        await chromium.close()


async def _sign_in(browser: Any, base: str, username: str) -> Any:
    context = await browser.new_context(
        base_url=base, locale="zh-CN", viewport={"width": 1400, "height": 1000}
    )
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_load_state("networkidle")
    return page


async def _raise_dispute(stack: Any) -> tuple[str, list[str]]:
    case_id = new_case_id("JDE2E")
    nc = await nats.connect(stack.nats_url)
    try:
        raised = event("jurisdiction_dispute", "dispute_raised", case_id=case_id)
        await publish(nc, raised)
        await _wait_state(stack, case_id, "negotiating")
        await publish(nc, event("jurisdiction_dispute", "coordination_requested", case_id=case_id))
        await _wait_state(stack, case_id, "coordination_requested")
        await publish(nc, event("jurisdiction_dispute", "coordination_accepted", case_id=case_id))
        await _wait_state(stack, case_id, "coordinating")
    finally:
        await nc.close()
    return case_id, [c["agency"] for c in raised["payload"]["claims"]]


async def test_coordinator_claims_designates_and_sees_it_live(stack: Any, console: str, browser: Any) -> None:
    case_id, parties = await _raise_dispute(stack)
    page = await _sign_in(browser, console, "e2e-coord")
    assert page.url.endswith("/inbox")
    row = page.locator(f'#inbox-table tr[data-case="{case_id}"]')
    await row.wait_for(timeout=15000)
    await page.screenshot(path=str(SHOTS / "inbox.png"), full_page=True)

    await row.locator("button").click()  # 认领
    await page.wait_for_load_state("networkidle")
    await page.locator(f'#inbox-table tr[data-case="{case_id}"]', has_text="张明").wait_for(timeout=10000)

    await page.goto(f"/disputes/{case_id}")
    await page.locator("#claimed-by", has_text="张明").wait_for()
    designated = parties[0]
    await page.select_option("#designate-agency", designated)
    # First without reasons: the workflow's validator refuses and the page says why.
    await page.click("#btn-designate")
    await page.locator("#action-refused").wait_for()
    refused_text = await page.locator("#action-refused").inner_text()
    assert "理由" in refused_text  # said in Chinese on the zh-CN page
    await page.screenshot(path=str(SHOTS / "dispute_refused.png"), full_page=True)
    await page.locator("#case-state", has_text="协调中").wait_for()

    await page.select_option("#designate-agency", designated)
    await page.fill("#designate-reason", "依《行政处罚法》第二十五条，由最先立案的机关管辖。")
    await page.click("#btn-designate")
    await page.locator("#action-done").wait_for()
    await page.locator("#timeline-table", has_text="指定管辖").wait_for(timeout=10000)
    await page.locator("#designated").wait_for()
    await page.screenshot(path=str(SHOTS / "dispute_designated.png"), full_page=True)

    # The designated agency acknowledges through NATS; the open page updates by itself (SSE).
    nc = await nats.connect(stack.nats_url)
    try:
        await publish(
            nc, event("jurisdiction_dispute", "designation_acknowledged", case_id=case_id, agency=designated)
        )
    finally:
        await nc.close()
    await page.locator("#case-state", has_text="已办结").wait_for(timeout=10000)

    await page.goto(f"/cases/jurisdiction_dispute/{case_id}")
    await page.locator("svg.timeline-svg").wait_for()
    assert await page.locator("#timeline-table", has_text="被指定机关确认接收").count() == 1
    await page.screenshot(path=str(SHOTS / "case.png"), full_page=True)
    await page.context.close()


async def test_agency_officer_cannot_open_another_agencys_case(
    stack: Any, console: str, browser: Any
) -> None:
    case_id, _ = await _raise_dispute(stack)
    page = await _sign_in(browser, console, "e2e-other")
    assert page.url.endswith("/agency")
    response = await page.goto(f"/cases/jurisdiction_dispute/{case_id}")
    assert response is not None and response.status == 403
    assert "无权访问" in await page.content()
    await page.screenshot(path=str(SHOTS / "forbidden.png"), full_page=True)
    await page.goto("/")
    assert await page.locator("#cases-table", has_text=case_id).count() == 0
    await page.context.close()


async def test_language_switch_persists(stack: Any, console: str, browser: Any) -> None:
    page = await _sign_in(browser, console, "e2e-oper")
    assert page.url.endswith("/dashboard")
    assert "运行监控" in await page.locator("h1").inner_text()
    await page.screenshot(path=str(SHOTS / "dashboard_zh.png"), full_page=True)
    await page.click("#lang-switch")
    await page.wait_for_load_state("networkidle")
    assert "Dashboard" in await page.locator("h1").inner_text()
    await page.reload()
    assert "Dashboard" in await page.locator("h1").inner_text()
    await page.screenshot(path=str(SHOTS / "dashboard_en.png"), full_page=True)
    await page.click("#lang-switch")  # back to Chinese for the next run
    await page.wait_for_load_state("networkidle")
    assert "运行监控" in await page.locator("h1").inner_text()
    await page.context.close()
