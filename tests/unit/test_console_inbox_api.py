"""``/api/inbox`` answers the inbox page's own query: the same views (all, mine, unclaimed), the
same filters, pages and sorts, one page of rows with the total in ``X-Total-Count``, and the
same 422 naming a parameter the inbox cannot use.

The read model is a migrated SQLite file filled through the registry's projection with more
open disputes than a page holds, plus a closed one and another office's, which no page lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from contracts.deadline_models import DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.console.app import create_app
from services.console.auth import create_user
from services.console.settings import ConsoleSettings
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
from tests.servers import SERVICE_TOKEN, free_port
from tests.unit.test_console_app import PASSWORD, FakeActions, _deadline, _ev, login

NOW = datetime.now(UTC)
DISPUTES = 61  # open disputes of the city's justice bureau: two pages of 50
OFFICE, OTHER_OFFICE = "rz-sfj", "rz-dg-sfj"
MARKET, CITY_MGMT, ENVIRONMENT = "rz-scjgj", "rz-zhzfj", "rz-sthjj"
PROCESS = "jurisdiction_dispute"
USERS = {
    "coord": ("coordinator", OFFICE),
    "coord2": ("coordinator", OFFICE),
    "coord-dg": ("coordinator", OTHER_OFFICE),
}


def case_id(i: int) -> str:
    return f"JD-{i:03d}"


def due_of(i: int) -> datetime:
    """Dispute i's next limit: the first four have passed, the rest fall due a day apart."""
    return NOW + timedelta(hours=24 * i - 100)


def parties_of(i: int) -> tuple[str, str]:
    return (MARKET, CITY_MGMT) if i % 2 == 0 else (MARKET, ENVIRONMENT)


def claimed(i: int) -> bool:
    return i % 3 == 0


def seafood(i: int) -> bool:
    return i % 5 == 0


def _dispute(
    i: int, office: str = OFFICE, *, cid: str | None = None, closed: bool = False
) -> list[DomainEvent]:
    cid = cid or case_id(i)
    parties = parties_of(i)
    state = "coordinating" if claimed(i) else "coordination_requested"
    opened = {
        "kind": "positive",
        "parties": list(parties),
        "coordinator_office": office,
        "case_title": f"某海产品加工厂无证经营案{i}" if seafood(i) else f"某商店占道经营案{i}",
        "enforcement_case_no": f"日市监立〔2026〕{i}号",
    }
    status = DeadlineStatus.BREACHED if due_of(i) < NOW else DeadlineStatus.OPEN
    limit = _deadline(f"{PROCESS}.designation", office, due_of(i), status)
    events = [
        _ev(
            PROCESS,
            cid,
            1,
            f"{PROCESS}.dispute_raised",
            "negotiating",
            kind=EntryKind.RECEIVED,
            parties=parties,
        ),
        _ev(PROCESS, cid, 2, f"{PROCESS}.opened", "negotiating", parties=parties, payload=opened),
        _ev(PROCESS, cid, 3, "deadline.set", state, kind=EntryKind.DEADLINE, parties=parties, deadline=limit),
    ]
    if claimed(i):
        payload = {"coordinator": "coord", "coordinator_name": "张明"}
        events.append(_ev(PROCESS, cid, 4, f"{PROCESS}.claimed", state, parties=parties, payload=payload))
    if closed:
        events.append(_ev(PROCESS, cid, 5, f"{PROCESS}.agreed", "agreed", parties=parties, closed=True))
    return events


def _events() -> list[DomainEvent]:
    ours = [e for i in range(1, DISPUTES + 1) for e in _dispute(i)]
    closed = _dispute(1, cid="JD-CLOSED", closed=True)
    elsewhere = _dispute(2, OTHER_OFFICE, cid="JD-DG")
    return [*ours, *closed, *elsewhere]


class Env:
    def __init__(self, app: Any) -> None:
        self.app = app

    def client(self, username: str) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        login(client, username)
        return client


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path_factory.mktemp('inbox-api') / 'inbox.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        project(session, _events())
        for username, (role, agency) in USERS.items():
            create_user(session, username=username, password=PASSWORD, role=role, agency=agency)
        session.commit()
    settings = ConsoleSettings(
        DATABASE_URL=url,
        LAWLINK_SESSION_SECRET="s" * 32,
        LAWLINK_ENV="test",
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
        TEMPORAL_UI_UPSTREAM=f"http://127.0.0.1:{free_port()}",
    )
    app = create_app(settings, actions=FakeActions(), live=False)
    with TestClient(app):
        yield Env(app)
    engine.dispose()


@pytest.fixture(scope="module")
def coord(env: Env) -> TestClient:
    return env.client("coord")


def listed(client: TestClient, query: str = "") -> tuple[list[dict[str, Any]], int, int]:
    """The rows of ``/api/inbox?query``, the total and the number of pages."""
    resp = client.get(f"/api/inbox?{query}")
    assert resp.status_code == 200, resp.text
    return resp.json(), int(resp.headers["X-Total-Count"]), int(resp.headers["X-Pages"])


def ids(client: TestClient, query: str = "") -> list[str]:
    return [r["case_id"] for r in listed(client, query)[0]]


def page_ids(client: TestClient, query: str = "") -> list[str]:
    """The case ids the inbox page lists for the same query, in its order."""
    page = client.get(f"/inbox?{query}")
    assert page.status_code == 200, page.text
    return re.findall(r'<tr data-case="([^"]+)"', page.text)


def test_the_first_page_holds_fifty_soonest_due_with_the_total(coord: TestClient) -> None:
    rows, total, pages = listed(coord)
    assert (total, pages, len(rows)) == (DISPUTES, 2, 50)
    assert [r["case_id"] for r in rows] == [case_id(i) for i in range(1, 51)]
    first = rows[0]
    assert first["overdue"] is True and first["rule"] == f"{PROCESS}.designation"
    assert first["unit"] and first["left"] is not None
    assert rows[10]["overdue"] is False and rows[10]["claimed_by"] is None
    assert rows[2]["claimed_by"] == "coord" and rows[2]["claimed_by_name"] == "张明"


def test_every_open_dispute_of_the_office_is_on_exactly_one_page(coord: TestClient) -> None:
    second, total, _ = listed(coord, "page=2")
    assert total == DISPUTES and [r["case_id"] for r in second] == [
        case_id(i) for i in range(51, DISPUTES + 1)
    ]
    seen = ids(coord) + [r["case_id"] for r in second]
    assert sorted(seen) == [case_id(i) for i in range(1, DISPUTES + 1)]
    # The closed dispute and the district office's are on no page.
    assert "JD-CLOSED" not in seen and "JD-DG" not in seen
    assert ids(coord, "page=3") == []
    rows, total, pages = listed(coord, "per_page=200")
    assert (len(rows), total, pages) == (DISPUTES, DISPUTES, 1)


def test_the_other_office_sees_only_its_own(env: Env) -> None:
    assert ids(env.client("coord-dg")) == ["JD-DG"]


def test_the_views_split_the_inbox_by_who_holds_each_dispute(env: Env, coord: TestClient) -> None:
    mine_rows, mine, _ = listed(coord, "view=mine&per_page=200")
    unclaimed_rows, unclaimed, _ = listed(coord, "view=unclaimed&per_page=200")
    assert {r["case_id"] for r in mine_rows} == {case_id(i) for i in range(1, DISPUTES + 1) if claimed(i)}
    assert {r["claimed_by"] for r in mine_rows} == {"coord"}
    assert {r["claimed_by"] for r in unclaimed_rows} == {None}
    assert mine + unclaimed == DISPUTES and mine == len(mine_rows) > 0
    # "Mine" is the signed-in coordinator's: a colleague of the same office holds none of them.
    assert listed(env.client("coord2"), "view=mine") == ([], 0, 1)
    assert listed(coord, "view=all")[1] == DISPUTES


def test_filters_search_and_sort_narrow_the_same_way_as_the_page(coord: TestClient) -> None:
    overdue, total, _ = listed(coord, "overdue=true")
    assert [r["case_id"] for r in overdue] == [case_id(i) for i in range(1, 5)] and total == 4
    assert {r["overdue"] for r in overdue} == {True}
    environment = {case_id(i) for i in range(1, DISPUTES + 1) if ENVIRONMENT in parties_of(i)}
    assert set(ids(coord, f"agency={ENVIRONMENT}&per_page=200")) == environment
    coordinating = {case_id(i) for i in range(1, DISPUTES + 1) if claimed(i)}
    assert set(ids(coord, "state=coordinating&per_page=200")) == coordinating
    found, total, _ = listed(coord, "q=海产品&per_page=200")
    assert {r["case_id"] for r in found} == {case_id(i) for i in range(1, DISPUTES + 1) if seafood(i)}
    assert total == len(found) == DISPUTES // 5
    assert ids(coord, "q=〔2026〕17号") == [case_id(17)]
    mine_seafood = {case_id(i) for i in range(1, DISPUTES + 1) if seafood(i) and claimed(i)}
    assert set(ids(coord, "view=mine&q=海产品")) == mine_seafood
    assert ids(coord, "sort=case_id&order=desc&per_page=20")[:3] == [case_id(61), case_id(60), case_id(59)]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "page=2",
        "view=mine&sort=case_id&order=desc",
        "view=unclaimed&per_page=20&page=2",
        "overdue=true",
        f"agency={CITY_MGMT}&q=海产品",
        "state=coordinating&sort=updated",
    ],
)
def test_the_json_lists_what_the_page_lists_for_the_same_address(coord: TestClient, query: str) -> None:
    listed_ids = ids(coord, query)
    assert listed_ids, query
    assert listed_ids == page_ids(coord, query)


@pytest.mark.parametrize(
    "query,field",
    [
        ("per_page=7", "per_page"),
        ("page=0", "page"),
        ("view=everyone", "view"),
        ("sort=title", "sort"),
        ("state=agreed", "state"),
        ("agency=rz-nowhere", "agency"),
        ("overdue=perhaps", "overdue"),
    ],
)
def test_a_parameter_the_inbox_cannot_use_is_named(coord: TestClient, query: str, field: str) -> None:
    resp = coord.get(f"/api/inbox?{query}")
    assert resp.status_code == 422 and resp.json()["field"] == field
    assert coord.get(f"/inbox?{query}").status_code == 422
