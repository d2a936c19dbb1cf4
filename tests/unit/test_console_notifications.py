"""The console's bell, notifications page, mark-as-read and daily digest (issue 9), every role
against every new endpoint, and the need-to-know referral page over a real encrypted content row.

Notifications are made by the notifier's own recipient table (``notifications_for``) from domain
events and stored by its own ``store.record``; deadlines and referrals are projected by the
registry's projection, and referral content is sealed by the discipline store with the cipher
the console decrypts with. So these tests check what a browser would see from real rows.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from contracts.catalog import spec_for
from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.discipline_referral import public_part
from contracts.domain import DomainEvent, EntryKind
from contracts.notifications import Audience, Notification, Reason
from services.console import access, routes_notifications
from services.console.app import create_app
from services.console.auth import CurrentUser, create_user
from services.console.live import Change, LiveHub
from services.console.settings import ConsoleSettings
from services.discipline.content import ReferralContent, store_content
from services.discipline.crypto import cipher_from_env
from services.notifier import store
from services.notifier.recipients import notifications_for
from services.readmodel.accounts import AuditEntry, Role
from services.readmodel.db import make_engine, migrate
from services.readmodel.notifications import NotificationRead, NotificationRecord
from services.readmodel.projection import project
from tests.events import envelope, event, new_case_id
from tests.unit.test_console_app import PASSWORD, FakeActions, csrf, login

NOW = datetime.now(UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")

# username -> (role, agency, is_head)
USERS: dict[str, tuple[str, str | None, bool]] = {
    "coord": ("coordinator", "rz-sfj", False),
    "oper": ("operator", None, False),
    "officer": ("agency_officer", "rz-scjgj", False),
    "head": ("agency_officer", "rz-scjgj", True),
    "other": ("agency_officer", "rz-sthjj", False),
    "sfj-officer": ("agency_officer", "rz-sfj", False),
    "disc": ("discipline_officer", "rz-jwjw", False),
    "admin": ("admin", None, False),
}
ALL = set(USERS)
CT = "case_transfer"
DR = "discipline_referral"
CASE = "CT-N1"
REFERRAL = new_case_id("DRN")


def _later_today() -> datetime:
    """An instant after now that is still today in Shanghai (the digest's "due today")."""
    local = NOW.astimezone(SHANGHAI)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    return NOW + (midnight - NOW) / 2


def _deadline(
    rule: str, party: str, due: datetime, status: DeadlineStatus = DeadlineStatus.OPEN
) -> DeadlineInfo:
    return DeadlineInfo(
        deadline_id=rule,
        rule=rule,
        label_zh=f"{rule} 时限",
        label_en=f"{rule} limit",
        source="国务院令第310号",
        party=party,
        starts_at=NOW - timedelta(days=3),
        due_at=due,
        warn_at=None,
        counting="calendar_days",
        length=3,
        provisional=False,
        status=status,
        escalate_to=("rz-sfj",),
    )


def _ev(
    type_: str,
    seq: int,
    *,
    kind: EntryKind = EntryKind.DEADLINE,
    deadline: DeadlineInfo | None = None,
    actor: str | None = None,
    payload: dict[str, Any] | None = None,
) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type=type_,
        occurred_at=NOW - timedelta(hours=5 - seq),
        process=CT,
        case_id=CASE,
        workflow_id=f"{CT}/{CASE}",
        seq=seq,
        kind=kind,
        state="opened",
        actor=actor,
        parties=("rz-scjgj",),
        deadline=deadline,
        payload=payload or {},
    )


def _referral_domain(data: dict[str, Any], seq: int) -> DomainEvent:
    """The RECEIVED domain event the referral workflow publishes for an accepted inbound event
    (its public part only: ``lawlink.out`` carries no content)."""
    env = envelope(data)
    payload = spec_for(env.type).payload.model_validate(env.payload)
    return DomainEvent(
        event_id=str(env.event_id),
        type=env.type,
        occurred_at=env.occurred_at,
        process=DR,
        case_id=env.case_id,
        workflow_id=f"{DR}/{env.case_id}",
        seq=seq,
        kind=EntryKind.RECEIVED,
        state="identified" if seq == 1 else "referred",
        actor=env.source_agency,
        parties=(env.source_agency,),
        payload=public_part(env.type, payload),
    )


class Env:
    """One console over one temporary database, with the ids of the stored notifications."""

    def __init__(self, app: Any, engine: Any, ids: dict[str, str]) -> None:
        self.app, self.engine, self.ids = app, engine, ids

    def client(self, username: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if username is not None:
            login(client, username)
        return client

    def audit(self) -> list[AuditEntry]:
        with Session(self.engine) as session:
            return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def _coordinator_note(case_id: str) -> Notification:
    """A notification meant for coordinators of the justice bureau (audience coordinator)."""
    return Notification(
        notification_id=f"{uuid.uuid4()}:rz-sfj",
        recipient="rz-sfj",
        reason=Reason.COORDINATE,
        audience=Audience.COORDINATOR,
        domain_event_id=str(uuid.uuid4()),
        event_type="jurisdiction_dispute.coordination_requested",
        process="jurisdiction_dispute",
        case_id=case_id,
        workflow_id=f"jurisdiction_dispute/{case_id}",
        seq=3,
        occurred_at=NOW,
        state="coordination_requested",
        actor="rz-scjgj",
        title_zh="【管辖争议协调】申请协调",
        title_en="[Jurisdiction dispute] coordination requested",
        action_zh="请受理协调申请",
        action_en="Accept the request",
        link=f"/cases/jurisdiction_dispute/{case_id}",
    )


class _Frozen(datetime):
    """The console's clock held at the moment the module seeded its deadlines: the digest's
    "due today" is today in Shanghai, and a run that crosses Shanghai's midnight (16:00 UTC)
    between seeding and asking would otherwise find the day's deadline overdue."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return NOW if tz is None else NOW.astimezone(tz)


@pytest.fixture(scope="module", autouse=True)
def _console_clock() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(routes_notifications, "datetime", _Frozen)
        yield


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path_factory.mktemp('console-notes') / 'console.db'}"
    migrate(url)
    engine = make_engine(url)
    today = _deadline("case_transfer.head_decision", "rz-scjgj", _later_today())
    late = _deadline(
        "case_transfer.police_decision", "rz-scjgj", NOW - timedelta(days=1), DeadlineStatus.BREACHED
    )
    received = _ev(
        "case_transfer.crime_suspected",
        1,
        kind=EntryKind.RECEIVED,
        actor="rz-scjgj",
        payload={"case_title": "某公司销售假冒商品案"},
    )
    set_today = _ev("deadline.set", 2, deadline=today)
    warning = _ev("deadline.warning", 3, deadline=today)
    breached = _ev("deadline.breached", 4, deadline=late)
    clue = event(DR, "clue_identified", case_id=REFERRAL)
    referred = event(DR, "referred", case_id=REFERRAL)
    cipher = cipher_from_env()  # the key the console decrypts with (one per test process)
    ids: dict[str, str] = {}
    with Session(engine) as session:
        project(session, [received, set_today, warning, breached])
        for data in (clue, referred):
            assert store_content(session, cipher, envelope(data), process=DR)
        sent = DomainEvent(
            event_id=str(uuid.uuid4()),
            type=f"{DR}.sent",
            occurred_at=NOW,
            process=DR,
            case_id=REFERRAL,
            workflow_id=f"{DR}/{REFERRAL}",
            seq=3,
            kind=EntryKind.STEP,
            state="referred",
            actor="rz-scjgj",
            parties=("rz-scjgj",),
            payload={"commission": "rz-jwjw"},
        )
        referral_events = [_referral_domain(clue, 1), _referral_domain(referred, 2), sent]
        project(session, referral_events)
        notes = [
            *notifications_for(warning, console_url=""),
            *notifications_for(breached, console_url=""),
            *notifications_for(sent, console_url=""),
            _coordinator_note("JD-N1"),
        ]
        store.record(session, notes, now=NOW)
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
        rows = session.exec(select(NotificationRecord)).all()
    for row in rows:
        if row.agency == "rz-scjgj" and row.process == CT:
            ids[f"scjgj-{row.event_type}"] = row.id
        elif row.agency == "rz-sfj" and row.audience == "coordinator":
            ids["sfj-coordinator"] = row.id
        elif row.agency == "rz-sfj":
            ids[f"sfj-{row.event_type}"] = row.id
        elif row.process == DR:
            ids[f"referral-{row.agency}"] = row.id
    settings = ConsoleSettings(DATABASE_URL=url, LAWLINK_SESSION_SECRET="n" * 32, LAWLINK_ENV="test")
    app = create_app(settings, actions=FakeActions(), live=False)
    with TestClient(app):
        yield Env(app, engine, ids)
    engine.dispose()


@pytest.fixture(scope="module")
def clients(env: Env) -> dict[str, TestClient]:
    return {name: env.client(name) for name in USERS}


def _bell(page: str) -> int:
    marker = 'id="bell-count">'
    start = page.index(marker) + len(marker)
    return int(page[start : page.index("<", start)])


# ----- what the notifier stored (sanity of the fixture, so the tests below mean something) ------


def test_fixture_holds_notifications_from_the_notifier_table(env: Env) -> None:
    assert {"scjgj-deadline.warning", "scjgj-deadline.breached", "sfj-coordinator"} <= set(env.ids), env.ids
    assert "referral-rz-jwjw" in env.ids  # the commission must sign for the referred clue


# ----- the bell -----------------------------------------------------------------------------------


def test_bell_in_the_header_counts_unread_for_the_users_agency_and_role(
    clients: dict[str, TestClient],
) -> None:
    page = clients["officer"].get("/cases/case_transfer/CT-N1").text
    assert 'id="bell"' in page and "data-bell" in page and 'hx-get="/notifications/bell"' in page
    officer_count = _bell(page)
    assert officer_count == clients["officer"].get("/api/notifications/unread-count").json()["unread"]
    assert officer_count >= 2  # the warning and the breach, both for the acting agency
    # The justice bureau: its coordinators see the coordination request, its agency officers do not.
    coord = clients["coord"].get("/api/notifications").json()
    sfj_officer = clients["sfj-officer"].get("/api/notifications").json()
    assert "jurisdiction_dispute.coordination_requested" in {n["event_type"] for n in coord["items"]}
    assert "jurisdiction_dispute.coordination_requested" not in {
        n["event_type"] for n in sfj_officer["items"]
    }
    assert coord["unread"] == sfj_officer["unread"] + 1
    # Accounts bound to no agency have no bell; the fragment endpoint then renders nothing.
    assert 'id="bell"' not in clients["oper"].get("/dashboard").text
    assert clients["oper"].get("/notifications/bell").text.strip() == ""
    fragment = clients["officer"].get("/notifications/bell").text
    assert (
        fragment.startswith('<a href="/notifications" id="bell"') and f">{officer_count}</span>" in fragment
    )


def test_notifications_page_shows_what_to_do_and_by_when(clients: dict[str, TestClient], env: Env) -> None:
    page = clients["officer"].get("/notifications").text
    assert 'id="notifications-table"' in page and "时限即将届满" in page and "须办理" in page
    assert f'data-notification="{env.ids["scjgj-deadline.warning"]}"' in page
    assert "/cases/case_transfer/CT-N1" in page and "标为已读" in page
    body = clients["officer"].get("/api/notifications").json()
    warning = next(n for n in body["items"] if n["id"] == env.ids["scjgj-deadline.warning"])
    assert warning["due_at"] and warning["counting"] == "calendar_days" and warning["read"] is False
    assert warning["action_zh"] and warning["action_en"]


def test_mark_read_is_per_user_audited_and_lowers_the_count(env: Env, clients: dict[str, TestClient]) -> None:
    officer, head = clients["officer"], clients["head"]
    note = env.ids["scjgj-deadline.warning"]
    before, head_before = _bell(officer.get("/notifications").text), _bell(head.get("/notifications").text)
    resp = officer.post(
        f"/notifications/{note}/read",
        data={"csrf_token": csrf(officer, "/notifications"), "next": "/notifications?unread=true"},
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/notifications?unread=true"
    row = env.audit()[-1]
    assert (row.username, row.action, row.outcome, row.target) == (
        "officer",
        "notifications.read",
        "ok",
        f"notification/{note}",
    )
    page = officer.get("/notifications?unread=true").text
    assert _bell(page) == before - 1 and f'data-notification="{note}"' not in page
    assert _bell(head.get("/notifications").text) == head_before  # another user's bell is their own
    again = officer.post(f"/notifications/{note}/read", data={"csrf_token": csrf(officer, "/notifications")})
    assert again.status_code == 303 and env.audit()[-1].detail == "already read"
    with Session(env.engine) as session:
        assert (
            session.exec(select(NotificationRead).where(NotificationRead.notification_id == note))
            .all()[0]
            .user
            == "officer"
        )


def test_json_mark_read_needs_the_csrf_header(env: Env, clients: dict[str, TestClient]) -> None:
    head = clients["head"]
    note = env.ids["scjgj-deadline.breached"]
    refused = head.post(f"/api/notifications/{note}/read")
    assert refused.status_code == 403 and env.audit()[-1].outcome == "csrf_failed"
    before = head.get("/api/notifications/unread-count").json()["unread"]
    resp = head.post(
        f"/api/notifications/{note}/read", headers={"X-CSRF-Token": csrf(head, "/notifications")}
    )
    assert resp.status_code == 200
    assert resp.json() == {"id": note, "changed": True, "unread": before - 1}


def test_mark_read_of_another_agencys_or_roles_notification_is_forbidden(
    env: Env, clients: dict[str, TestClient]
) -> None:
    cases = [
        ("other", env.ids["scjgj-deadline.warning"]),  # another agency
        ("sfj-officer", env.ids["sfj-coordinator"]),  # same agency, a coordinator's notification
        ("oper", env.ids["scjgj-deadline.warning"]),
    ]  # bound to no agency
    for who, note in cases:
        client = clients[who]
        resp = client.post(f"/notifications/{note}/read", data={"csrf_token": csrf(client, "/notifications")})
        assert resp.status_code == 403, who
        row = env.audit()[-1]
        assert (row.username, row.action, row.outcome) == (who, "notifications.read", "forbidden"), who
    with Session(env.engine) as session:
        readers = set(session.exec(select(NotificationRead.user)).all())
    assert not readers & {"other", "sfj-officer", "oper"}


def test_unknown_notification_is_404_and_audited(env: Env, clients: dict[str, TestClient]) -> None:
    client = clients["officer"]
    resp = client.post("/api/notifications/no-such:rz-scjgj/read", headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 404 and resp.json()["field"] == "id"
    assert env.audit()[-1].outcome == "not_found"


def test_operator_may_look_at_any_agency_but_officers_only_their_own(
    env: Env, clients: dict[str, TestClient]
) -> None:
    body = clients["oper"].get("/api/notifications?agency=rz-scjgj").json()
    assert body["agency"] == "rz-scjgj" and len(body["items"]) >= 2
    page = clients["oper"].get("/notifications?agency=rz-scjgj").text
    assert "标为已读" not in page  # looking is not reading: no mark-read for another agency
    assert 'id="no-agency"' in clients["oper"].get("/notifications").text
    assert clients["officer"].get("/api/notifications?agency=rz-sthjj").status_code == 403
    assert env.audit()[-1].outcome == "forbidden"
    bad = clients["oper"].get("/api/notifications?agency=rz-nowhere")
    assert bad.status_code == 422 and bad.json()["field"] == "agency"
    assert clients["officer"].get("/api/notifications?limit=0").json()["field"] == "limit"


def test_mark_all_read_clears_the_bell(env: Env) -> None:
    client = env.client("coord")
    assert _bell(client.get("/notifications").text) > 0
    resp = client.post("/notifications/read-all", data={"csrf_token": csrf(client, "/notifications")})
    assert resp.status_code == 303
    assert _bell(client.get("/notifications").text) == 0
    assert env.audit()[-1].action == "notifications.read_all" and "marked read" in (
        env.audit()[-1].detail or ""
    )


# ----- the daily digest ------------------------------------------------------------------------------


def test_digest_lists_due_today_overdue_and_supervised(clients: dict[str, TestClient]) -> None:
    own = clients["officer"].get("/api/digest").json()
    assert own["agency"] == "rz-scjgj"
    assert [i["rule"] for i in own["due_today"]] == ["case_transfer.head_decision"]
    assert [i["rule"] for i in own["overdue"]] == ["case_transfer.police_decision"]
    assert own["due_today"][0]["link"] == "/cases/case_transfer/CT-N1"
    supervisor = clients["coord"].get("/api/digest").json()
    assert [i["case_id"] for i in supervisor["supervising"]] == ["CT-N1"] and supervisor["due_today"] == []
    page = clients["officer"].get("/digest").text
    assert "今日届满" in page and "已超期" in page and 'id="digest-today"' in page and "CT-N1" in page
    assert 'id="digest-filters"' not in page  # officers see their own agency, no picker


def test_digest_agency_picker_for_supervising_roles(env: Env, clients: dict[str, TestClient]) -> None:
    for who in ("oper", "coord", "admin"):
        body = clients[who].get("/api/digest?agency=rz-scjgj").json()
        assert [i["rule"] for i in body["overdue"]] == ["case_transfer.police_decision"], who
        assert 'id="digest-agency"' in clients[who].get("/digest").text, who
    assert 'id="no-agency"' in clients["oper"].get("/digest").text
    assert clients["oper"].get("/api/digest").json()["field"] == "agency"
    bad = clients["oper"].get("/digest?agency=rz-nowhere")
    assert bad.status_code == 422 and 'data-field="agency"' in bad.text and "unknown agency" in bad.text
    for who in ("officer", "disc", "other"):
        before = len(env.audit())
        assert clients[who].get("/digest?agency=rz-sfj").status_code == 403, who
        assert [(r.username, r.outcome) for r in env.audit()[before:]] == [(who, "forbidden")]


# ----- live bell -----------------------------------------------------------------------------------------


def _user(role: Role, agency: str | None) -> CurrentUser:
    return CurrentUser(
        id=1,
        username="u",
        display_name="u",
        role=role,
        agency=agency,
        is_head=False,
        lang="zh",
        session_id="s",
        csrf_token="c",
    )


def test_a_stored_notification_rings_only_the_bells_it_is_for(env: Env) -> None:
    note = notifications_for(
        _ev(
            "deadline.warning",
            9,
            deadline=_deadline("case_transfer.head_decision", "rz-scjgj", NOW + timedelta(days=1)),
        ),
        console_url="",
    )[0]

    class Msg:
        data = json.dumps(note.model_dump(mode="json"), ensure_ascii=False).encode()

    hub = LiveHub(lambda: env.engine)

    async def run() -> tuple[list[str], list[str]]:
        officer = hub.stream(
            lambda c: access.sees_live(_user(Role.AGENCY_OFFICER, "rz-scjgj"), c), heartbeat=0.05
        )
        stranger = hub.stream(
            lambda c: access.sees_live(_user(Role.AGENCY_OFFICER, "rz-sthjj"), c), heartbeat=0.05
        )
        got = ([await officer.__anext__()], [await stranger.__anext__()])
        await hub._on_notification(Msg())
        got[0].append(await officer.__anext__())
        got[1].append(await stranger.__anext__())  # only a keep-alive
        await officer.aclose()
        await stranger.aclose()
        return got

    officer, stranger = asyncio.run(run())
    assert officer[1] == 'event: notify\ndata: {"agency": "rz-scjgj"}\n\n'  # no title, no content
    assert stranger[1] == ": keep-alive\n\n"


def test_sees_live_rules() -> None:
    ring = Change(
        "case_transfer", "X", "deadline.warning", agency="rz-sfj", kind="notify", audience="coordinator"
    )
    assert access.sees_live(_user(Role.COORDINATOR, "rz-sfj"), ring)
    assert not access.sees_live(_user(Role.AGENCY_OFFICER, "rz-sfj"), ring)  # not for its role
    assert not access.sees_live(_user(Role.OPERATOR, None), ring)  # no agency, no bell
    change = Change("case_transfer", "X", "case_transfer.opened", parties=("rz-scjgj",))
    assert access.sees_live(_user(Role.OPERATOR, None), change)
    assert not access.sees_live(_user(Role.AGENCY_OFFICER, "rz-sthjj"), change)


# ----- discipline referral: real encrypted content, need-to-know --------------------------------------


def test_referral_content_is_stored_encrypted(env: Env) -> None:
    with Session(env.engine) as session:
        rows = session.exec(select(ReferralContent).where(ReferralContent.case_id == REFERRAL)).all()
    assert len(rows) == 2
    assert all("赵某明".encode() not in r.ciphertext for r in rows)


def test_referral_page_shows_content_only_to_the_need_to_know_circle(
    env: Env, clients: dict[str, TestClient]
) -> None:
    path = f"/cases/{DR}/{REFERRAL}"
    for who in ("disc", "head"):  # the city commission's officer and the referring body's head
        before = len(env.audit())
        page = clients[who].get(path).text
        assert 'id="referral-content"' in page and "赵某明" in page and "以罚代刑" in page, who
        assert [(r.action, r.outcome) for r in env.audit()[before:]] == [("referral.read", "ok")], who
        body = clients[who].get(f"/api{path}").json()
        assert any("赵某明" in json.dumps(c["content"], ensure_ascii=False) for c in body["content"]), who
    for who in ("officer", "coord", "oper", "admin", "sfj-officer"):
        resp = clients[who].get(path)
        if resp.status_code == 403:  # agency officers of bodies outside the referral cannot open it
            assert who == "sfj-officer"
            continue
        page = resp.text
        assert 'id="need-to-know"' in page and "赵某明" not in page and "referral-content" not in page, who
        assert "已移送" in page or REFERRAL in page  # that it exists, and its state
        body = clients[who].get(f"/api{path}").json()
        assert set(body) == {"process", "case_id", "state", "closed", "confidential"}, who


def test_referral_notifications_carry_ids_and_states_only(env: Env, clients: dict[str, TestClient]) -> None:
    referral_notes = [k for k in env.ids if k.startswith("referral-")]
    assert referral_notes
    with Session(env.engine) as session:
        for key in referral_notes:
            row = session.get(NotificationRecord, env.ids[key])
            assert row is not None and row.confidential
            assert "赵某明" not in json.dumps(row.body, ensure_ascii=False)


# ----- every role x every new endpoint ---------------------------------------------------------------------

GET_MATRIX: list[tuple[str, set[str]]] = [
    ("/notifications", ALL),
    ("/api/notifications", ALL),
    ("/api/notifications/unread-count", ALL),
    ("/notifications/bell", ALL),
    ("/notifications?agency=rz-scjgj", {"officer", "head", "oper", "admin"}),
    ("/api/notifications?agency=rz-scjgj", {"officer", "head", "oper", "admin"}),
    ("/digest", ALL),
    ("/digest?agency=rz-scjgj", {"officer", "head", "oper", "coord", "admin"}),
    ("/api/digest?agency=rz-scjgj", {"officer", "head", "oper", "coord", "admin"}),
]


@pytest.mark.parametrize("path,allowed", GET_MATRIX, ids=[p for p, _ in GET_MATRIX])
def test_every_role_against_every_notification_page(
    env: Env, clients: dict[str, TestClient], path: str, allowed: set[str]
) -> None:
    for username, client in clients.items():
        before = len(env.audit())
        resp = client.get(path)
        if username in allowed:
            assert resp.status_code == 200, (username, path, resp.status_code)
        else:
            assert resp.status_code == 403, (username, path, resp.status_code)
            assert [(r.username, r.outcome) for r in env.audit()[before:]] == [(username, "forbidden")], (
                username,
                path,
            )


def test_every_role_against_every_notification_action(env: Env) -> None:
    """Fresh sign-ins (the module's clients have read things already); each action by each role."""
    note = env.ids["scjgj-deadline.breached"]
    matrix: list[tuple[str, set[str], bool]] = [
        (f"/notifications/{note}/read", {"officer", "head"}, False),
        (f"/api/notifications/{note}/read", {"officer", "head"}, True),
        ("/notifications/read-all", ALL - {"oper", "admin"}, False),
    ]
    for path, allowed, header in matrix:
        for username in USERS:
            client = env.client(username)
            token = csrf(client, "/notifications")
            before = len(env.audit())
            if header:
                resp = client.post(path, headers={"X-CSRF-Token": token})
            else:
                resp = client.post(path, data={"csrf_token": token})
            rows = env.audit()[before:]
            if username in allowed:
                assert resp.status_code in (200, 303), (username, path, resp.status_code)
                assert rows and rows[-1].outcome == "ok" and rows[-1].username == username, (username, path)
            else:
                assert resp.status_code == 403, (username, path, resp.status_code)
                assert [(r.username, r.outcome) for r in rows] == [(username, "forbidden")], (username, path)


def test_signed_out_bell_and_digest(env: Env) -> None:
    anonymous = env.client()
    assert anonymous.get("/api/notifications").status_code == 401
    assert anonymous.get("/api/digest").status_code == 401
    assert anonymous.get("/notifications").status_code == 303
    assert anonymous.post("/notifications/read-all").status_code == 303  # to the sign-in form
