"""The statistics page in a real browser (Debian's chromium through Playwright) on the real stack:
a suspected crime reported over NATS shows up in this month's figures, the operator changes the
period with the filter form (the address then holds it), downloads the Excel file, and every
number of the page's transfer table and headline figures is the same in the file, read back
with openpyxl. An agency officer's page offers no other agency and is refused another's figures.

The console, browser and sign-in fixtures are those of ``test_console_more`` (same users).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
import openpyxl
from sqlmodel import Session

from services.console.routes_statistics import format_value
from services.statistics.figures import compute
from services.statistics.model import Period, Statistics, Table
from tests.e2e.test_console_more import (  # noqa: F401 - fixtures used by name, marks by pytest
    SHOTS,
    Console,
    _sign_in,
    browser,
    console,
    pytestmark,
)
from tests.events import event, new_case_id, publish
from workflows.deadlines import SHANGHAI

AGENCY = "rz-scjgj"


def _now_stats(site: Console, period: Period) -> Statistics:
    with Session(site.engine) as session:
        return compute(session, period, include_referrals=True)


async def _page_table(page: Any, html_id: str) -> dict[str, dict[str, str]]:
    """``{row key: {column key: text}}`` of one statistics table as the browser shows it."""
    return await page.eval_on_selector(
        f"#{html_id}",
        """t => Object.fromEntries([...t.querySelectorAll('tr[data-row]')].map(r => [
            r.dataset.row,
            Object.fromEntries([...r.querySelectorAll('td[data-col]')].map(d => [d.dataset.col, d.innerText.trim()]))
        ]))""",
    )


async def _page_figures(page: Any, section: str) -> dict[str, str]:
    return await page.eval_on_selector(
        f"#k-{section}",
        """u => Object.fromEntries([...u.querySelectorAll('li[data-figure]')].map(l => [
            l.dataset.figure, l.querySelector('.kpi-value').innerText.trim()
        ]))""",
    )


def _sheet_block(sheet: Any, headers: list[str]) -> list[tuple[Any, ...]]:
    """The rows under the header row ``headers`` in ``sheet``, up to the first empty row."""
    rows = list(sheet.iter_rows(values_only=True))
    for i, row in enumerate(rows):
        if [c for c in row[: len(headers)]] == headers:
            block = []
            for below in rows[i + 1 :]:
                if below[0] in (None, ""):
                    break
                block.append(below)
            return block
    raise AssertionError(f"no header row {headers} in sheet {sheet.title}")


def _sheet_of(book: Any, title_zh: str) -> Any:
    for sheet in book.worksheets:
        cells = [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
        if sheet.title.startswith(title_zh[:10]) or title_zh in cells:
            return sheet
    raise AssertionError(f"no sheet for {title_zh}: {book.sheetnames}")


def _file_table(book: Any, section_zh: str, table: Table) -> dict[str, dict[str, str]]:
    """A table of the Excel file as the page would print it, keyed by row label."""
    sheet = _sheet_of(book, section_zh)
    out = {}
    for row in _sheet_block(sheet, [c.zh for c in table.columns]):
        out[str(row[0])] = {c.key: format_value(row[i], c.unit) for i, c in enumerate(table.columns) if i}
    return out


async def _stable_table(page: Any, html_id: str) -> dict[str, dict[str, str]]:
    """Reload until two reads agree: the stack's workflows may still be projecting earlier
    tests' steps, and the file must be compared with a page that has settled."""
    last = None
    for _ in range(20):
        await page.reload()
        await page.wait_for_load_state("networkidle")
        now = await _page_table(page, html_id)
        if now == last:
            return now
        last = now
        await asyncio.sleep(0.5)
    raise AssertionError(f"{html_id} never settled")


async def test_statistics_period_change_and_excel_download_agree_with_the_page(
    stack: Any,
    console: Console,  # noqa: F811 - the fixture
    browser: Any,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    month = datetime.now(SHANGHAI)
    this_month = Period.month(month.year, month.month)
    before = _now_stats(console, this_month).section("case_transfer").table("by_agency").row(AGENCY)
    before_found = int(before.values.get("crimes_suspected") or 0) if before else 0

    case_id = new_case_id("STATE2E")
    nc = await nats.connect(stack.nats_url)
    try:
        await publish(nc, event("case_transfer", "crime_suspected", case_id=case_id, agency=AGENCY))
    finally:
        await nc.close()

    def counted() -> int:
        row = _now_stats(console, this_month).section("case_transfer").table("by_agency").row(AGENCY)
        return int(row.values.get("crimes_suspected") or 0) if row else 0

    loop = asyncio.get_running_loop()
    end = loop.time() + 30
    while counted() <= before_found and loop.time() < end:
        await asyncio.sleep(0.3)
    assert counted() > before_found, "the suspected crime never reached the figures"

    page = await _sign_in(browser, console.url, "more-oper")
    await page.click('nav a[href="/statistics"]')
    await page.wait_for_load_state("networkidle")
    assert "/statistics" in page.url
    assert this_month.label_zh in await page.locator("#stat-scope").inner_text()
    row = page.locator(f'#t-case_transfer-by_agency tr[data-row="{AGENCY}"]')
    found = await row.locator('td[data-col="crimes_suspected"]').inner_text()
    assert int(found) >= before_found + 1
    assert await page.locator("svg.stat-chart").count() >= 3
    await page.screenshot(path=str(SHOTS / "statistics.png"), full_page=True)

    # Change the period with the form: the whole year. The address holds the filter afterwards.
    await page.select_option("#stat-period", "year")
    await page.select_option("#stat-year", str(month.year))
    await page.click("#stat-apply")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/statistics?period={month.year}"), page.url
    assert f"{month.year}年" in await page.locator("#stat-scope").inner_text()
    assert await page.locator("#stat-period").input_value() == "year"

    shown = await _stable_table(page, "t-case_transfer-by_agency")
    figures = await _page_figures(page, "case_transfer")
    async with page.expect_download() as info:
        await page.click("#export-xlsx")
    download = await info.value
    assert download.suggested_filename.endswith(".xlsx")
    target = tmp_path / download.suggested_filename
    await download.save_as(target)
    book = openpyxl.load_workbook(target, data_only=True)

    stats = _now_stats(console, Period.year(month.year))
    section = stats.section("case_transfer")
    assert len(book.worksheets) == len(stats.sections)
    table = section.table("by_agency")
    in_file = _file_table(book, section.zh, table)
    labels = {r.key: r.label_zh for r in table.rows}
    for key, cells in shown.items():
        if key == "total":
            continue
        assert in_file[labels[key]] == cells, (key, in_file.get(labels[key]), cells)
    assert int(shown[AGENCY]["crimes_suspected"]) >= before_found + 1
    # The headline figures too: each figure's row in the file reads as the page prints it.
    sheet = _sheet_of(book, section.zh)
    by_name = {str(r[0]): r for r in sheet.iter_rows(values_only=True) if r and r[0]}
    for figure in section.figures:
        assert figure.zh in by_name, figure.zh
        value = next((c for c in by_name[figure.zh][1:] if not isinstance(c, str)), None)
        assert format_value(value, figure.unit) == figures[figure.key], figure.key
    await page.screenshot(path=str(SHOTS / "statistics_year.png"), full_page=True)

    # The printable report of the same filters.
    await page.click("#print-report")
    await page.wait_for_load_state("networkidle")
    title = await page.locator("#report-title").inner_text()
    assert title == f"日照市行政执法监督统计年报（{month.year}年）"
    await page.emulate_media(media="print")
    assert not await page.locator("header.top").is_visible()
    await page.screenshot(path=str(SHOTS / "statistics_report_print.png"), full_page=True)
    await page.context.close()


async def test_an_agency_officer_sees_only_their_own_agency(
    console: Console,  # noqa: F811 - the fixture
    browser: Any,  # noqa: F811 - the fixture
) -> None:
    page = await _sign_in(browser, console.url, "more-officer")
    await page.goto("/statistics")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#stat-agency").is_disabled()
    rows = await page.eval_on_selector_all(
        "#t-case_transfer-by_agency tbody tr[data-row]", "rs => rs.map(r => r.dataset.row)"
    )
    assert set(rows) <= {AGENCY}
    response = await page.goto("/statistics?agency=rz-sthjj")
    assert response is not None and response.status == 403
    await page.context.close()
