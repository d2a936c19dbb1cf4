"""The console's statistics page over HTTP: who may see it, whose figures each role gets (forced
on the server, refused when asked for another's), the filters in the address, the page showing
exactly what :func:`services.statistics.figures.compute` says, its charts' SVG, the exports and
the printable report.

The read model is a temporary SQLite file filled through the registry's own projection with the
domain events of a month of cases (October 2026) in three agencies: two city bureaus and
Donggang's market regulator, plus a discipline referral.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.console.access import sees_referral_figures
from services.console.auth import CurrentUser
from services.console.routes_statistics import format_value
from services.i18n import field_label
from services.readmodel.accounts import Role
from services.statistics.figures import compute
from services.statistics.model import Period, Statistics
from tests.unit.test_console_townships import Env as TownshipsEnv
from tests.unit.test_console_townships import console_over
from workflows.deadlines import SHANGHAI

MONTH = "2026-10"
CT, DR = "case_transfer", "discipline_referral"
CITY_A, CITY_B, DG = "rz-scjgj", "rz-sthjj", "rz-dg-scjgj"

# username -> (role, agency, is_head)
USERS: dict[str, tuple[str, str | None, bool]] = {
    "oper": ("operator", None, False),
    "admin": ("admin", None, False),
    "coord": ("coordinator", "rz-sfj", False),
    "coord-dg": ("coordinator", "rz-dg-sfj", False),
    "officer": ("agency_officer", CITY_A, False),
    "officer-dg": ("agency_officer", DG, False),
    "disc": ("discipline_officer", "rz-jwjw", False),
}
SEE = {"oper", "admin", "coord", "coord-dg", "officer", "officer-dg"}


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=SHANGHAI)


def _transfer(case_id: str, agency: str, day: int, *, filed: bool, late: bool = False) -> list[DomainEvent]:
    """One suspected crime found, approved, transferred (within 24 hours of approval, or a day
    late) and decided by the police, as the case-transfer workflow publishes it, with the
    transfer's 24-hour deadline set, met and (when late) breached first."""
    approved = _at(day) + timedelta(hours=20)
    sent = approved + timedelta(hours=30 if late else 6)
    limit = DeadlineInfo(
        deadline_id="transfer_after_approval",
        rule="case_transfer.transfer_after_approval",
        label_zh="批准后24小时内移送",
        label_en="transfer within 24 h of approval",
        source="国务院令第310号第8条",
        party=agency,
        starts_at=approved,
        due_at=approved + timedelta(hours=24),
        warn_at=None,
        counting="hours",
        length=24,
        provisional=False,
        status=DeadlineStatus.OPEN,
    )
    met = limit.model_copy(
        update={
            "status": DeadlineStatus.MET,
            "met_at": sent,
            "late_seconds": int((sent - limit.due_at).total_seconds()) if late else None,
        }
    )
    decided = "filed" if filed else "police_refused"
    steps: list[tuple[str, str, EntryKind, datetime, DeadlineInfo | None]] = [
        ("case_transfer.crime_suspected", "opened", EntryKind.RECEIVED, _at(day), None),
        ("case_transfer.opened", "opened", EntryKind.STEP, _at(day), None),
        ("case_transfer.transfer_report_submitted", "reported", EntryKind.RECEIVED, _at(day, 12), None),
        ("case_transfer.awaiting_head_decision", "reported", EntryKind.STEP, _at(day, 12), None),
        ("case_transfer.head_decided", "approved", EntryKind.RECEIVED, approved, None),
        ("case_transfer.transfer_approved", "approved", EntryKind.STEP, approved, None),
        ("deadline.set", "approved", EntryKind.DEADLINE, approved, limit),
    ]
    if late:
        breached = limit.model_copy(update={"status": DeadlineStatus.BREACHED})
        steps.append(("deadline.breached", "approved", EntryKind.DEADLINE, limit.due_at, breached))
    steps += [
        ("case_transfer.transferred", "transferred", EntryKind.RECEIVED, sent, None),
        ("case_transfer.sent_to_police", "transferred", EntryKind.STEP, sent, None),
        ("deadline.met", "transferred", EntryKind.DEADLINE, sent, met),
        ("case_transfer.police_received", "received", EntryKind.RECEIVED, sent + timedelta(hours=4), None),
        ("case_transfer.accepted_by_police", "received", EntryKind.STEP, sent + timedelta(hours=4), None),
        ("case_transfer.police_decided", decided, EntryKind.RECEIVED, sent + timedelta(days=2), None),
        (
            "case_transfer.case_filed" if filed else "case_transfer.filing_refused",
            decided,
            EntryKind.STEP,
            sent + timedelta(days=2),
            None,
        ),
    ]
    return [
        DomainEvent(
            event_id=str(uuid.uuid4()),
            type=type_,
            occurred_at=at,
            process=CT,
            case_id=case_id,
            workflow_id=f"{CT}/{case_id}",
            seq=seq,
            kind=kind,
            state=state,
            actor=agency,
            parties=(agency, "rz-gaj"),
            deadline=deadline,
            payload={"case_title": f"{case_id} 案", "decision": "approve"},
        )
        for seq, (type_, state, kind, at, deadline) in enumerate(steps, start=1)
    ]


def _referral() -> list[DomainEvent]:
    return [
        DomainEvent(
            event_id=str(uuid.uuid4()),
            type=type_,
            occurred_at=_at(12) + timedelta(hours=seq),
            process=DR,
            case_id="DR-STAT",
            workflow_id=f"{DR}/DR-STAT",
            seq=seq,
            kind=kind,
            state=state,
            actor=CITY_A,
            parties=(CITY_A,),
            payload={},
        )
        for seq, (type_, state, kind) in enumerate(
            [
                ("discipline_referral.clue_identified", "identified", EntryKind.RECEIVED),
                ("discipline_referral.opened", "identified", EntryKind.STEP),
            ],
            start=1,
        )
    ]


def _events() -> list[DomainEvent]:
    return [
        *_transfer("ST-A1", CITY_A, 5, filed=True),
        *_transfer("ST-A2", CITY_A, 14, filed=False, late=True),
        *_transfer("ST-B1", CITY_B, 8, filed=True),
        *_transfer("ST-DG1", DG, 20, filed=True),
        *_referral(),
    ]


class Env(TownshipsEnv):
    """The console over this module's database, and the statistics computed straight from it."""

    def compute(self, **kwargs: Any) -> Statistics:
        with Session(self.engine) as session:
            return compute(session, Period.parse(MONTH), **kwargs)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    app, engine = console_over(tmp_path_factory.mktemp("console-stats"), _events(), USERS)
    with TestClient(app):
        yield Env(app, engine)
    engine.dispose()


@pytest.fixture(scope="module")
def clients(env: Env) -> dict[str, TestClient]:
    return {name: env.client(name) for name in USERS}


class _Tables(HTMLParser):
    """The page's statistics tables as ``{table id: {row key: {column key: text}}}`` and the
    headline figures as ``{section: {figure: text}}``, read from the HTML a browser gets."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, dict[str, str]]] = {}
        self.figures: dict[str, dict[str, str]] = {}
        self._table: str | None = None
        self._row: str | None = None
        self._col: str | None = None
        self._kpis: str | None = None
        self._figure: str | None = None
        self._kpi_value = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and (a.get("id") or "").startswith("t-"):
            self._table = a["id"]
            self.tables[self._table or ""] = {}
        elif tag == "tr" and self._table and a.get("data-row"):
            self._row = a["data-row"]
            self.tables[self._table][self._row or ""] = {}
        elif tag == "td" and self._row and a.get("data-col"):
            self._col, self._text = a["data-col"], []
        elif tag == "ul" and (a.get("id") or "").startswith("k-"):
            self._kpis = (a.get("id") or "")[2:]
            self.figures[self._kpis] = {}
        elif tag == "li" and self._kpis and a.get("data-figure"):
            self._figure = a["data-figure"]
        elif tag == "span" and self._figure and a.get("class") == "kpi-value":
            self._kpi_value, self._text = True, []

    def handle_data(self, data: str) -> None:
        if self._col or self._kpi_value:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._col and self._table and self._row:
            self.tables[self._table][self._row][self._col] = "".join(self._text).strip()
            self._col = None
        elif tag == "span" and self._kpi_value and self._kpis and self._figure:
            self.figures[self._kpis][self._figure] = "".join(self._text).strip()
            self._kpi_value = False
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "li":
            self._figure = None
        elif tag == "ul":
            self._kpis = None


def _read(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def _expected_cells(stats: Statistics) -> dict[str, dict[str, dict[str, str]]]:
    out: dict[str, dict[str, dict[str, str]]] = {}
    for section in stats.sections:
        for table in section.tables:
            rows = {
                row.key: {c.key: format_value(row.values.get(c.key), c.unit) for c in table.columns[1:]}
                for row in table.rows
            }
            if table.total is not None and table.rows:
                rows["total"] = {
                    c.key: format_value(table.total.values.get(c.key), c.unit) for c in table.columns[1:]
                }
            out[f"t-{section.key}-{table.key}"] = rows
    return out


def _page(client: TestClient, query: str = f"period={MONTH}") -> str:
    resp = client.get(f"/statistics?{query}")
    assert resp.status_code == 200, (resp.status_code, resp.text[:500])
    return resp.text


# ----- who sees it ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(USERS))
def test_each_role_gets_the_page_or_a_refusal_with_an_audit_row(
    env: Env, clients: dict[str, TestClient], username: str
) -> None:
    before = len(env.audit())
    resp = clients[username].get(f"/statistics?period={MONTH}")
    nav = 'href="/statistics"' in clients[username].get("/notifications").text
    if username in SEE:
        assert resp.status_code == 200 and "行政执法监督统计" in resp.text
        assert nav, "the navigation links to the page"
    else:
        assert resp.status_code == 403 and "您的角色无权执行此操作" in resp.text
        assert not nav
        rows = env.audit()[before:]
        assert [(r.username, r.action, r.outcome) for r in rows][:1] == [
            (username, "statistics.view", "forbidden")
        ]
        for path in ("/api/statistics", "/statistics/export.xlsx", "/statistics/report"):
            assert clients[username].get(path).status_code == 403, path


def test_the_page_shows_exactly_what_compute_says(env: Env, clients: dict[str, TestClient]) -> None:
    read = _read(_page(clients["oper"]))
    stats = env.compute(include_referrals=True)
    assert read.tables == _expected_cells(stats)
    for section in stats.sections:
        assert read.figures[section.key] == {f.key: format_value(f.value, f.unit) for f in section.figures}
    # The month as built: four transfers, one a day late and one refused by the police.
    by_agency = read.tables["t-case_transfer-by_agency"]
    assert set(by_agency) == {CITY_A, CITY_B, DG, "total"}
    expected = {
        "crimes_suspected": "2",
        "transfers": "2",
        "police_filed": "1",
        "police_refused": "1",
        "transfer_within_24h_rate": "50.0%",
        "filing_rate": "50.0%",
    }
    assert {k: by_agency[CITY_A][k] for k in expected} == expected
    assert by_agency["total"]["transfers"] == "4" and by_agency["total"]["filing_rate"] == "75.0%"
    assert (
        read.figures["deadlines"]["on_time_rate"] == "75.0%" and read.figures["deadlines"]["met_late"] == "1"
    )
    assert read.tables["t-deadlines-by_agency"][CITY_A]["met_late"] == "1"
    assert read.tables["t-referrals-by_state"]["identified"]["count"] == "1"


def test_an_agency_officer_gets_only_their_own_agency_forced_on_the_server(
    env: Env, clients: dict[str, TestClient]
) -> None:
    officer = clients["officer"]
    body = officer.get(f"/api/statistics?period={MONTH}").json()
    assert body["scope"]["agency"] == CITY_A
    page = _page(officer)
    read = _read(page)
    assert read.tables == _expected_cells(env.compute(agency=CITY_A, include_referrals=True))
    assert set(read.tables["t-case_transfer-by_agency"]) - {"total"} == {CITY_A}
    assert read.figures["case_transfer"]["crimes_suspected"] == "2"  # not the city's 4
    assert read.figures["deadlines"]["on_time_rate"] == "50.0%"
    assert CITY_B not in page.split('id="stat-filters"')[1]  # other agencies are not even offered
    assert 'id="stat-agency" disabled' in page
    # Asking for another agency's or another district's figures is refused and audited, on the
    # page, the JSON, the exports and the report alike; nothing is widened silently.
    for path in (
        f"/statistics?period={MONTH}&agency={CITY_B}",
        f"/api/statistics?period={MONTH}&agency={CITY_B}",
        f"/statistics/export.xlsx?period={MONTH}&agency={CITY_B}",
        f"/statistics/export.csv?period={MONTH}&agency={CITY_B}&section=case_transfer",
        f"/statistics/report?period={MONTH}&agency={CITY_B}",
        f"/statistics?period={MONTH}&district=rz-dg",
    ):
        before = len(env.audit())
        resp = officer.get(path)
        assert resp.status_code == 403, path
        assert [(r.username, r.outcome) for r in env.audit()[before:]] == [("officer", "forbidden")], path
    assert officer.get(f"/api/statistics?period={MONTH}&agency={CITY_A}").json()["scope"]["agency"] == CITY_A


def test_a_district_coordinator_gets_their_district_and_may_pick_its_agencies(
    env: Env, clients: dict[str, TestClient]
) -> None:
    coord = clients["coord-dg"]
    body = coord.get(f"/api/statistics?period={MONTH}").json()
    assert body["scope"]["district"] == "rz-dg" and body["scope"]["agency"] is None
    page = _page(coord)
    read = _read(page)
    assert read.tables == _expected_cells(env.compute(district="rz-dg", include_referrals=True))
    form = page.split('id="stat-filters"')[1].split("</form>")[0]
    assert 'id="stat-district" disabled' in form and f'<option value="{DG}"' in form
    assert f'value="{CITY_A}"' not in form  # only the district's agencies are offered
    assert set(read.tables["t-case_transfer-by_agency"]) - {"total"} == {DG}
    picked = coord.get(f"/api/statistics?period={MONTH}&agency={DG}").json()
    assert picked["scope"] == {**picked["scope"], "district": "rz-dg", "agency": DG}
    for query in ("district=rz-ls", f"agency={CITY_A}"):
        assert coord.get(f"/api/statistics?period={MONTH}&{query}").status_code == 403, query
    # The city's coordinator picks any district.
    city = clients["coord"].get(f"/api/statistics?period={MONTH}&district=rz-dg").json()
    assert city["scope"]["district"] == "rz-dg"


def test_referral_figures_only_where_the_user_may_know_each_referral_exists(
    clients: dict[str, TestClient],
) -> None:
    oper = clients["oper"].get(f"/api/statistics?period={MONTH}").json()
    assert "referrals" in {s["key"] for s in oper["sections"]}
    page = _page(clients["oper"])
    assert 'id="s-referrals"' in page and "SECRET" not in page

    def user(role: str, agency: str | None) -> CurrentUser:
        return CurrentUser(0, "u", "u", Role(role), agency, False, "zh", "", "")

    assert sees_referral_figures(user("operator", None), None)
    assert sees_referral_figures(user("coordinator", "rz-sfj"), None)  # the city's bureau: everything
    dg_coord = user("coordinator", "rz-dg-sfj")
    assert sees_referral_figures(dg_coord, [DG, "rz-dg-zhzfj"])
    assert not sees_referral_figures(dg_coord, None)  # not the whole city's
    assert not sees_referral_figures(dg_coord, [CITY_A])
    officer = user("agency_officer", CITY_A)
    assert sees_referral_figures(officer, [CITY_A]) and not sees_referral_figures(officer, [CITY_B])
    assert not sees_referral_figures(user("agency_officer", None), [CITY_A])


# ----- filters in the address --------------------------------------------------------------------


def test_the_filter_form_redirects_to_one_address_holding_the_filters(clients: dict[str, TestClient]) -> None:
    oper = clients["oper"]
    cases = {
        "kind=month&month=2026-10&quarter=2026-Q1&year=2025": "/statistics?period=2026-10",
        "kind=quarter&month=2026-10&quarter=2026-Q4&district=rz-dg": "/statistics?period=2026-Q4&district=rz-dg",
        "kind=year&year=2026&agency=rz-scjgj": "/statistics?period=2026&agency=rz-scjgj",
        "kind=custom&from=2026-10-03&to=2026-10-20": "/statistics?period=2026-10-03..2026-10-20",
    }
    for query, target in cases.items():
        resp = oper.get(f"/statistics?{query}")
        assert resp.status_code == 303 and resp.headers["location"] == target, query
    page = oper.get("/statistics?period=2026-Q4&district=rz-dg").text
    q = "period=2026-Q4&amp;district=rz-dg"
    assert f'href="/statistics/export.xlsx?{q}"' in page and f'href="/statistics/report?{q}"' in page
    assert f'href="/statistics/export.csv?{q}&amp;section=case_transfer&amp;table=by_agency"' in page
    assert re.search(r'<option value="quarter" selected>', page)
    assert '<option value="2026-Q4" selected>' in page and '<option value="rz-dg" selected>' in page
    custom = oper.get("/statistics?period=2026-10-03..2026-10-20").text
    assert 'value="2026-10-03"' in custom and 'value="2026-10-20"' in custom


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=2026-13", "month"),
        ("period=yesterday", "period"),
        ("period=2026-10-20..2026-10-03", "to"),
        ("kind=custom&from=2026-10-03", "to"),
        ("kind=quarter", "quarter"),
        ("kind=weekly&month=2026-10", "kind"),
        (f"period={MONTH}&agency=rz-nowhere", "agency"),
        (f"period={MONTH}&district=rz-scjgj", "district"),
        (f"period={MONTH}&district=rz-ls&agency=rz-dg-scjgj", "agency"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    clients: dict[str, TestClient], query: str, field: str
) -> None:
    resp = clients["oper"].get(f"/statistics?{query}")
    assert resp.status_code == 422, (query, resp.text[:300])
    if not query.startswith("kind="):
        api = clients["oper"].get(f"/api/statistics?{query}")
        assert api.status_code == 422 and field in api.json()["field"] + api.json()["reason"], query
        field = api.json()["field"]
    # The zh-CN page names the field by its Chinese label.
    assert f"{field_label(field, 'zh')}：" in resp.text, (query, field)


# ----- charts -------------------------------------------------------------------------------------


def test_every_chart_on_the_page_is_valid_svg_with_a_text_alternative(clients: dict[str, TestClient]) -> None:
    page = _page(clients["oper"])
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) >= 6  # trends and bars of several sections
    ids: set[str] = set()
    for svg in svgs:
        root = ET.fromstring(svg)
        labelled = (root.get("aria-labelledby") or "").split()
        assert root.get("role") == "img" and len(labelled) == 2, svg[:200]
        found = {el.get("id"): el.text for el in root.iter() if el.get("id")}
        assert all(found.get(i) for i in labelled), svg[:200]
        ids |= set(labelled)
    assert len(ids) == 2 * len(svgs), "chart ids are unique on the page"
    assert any("月度趋势" in s for s in svgs) and any("%" in s for s in svgs)


def test_the_transfer_bars_carry_the_tables_figures(env: Env, clients: dict[str, TestClient]) -> None:
    page = _page(clients["oper"])
    table = env.compute(include_referrals=True).section("case_transfer").table("by_agency")
    column = next(c for c in table.columns[1:] if c.unit == "count")
    desc = re.search(r'<desc id="c-case_transfer-by_agency-count-desc">(.*?)</desc>', page).group(1)
    for row in table.rows:
        if row.values.get(column.key):
            assert f"{row.label_zh}：{row.values[column.key]}" in desc


# ----- exports and the report ---------------------------------------------------------------------


def test_excel_export_has_a_sheet_per_section_with_chinese_headers_and_the_pages_numbers(
    env: Env, clients: dict[str, TestClient]
) -> None:
    before = len(env.audit())
    resp = clients["oper"].get(f"/statistics/export.xlsx?period={MONTH}")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (
        "attachment" in resp.headers["content-disposition"] and ".xlsx" in resp.headers["content-disposition"]
    )
    book = openpyxl.load_workbook(io.BytesIO(resp.content), data_only=True)
    stats = env.compute(include_referrals=True)
    assert len(book.sheetnames) == len(stats.sections)
    text = {
        name: [[c for c in row] for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames
    }
    flat = " ".join(str(c) for rows in text.values() for row in rows for c in row if c is not None)
    assert "行刑衔接" in flat or "案件移送" in flat
    table = stats.section("case_transfer").table("by_agency")
    for column in table.columns:
        assert column.zh in flat, column.zh
    rows = env.audit()[before:]
    assert [(r.username, r.action, r.outcome) for r in rows] == [("oper", "statistics.export", "ok")]


def test_csv_exports_of_a_table_and_a_section(env: Env, clients: dict[str, TestClient]) -> None:
    oper = clients["oper"]
    resp = oper.get(f"/statistics/export.csv?period={MONTH}&section=case_transfer&table=by_agency")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    table = env.compute(include_referrals=True).section("case_transfer").table("by_agency")
    assert rows[0] == [c.zh for c in table.columns]
    labels = {r[0] for r in rows[1:]}
    assert {row.label_zh for row in table.rows} <= labels
    whole = oper.get(f"/statistics/export.csv?period={MONTH}&section=deadlines")
    assert whole.status_code == 200 and whole.content.startswith("\ufeff".encode())
    assert oper.get(f"/statistics/export.csv?period={MONTH}&section=nothing").status_code == 404
    assert oper.get(f"/statistics/export.csv?period={MONTH}&section=case_transfer&table=x").status_code == 404
    assert oper.get(f"/statistics/export.csv?period={MONTH}").status_code == 422


def test_the_printable_report_is_titled_as_a_report_to_the_government(clients: dict[str, TestClient]) -> None:
    report = clients["oper"].get(f"/statistics/report?period={MONTH}").text
    assert '<h1 id="report-title">日照市行政执法监督统计月报（2026年10月）</h1>' in report
    assert '<link rel="stylesheet" href="/static/print.css" media="print">' in report
    assert "报送单位：日照市司法局" in report and 'id="report-definitions"' in report
    district = clients["coord-dg"].get(f"/statistics/report?period={MONTH}").text
    assert "日照市东港区行政执法监督统计月报（2026年10月）" in district and "日照市东港区司法局" in district
    agency = clients["officer"].get("/statistics/report?period=2026-Q4").text
    assert "日照市市场监督管理局行政执法监督统计季报（2026年第四季度）" in agency
    year = clients["oper"].get("/statistics/report?period=2026").text
    assert "日照市行政执法监督统计年报（2026年）" in year
    css = clients["oper"].get("/static/print.css")
    assert css.status_code == 200 and "@page" in css.text and "header.top" in css.text


def test_english_follows_the_users_language(env: Env) -> None:
    client = env.client("admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/notifications").text).group(1)
    client.post("/lang", data={"lang": "en", "csrf_token": token, "next": "/statistics"})
    page = client.get(f"/statistics/report?period={MONTH}").text
    assert "Rizhao Municipality: law-enforcement supervision, monthly report (October 2026)" in page
    assert "Rizhao Municipal Justice Bureau" in page
    client.post("/lang", data={"lang": "zh", "csrf_token": token, "next": "/statistics"})
