"""The console over HTTP: every role against every endpoint, need-to-know, CSRF, forms, audit.

Runs FastAPI's TestClient on a temporary SQLite read model filled through the registry's own
projection (``services.readmodel.projection.project``), with fakes for Temporal and the registry's
replay endpoint, so the tests are fast and check what a browser would see.
"""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlmodel import Session, select

from contracts.agencies import AgencyKind, agencies
from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from contracts.jurisdiction_dispute import CoordinatorActionResult
from services.console import access
from services.console.app import create_app
from services.console.auth import CurrentUser, create_user
from services.console.live import Change
from services.console.settings import (
    ConsoleSettings,
    MissingSecret,
    WeakProductionSettings,
    check_production,
    resolve_session_secret,
)
from services.readmodel.accounts import AuditEntry, ConsoleUser, Role
from services.readmodel.db import make_engine, migrate
from services.readmodel.models import DeadLetter
from services.readmodel.projection import project
from services.update_refusals import ActionRefused
from tests.servers import SERVICE_TOKEN, environ, free_port

PASSWORD = "correct-horse-battery"
NOW = datetime.now(UTC)

# username -> (role, agency, is_head)
USERS: dict[str, tuple[str, str | None, bool]] = {
    "coord": ("coordinator", "rz-sfj", False),
    "oper": ("operator", None, False),
    "officer": ("agency_officer", "rz-scjgj", False),
    "head": ("agency_officer", "rz-scjgj", True),
    "other": ("agency_officer", "rz-sthjj", False),
    "disc": ("discipline_officer", "rz-jwjw", False),
    "admin": ("admin", None, False),
    # District-level accounts: Donggang's justice bureau and discipline commission.
    "coord-dg": ("coordinator", "rz-dg-sfj", False),
    "disc-dg": ("discipline_officer", "rz-dg-jwjw", False),
}


def _ev(
    process: str,
    case_id: str,
    seq: int,
    type_: str,
    state: str,
    *,
    kind: EntryKind = EntryKind.STEP,
    actor: str | None = None,
    parties: tuple[str, ...] = (),
    payload: dict[str, Any] | None = None,
    deadline: DeadlineInfo | None = None,
    at: datetime | None = None,
    closed: bool = False,
) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type=type_,
        occurred_at=at or NOW - timedelta(hours=10 - seq),
        process=process,
        case_id=case_id,
        workflow_id=f"{process}/{case_id}",
        seq=seq,
        kind=kind,
        state=state,
        actor=actor,
        parties=parties,
        closed=closed,
        deadline=deadline,
        payload=payload or {},
    )


def _deadline(
    rule: str,
    party: str | None,
    due: datetime,
    status: DeadlineStatus = DeadlineStatus.OPEN,
    counting: str = "working_days",
) -> DeadlineInfo:
    return DeadlineInfo(
        deadline_id=rule,
        rule=rule,
        label_zh=f"{rule} 时限",
        label_en=f"{rule} limit",
        source="test source",
        party=party,
        starts_at=NOW - timedelta(days=2),
        due_at=due,
        warn_at=None,
        counting=counting,
        length=3,
        provisional=False,
        status=status,
    )


def _events() -> list[DomainEvent]:
    ct, jd, dr = "case_transfer", "jurisdiction_dispute", "discipline_referral"
    head = _deadline(
        "case_transfer.head_decision", "rz-scjgj", NOW + timedelta(days=5), counting="calendar_days"
    )
    late = _deadline(
        "case_transfer.police_decision", "rz-scjgj", NOW - timedelta(days=1), DeadlineStatus.BREACHED
    )
    designation = _deadline("jurisdiction_dispute.designation", "rz-sfj", NOW + timedelta(days=9))
    opinion = _deadline(
        "jurisdiction_dispute.opinion", "rz-zhzfj", NOW - timedelta(days=1), DeadlineStatus.BREACHED
    )
    claims = [
        {
            "agency": "rz-scjgj",
            "position": "claims",
            "legal_basis": "《行政处罚法》第22条",
            "reasons": "违法行为发生地",
            "filed_on": "2026-10-08",
        },
        {
            "agency": "rz-zhzfj",
            "position": "claims",
            "legal_basis": "《城市管理执法办法》第8条",
            "reasons": "职责范围",
            "filed_on": "2026-10-10",
        },
    ]
    opened = {
        "kind": "positive",
        "parties": ["rz-scjgj", "rz-zhzfj"],
        "coordinator_office": "rz-sfj",
        "government": "rz-gov",
        "case_title": "某海产品加工厂无证经营案",
        "enforcement_case_no": "日市监立〔2026〕88号",
        "summary": "两机关均主张管辖",
        "claims": claims,
        "suggestion": {
            "agency": "rz-scjgj",
            "reason_zh": "最先立案：rz-scjgj",
            "reason_en": "first to file: rz-scjgj",
            "filing_dates": {"rz-scjgj": "2026-10-08", "rz-zhzfj": "2026-10-10"},
        },
    }
    parties = ("rz-scjgj", "rz-zhzfj")
    return [
        _ev(
            ct,
            "CT-1",
            1,
            "case_transfer.crime_suspected",
            "opened",
            kind=EntryKind.RECEIVED,
            actor="rz-scjgj",
            parties=("rz-scjgj",),
            payload={"case_title": "某公司销售假冒商品案"},
        ),
        _ev(
            ct,
            "CT-1",
            2,
            "deadline.set",
            "opened",
            kind=EntryKind.DEADLINE,
            parties=("rz-scjgj",),
            deadline=head,
        ),
        _ev(
            ct,
            "CT-1",
            3,
            "deadline.breached",
            "opened",
            kind=EntryKind.DEADLINE,
            parties=("rz-scjgj",),
            deadline=late,
        ),
        _ev(
            ct,
            "CT-2",
            1,
            "case_transfer.crime_suspected",
            "opened",
            kind=EntryKind.RECEIVED,
            actor="rz-sthjj",
            parties=("rz-sthjj",),
            payload={"case_title": "某化工厂超标排放案"},
        ),
        _ev(
            jd,
            "JD-1",
            1,
            "jurisdiction_dispute.dispute_raised",
            "negotiating",
            kind=EntryKind.RECEIVED,
            actor="rz-scjgj",
            parties=parties,
        ),
        _ev(
            jd,
            "JD-1",
            2,
            "jurisdiction_dispute.opened",
            "negotiating",
            actor="rz-scjgj",
            parties=parties,
            payload=opened,
        ),
        _ev(
            jd,
            "JD-1",
            3,
            "jurisdiction_dispute.coordination_accepted",
            "coordinating",
            kind=EntryKind.RECEIVED,
            actor="rz-sfj",
            parties=parties,
        ),
        _ev(
            jd,
            "JD-1",
            4,
            "deadline.set",
            "coordinating",
            kind=EntryKind.DEADLINE,
            parties=parties,
            deadline=designation,
        ),
        _ev(
            jd,
            "JD-2",
            1,
            "jurisdiction_dispute.dispute_raised",
            "negotiating",
            kind=EntryKind.RECEIVED,
            actor="rz-zhzfj",
            parties=parties,
        ),
        _ev(
            jd,
            "JD-2",
            2,
            "jurisdiction_dispute.opened",
            "negotiating",
            actor="rz-zhzfj",
            parties=parties,
            payload={**opened, "case_title": "第二起争议"},
        ),
        _ev(
            jd,
            "JD-2",
            3,
            "jurisdiction_dispute.coordination_accepted",
            "opinions_requested",
            kind=EntryKind.RECEIVED,
            actor="rz-sfj",
            parties=parties,
        ),
        _ev(
            jd,
            "JD-2",
            4,
            "deadline.breached",
            "opinions_requested",
            kind=EntryKind.DEADLINE,
            parties=parties,
            deadline=opinion,
        ),
        _ev(
            dr,
            "DR-1",
            1,
            "discipline_referral.clue_identified",
            "identified",
            kind=EntryKind.RECEIVED,
            actor="rz-scjgj",
            parties=("rz-scjgj",),
            payload={"case_title": "SECRET-TITLE"},
        ),
        *_late_reported_case(),
        *_donggang_cases(),
    ]


def _donggang_cases() -> list[DomainEvent]:
    """A transfer raised by Donggang's market regulation bureau and a dispute between two
    Donggang bodies coordinated by Donggang's justice bureau (district need-to-know)."""
    parties = ("rz-dg-scjgj", "rz-dg-zhzfj")
    opened = {"kind": "positive", "parties": list(parties), "coordinator_office": "rz-dg-sfj"}
    return [
        _ev(
            "case_transfer",
            "CT-DG",
            1,
            "case_transfer.crime_suspected",
            "reported",
            kind=EntryKind.RECEIVED,
            actor="rz-dg-scjgj",
            parties=("rz-dg-scjgj",),
            payload={"case_title": "东港区某商店销售假药案"},
        ),
        _ev(
            "jurisdiction_dispute",
            "JD-DG",
            1,
            "jurisdiction_dispute.dispute_raised",
            "negotiating",
            kind=EntryKind.RECEIVED,
            actor="rz-dg-scjgj",
            parties=parties,
        ),
        _ev(
            "jurisdiction_dispute",
            "JD-DG",
            2,
            "jurisdiction_dispute.opened",
            "negotiating",
            actor="rz-dg-scjgj",
            parties=parties,
            payload=opened,
        ),
    ]


SYNCED = datetime(2026, 11, 30, 9, tzinfo=UTC)


def _late_reported_case() -> list[DomainEvent]:
    """A report of 2025-09-29 and its decision of 2025-10-09 reach Lawlink a year late: the
    breach of 2025-10-10 is recorded (seq 3) before the decision (seq 4) that happened first."""
    ct = "case_transfer"
    sh = timezone(timedelta(hours=8))
    head = _deadline("case_transfer.head_decision", "rz-scjgj", datetime(2025, 10, 10, tzinfo=sh))
    met = head.model_copy(update={"status": DeadlineStatus.MET, "late_seconds": 0})
    transfer = head.model_copy(
        update={
            "deadline_id": "transfer",
            "rule": "case_transfer.transfer_after_approval",
            "status": DeadlineStatus.MET,
        }
    )
    rows = [
        (
            1,
            f"{ct}.transfer_report_submitted",
            EntryKind.RECEIVED,
            datetime(2025, 9, 29, 10, tzinfo=sh),
            None,
            {},
        ),
        (2, "deadline.set", EntryKind.DEADLINE, datetime(2025, 9, 29, 10, tzinfo=sh), head, {}),
        (3, "deadline.breached", EntryKind.DEADLINE, datetime(2025, 10, 10, tzinfo=sh), head, {}),
        (4, f"{ct}.head_decided", EntryKind.RECEIVED, datetime(2025, 10, 9, 15, tzinfo=sh), None, {}),
        (
            5,
            "deadline.met",
            EntryKind.DEADLINE,
            datetime(2025, 10, 9, 15, tzinfo=sh),
            met,
            {"late": False, "late_seconds": 0, "breach_withdrawn": True},
        ),
        (6, f"{ct}.transferred", EntryKind.RECEIVED, datetime(2025, 10, 13, 15, tzinfo=sh), None, {}),
        (
            7,
            "deadline.met",
            EntryKind.DEADLINE,
            datetime(2025, 10, 13, 15, tzinfo=sh),
            transfer,
            {"late": True, "late_seconds": 3 * 86400 + 15 * 3600},
        ),
    ]
    return [
        _ev(
            ct,
            "CT-LATE",
            seq,
            type_,
            "reported",
            kind=kind,
            actor="rz-scjgj",
            parties=("rz-scjgj",),
            deadline=deadline,
            at=at,
            payload=payload,
        ).model_copy(update={"recorded_at": SYNCED})
        for seq, type_, kind, at, deadline, payload in rows
    ]


def test_timeline_is_in_the_order_things_happened_with_the_time_each_was_recorded(
    clients: dict[str, TestClient],
) -> None:
    page = clients["oper"].get("/cases/case_transfer/CT-LATE").text
    table = page[page.index('id="timeline-table"') :]
    rows = [table.index(t) for t in ("2025-09-29 10:00:00", "2025-10-09 15:00:00", "2025-10-10 00:00:00")]
    assert rows == sorted(rows)
    # The decision (recorded after the breach) sits before it because it happened first; each
    # row shows when Lawlink recorded it.
    assert table.index("case_transfer.head_decided") < table.index("deadline.breached")
    assert "记录时间" in table and table.count("2026-11-30 17:00:00") == 7
    assert "按时完成（迟报，超期记录撤回）" in table
    assert "逾期4天完成" in table  # 3 days 15 hours late, counted in started days


class FakeActions:
    """Stands in for Temporal: records calls, refuses when told to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, BaseModel]] = []
        self.refuse: ActionRefused | None = None

    async def run(self, action: str, case_id: str, data: BaseModel) -> CoordinatorActionResult:
        if self.refuse is not None:
            raise self.refuse
        self.calls.append((action, case_id, data))
        return CoordinatorActionResult(action=action, state="coordinating", duplicate=True)


class Env:
    """One console over one temporary database."""

    def __init__(self, app: Any, engine: Any, actions: FakeActions, replayed: list[int]) -> None:
        self.app, self.engine, self.actions, self.replayed = app, engine, actions, replayed

    def client(self, username: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if username is not None:
            login(client, username)
        return client

    def audit(self) -> list[AuditEntry]:
        with Session(self.engine) as session:
            return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"}
    )


def csrf(client: TestClient, path: str = "/") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'console.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        project(session, _events())
        session.add(
            DeadLetter(
                stream_seq=7,
                subject="lawlink.in.rz-scjgj.case_transfer.crime_suspected",
                deliveries=3,
                last_error="Temporal unavailable",
                body="{}",
                recorded_at=NOW,
            )
        )
        for username, (role, agency, is_head) in USERS.items():
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
    actions = FakeActions()
    replayed: list[int] = []

    async def replayer(letter_id: int, actor: str) -> dict[str, Any]:
        replayed.append(letter_id)
        return {"id": letter_id}

    settings = ConsoleSettings(
        DATABASE_URL=url,
        LAWLINK_SESSION_SECRET="s" * 32,
        LAWLINK_ENV="test",
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,  # /metrics asks for a service credential
        # A guesser's first wait is long enough that no slow test run outlasts it.
        LAWLINK_LOGIN_DELAY="30",
        TEMPORAL_UI_UPSTREAM=f"http://127.0.0.1:{free_port()}",  # nothing listens there
    )
    app = create_app(settings, actions=actions, replayer=replayer, live=False)
    with TestClient(app):  # runs the lifespan once (migrations are idempotent)
        yield Env(app, engine, actions, replayed)
    engine.dispose()


@pytest.fixture(scope="module")
def clients(env: Env) -> dict[str, TestClient]:
    return {name: env.client(name) for name in USERS}


# ----- every role x every endpoint -----------------------------------------------------------

ALL = set(USERS)
GET_MATRIX: list[tuple[str, set[str]]] = [
    ("/", ALL),
    ("/api/cases", ALL),
    # A city department's case: not for Donggang's coordinator or commission.
    ("/cases/case_transfer/CT-1", ALL - {"other", "coord-dg", "disc-dg"}),
    ("/api/cases/case_transfer/CT-1", ALL - {"other", "coord-dg", "disc-dg"}),
    ("/cases/case_transfer/CT-2", ALL - {"officer", "head", "coord-dg", "disc-dg"}),
    # A Donggang body's case: Donggang's and the city's coordinator and commission see it.
    ("/cases/case_transfer/CT-DG", {"coord", "coord-dg", "oper", "disc", "disc-dg", "admin"}),
    ("/inbox", {"coord", "coord-dg"}),
    ("/api/inbox", {"coord", "coord-dg"}),
    ("/disputes/JD-1", {"coord", "admin"}),
    ("/disputes/JD-DG", {"coord", "coord-dg", "admin"}),
    ("/dashboard", {"oper", "admin"}),
    ("/api/dashboard", {"oper", "admin"}),
    ("/agency", {"officer", "head", "other"}),
    ("/api/agency", {"officer", "head", "other"}),
    ("/audit", {"admin"}),
    ("/api/audit", {"admin"}),
    ("/users", {"admin"}),
]


@pytest.mark.parametrize("path,allowed", GET_MATRIX, ids=[p for p, _ in GET_MATRIX])
def test_every_role_against_every_page(
    env: Env, clients: dict[str, TestClient], path: str, allowed: set[str]
) -> None:
    for username, client in clients.items():
        before = len(env.audit())
        resp = client.get(path)
        if username in allowed:
            assert resp.status_code == 200, (username, path, resp.status_code)
        else:
            assert resp.status_code == 403, (username, path, resp.status_code)
            rows = env.audit()[before:]
            assert [(r.username, r.outcome) for r in rows] == [(username, "forbidden")], (username, path)


POST_MATRIX: list[tuple[str, dict[str, str], set[str]]] = [
    ("/disputes/JD-1/claim", {}, {"coord"}),
    ("/dead-letters/1/replay", {}, {"oper"}),
    ("/users", {"username": "", "role": "operator", "password": "x"}, {"admin"}),
]


@pytest.mark.parametrize("path,data,allowed", POST_MATRIX, ids=[p for p, _, _ in POST_MATRIX])
def test_every_role_against_every_action(
    env: Env, clients: dict[str, TestClient], path: str, data: dict[str, str], allowed: set[str]
) -> None:
    for username, client in clients.items():
        token = csrf(client)
        before = len(env.audit())
        resp = client.post(path, data={**data, "csrf_token": token})
        rows = env.audit()[before:]
        if username in allowed:
            assert resp.status_code in (303, 422), (username, path, resp.status_code, resp.text[:300])
            assert rows and rows[-1].outcome in ("ok", "invalid") and rows[-1].username == username
        else:
            assert resp.status_code == 403, (username, path, resp.status_code)
            assert [(r.username, r.outcome) for r in rows] == [(username, "forbidden")]


def test_signed_out_pages_redirect_and_api_answers_401(env: Env) -> None:
    anonymous = env.client()
    resp = anonymous.get("/inbox")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=%2Finbox")
    assert anonymous.get("/api/cases").status_code == 401
    assert anonymous.get("/events").status_code == 401
    assert anonymous.get("/healthz").status_code == 200


def test_forged_cookie_is_no_session(env: Env) -> None:
    forged = env.client()
    forged.cookies.set("lawlink_session", "not-a-signed-value")
    assert forged.get("/api/cases").status_code == 401


# ----- sign-in, CSRF, logout, language -------------------------------------------------------


def test_login_is_audited_and_wrong_password_refused(env: Env) -> None:
    client = env.client()
    resp = login(client, "oper", "wrong-password-1")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.text
    assert env.audit()[-1].outcome == "refused" and env.audit()[-1].action == "login"
    resp = login(client, "oper")
    assert resp.status_code == 303 and resp.headers["location"] == "/dashboard"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert env.audit()[-1].outcome == "ok"


def _from(env: Env, address: str) -> TestClient:
    return TestClient(env.app, follow_redirects=False, client=(address, 40000))


def test_a_guesser_is_slowed_but_cannot_lock_the_coordinator_out(env: Env) -> None:
    guesser = _from(env, "203.0.113.9")
    statuses = [login(guesser, "coord", f"guess-{n}").status_code for n in range(5)]
    # Three free failures, the fourth makes this address wait 30 s for this username.
    assert statuses == [401, 401, 401, 401, 429]
    resp = login(guesser, "coord")  # even the right password waits, from this address
    assert resp.status_code == 429 and "登录失败次数过多" in resp.text
    assert 0 < int(resp.headers["retry-after"]) <= 30
    last = env.audit()[-1]
    assert (last.outcome, last.username, last.ip) == ("throttled", "coord", "203.0.113.9")
    # The coordinator, at their own desk, signs in at once.
    resp = login(_from(env, "198.51.100.20"), "coord")
    assert resp.status_code == 303 and resp.headers["location"] == "/inbox"


def test_a_forged_forwarded_header_picks_neither_the_audit_address_nor_the_throttle(env: Env) -> None:
    guesser = _from(env, "203.0.113.10")
    for n in range(5):
        guesser.headers["X-Forwarded-For"] = f"10.9.9.{n}"
        login(guesser, "oper", f"guess-{n}")
    assert env.audit()[-1].outcome == "throttled" and env.audit()[-1].ip == "203.0.113.10"


def test_behind_a_trusted_proxy_the_forwarded_client_is_recorded(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'proxied.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        create_user(session, username="oper", password=PASSWORD, role="operator")
        session.commit()
    settings = ConsoleSettings(
        DATABASE_URL=url,
        LAWLINK_SESSION_SECRET="p" * 32,
        LAWLINK_ENV="test",
        LAWLINK_TRUSTED_PROXIES="10.0.0.0/24, 192.0.2.1",
    )
    app = create_app(settings, live=False)
    proxy = TestClient(app, follow_redirects=False, client=("10.0.0.5", 40000))
    # The client wrote its own guess on the left; the proxies appended what they saw.
    proxy.headers["X-Forwarded-For"] = "1.1.1.1, 198.51.100.77, 192.0.2.1"
    assert login(proxy, "oper").status_code == 303
    untrusted = TestClient(app, follow_redirects=False, client=("203.0.113.5", 40000))
    untrusted.headers["X-Forwarded-For"] = "198.51.100.99"
    assert login(untrusted, "oper").status_code == 303
    with Session(engine) as session:
        ips = [r.ip for r in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]
    assert ips == ["198.51.100.77", "203.0.113.5"]
    engine.dispose()
    with pytest.raises(ValueError, match="LAWLINK_TRUSTED_PROXIES: 'not-an-ip'"):
        ConsoleSettings(LAWLINK_TRUSTED_PROXIES="10.0.0.1, not-an-ip")


def test_login_without_its_csrf_token_is_refused(env: Env) -> None:
    client = env.client()
    client.get("/login")
    resp = client.post("/login", data={"username": "oper", "password": PASSWORD, "csrf_token": "forged"})
    assert resp.status_code == 403
    assert env.audit()[-1].outcome == "csrf_failed"


def test_post_without_csrf_token_is_forbidden_and_audited(env: Env, clients: dict[str, TestClient]) -> None:
    calls = len(env.actions.calls)
    resp = clients["coord"].post("/disputes/JD-1/claim", data={"csrf_token": "wrong"})
    assert resp.status_code == 403
    assert env.audit()[-1].outcome == "csrf_failed"
    assert len(env.actions.calls) == calls


def test_logout_ends_the_session_even_for_a_kept_cookie(env: Env) -> None:
    client = env.client("oper")
    kept = client.cookies.get("lawlink_session")
    resp = client.post("/logout", data={"csrf_token": csrf(client, "/dashboard")})
    assert resp.status_code == 303
    again = env.client()
    again.cookies.set("lawlink_session", kept)
    assert again.get("/api/dashboard").status_code == 401


def test_language_switch_persists_per_user(env: Env) -> None:
    client = env.client("admin")
    assert "审计日志" in client.get("/audit").text
    resp = client.post("/lang", data={"lang": "en", "csrf_token": csrf(client, "/audit"), "next": "/audit"})
    assert resp.status_code == 303 and resp.headers["location"] == "/audit"
    page = client.get("/audit").text
    assert "Audit log" in page and 'lang="en"' in page
    fresh = env.client("admin")  # a new sign-in (another computer) keeps the choice
    assert "Audit log" in fresh.get("/audit").text
    bad = client.post("/lang", data={"lang": "fr", "csrf_token": csrf(client, "/audit")})
    assert bad.status_code == 422 and bad.json()["field"] == "lang"
    client.post("/lang", data={"lang": "zh", "csrf_token": csrf(client, "/audit")})
    assert "审计日志" in client.get("/audit").text


def test_open_redirect_through_next_is_refused(env: Env) -> None:
    client = env.client()
    page = client.get("/login?next=https://evil.example/")
    assert 'name="next" value="/"' in page.text


# ----- cases, agency officers, need-to-know ---------------------------------------------------


def test_agency_officer_lists_only_its_own_cases(clients: dict[str, TestClient]) -> None:
    ids = {c["case_id"] for c in clients["officer"].get("/api/cases").json()}
    assert "CT-1" in ids and "JD-1" in ids and "CT-2" not in ids
    ids = {c["case_id"] for c in clients["other"].get("/api/cases").json()}
    assert ids == {"CT-2"}
    ids = {c["case_id"] for c in clients["oper"].get("/api/cases").json()}
    assert {"CT-1", "CT-2", "JD-1", "JD-2", "DR-1"} <= ids


def test_agency_view_says_what_is_due_next(clients: dict[str, TestClient]) -> None:
    body = clients["officer"].get("/api/agency").json()
    assert body["agency"] == "rz-scjgj"
    rules = [t["rule"] for t in body["todo"]]
    assert rules == [
        "case_transfer.police_decision",
        "case_transfer.head_decision",
    ]  # soonest (overdue) first
    assert body["todo"][0]["overdue"] is True and body["todo"][1]["overdue"] is False
    page = clients["officer"].get("/agency").text
    assert "已超期" in page and "CT-1" in page


def test_case_page_shows_svg_timeline_table_deadlines_and_temporal_link(
    clients: dict[str, TestClient],
) -> None:
    page = clients["oper"].get("/cases/case_transfer/CT-1").text
    assert "<svg" in page and "tl-state" in page and "tl-event" in page
    assert 'class="tl-event tl-breach"' in page and "#dc2626" in page  # the breach, in red
    assert "tl-deadline-breached" in page and "tl-deadline-open" in page
    assert 'id="timeline-table"' in page and "已超过时限" in page
    assert "case_transfer%2FCT-1" in page  # the Temporal UI link, workflow id encoded
    assert "剩余" in page  # countdown of the open deadline


def test_discipline_referral_is_need_to_know(env: Env, clients: dict[str, TestClient]) -> None:
    path = "/api/cases/discipline_referral/DR-1"
    for who in ("disc", "head"):
        body = clients[who].get(path).json()
        assert "timeline" in body and body["confidential"] is True, who
    for who in ("officer", "coord", "oper", "admin"):
        body = clients[who].get(path).json()
        assert set(body) == {"process", "case_id", "state", "closed", "confidential"}, who
        page = clients[who].get("/cases/discipline_referral/DR-1").text
        assert 'id="need-to-know"' in page and "timeline-table" not in page, who
    assert clients["other"].get(path).status_code == 403
    listed = {c["case_id"]: c for c in clients["oper"].get("/api/cases").json()}
    assert listed["DR-1"]["title"] is None and listed["DR-1"]["agency"] is None
    assert "SECRET-TITLE" not in clients["oper"].get("/").text


# ----- coordinator inbox and dispute page -----------------------------------------------------


def test_inbox_sorted_by_deadline_with_days_left_and_overdue_badge(clients: dict[str, TestClient]) -> None:
    rows = clients["coord"].get("/api/inbox").json()
    assert [r["case_id"] for r in rows] == ["JD-2", "JD-1"]
    assert rows[0]["overdue"] is True and rows[1]["overdue"] is False
    assert rows[1]["unit"] == "working_days_left" and 0 < rows[1]["left"] <= 9
    page = clients["coord"].get("/inbox").text
    assert page.index("JD-2") < page.index("JD-1")
    assert "badge overdue" in page and "个工作日" in page and "某海产品加工厂无证经营案" in page


def test_inbox_filters(clients: dict[str, TestClient]) -> None:
    coord = clients["coord"]
    assert [r["case_id"] for r in coord.get("/api/inbox?overdue=true").json()] == ["JD-2"]
    assert [r["case_id"] for r in coord.get("/api/inbox?q=d-1").json()] == ["JD-1"]
    assert [r["case_id"] for r in coord.get("/api/inbox?state=coordinating").json()] == ["JD-1"]
    assert coord.get("/api/inbox?agency=rz-sthjj").json() == []
    assert len(coord.get("/api/inbox?agency=rz-zhzfj").json()) == 2


def test_dispute_page_shows_claims_basis_suggestion(clients: dict[str, TestClient]) -> None:
    page = clients["coord"].get("/disputes/JD-1").text
    assert "《行政处罚法》第22条" in page and "《城市管理执法办法》第8条" in page
    assert "最先立案：日照市市场监督管理局" in page  # the agency's name, not its id
    assert 'id="btn-claim"' in page and 'id="form-designate"' not in page  # unclaimed: claim first
    assert 'id="btn-claim"' not in clients["admin"].get("/disputes/JD-1").text  # admins read, never act


def test_designate_sends_the_update_with_the_users_identity(env: Env, clients: dict[str, TestClient]) -> None:
    client = clients["coord"]
    token = csrf(client, "/disputes/JD-1")
    resp = client.post(
        "/disputes/JD-1/designate",
        data={"csrf_token": token, "agency": "rz-scjgj", "reason": "最先立案", "request_id": "req-1"},
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/disputes/JD-1?done=designate"
    action, case_id, data = env.actions.calls[-1]
    assert (action, case_id) == ("designate", "JD-1")
    assert data.model_dump() == {
        "coordinator": "coord",
        "coordinator_name": "coord-name",
        "coordinator_agency": "rz-sfj",
        "request_id": "req-1",
        "agency": "rz-scjgj",
        "reason": "最先立案",
    }
    assert env.audit()[-1].action == "dispute.designate" and env.audit()[-1].outcome == "ok"


def test_refused_action_shows_the_validators_reason_next_to_the_field(
    env: Env, clients: dict[str, TestClient]
) -> None:
    client = clients["coord"]
    env.actions.refuse = ActionRefused("reason", "designation needs written reasons")
    try:
        resp = client.post(
            "/disputes/JD-1/designate",
            data={"csrf_token": csrf(client, "/disputes/JD-1"), "agency": "rz-scjgj", "reason": ""},
        )
    finally:
        env.actions.refuse = None
    # Refused by the workflow: a redirect (a reload sends nothing again) to the page with the reason.
    assert resp.status_code == 303 and resp.headers["location"] == "/disputes/JD-1?refused=designate"
    shown = client.get(resp.headers["location"]).text
    assert 'data-field="reason">' in shown and 'id="action-refused"' in shown
    assert env.audit()[-1].outcome == "refused"


def test_bad_form_input_is_answered_next_to_the_field_without_calling_temporal(
    env: Env, clients: dict[str, TestClient]
) -> None:
    client = clients["coord"]
    calls = len(env.actions.calls)
    resp = client.post(
        "/disputes/JD-1/extend",
        data={"csrf_token": csrf(client, "/disputes/JD-1"), "working_days": "20", "reason": "材料多"},
    )
    assert resp.status_code == 422
    assert 'data-field="working_days"' in resp.text and 'value="20"' in resp.text
    assert len(env.actions.calls) == calls
    assert env.audit()[-1].outcome == "invalid"


def test_request_opinions_carries_parties_and_due_date(env: Env, clients: dict[str, TestClient]) -> None:
    client = clients["coord"]
    resp = client.post(
        "/disputes/JD-1/request_opinions",
        data={
            "csrf_token": csrf(client, "/disputes/JD-1"),
            "agencies": ["rz-scjgj", "rz-zhzfj"],
            "due_date": "2099-01-05",
        },
    )
    assert resp.status_code == 303
    data = env.actions.calls[-1][2]
    assert data.agencies == ["rz-scjgj", "rz-zhzfj"] and str(data.due_date) == "2099-01-05"


# ----- operator dashboard, dead letters, admin --------------------------------------------------


def test_dashboard_counts_breaches_and_charts(clients: dict[str, TestClient]) -> None:
    body = clients["oper"].get("/api/dashboard").json()
    counts = {(c["process"], c["state"]): c["count"] for c in body["counts"]}
    assert counts[("case_transfer", "opened")] == 2 and counts[("jurisdiction_dispute", "coordinating")] == 1
    breached = {b["agency"]: b["count"] for b in body["breached_by_agency"]}
    assert breached == {"rz-scjgj": 1, "rz-zhzfj": 1}
    assert sum(h["count"] for h in body["events_per_hour"]) >= 10
    assert body["dead_letters"][0]["subject"].startswith("lawlink.in.rz-scjgj")
    page = clients["oper"].get("/dashboard").text
    assert page.count('class="chart"') == 3 and "重新投递" in page


def test_replay_goes_to_the_registry(env: Env, clients: dict[str, TestClient]) -> None:
    client = clients["oper"]
    with Session(env.engine) as session:
        letter_id = session.exec(select(DeadLetter.id)).first()
    before = list(env.replayed)
    unconfirmed = client.post(
        f"/dead-letters/{letter_id}/replay", data={"csrf_token": csrf(client, "/dashboard")}
    )
    assert unconfirmed.status_code == 303 and env.replayed == before  # not ticked: nothing replayed
    assert env.audit()[-1].outcome == "invalid"
    assert "未重投：请先勾选确认" in client.get(unconfirmed.headers["location"]).text
    resp = client.post(
        f"/dead-letters/{letter_id}/replay", data={"csrf_token": csrf(client, "/dashboard"), "confirm": "on"}
    )
    assert resp.status_code == 303 and env.replayed[-1] == letter_id
    assert env.audit()[-1].action == "dead_letter.replay" and env.audit()[-1].outcome == "ok"
    assert "已重新投递 1 条死信" in client.get(resp.headers["location"]).text


def test_admin_adds_user_and_bad_input_is_shown_by_the_field(
    env: Env, clients: dict[str, TestClient]
) -> None:
    client = clients["admin"]
    resp = client.post(
        "/users",
        data={
            "csrf_token": csrf(client, "/users"),
            "username": "newbie",
            "role": "agency_officer",
            "password": "long-enough-pw",
        },
    )
    assert resp.status_code == 422 and "机关经办人必须绑定一个机关" in resp.text  # the page's language
    resp = client.post(
        "/users",
        data={
            "csrf_token": csrf(client, "/users"),
            "username": "newbie",
            "role": "operator",
            "password": "long-enough-pw",
        },
    )
    assert resp.status_code == 303
    with Session(env.engine) as session:
        user = session.exec(select(ConsoleUser).where(ConsoleUser.username == "newbie")).one()
        assert user.password_hash.startswith("$argon2id$") and "long-enough-pw" not in user.password_hash
    audit_rows = client.get("/api/audit").json()
    assert {"username", "action", "at", "ip", "outcome", "target"} <= set(audit_rows[0])


# ----- live refresh, assets, settings ------------------------------------------------------------


def test_live_hub_filters_changes_for_agency_officers(env: Env) -> None:
    hub = env.app.state.hub

    async def run() -> list[str]:
        got: list[str] = []
        stream = hub.stream(lambda c: "rz-scjgj" in c.parties, heartbeat=0.05)
        got.append(await stream.__anext__())
        hub.publish(Change("case_transfer", "CT-2", "x", parties=("rz-sthjj",)))
        hub.publish(Change("case_transfer", "CT-1", "case_transfer.opened", parties=("rz-scjgj",)))
        got.append(await stream.__anext__())
        await stream.aclose()
        return got

    first, second = asyncio.run(run())
    assert first.startswith("retry:")
    assert second.startswith("event: change\n") and '"case_id": "CT-1"' in second
    assert hub.listeners == 0


def test_assets_are_served_by_the_console_with_licence_and_no_cdn(env: Env) -> None:
    client = env.client("oper")
    page = client.get("/dashboard").text
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert srcs and all(s.startswith("/") or s.startswith("http://127.0.0.1") for s in srcs), srcs
    htmx = client.get("/static/vendor/htmx/htmx-2.0.11.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:2000]
    assert "Zero-Clause BSD" in client.get("/static/vendor/htmx/LICENSE").text
    assert client.get("/static/console.js").status_code == 200
    assert "script-src 'self'" in client.get("/dashboard").headers["content-security-policy"]


def test_session_secret_is_required_outside_development() -> None:
    with pytest.raises(MissingSecret, match="LAWLINK_SESSION_SECRET"):
        resolve_session_secret(ConsoleSettings(LAWLINK_ENV="production"))
    with pytest.raises(MissingSecret, match="at least 16"):
        resolve_session_secret(ConsoleSettings(LAWLINK_SESSION_SECRET="short", LAWLINK_ENV="production"))
    assert len(resolve_session_secret(ConsoleSettings(LAWLINK_ENV="development"))) >= 32


# ----- the role x endpoint matrix, generated from the app's routes -------------------------------

# (method, route) -> (a concrete path, the agencies that record involves). The record is one every
# role's scope reaches where the route has one, except where noted, so a refusal comes from the
# table; what each role gets is then read from access.POLICY.
OWN = "<the user's own agency>"
TOWNSHIPS = {a.id for a in agencies().values() if a.kind is AgencyKind.TOWNSHIP}
ROUTE_SAMPLES: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("GET", "/login"): ("/login", set()),
    ("POST", "/login"): ("/login", set()),
    ("GET", "/healthz"): ("/healthz", set()),
    ("GET", "/metrics"): ("/metrics", set()),
    ("GET", "/static"): ("/static/console.js", set()),
    ("POST", "/logout"): ("/logout", set()),
    ("POST", "/lang"): ("/lang", set()),
    ("GET", "/"): ("/", set()),
    ("GET", "/api/cases"): ("/api/cases", set()),
    ("GET", "/cases/{process}/{case_id}"): ("/cases/case_transfer/CT-DG", {"rz-dg-scjgj"}),
    ("GET", "/api/cases/{process}/{case_id}"): ("/api/cases/case_transfer/CT-1", {"rz-scjgj"}),
    ("GET", "/agency"): ("/agency", set()),
    ("GET", "/api/agency"): ("/api/agency", set()),
    ("GET", "/inbox"): ("/inbox", set()),
    ("GET", "/api/inbox"): ("/api/inbox", set()),
    ("GET", "/disputes/{case_id}"): ("/disputes/JD-DG", {"rz-dg-scjgj", "rz-dg-zhzfj"}),
    ("POST", "/disputes/{case_id}/{action}"): ("/disputes/JD-1/extend", {"rz-scjgj", "rz-zhzfj"}),
    # No delegation in this read model: a coordinator reaches the 404, every other role the 403.
    ("GET", "/delegations/{case_id}/review"): ("/delegations/DLG-NONE/review", set()),
    ("POST", "/delegations/{case_id}/review"): ("/delegations/DLG-NONE/review", set()),
    ("GET", "/dashboard"): ("/dashboard", set()),
    ("GET", "/api/dashboard"): ("/api/dashboard", set()),
    ("POST", "/dead-letters/{letter_id}/replay"): ("/dead-letters/999/replay", set()),
    ("POST", "/dead-letters/replay"): ("/dead-letters/replay", set()),
    ("GET", "/audit"): ("/audit", set()),
    ("GET", "/api/audit"): ("/api/audit", set()),
    ("GET", "/users"): ("/users", set()),
    ("POST", "/users"): ("/users", set()),
    ("POST", "/users/{username}/edit"): ("/users/nobody/edit", set()),
    ("POST", "/users/{username}/password"): ("/users/nobody/password", set()),
    ("GET", "/notifications"): ("/notifications", set()),
    ("GET", "/notifications/bell"): ("/notifications/bell", set()),
    ("GET", "/api/notifications"): ("/api/notifications", set()),
    ("GET", "/api/notifications/unread-count"): ("/api/notifications/unread-count", set()),
    ("POST", "/notifications/read-all"): ("/notifications/read-all", {OWN}),
    ("POST", "/notifications/{notification_id}/read"): ("/notifications/none/read", set()),
    ("POST", "/api/notifications/{notification_id}/read"): ("/api/notifications/none/read", set()),
    ("GET", "/digest"): ("/digest", set()),
    ("GET", "/api/digest"): ("/api/digest?agency=rz-scjgj", {"rz-scjgj"}),
    ("GET", "/townships"): ("/townships", TOWNSHIPS),
    ("GET", "/api/townships"): ("/api/townships", TOWNSHIPS),
    ("GET", "/townships/{agency_id}"): ("/townships/rz-dg-shijiu", {"rz-dg-shijiu"}),
    ("GET", "/api/townships/{agency_id}"): ("/api/townships/rz-dg-shijiu", {"rz-dg-shijiu"}),
    ("GET", "/events"): ("/events", set()),
    ("GET", "/statistics"): ("/statistics", set()),
    ("GET", "/api/statistics"): ("/api/statistics", set()),
    ("GET", "/statistics/report"): ("/statistics/report", set()),
    ("GET", "/statistics/export.xlsx"): ("/statistics/export.xlsx", set()),
    ("GET", "/statistics/export.csv"): ("/statistics/export.csv?section=case_transfer", set()),
    ("GET", "/temporal"): ("/temporal", set()),
    **{
        (m, "/temporal/{path:path}"): ("/temporal/api/v1/namespaces", set())
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
}


def _app_routes(app: Any) -> set[tuple[str, str]]:
    from starlette.routing import Mount

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            included = getattr(route, "original_router", None)  # FastAPI's included routers
            yield from walk(included.routes) if included is not None else (route,)

    found: set[tuple[str, str]] = set()
    for route in walk(app.routes):
        if isinstance(route, Mount):
            found.add(("GET", route.path))
            continue
        found |= {(m, route.path) for m in getattr(route, "methods", None) or () if m != "HEAD"}
    return found


def test_every_route_has_an_entry_in_the_access_table(env: Env) -> None:
    routes = _app_routes(env.app)
    assert routes - set(access.ROUTES) == set(), "routes without an entry in access.ROUTES"
    assert set(access.ROUTES) - routes == set(), "entries of access.ROUTES without a route"
    assert set(ROUTE_SAMPLES) == routes, "routes without a sample in this test"
    for permission in set(access.ROUTES.values()) - {access.PUBLIC, access.SERVICE}:
        assert permission in access.POLICY, permission


def _expected(username: str, permission: str, agencies: set[str]) -> bool:
    role, agency, is_head = USERS[username]
    user = CurrentUser(0, username, username, Role(role), agency, is_head, "zh", "", "")
    agencies = {agency or "" if a == OWN else a for a in agencies}
    return access.permits(user, permission, agencies) if agencies else access.allowed(user, permission)


@pytest.mark.parametrize("route", sorted(ROUTE_SAMPLES), ids=lambda r: f"{r[0]} {r[1]}")
def test_every_role_against_every_route_matches_the_table(
    env: Env, clients: dict[str, TestClient], route: tuple[str, str]
) -> None:
    method, _ = route
    path, agencies = ROUTE_SAMPLES[route]
    permission = access.ROUTES[route]
    for username in USERS:
        # Signing out ends the session, so that route gets a session of its own.
        client = env.client(username) if path == "/logout" else clients[username]
        token = csrf(client, "/notifications")
        before = len(env.audit())
        headers = {"X-CSRF-Token": token, "Accept": "text/html"}
        if method == "GET":
            resp = client.get(path, headers=headers) if path != "/events" else None
            if resp is None:
                with client.stream("GET", path) as stream:
                    resp = stream
        else:
            resp = client.request(method, path, data={"csrf_token": token}, headers=headers)
        if permission == access.PUBLIC:  # no sign-in asked (POST /login still wants its own token)
            assert resp.status_code != 401, (username, method, path)
        elif permission == access.SERVICE:  # a person's session is no service credential
            assert resp.status_code == 401, (username, method, path, resp.status_code)
        elif _expected(username, permission, agencies):
            assert resp.status_code not in (401, 403), (username, method, path, resp.status_code)
        else:
            assert resp.status_code == 403, (username, method, path, resp.status_code)
            rows = env.audit()[before:]
            assert [(r.username, r.outcome) for r in rows] == [(username, "forbidden")], (username, path)


def test_a_refusal_says_why_in_chinese_then_english(env: Env, clients: dict[str, TestClient]) -> None:
    page = clients["disc-dg"].get("/cases/case_transfer/CT-1")
    assert page.status_code == 403
    assert "所涉机关不在您所在纪委监委的监督范围内" in page.text and "本次访问已记录" in page.text
    body = clients["coord-dg"].get("/api/cases/jurisdiction_dispute/JD-1").json()
    assert body["field"] == "scope" and body["reason_zh"] == "该记录不在您所在区县的范围内"
    assert body["reason"].startswith("the record is outside your district")
    body = clients["officer"].get("/api/dashboard").json()
    assert body["field"] == "role" and body["reason_zh"] == "您的角色无权执行此操作"
    assert "your role may not do this" in body["reason"] and "dashboard.view" in body["reason"]


def test_district_and_commission_scopes_filter_the_case_list(clients: dict[str, TestClient]) -> None:
    ids = lambda who: {c["case_id"] for c in clients[who].get("/api/cases").json()}  # noqa: E731
    assert ids("coord-dg") == {"CT-DG", "JD-DG"}
    assert ids("disc-dg") == {"CT-DG", "JD-DG"}
    assert {"CT-1", "CT-2", "JD-1", "CT-DG", "JD-DG"} <= ids("disc") and ids("disc") == ids("coord")


def test_production_cookies_are_secure_and_weak_defaults_refused(tmp_path: Any, monkeypatch: Any) -> None:
    # Only what this test passes counts (a session-wide stack fixture may have set these).
    for name in ("LAWLINK_SERVICE_TOKEN", "NATS_USER", "NATS_PASSWORD", "LAWLINK_CONTENT_KEY"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        create_user(session, username="oper", password=PASSWORD, role="operator")
        session.commit()
    engine.dispose()
    strong = {
        "DATABASE_URL": url,
        "LAWLINK_ENV": "production",
        "LAWLINK_SESSION_SECRET": "q" * 32,
        "LAWLINK_SERVICE_TOKEN": "t" * 40,
        "NATS_USER": "lawlink",
        "NATS_PASSWORD": "nats-secret",
    }
    key = {"LAWLINK_CONTENT_KEY": base64.b64encode(b"k" * 32).decode()}
    with environ(key):
        app = create_app(ConsoleSettings(**strong), live=False)
        client = TestClient(app, base_url="https://console.example", follow_redirects=False)
        cookies = [v for k, v in login(client, "oper").headers.multi_items() if k == "set-cookie"]
        session_cookie = next(c for c in cookies if c.startswith("lawlink_session="))
        assert (
            "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
        )
        assert all("Secure" in c for c in cookies)
        with pytest.raises(WeakProductionSettings, match="LAWLINK_COOKIE_SECURE=false"):
            create_app(ConsoleSettings(**strong, LAWLINK_COOKIE_SECURE="false"), live=False)
    for missing in ("LAWLINK_SERVICE_TOKEN", "NATS_PASSWORD"):
        weak = {k: v for k, v in strong.items() if k != missing}
        with environ(key), pytest.raises(WeakProductionSettings, match=missing):
            create_app(ConsoleSettings(**weak), live=False)
    with pytest.raises(WeakProductionSettings, match="LAWLINK_CONTENT_KEY"):
        check_production(ConsoleSettings(**strong))
    # Development may keep cookies plain (http://127.0.0.1 under `make run`).
    assert not ConsoleSettings(LAWLINK_ENV="development").secure_cookies


def test_make_run_starts_the_console_without_uvicorns_proxy_trust_and_the_ui_under_its_route(
    tmp_path: Any,
) -> None:
    from services.console.web import TEMPORAL_UI_PATH
    from services.devstack import render_procfile, resolve_ports

    lines = dict(row.split(": ", 1) for row in render_procfile(resolve_ports({}), tmp_path).splitlines())
    assert "--no-proxy-headers" in lines["console"] and "--proxy-headers" not in lines["console"]
    assert f"--ui-public-path {TEMPORAL_UI_PATH} " in lines["temporal"]
