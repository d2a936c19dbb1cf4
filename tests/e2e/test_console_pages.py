"""Every console page, as each role meets it, in a real browser: accessible (axe-core finds no
serious or critical violation), usable on a 390 px phone (nothing wider than the screen) and
printable (the print stylesheet drops navigation and forms).

The console, browser and sign-in fixtures are those of ``test_console_more``; this module adds a
coordinator and an admin, and one dispute, so the pages have something on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe

from tests.e2e.test_console_browser import _raise_dispute
from tests.e2e.test_console_more import (  # noqa: F401 - fixtures used by name, marks by pytest
    PASSWORD,
    TOWN,
    Console,
    browser,
    console,
    pytestmark,
)
from tests.e2e.test_console_review_ops import add_users, delegation_under_review, seed_letters

EXTRA_USERS: dict[str, tuple[str, str | None, str]] = {
    "pages-coord": ("coordinator", "rz-sfj", "陈刚"),
    "pages-admin": ("admin", None, "赵敏"),
    "pages-reviewer": ("coordinator", "rz-dg-sfj", "孙立"),  # decides Donggang's reviews
}
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")


@pytest_asyncio.fixture(scope="module")
async def dispute(stack: Any, console: Console) -> AsyncIterator[str]:  # noqa: F811 - the fixture
    add_users(console.engine, EXTRA_USERS)
    case_id, _ = await _raise_dispute(stack)
    yield case_id


@pytest_asyncio.fixture(scope="module")
async def review(stack: Any, console: Console, dispute: str) -> AsyncIterator[str]:  # noqa: F811
    """A delegation under its yearly review, and dead letters on the operator's dashboard, so
    the review form and the dead-letter list are drawn with something in them."""
    case_id = await delegation_under_review(stack, console.engine)
    seed_letters(console.engine, 2)
    yield case_id


def pages_by_role(case_id: str, review_id: str) -> dict[str, list[str]]:
    """The pages each role works on during a day, with the dispute's and the review's filled in."""
    case = f"/cases/jurisdiction_dispute/{case_id}"
    return {
        "pages-coord": ["/inbox", f"/disputes/{case_id}", case, "/", "/notifications", "/digest"],
        "pages-reviewer": [f"/cases/power_delegation/{review_id}", f"/delegations/{review_id}/review"],
        "more-oper": [
            "/dashboard",
            "/",
            case,
            "/notifications",
            "/statistics",
            "/statistics/report",
            "/townships",
        ],
        "pages-admin": ["/users", "/audit"],
        "more-disc": ["/", "/notifications", "/digest"],
        "more-officer": ["/agency", "/"],
        "more-town": [f"/townships/{TOWN}"],
    }


async def _page(browser: Any, base: str, username: str | None, viewport: dict[str, int]) -> Any:  # noqa: F811
    context = await browser.new_context(base_url=base, locale="zh-CN", viewport=viewport)
    page = await context.new_page()
    if username:
        await page.goto("/login")
        await page.fill("#username", username)
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.wait_for_load_state("networkidle")
    return page


def _serious(results: Any) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


async def test_every_page_has_no_serious_accessibility_violation(
    console: Console,  # noqa: F811 - the fixture
    browser: Any,  # noqa: F811 - the fixture
    dispute: str,
    review: str,
) -> None:
    axe = Axe()
    found: dict[str, list[str]] = {}
    login = await _page(browser, console.url, None, {"width": 1400, "height": 900})
    await login.goto("/login")
    if problems := _serious(await axe.run(login)):
        found["/login"] = problems
    await login.context.close()
    for username, paths in pages_by_role(dispute, review).items():
        page = await _page(browser, console.url, username, {"width": 1400, "height": 900})
        for path in paths:
            response = await page.goto(path)
            assert response is not None and response.status == 200, (
                username,
                path,
                response and response.status,
            )
            await page.wait_for_load_state("networkidle")
            if problems := _serious(await axe.run(page)):
                found[f"{username} {path}"] = problems
        await page.context.close()
    assert not found, "\n".join(f"{where}: {p}" for where, ps in found.items() for p in ps)


async def test_every_page_fits_a_390_px_phone(
    console: Console,  # noqa: F811 - the fixture
    browser: Any,  # noqa: F811 - the fixture
    dispute: str,
    review: str,
) -> None:
    wide: dict[str, int] = {}
    for username, paths in pages_by_role(dispute, review).items():
        page = await _page(browser, console.url, username, PHONE)
        for path in paths:
            await page.goto(path)
            await page.wait_for_load_state("networkidle")
            width = await page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide[f"{username} {path}"] = width
        await page.context.close()
    assert not wide, f"pages wider than {PHONE['width']} px (scroll width): {wide}"


@pytest.mark.parametrize("path_of", [lambda c: f"/cases/jurisdiction_dispute/{c}", lambda c: "/"])
async def test_printing_a_case_or_a_list_drops_navigation_and_forms(
    console: Console,  # noqa: F811 - the fixture
    browser: Any,  # noqa: F811 - the fixture
    dispute: str,
    path_of: Any,
) -> None:
    page = await _page(browser, console.url, "more-oper", {"width": 1400, "height": 900})
    await page.goto(path_of(dispute))
    await page.wait_for_load_state("networkidle")
    assert await page.locator("header.top").is_visible()
    await page.emulate_media(media="print")
    assert not await page.locator("header.top").is_visible()
    visible_forms = await page.evaluate(
        "[...document.querySelectorAll('main form')].filter(f => f.offsetParent !== null).length"
    )
    assert visible_forms == 0
    assert await page.locator("main h1").is_visible()
    await page.context.close()


async def test_admin_adds_an_account_then_disables_it_and_it_cannot_sign_in(
    console: Console,  # noqa: F811 - the fixture
    browser: Any,  # noqa: F811 - the fixture
    dispute: str,
) -> None:
    admin = await _page(browser, console.url, "pages-admin", {"width": 1400, "height": 900})
    await admin.goto("/users")
    form = admin.locator("#add-user")
    await form.locator("input[name=username]").fill("pages-temp")
    await form.locator("input[name=display_name]").fill("临时账户")
    await form.locator("select[name=role]").select_option("operator")
    await form.locator("input[name=password]").fill(PASSWORD)
    await form.locator("button").click()
    await admin.locator("#action-done", has_text="已新增用户 pages-temp").wait_for()

    temp = await _page(browser, console.url, "pages-temp", {"width": 1400, "height": 900})
    assert temp.url.endswith("/dashboard")

    row = admin.locator('#users-table tr[data-user="pages-temp"]')
    await row.locator("summary").click()
    await row.locator("input[name=active]").uncheck()
    await row.get_by_role("button", name="保存 pages-temp 的修改").click()
    await admin.locator("#action-done", has_text="已保存 pages-temp 的修改").wait_for()
    assert (
        await admin.locator('#users-table tr[data-user="pages-temp"] .account-state').inner_text() == "已停用"
    )

    await temp.goto("/dashboard")
    assert "/login" in temp.url  # the open session ended with the account
    again = await _page(browser, console.url, "pages-temp", {"width": 1400, "height": 900})
    assert "/login" in again.url
    for page in (admin, temp, again):
        await page.context.close()
