"""The console's township pages (issue 6): per township, its delegated items, their state, next
review date and activity counters; who may see which township; the delegation's case page links
to them. Every role against every township endpoint.

The items are projected by the registry's own projection (the ``delegated_item`` projector of
``services.delegations.read_model``) from domain events shaped like the delegation workflow's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from contracts.domain import DomainEvent, EntryKind
from contracts.power_delegation import DelegatedItemView, ItemCounters, ItemState
from services.console.app import create_app
from services.console.auth import create_user
from services.console.settings import ConsoleSettings
from services.readmodel.accounts import AuditEntry
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
from tests.unit.test_console_app import PASSWORD, FakeActions, login

NOW = datetime.now(UTC)
P = "power_delegation"
CASE = "DLG-T1"
TOWN, OTHER_TOWN = "rz-dg-shijiu", "rz-dg-qinlou"

USERS: dict[str, tuple[str, str | None, bool]] = {
    "town": ("agency_officer", TOWN, False),
    "town2": ("agency_officer", OTHER_TOWN, False),
    "officer": ("agency_officer", "rz-scjgj", False),
    "coord": ("coordinator", "rz-sfj", False),
    "oper": ("operator", None, False),
    "disc": ("discipline_officer", "rz-jwjw", False),
    "admin": ("admin", None, False),
}
SUPERVISORS = {"coord", "oper", "admin"}


def _view(
    code: str, name: str, department: str, state: ItemState, review_in_days: int | None, **counters: int
) -> dict[str, Any]:
    return DelegatedItemView(
        code=code,
        name_zh=name,
        name_en=f"{code} in English",
        original_department=department,
        township=TOWN,
        scope="限于街道辖区内居住小区" if code == "ZH-0215" else None,
        state=state,
        effective_at=NOW - timedelta(days=300),
        next_review_at=NOW + timedelta(days=review_in_days) if review_in_days is not None else None,
        counters=ItemCounters(**counters),
    ).model_dump(mode="json")


def _events() -> list[DomainEvent]:
    def ev(type_: str, seq: int, items: list[dict[str, Any]], state: str) -> DomainEvent:
        return DomainEvent(
            event_id=str(uuid.uuid4()),
            type=type_,
            occurred_at=NOW - timedelta(hours=10 - seq),
            process=P,
            case_id=CASE,
            workflow_id=f"{P}/{CASE}",
            seq=seq,
            kind=EntryKind.STEP,
            state=state,
            actor="rz-dg",
            parties=("rz-dg", TOWN, "rz-dg-zhzfj", "rz-dg-scjgj"),
            payload={"title": "东政发〔2026〕12号 赋权 石臼街道", "township": TOWN, "items": items},
        )

    granted = [
        _view("ZH-0107", "对在城市道路上擅自摆摊设点的行政处罚", "rz-dg-zhzfj", ItemState.GRANTED, None),
        _view("ZH-0215", "对擅自占用城市绿地的行政处罚", "rz-dg-zhzfj", ItemState.GRANTED, None),
        _view("SC-0032", "对无照经营的行政处罚", "rz-dg-scjgj", ItemState.GRANTED, None),
    ]
    later = [
        _view(
            "ZH-0107",
            "对在城市道路上擅自摆摊设点的行政处罚",
            "rz-dg-zhzfj",
            ItemState.ACTIVE,
            65,
            handled=7,
            refused=1,
            overturned=0,
            complaint=2,
        ),
        _view(
            "ZH-0215", "对擅自占用城市绿地的行政处罚", "rz-dg-zhzfj", ItemState.UNDER_REVIEW, -3, handled=2
        ),
        _view("SC-0032", "对无照经营的行政处罚", "rz-dg-scjgj", ItemState.RETURNED, None, handled=1),
    ]
    return [
        ev("power_delegation.opened", 1, granted, "granted"),
        ev("power_delegation.review_started", 2, later, "under_review"),
    ]


class Env:
    """One console over one temporary database."""

    def __init__(self, app: Any, engine: Any) -> None:
        self.app, self.engine = app, engine

    def client(self, username: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if username is not None:
            login(client, username)
        return client

    def audit(self) -> list[AuditEntry]:
        with Session(self.engine) as session:
            return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def console_over(
    folder: Path, events: list[DomainEvent], users: dict[str, tuple[str, str | None, bool]]
) -> tuple[Any, Any]:
    """A console (app, engine) over a new SQLite read model in ``folder`` holding ``events``, as
    the registry's projection writes them, and ``users`` (username -> role, agency, is_head)."""
    url = f"sqlite:///{folder / 'console.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        project(session, events)
        for username, (role, agency, is_head) in users.items():
            create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                agency=agency,
                is_head=is_head,
                display_name=f"{username}-name",
            )
        session.commit()
    settings = ConsoleSettings(DATABASE_URL=url, LAWLINK_SESSION_SECRET="t" * 32, LAWLINK_ENV="test")
    return create_app(settings, actions=FakeActions(), live=False), engine


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    app, engine = console_over(tmp_path_factory.mktemp("console-towns"), _events(), USERS)
    with TestClient(app):
        yield Env(app, engine)
    engine.dispose()


@pytest.fixture(scope="module")
def clients(env: Env) -> dict[str, TestClient]:
    return {name: env.client(name) for name in USERS}


def test_township_page_lists_items_state_review_and_counters(clients: dict[str, TestClient]) -> None:
    page = clients["town"].get(f"/townships/{TOWN}").text
    assert "日照市东港区石臼街道办事处" in page and 'id="township-items"' in page
    for code, name in (
        ("ZH-0107", "对在城市道路上擅自摆摊设点的行政处罚"),
        ("ZH-0215", "对擅自占用城市绿地的行政处罚"),
        ("SC-0032", "对无照经营的行政处罚"),
    ):
        assert f'data-item="{code}"' in page and name in page
    assert (
        "日照市东港区综合行政执法局" in page and "日照市东港区市场监督管理局" in page
    )  # original departments
    assert "乡镇行使中" in page and "评估中" in page and "已退回原部门" in page  # item states, in Chinese
    review = (NOW + timedelta(days=65)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    assert review in page and "距评估 65 天" in page
    assert "办理 7" in page and "投诉举报 2" in page and "不予处罚/受理 1" in page
    assert "限于街道辖区内居住小区" in page
    assert f'href="/cases/power_delegation/{CASE}"' in page
    # soonest review first (the overdue review of ZH-0215), items without a review date last
    assert (
        page.index('data-item="ZH-0215"')
        < page.index('data-item="ZH-0107"')
        < page.index('data-item="SC-0032"')
    )
    classes = re.search(r'<tr data-item="ZH-0215" class="([^"]*)"', page).group(1)
    assert "row-breached" in classes and "距评估 -3 天" in page  # the review date has passed


def test_township_json_and_returned_filter(clients: dict[str, TestClient]) -> None:
    body = clients["oper"].get(f"/api/townships/{TOWN}").json()
    assert body["township"] == TOWN
    items = {i["code"]: i for i in body["items"]}
    assert set(items) == {"ZH-0107", "ZH-0215", "SC-0032"}
    assert items["ZH-0107"]["state"] == "active" and items["ZH-0107"]["counters"]["handled"] == 7
    assert items["ZH-0107"]["original_department"] == "rz-dg-zhzfj" and items["ZH-0107"]["next_review_at"]
    assert items["ZH-0107"]["case_id"] == CASE and items["SC-0032"]["next_review_at"] is None
    kept = clients["oper"].get(f"/api/townships/{TOWN}?returned=false").json()
    assert {i["code"] for i in kept["items"]} == {"ZH-0107", "ZH-0215"}
    assert 'data-item="SC-0032"' not in clients["oper"].get(f"/townships/{TOWN}?returned=false").text


def test_township_list_counts_items_by_state(clients: dict[str, TestClient]) -> None:
    rows = {r["township"]: r for r in clients["coord"].get("/api/townships").json()}
    assert rows[TOWN]["items"] == 3 and rows[TOWN]["by_state"] == {
        "active": 1,
        "under_review": 1,
        "returned": 1,
    }
    assert rows[OTHER_TOWN]["items"] == 0  # every township is listed, also those without items
    page = clients["coord"].get("/townships").text
    assert f'href="/townships/{TOWN}"' in page and "乡镇行使中 1" in page
    assert '<a href="/townships"' in page  # in the navigation


def test_township_officers_see_only_their_own_township(env: Env, clients: dict[str, TestClient]) -> None:
    town = clients["town"]
    resp = town.get("/townships")
    assert resp.status_code == 303 and resp.headers["location"] == f"/townships/{TOWN}"
    assert [r["township"] for r in town.get("/api/townships").json()] == [TOWN]
    assert '<a href="/townships"' in town.get(f"/townships/{TOWN}").text
    before = len(env.audit())
    assert clients["town2"].get(f"/townships/{TOWN}").status_code == 403
    row = env.audit()[before]
    assert (row.username, row.action, row.outcome, row.target) == (
        "town2",
        "township.view",
        "forbidden",
        f"township/{TOWN}",
    )
    assert '<a href="/townships"' not in clients["officer"].get("/agency").text  # not a township: no link


def test_unknown_or_non_township_id_is_404(clients: dict[str, TestClient]) -> None:
    assert clients["oper"].get("/townships/rz-scjgj").status_code == 404
    resp = clients["oper"].get("/api/townships/rz-nowhere")
    assert resp.status_code == 404 and resp.json()["field"] == "agency_id"


def test_delegation_case_page_links_to_the_township(clients: dict[str, TestClient]) -> None:
    for who in ("oper", "town", "coord"):
        page = clients[who].get(f"/cases/power_delegation/{CASE}").text
        assert f'href="/townships/{TOWN}"' in page and "查看乡镇赋权事项" in page, who
    body = clients["oper"].get(f"/api/cases/power_delegation/{CASE}").json()
    assert body["townships"] == [{"township": TOWN, "url": f"/townships/{TOWN}"}]
    # Someone who may open the case but not the township page gets no link (discipline officers).
    assert f'href="/townships/{TOWN}"' not in clients["disc"].get(f"/cases/power_delegation/{CASE}").text


# ----- every role x every township endpoint ---------------------------------------------------------

ALL = set(USERS)
MATRIX: list[tuple[str, dict[str, int]]] = [
    ("/townships", {**{u: 200 for u in SUPERVISORS}, "town": 303, "town2": 303}),
    ("/api/townships", {**{u: 200 for u in SUPERVISORS}, "town": 200, "town2": 200}),
    (f"/townships/{TOWN}", {**{u: 200 for u in SUPERVISORS}, "town": 200}),
    (f"/api/townships/{TOWN}", {**{u: 200 for u in SUPERVISORS}, "town": 200}),
    (f"/townships/{OTHER_TOWN}", {**{u: 200 for u in SUPERVISORS}, "town2": 200}),
]


@pytest.mark.parametrize("path,allowed", MATRIX, ids=[p for p, _ in MATRIX])
def test_every_role_against_every_township_endpoint(
    env: Env, clients: dict[str, TestClient], path: str, allowed: dict[str, int]
) -> None:
    for username, client in clients.items():
        before = len(env.audit())
        resp = client.get(path)
        if username in allowed:
            assert resp.status_code == allowed[username], (username, path, resp.status_code)
        else:
            assert resp.status_code == 403, (username, path, resp.status_code)
            assert [(r.username, r.outcome) for r in env.audit()[before:]] == [(username, "forbidden")], (
                username,
                path,
            )


def test_every_console_route_has_a_role_matrix_row(env: Env) -> None:
    """A new endpoint without a row in one of the console's role matrices fails here."""
    from tests.unit import test_console_app as base
    from tests.unit import test_console_notifications as notes

    note = "x:rz-scjgj"
    paths = (
        [p for p, _ in base.GET_MATRIX]
        + [p for p, _, _ in base.POST_MATRIX]
        + [p for p, _ in notes.GET_MATRIX]
        + [p for p, _ in MATRIX]
        + [f"/notifications/{note}/read", f"/api/notifications/{note}/read", "/notifications/read-all"]
    )
    # Sign-in, plumbing, assets; /metrics answers a service credential, never a role
    # (test_console_app walks it as access.SERVICE).
    exempt = {"/login", "/logout", "/lang", "/events", "/healthz", "/static", "/metrics"}
    uncovered = []
    for route in env.app.routes:
        path = getattr(route, "path", "")
        if path in exempt or not hasattr(route, "path_regex"):
            continue
        if not any(route.path_regex.match(p.split("?")[0]) for p in paths):
            uncovered.append(path)
    assert uncovered == []
