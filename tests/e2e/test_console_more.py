"""More of the console in a real browser (Debian's chromium through Playwright) on the real stack:
the notification bell rings live and is marked read, a township's delegated items appear once a
delegation is granted and accepted over NATS, and a discipline referral's content is shown to a
discipline officer while an operator sees only that the referral exists.

The root ``stack`` fixture runs NATS, the Temporal dev server, the worker, intake and the
registry; the console and the notifier run beside them here. Agency events go in over NATS as an
agency's system sends them. Screenshots are written to ``tests/e2e/screenshots/``.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from services.console.actions import TemporalDisputeActions
from services.console.app import create_app
from services.console.auth import create_user
from services.console.settings import ConsoleSettings
from services.delegations.read_model import DelegatedItem
from services.discipline.content import ReferralContent
from services.notifier.app import create_app as create_notifier
from services.notifier.config import NotifierSettings
from services.readmodel import notification_queries as notes
from services.readmodel.db import make_engine, migrate
from services.readmodel.models import TimelineEntry
from services.readmodel.notifications import NotificationRecord
from tests.events import event, eventually, new_case_id, publish
from tests.servers import SERVICE_TOKEN, free_port, serve_asgi

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
PASSWORD = "e2e-more-" + secrets.token_hex(4)
TOWN = "rz-dg-shijiu"

# username -> (role, agency, display name)
USERS: dict[str, tuple[str, str | None, str]] = {
    "more-officer": ("agency_officer", "rz-scjgj", "王磊"),
    "more-town": ("agency_officer", TOWN, "周敏"),
    "more-disc": ("discipline_officer", "rz-jwjw", "刘洋"),
    "more-oper": ("operator", None, "李静"),
}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium fonts-noto-cjk)"
    ),
]

T = TypeVar("T")


async def _eventually(
    engine: Engine, probe: Callable[[Session], T | None], what: str, timeout: float = 30.0
) -> T:
    """Poll the shared database until ``probe`` answers (the registry and notifier work async)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        with Session(engine) as session:
            found = probe(session)
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def _quiet(engine: Engine, seconds: float = 1.5, timeout: float = 60.0) -> None:
    """Wait until the notifier has worked through the stream's backlog (a fresh durable reads the
    session's earlier domain events too), so the bell moves only for this test's event."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    last, since = -1, loop.time()
    while loop.time() < end:
        with Session(engine) as session:
            count = session.exec(select(func.count()).select_from(NotificationRecord)).one()
        if count != last:
            last, since = count, loop.time()
        elif loop.time() - since >= seconds:
            return
        await asyncio.sleep(0.25)


class Console:
    """The console's address and the shared database."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url, self.engine = url, engine


@pytest_asyncio.fixture(scope="module")
async def console(stack: Any) -> AsyncIterator[Console]:
    migrate(stack.database_url)
    engine = make_engine(stack.database_url)
    with Session(engine) as session:
        for username, (role, agency, name) in USERS.items():
            try:
                create_user(
                    session, username=username, password=PASSWORD, role=role, agency=agency, display_name=name
                )
            except ValueError:
                pass
        session.commit()
    settings = ConsoleSettings(
        DATABASE_URL=stack.database_url,
        NATS_URL=stack.nats_url,
        LAWLINK_ENV="test",
        LAWLINK_SESSION_SECRET=secrets.token_urlsafe(32),
    )
    app = create_app(settings, actions=TemporalDisputeActions(settings, client=stack.temporal), live=True)
    port = free_port()
    server, task = await serve_asgi(app, port)
    yield Console(f"http://127.0.0.1:{port}", engine)
    server.should_exit = True
    await task
    engine.dispose()


@pytest_asyncio.fixture(scope="module")
async def notifier(stack: Any, console: Console) -> AsyncIterator[None]:
    settings = NotifierSettings(
        NATS_URL=stack.nats_url,
        DATABASE_URL=stack.database_url,
        NOTIFIER_DURABLE=f"notifier-e2e-{uuid.uuid4().hex[:8]}",
        CONSOLE_URL=console.url,
        WEBHOOK_BACKOFF=[0.05],
        WEBHOOK_TIMEOUT=1.0,
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
    )
    port = free_port()
    server, task = await serve_asgi(create_notifier(settings), port)
    yield
    server.should_exit = True
    await task


@pytest_asyncio.fixture(scope="module")
async def browser(console: Console) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    SHOTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        await chromium.close()


async def _sign_in(browser: Any, base: str, username: str) -> Any:
    context = await browser.new_context(
        base_url=base, locale="zh-CN", viewport={"width": 1400, "height": 900}
    )
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_load_state("networkidle")
    return page


async def _bell(page: Any) -> int:
    return int((await page.locator("#bell-count").inner_text()).strip())


async def test_bell_rings_live_for_a_deadline_and_is_marked_read(
    stack: Any, console: Console, notifier: None, browser: Any
) -> None:
    await _quiet(console.engine)
    page = await _sign_in(browser, console.url, "more-officer")
    assert page.url.endswith("/agency")
    await page.locator("#live-status.on").wait_for(timeout=10000)  # the SSE stream is open
    before = await _bell(page)

    # The market regulator's team reports a suspected crime; the report opens the head's 3-day
    # limit, the notifier tells the acting agency, and the bell on the open page rings by itself.
    case_id = new_case_id("BELL")
    nc = await nats.connect(stack.nats_url)
    try:
        for step in ("crime_suspected", "team_formed", "transfer_report_submitted"):
            await publish(nc, event("case_transfer", step, case_id=case_id))
    finally:
        await nc.close()
    note_id = await _eventually(
        console.engine,
        lambda s: s.exec(
            select(NotificationRecord.id).where(
                NotificationRecord.case_id == case_id, NotificationRecord.agency == "rz-scjgj"
            )
        ).first(),
        "the notification",
    )
    # Polled from here: a string predicate in wait_for_function is eval'd in the page whenever it
    # has to poll, which the console's Content-Security-Policy (no 'unsafe-eval') rightly refuses.
    await eventually(lambda: _bell(page), lambda count: count > before, timeout=10)
    assert "has-unread" in (await page.locator("#bell").get_attribute("class") or "")
    await page.locator("#todo", has_text=case_id).wait_for(timeout=10000)  # the to-do list refreshed too
    await page.screenshot(path=str(SHOTS / "bell_rang.png"))

    await page.click("#bell")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith("/notifications")
    row = page.locator(f'#notifications-table tr[data-notification="{note_id}"]')
    await row.wait_for()
    text = await row.inner_text()
    assert case_id in text and "须办理" in text and "请于" in text  # what to do, and by when
    await page.screenshot(path=str(SHOTS / "notifications.png"), full_page=True)

    count = await _bell(page)
    await row.locator("button.mark-read").click()
    await page.wait_for_load_state("networkidle")
    await row.locator("text=已读").wait_for()
    assert await _bell(page) <= count - 1  # lower by this one (never higher: nothing else is unread-new here)
    with Session(console.engine) as session:
        assert note_id not in {
            n.id
            for n in notes.list_notifications(
                session,
                agency="rz-scjgj",
                role="agency_officer",
                user="more-officer",
                unread_only=True,
                limit=500,
            )
        }
    await page.screenshot(path=str(SHOTS / "notifications_read.png"), full_page=True)
    await page.context.close()


async def test_township_page_after_a_delegation_is_granted_and_accepted(
    stack: Any, console: Console, browser: Any
) -> None:
    case_id = new_case_id("DLGE2E")
    nc = await nats.connect(stack.nats_url)
    try:
        await publish(nc, event("power_delegation", "delegation_granted", case_id=case_id))
        await _eventually(
            console.engine,
            lambda s: s.exec(select(DelegatedItem).where(DelegatedItem.case_id == case_id)).first(),
            "the granted items",
        )
        await publish(nc, event("power_delegation", "delegation_accepted", case_id=case_id))
    finally:
        await nc.close()
    await _eventually(
        console.engine,
        lambda s: s.exec(
            select(DelegatedItem).where(DelegatedItem.case_id == case_id, DelegatedItem.state != "granted")
        ).first(),
        "the accepted items",
    )

    page = await _sign_in(browser, console.url, "more-town")
    await page.click('nav a[href="/townships"]')  # a township officer lands on its own township
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/townships/{TOWN}")
    rows = page.locator(f'#township-items tr:has(a[href="/cases/power_delegation/{case_id}"])')
    await rows.first.wait_for()
    assert await rows.count() == 3
    text = await page.locator("#township-items").inner_text()
    for code, name in (
        ("ZH-0107", "对在城市道路上擅自摆摊设点的行政处罚"),
        ("SC-0032", "对无照经营的行政处罚"),
    ):
        assert code in text and name in text
    first = await rows.first.inner_text()
    assert ("已承接，待生效" in first or "乡镇行使中" in first) and "日照市东港区" in first
    assert "办理 0" in first
    await page.screenshot(path=str(SHOTS / "township.png"), full_page=True)

    # The delegation's case page links back to the township.
    await page.goto(f"/cases/power_delegation/{case_id}")
    await page.click(f'a.township-link[href="/townships/{TOWN}"]')
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/townships/{TOWN}")
    # Another township is not this officer's business.
    response = await page.goto("/townships/rz-dg-qinlou")
    assert response is not None and response.status == 403
    await page.context.close()


async def test_referral_content_for_the_discipline_officer_existence_for_the_operator(
    stack: Any, console: Console, browser: Any
) -> None:
    case_id = new_case_id("DRE2E")
    clue = event("discipline_referral", "clue_identified", case_id=case_id)
    nc = await nats.connect(stack.nats_url)
    try:
        await publish(nc, clue)
    finally:
        await nc.close()
    await _eventually(
        console.engine, lambda s: s.get(ReferralContent, clue["event_id"]), "the sealed content"
    )
    await _eventually(console.engine, lambda s: s.get(TimelineEntry, clue["event_id"]), "the accepted event")
    with Session(console.engine) as session:
        sealed = session.get(ReferralContent, clue["event_id"])
        assert sealed is not None and "赵某明".encode() not in sealed.ciphertext

    disc = await _sign_in(browser, console.url, "more-disc")
    await disc.goto(f"/cases/discipline_referral/{case_id}")
    content = disc.locator("#referral-content")
    await content.wait_for()
    assert "赵某明" in await content.inner_text() and "以罚代刑" in await content.inner_text()
    await disc.screenshot(path=str(SHOTS / "referral_discipline.png"), full_page=True)
    await disc.context.close()

    oper = await _sign_in(browser, console.url, "more-oper")
    await oper.goto(f"/?process=discipline_referral&q={case_id}")
    listed = oper.locator("#cases-table tr", has_text=case_id)
    await listed.wait_for()
    assert "赵某明" not in await listed.inner_text()
    await oper.goto(f"/cases/discipline_referral/{case_id}")
    await oper.locator("#need-to-know").wait_for()
    page_text = await oper.locator("main").inner_text()
    assert "赵某明" not in page_text and await oper.locator("#referral-content").count() == 0
    assert await oper.locator("#case-state").inner_text()  # that it exists, and its state
    await oper.screenshot(path=str(SHOTS / "referral_operator.png"), full_page=True)
    await oper.context.close()
