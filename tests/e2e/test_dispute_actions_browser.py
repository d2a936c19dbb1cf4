"""A coordinator's dispute in Chromium against the real stack: only the decisions that can work
are offered, a refusal is said in Chinese on a page a reload does not resend, the written reasons
are shown, and a lead reassigns the claimed dispute through the workflow.

Fixtures (the stack, the console, the browser) are test_console_browser's.
"""

# ruff: noqa: F811 - the tests take the fixtures imported from test_console_browser

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from services.console.auth import create_user
from services.readmodel.db import make_engine
from tests.e2e.test_console_browser import (
    PASSWORD,
    _raise_dispute,
    _sign_in,
    browser,  # noqa: F401 - fixture
    console,  # noqa: F401 - fixture
    pytestmark,  # noqa: F401 - the same marks (e2e, chromium present)
)

LEAD = "e2e-lead"


def _add_lead(stack: Any) -> None:
    engine = make_engine(stack.database_url)
    with Session(engine) as session:
        try:
            create_user(
                session,
                username=LEAD,
                password=PASSWORD,
                role="coordinator",
                agency="rz-sfj",
                is_head=True,
                display_name="王强",
            )
        except ValueError:
            pass  # a rerun on the same stack
        session.commit()
    engine.dispose()


async def _forms(page: Any) -> set[str]:
    actions = await page.eval_on_selector_all("#actions form", "fs => fs.map(f => f.getAttribute('action'))")
    return {a.rsplit("/", 1)[1] for a in actions}


async def test_only_valid_decisions_a_chinese_refusal_and_a_reload_that_sends_nothing(
    stack: Any, console: str, browser: Any
) -> None:
    case_id, parties = await _raise_dispute(stack)
    page = await _sign_in(browser, console, "e2e-coord")
    await page.goto(f"/disputes/{case_id}")
    assert await _forms(page) == {"claim"}
    assert await page.get_attribute("#btn-claim", "aria-label") == f"认领 {case_id}"
    await page.click("#btn-claim")
    await page.locator("#claimed-by", has_text="张明").wait_for()
    assert await _forms(page) == {"unclaim", "request_opinions", "extend", "designate", "refer"}
    offered = await page.eval_on_selector_all("#designate-agency option", "os => os.map(o => o.value)")
    assert offered == parties  # a justice bureau designates one of the parties, nobody else

    await page.select_option("#designate-agency", parties[0])
    await page.click("#btn-designate")  # no reasons: the workflow refuses
    await page.locator("#action-refused").wait_for()
    assert re.search(r"/disputes/[^?]+\?refused=designate$", page.url)
    text = await page.locator("#action-refused").inner_text()
    assert "指定管辖须写明理由" in text and "needs written reasons" not in text
    reload = await page.reload()
    assert reload is not None and reload.request.method == "GET"
    assert await page.locator("#action-refused").count() == 0

    await page.select_option("#designate-agency", parties[0])
    await page.fill("#designate-reason", "违法行为发生地在其辖区，且最先立案。")
    await page.click("#btn-designate")
    await page.locator("#action-done").wait_for()
    await page.locator("#designated").wait_for(timeout=10000)
    assert await _forms(page) == set()  # designated: nothing left to decide
    await page.locator("#written-reasons", has_text="违法行为发生地在其辖区").wait_for()
    await page.context.close()


async def test_a_lead_reassigns_the_claimed_dispute(stack: Any, console: str, browser: Any) -> None:
    _add_lead(stack)
    case_id, _ = await _raise_dispute(stack)
    coordinator = await _sign_in(browser, console, "e2e-coord")
    await coordinator.goto(f"/disputes/{case_id}")
    await coordinator.click("#btn-claim")
    await coordinator.locator("#claimed-by", has_text="张明").wait_for()
    await coordinator.context.close()

    lead = await _sign_in(browser, console, LEAD)
    await lead.goto(f"/disputes/{case_id}")
    assert "reassign" in await _forms(lead)
    await lead.select_option("#reassign-to", LEAD)
    await lead.fill("#reassign-reason", "张明休假，由本人接手")
    await lead.click("#btn-reassign")
    await lead.locator("#claimed-by", has_text="王强").wait_for(timeout=10000)
    await lead.locator("#written-reasons", has_text="张明休假").wait_for()
    assert "designate" in await _forms(lead)  # the new holder decides now
    await lead.context.close()
