"""The console's lists over HTTP, with more rows than a page: totals, pages, sort, filters,
full-text search (title, 文号, party, case id), exports and the errors of a bad parameter.

The read model is a migrated SQLite file filled through the registry's own projection, like
tests/unit/test_console_app.py; the search index is the projection's too. With
TEST_DATABASE_URL set, the same search and list queries run on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from contracts.deadline_models import DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.console import read
from services.console.app import create_app
from services.console.auth import create_user
from services.console.paging import Paging
from services.console.settings import ConsoleSettings
from services.i18n import field_label
from services.readmodel import queries
from services.readmodel.accounts import AuditEntry
from services.readmodel.case_index import CaseAgency, CaseIndex, fts5_query, search_terms, tsquery
from services.readmodel.db import alembic_config, make_engine, migrate
from services.readmodel.models import Case, DeadLetter
from services.readmodel.notifications import NotificationRead, NotificationRecord
from services.readmodel.projection import project
from tests.servers import SERVICE_TOKEN, free_port
from tests.unit.test_console_app import PASSWORD, FakeActions, _deadline, _ev, login
from tests.unit.test_db_upgrade import postgres_url  # noqa: F401  (a fresh PostgreSQL schema)

NOW = datetime.now(UTC)
CASES = 321
NOTES = 107
AUDIT_ROWS = 560
LETTERS = 45
ENV_AGENCY, MARKET = "rz-sthjj", "rz-scjgj"
USERS = {
    "oper": ("operator", None),
    "officer": ("agency_officer", MARKET),
    "coord": ("coordinator", "rz-sfj"),
    "admin": ("admin", None),
}


def case_id(i: int) -> str:
    return f"LL-{i:04d}"


def title(i: int) -> str:
    return f"某公司环境污染案{i}" if i % 3 == 0 else f"某商店销售假冒商品案{i}"


def doc_no(i: int) -> str:
    return f"日环罚〔2026〕{i}号"


def agency_of(i: int) -> str:
    return ENV_AGENCY if i % 2 else MARKET


def due_of(i: int) -> datetime:
    """Case i's duty falls due i hours from now (the first ten already passed)."""
    return NOW + timedelta(hours=i - 10)


def _case_events(i: int) -> list[DomainEvent]:
    cid, agency = case_id(i), agency_of(i)
    at = NOW - timedelta(days=2, minutes=CASES - i)  # a higher i changed later
    opened = _ev(
        "case_transfer",
        cid,
        1,
        "case_transfer.crime_suspected",
        "opened",
        kind=EntryKind.RECEIVED,
        actor=agency,
        parties=(agency,),
        payload={"case_title": title(i), "enforcement_case_no": doc_no(i)},
        at=at,
    )
    status = DeadlineStatus.BREACHED if i < 10 else DeadlineStatus.OPEN
    deadline = _deadline("case_transfer.head_decision", agency, due_of(i), status, counting="calendar_days")
    due = _ev(
        "case_transfer",
        cid,
        2,
        "deadline.set",
        "opened",
        kind=EntryKind.DEADLINE,
        parties=(agency,),
        deadline=deadline,
        at=at + timedelta(seconds=1),
    )
    return [opened, due]


def _events() -> list[DomainEvent]:
    return [e for i in range(1, CASES + 1) for e in _case_events(i)]


def _note(key: str, agency: str, case: str, at: datetime, title_zh: str) -> NotificationRecord:
    return NotificationRecord(
        id=f"{key}:{agency}",
        domain_event_id=key,
        event_type="deadline.set",
        process="case_transfer",
        case_id=case,
        agency=agency,
        reason="act",
        audience="agency_officer",
        state="opened",
        title_zh=title_zh,
        title_en=title_zh,
        link="/",
        occurred_at=at,
        created_at=at,
    )


def _notifications() -> list[NotificationRecord]:
    """NOTES for the market bureau, and one for another agency."""
    ours = [
        _note(f"n-{i:03d}", MARKET, case_id(2 * (i % 100) + 2), NOW - timedelta(minutes=i), f"通知{i}")
        for i in range(NOTES)
    ]
    return [*ours, _note("x-1", ENV_AGENCY, case_id(1), NOW, "另一机关的通知")]


class Env:
    def __init__(self, app: Any, engine: Any) -> None:
        self.app, self.engine = app, engine

    def client(self, username: str) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        login(client, username)
        return client


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path_factory.mktemp('lists') / 'lists.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        project(session, _events())
        for note in _notifications():
            session.add(note)
        for i in range(AUDIT_ROWS):
            session.add(
                AuditEntry(
                    at=NOW - timedelta(days=3, seconds=i),
                    username="someone",
                    role="operator",
                    action="case.view" if i % 2 else "cases.list",
                    target=f"case_transfer/{case_id(i + 1)}",
                    outcome="forbidden" if i % 10 == 0 else "ok",
                )
            )
        for i in range(LETTERS):
            session.add(
                DeadLetter(
                    stream_seq=1000 + i,
                    subject=f"lawlink.in.rz-scjgj.case_transfer.crime_suspected.{i}",
                    deliveries=3,
                    body="{}",
                    recorded_at=NOW,
                )
            )
        for username, (role, agency) in USERS.items():
            create_user(session, username=username, password=PASSWORD, role=role, agency=agency)
        session.commit()

    async def replayer(letter_id: int, actor: str) -> dict[str, Any]:
        return {"id": letter_id}

    settings = ConsoleSettings(
        DATABASE_URL=url,
        LAWLINK_SESSION_SECRET="s" * 32,
        LAWLINK_ENV="test",
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
        TEMPORAL_UI_UPSTREAM=f"http://127.0.0.1:{free_port()}",
    )
    app = create_app(settings, actions=FakeActions(), replayer=replayer, live=False)
    with TestClient(app):
        yield Env(app, engine)
    engine.dispose()


@pytest.fixture(scope="module")
def oper(env: Env) -> TestClient:
    return env.client("oper")


def ids(client: TestClient, query: str) -> list[str]:
    resp = client.get(f"/api/cases?{query}")
    assert resp.status_code == 200, resp.text
    return [r["case_id"] for r in resp.json()]


def total(client: TestClient, query: str) -> int:
    return int(client.get(f"/api/cases?{query}").headers["X-Total-Count"])


# ----- pages and totals ----------------------------------------------------------------------


def test_every_case_is_reachable_and_the_total_is_shown(oper: TestClient) -> None:
    page = oper.get("/")
    assert page.status_code == 200
    assert "共 321 件，第 1/7 页" in page.text
    assert 'href="/?page=2"' in page.text
    second = oper.get("/?page=2")
    assert "共 321 件，第 2/7 页" in second.text
    first_ids = set(re.findall(r'data-case="(LL-\d+)"', page.text))
    second_ids = set(re.findall(r'data-case="(LL-\d+)"', second.text))
    assert len(first_ids) == len(second_ids) == 50 and not first_ids & second_ids
    # Newest change first; every case once across the pages.
    seen = [c for p in range(1, 8) for c in ids(oper, f"page={p}")]
    assert len(seen) == CASES and len(set(seen)) == CASES
    assert seen[0] == case_id(CASES) and seen[-1] == case_id(1)
    assert len(ids(oper, "page=7")) == CASES - 6 * 50
    assert ids(oper, "page=8") == []
    resp = oper.get("/api/cases?per_page=200&page=2")
    assert (
        resp.headers["X-Total-Count"] == "321" and resp.headers["X-Pages"] == "2" and len(resp.json()) == 121
    )


def test_an_agency_officer_counts_only_its_own_cases(env: Env) -> None:
    officer = env.client("officer")
    market = {case_id(i) for i in range(1, CASES + 1) if agency_of(i) == MARKET}
    assert total(officer, "") == len(market)
    assert set(ids(officer, "per_page=200")) | set(ids(officer, "per_page=200&page=2")) == market
    assert f"共 {len(market)} 件" in officer.get("/").text


# ----- search --------------------------------------------------------------------------------


def test_search_finds_title_document_number_party_and_case_id(oper: TestClient) -> None:
    environmental = {case_id(i) for i in range(1, CASES + 1) if i % 3 == 0}
    assert total(oper, "q=环境污染") == len(environmental)
    assert set(ids(oper, "q=环境污染&per_page=200")) == environmental
    assert ids(oper, "q=〔2026〕17号") == [case_id(17)]
    assert ids(oper, "q=日环罚〔2026〕170号") == [case_id(170)]
    assert ids(oper, "q=LL-0123") == [case_id(123)]
    # The party by its name: the environment bureau (日照市生态环境局) is one of the parties.
    env_cases = {case_id(i) for i in range(1, CASES + 1) if agency_of(i) == ENV_AGENCY}
    assert total(oper, "q=生态环境局") == len(env_cases)
    # Two words: both must be found.
    both = {case_id(i) for i in range(1, CASES + 1) if i % 3 == 0 and agency_of(i) == ENV_AGENCY}
    assert set(ids(oper, "q=环境污染 生态环境局&per_page=200")) == both
    assert ids(oper, "q=没有这样的案件") == []
    page = oper.get("/?q=〔2026〕17号")
    assert "共 1 件，第 1/1 页" in page.text and title(17) in page.text


def test_the_query_is_cut_so_two_chinese_characters_are_found() -> None:
    terms = search_terms(["某公司环境污染案"])
    assert terms.split() == ["某公", "公司", "司环", "环境", "境污", "污染", "染案", "案"]
    assert fts5_query("环境") == '"环境"' and fts5_query("环") == '"环"*'
    assert tsquery("〔2026〕17号") == "('20' <-> '02' <-> '26' <-> '6' <-> '17' <-> '7' <-> '号':*)"
    assert fts5_query("〔〕") is None


# ----- sort and filters ----------------------------------------------------------------------


def test_sort_by_due_date_agency_and_back(oper: TestClient) -> None:
    soonest = ids(oper, "sort=due&order=asc&per_page=20")
    assert soonest == [case_id(i) for i in range(1, 21)]
    latest = ids(oper, "sort=due&order=desc&per_page=20")
    assert latest == [case_id(i) for i in range(CASES, CASES - 20, -1)]
    by_agency = oper.get("/api/cases?sort=agency&order=asc&per_page=200").json()
    assert [r["agency"] for r in by_agency] == sorted(r["agency"] for r in by_agency)
    assert by_agency[0]["agency"] == MARKET
    page = oper.get("/?sort=due&order=asc")
    assert 'aria-sort="ascending"' in page.text and "sort=due&amp;order=desc" in page.text


def test_filters_process_agency_due_window_and_overdue(oper: TestClient) -> None:
    assert total(oper, "process=case_transfer") == CASES
    assert total(oper, "process=jurisdiction_dispute") == 0
    assert total(oper, f"agency={ENV_AGENCY}") == len(
        [i for i in range(1, CASES + 1) if agency_of(i) == ENV_AGENCY]
    )
    assert set(ids(oper, "overdue=true")) == {case_id(i) for i in range(1, 11)}
    last_day = lambda i: read.last_day(due_of(i))  # noqa: E731
    after, before = last_day(100), last_day(150)
    window = {case_id(i) for i in range(1, CASES + 1) if after <= last_day(i) <= before}
    got = set(ids(oper, f"due_after={after}&due_before={before}&per_page=200"))
    assert got == window and case_id(120) in got
    # The filters stay in the URL of every link the page offers.
    page = oper.get(f"/?agency={ENV_AGENCY}&overdue=true")
    assert f"agency={ENV_AGENCY}&amp;overdue=true&amp;format=csv" in page.text
    assert 'name="overdue" value="true" checked' in page.text


@pytest.mark.parametrize(
    "query,field",
    [
        ("page=0", "page"),
        ("page=two", "page"),
        ("per_page=7", "per_page"),
        ("sort=colour", "sort"),
        ("order=up", "order"),
        ("due_before=2026-13-01", "due_before"),
        ("due_after=2026-12-09&due_before=2026-12-01", "due_before"),
        ("overdue=maybe", "overdue"),
        ("process=nothing", "process"),
        ("agency=rz-nowhere", "agency"),
        ("format=pdf", "format"),
        ("q=" + "长" * 101, "q"),
    ],
)
def test_a_bad_parameter_is_named_in_chinese_and_english(oper: TestClient, query: str, field: str) -> None:
    page = oper.get(f"/?{query}")
    assert page.status_code == 422
    said = re.search(r"<p>([^<]*：[^<]*)</p>", page.text)
    assert said is not None and said.group(1).startswith(field_label(field, "zh") + "：")
    assert re.search(r"[\u4e00-\u9fff]", said.group(1).split("：", 1)[1]), said.group(1)
    assert "取值无效" not in said.group(1)  # the list's own reason, not the generic one
    body = oper.get(f"/api/cases?{query}").json()
    assert body["field"] == field and re.search(r"[a-z]", body["reason"])


# ----- exports -------------------------------------------------------------------------------


def test_csv_export_is_the_whole_filtered_list_with_chinese_headers(oper: TestClient) -> None:
    resp = oper.get(f"/?agency={ENV_AGENCY}&sort=due&order=asc&page=3&format=csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    text = resp.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == [
        "流程",
        "案件编号",
        "标题",
        "状态",
        "已办结",
        "机关",
        "当事机关",
        "下一届满",
        "更新时间",
    ]
    expected = [i for i in range(1, CASES + 1) if agency_of(i) == ENV_AGENCY]
    assert [r[1] for r in rows[1:]] == [case_id(i) for i in expected]  # all pages, in the sort asked
    first = rows[1]
    assert first[0] == "行刑衔接（案件移送）" and first[2] == title(1) and first[5] == "日照市生态环境局"
    assert first[7] == read.last_day(due_of(1)).isoformat()


def test_xlsx_export_has_chinese_headers_and_every_row(oper: TestClient) -> None:
    resp = oper.get("/?q=环境污染&format=xlsx")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(resp.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("流程", "案件编号", "标题")
    assert len(values) - 1 == len([i for i in range(1, CASES + 1) if i % 3 == 0])
    assert all("环境污染" in (row[2] or "") for row in values[1:])


def test_an_export_is_audited_with_its_filters(env: Env, oper: TestClient) -> None:
    oper.get("/?q=LL-0001&format=csv")
    with Session(env.engine) as session:
        row = session.exec(
            select(AuditEntry).where(AuditEntry.action == "cases.export").order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
        ).first()
    assert row is not None and row.username == "oper" and "q=LL-0001" in (row.detail or "")


# ----- notifications, audit, dashboard, inbox -------------------------------------------------


def test_notifications_are_paged_and_selected_ones_marked_read(env: Env) -> None:
    officer = env.client("officer")
    page = officer.get("/notifications")
    assert "共 107 条，第 1/3 页" in page.text
    assert officer.get("/api/notifications?limit=10").json()["total"] == NOTES
    last = officer.get("/notifications?page=3")
    assert len(re.findall(r'data-notification="', last.text)) == NOTES - 100
    chosen = re.findall(r'name="ids" value="([^"]+)"', page.text)[:3]
    assert len(chosen) == 3
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    before = int(re.search(r'id="unread-count">(\d+)<', page.text).group(1))
    resp = officer.post(
        "/notifications/read-all",
        data={"csrf_token": token, "selected": "1", "ids": chosen, "next": "/notifications?page=1"},
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/notifications?page=1&done=read_selected"
    after = officer.get("/notifications")
    assert int(re.search(r'id="unread-count">(\d+)<', after.text).group(1)) == before - 3
    with Session(env.engine) as session:
        marked = set(
            session.exec(select(NotificationRead.notification_id).where(NotificationRead.user == "officer"))
        )
    assert marked == set(chosen)
    # Another agency's notification in the selection refuses them all.
    refused = officer.post(
        "/notifications/read-all",
        data={"csrf_token": token, "selected": "1", "ids": [f"x-1:{ENV_AGENCY}", f"n-050:{MARKET}"]},
    )
    assert refused.status_code == 403
    with Session(env.engine) as session:
        assert session.get(NotificationRead, (f"n-050:{MARKET}", "officer")) is None
    empty = officer.post("/notifications/read-all", data={"csrf_token": token, "selected": "1"})
    assert empty.status_code == 422 and f"{field_label('ids', 'zh')}：未选择任何通知" in empty.text


def test_the_audit_trail_is_paged_past_500_and_filtered(env: Env) -> None:
    admin = env.client("admin")
    all_rows = int(admin.get("/api/audit").headers["X-Total-Count"])
    assert all_rows > 500
    page = admin.get("/audit")
    assert f"共 {all_rows} 条，第 1/{-(-all_rows // 50)} 页" in page.text
    oldest = admin.get(f"/api/audit?page={-(-all_rows // 50)}").json()
    assert oldest[-1]["target"] == f"case_transfer/{case_id(1)}"  # the first row written
    forbidden = admin.get("/api/audit?outcome=forbidden&action=cases.list&per_page=200")
    assert int(forbidden.headers["X-Total-Count"]) >= AUDIT_ROWS // 10
    assert {r["outcome"] for r in forbidden.json()} == {"forbidden"}
    assert admin.get("/audit?date_from=2026-12-09&date_to=2026-12-01").status_code == 422


def test_dashboard_lists_are_paged(env: Env) -> None:
    oper = env.client("oper")
    body = oper.get("/api/dashboard").json()
    assert body["totals"]["dead_letters"] == LETTERS and len(body["dead_letters"]) == 20
    week = body["totals"]["due_week"]
    assert week > 20 and len(body["due_week"]) == 20
    page = oper.get("/dashboard?dl_page=3")
    assert f"共 {LETTERS} 条，第 3/3 页" in page.text and "crime_suspected.0<" in page.text
    assert oper.get("/dashboard?week_page=x").status_code == 422


FIRST_DUE = Paging(page=1, per_page=50, sort="due", order="asc")


def test_inbox_search_reaches_titles_and_document_numbers(env: Env) -> None:
    from tests.unit.test_console_app import _events as console_events

    with Session(env.engine) as session:
        project(session, [e for e in console_events() if e.process == "jurisdiction_dispute"])
        session.commit()
        calendar = read.work_calendar()
        found = read.inbox_page(
            session, office="rz-sfj", now=NOW, calendar=calendar, paging=FIRST_DUE, search="海产品"
        ).rows
        assert [r.case_id for r in found] == ["JD-1"]
        by_no = read.inbox_page(
            session, office="rz-sfj", now=NOW, calendar=calendar, paging=FIRST_DUE, search="〔2026〕88号"
        ).rows
        assert {r.case_id for r in by_no} == {"JD-1", "JD-2"}
        paged = read.inbox_page(
            session,
            office="rz-sfj",
            now=NOW,
            calendar=calendar,
            paging=Paging(page=1, per_page=1, sort="due", order="asc"),
        )
        assert paged.total == 2 and len(paged.rows) == 1 and paged.pages == 2


# ----- the projection and the migration -------------------------------------------------------


def _index_rows(engine: Any) -> dict[str, tuple[Any, ...]]:
    with Session(engine) as session:
        rows = session.exec(select(CaseIndex)).all()
        links = session.exec(select(CaseAgency)).all()
        found = {
            r.workflow_id: (r.terms, r.next_due_at, r.next_due_counting, tuple(r.agencies)) for r in rows
        }
    return found | {"links": tuple(sorted((a.workflow_id, a.agency) for a in links))}


def test_the_index_is_the_same_in_any_arrival_order_and_after_the_migration(tmp_path: Any) -> None:
    events = [e for i in (3, 17, 170) for e in _case_events(i)]
    forward, backward = f"sqlite:///{tmp_path / 'f.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    for url, batch in ((forward, events), (backward, list(reversed(events)))):
        migrate(url)
        with Session(make_engine(url)) as session:
            for event in batch:  # one event per transaction, as a slow stream delivers them
                project(session, [event])
                session.commit()
    projected = _index_rows(make_engine(forward))
    assert projected == _index_rows(make_engine(backward))
    assert projected["case_transfer/LL-0017"][2] == "calendar_days"
    assert ("case_transfer/LL-0017", ENV_AGENCY) in projected["links"]
    # A read model projected before this revision: the migration fills the index.
    config = alembic_config(forward)
    command.downgrade(config, "0013_list_search@-1")
    command.upgrade(config, "heads")
    engine = make_engine(forward)
    assert _index_rows(engine) == _index_rows(make_engine(backward))
    with Session(engine) as session:
        scope = read.CaseScope(everything=True)
        paging = Paging(page=1, per_page=50, sort="updated", order="desc")
        found = read.case_page(session, scope, read.CaseFilters(q="〔2026〕17号"), paging, now=NOW)
    assert [r.case.case_id for r in found.rows] == [case_id(17)]


def test_postgresql_search_sort_and_filters(postgres_url: str) -> None:  # noqa: F811 (the fixture)
    pre = [e for i in (1, 2, 3) for e in _case_events(i)]
    config = alembic_config(postgres_url)
    command.upgrade(config, "heads")
    command.downgrade(config, "0013_list_search@-1")
    engine = make_engine(postgres_url)
    with Session(engine) as session:  # projected before this revision (no index tables yet)
        from services.readmodel import projection

        saved = list(projection.PROJECTORS)
        projection.PROJECTORS[:] = [p for p in saved if p.__name__ != "project_case_index"]
        try:
            project(session, pre)
            session.commit()
        finally:
            projection.PROJECTORS[:] = saved
    command.upgrade(config, "heads")
    with Session(engine) as session:
        project(session, [e for i in range(4, 61) for e in _case_events(i)])
        session.commit()
        scope = read.CaseScope(everything=True)
        paging = Paging(page=1, per_page=50, sort="due", order="asc")

        def find(**filters: Any) -> list[str]:
            page = read.case_page(session, scope, read.CaseFilters(**filters), paging, now=NOW)
            return [r.case.case_id for r in page.rows]

        assert find(q="环境污染") == [case_id(i) for i in range(3, 61, 3)]
        assert find(q="〔2026〕17号") == [case_id(17)]
        assert find(q="LL-0002") == [case_id(2)]  # filled by the migration
        assert len(find(q="生态环境局")) == 30
        assert find(overdue=True) == [case_id(i) for i in range(1, 11)]
        page = read.case_page(session, scope, read.CaseFilters(q="环"), paging, now=NOW)
        assert page.total == 60  # every title or party has 环
        officer = read.CaseScope(everything=False, agencies=frozenset({MARKET}))
        mine = read.case_page(session, officer, read.CaseFilters(), paging, now=NOW)
        assert mine.total == 30 and {r.case.agency for r in mine.rows} == {MARKET}
        assert session.get(Case, "case_transfer/LL-0001") is not None
    engine.dispose()


def test_a_long_timeline_is_read_a_page_at_a_time(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    migrate(url)
    engine = make_engine(url)
    steps = [
        _ev(
            "case_transfer",
            "LONG",
            seq,
            "case_transfer.crime_suspected",
            "opened",
            at=NOW + timedelta(minutes=seq),
        )
        for seq in range(1, 251)
    ]
    with Session(engine) as session:
        project(session, list(reversed(steps)))
        session.commit()
        rows, count = queries.timeline_page(
            session, case_id="LONG", process="case_transfer", offset=200, limit=100
        )
    assert count == 250 and [r.seq for r in rows] == list(range(201, 251))
