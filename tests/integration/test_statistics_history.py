"""The read model keeps every breach, and the statistics count it, on SQLite and PostgreSQL.

Deadline events are fed to the real registry projection in every order: a deadline met late
still counts as breached (who, which rule, how late), a breach cancelled with its case still
counts, a breach the step's own date disproved does not; the migration fills the history of
rows written before it. Delegation figures are checked from power-delegation events the same
way (a review takes a year of workflow time, so the events are written here as the workflow
publishes them: every item change carries the items' snapshots).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.readmodel.db import alembic_config, make_engine, migrate
from services.readmodel.models import Deadline
from services.readmodel.projection import project
from services.statistics.figures import compute
from services.statistics.model import Period
from tests.integration import test_statistics_month as _month

pytestmark = pytest.mark.integration
database_url = _month.database_url  # the same backends: SQLite, and PostgreSQL when configured

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 Shanghai, Monday 2 November 2026
NOVEMBER = Period.month(2026, 11)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _info(case_id: str, status: DeadlineStatus, **changes: Any) -> DeadlineInfo:
    base = DeadlineInfo(
        deadline_id="case_transfer.head_decision",
        rule="case_transfer.head_decision",
        label_zh="负责人作出是否批准移送决定",
        label_en="Agency head decides whether to approve the transfer",
        source="国务院令第310号 第5条",
        party="rz-scjgj",
        starts_at=T0,
        due_at=T0 + timedelta(days=3),
        warn_at=T0 + timedelta(days=2),
        counting="calendar_days",
        length=3,
        provisional=False,
        status=status,
        escalate_to=("rz-sfj",),
    )
    return base.model_copy(update=changes)


def _event(
    case_id: str, seq: int, kind: str, at: datetime, info: DeadlineInfo | None, **extra: Any
) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type=kind,
        occurred_at=at,
        process="case_transfer",
        case_id=case_id,
        workflow_id=f"case_transfer/{case_id}",
        seq=seq,
        kind=EntryKind.DEADLINE if kind.startswith("deadline.") else EntryKind.ESCALATION,
        state="reported",
        parties=("rz-scjgj",),
        deadline=info,
        payload=extra,
    )


def _met_late(case_id: str) -> list[DomainEvent]:
    """Set, breached at the due date (with its escalation), then done two days late."""
    due = T0 + timedelta(days=3)
    late = 2 * 86400
    return [
        _event(case_id, 1, "deadline.set", T0, _info(case_id, DeadlineStatus.OPEN)),
        _event(case_id, 2, "deadline.breached", due, _info(case_id, DeadlineStatus.BREACHED)),
        _event(
            case_id,
            3,
            "escalation.raised",
            due,
            _info(case_id, DeadlineStatus.BREACHED),
            target="rz-sfj",
            rule="case_transfer.head_decision",
            party="rz-scjgj",
        ),
        _event(
            case_id,
            4,
            "deadline.met",
            due + timedelta(seconds=late),
            _info(case_id, DeadlineStatus.MET, met_at=due + timedelta(seconds=late), late_seconds=late),
            late=True,
            late_seconds=late,
        ),
    ]


def _cancelled_after_breach(case_id: str) -> list[DomainEvent]:
    due = T0 + timedelta(days=3)
    return [
        _event(case_id, 1, "deadline.set", T0, _info(case_id, DeadlineStatus.OPEN)),
        _event(case_id, 2, "deadline.breached", due, _info(case_id, DeadlineStatus.BREACHED)),
        _event(
            case_id,
            3,
            "deadline.cancelled",
            due + timedelta(days=5),
            _info(case_id, DeadlineStatus.CANCELLED),
        ),
    ]


def _withdrawn(case_id: str) -> list[DomainEvent]:
    """Done a day before the due date but reported after it: the breach is withdrawn."""
    due = T0 + timedelta(days=3)
    done = due - timedelta(days=1)
    return [
        _event(case_id, 1, "deadline.set", T0, _info(case_id, DeadlineStatus.OPEN)),
        _event(case_id, 2, "deadline.breached", due, _info(case_id, DeadlineStatus.BREACHED)),
        _event(
            case_id,
            3,
            "deadline.met",
            done,
            _info(case_id, DeadlineStatus.MET, met_at=done, late_seconds=0),
            late=False,
            late_seconds=0,
            breach_withdrawn=True,
        ),
    ]


def _row(url: str, case_id: str) -> Deadline:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.exec(select(Deadline).where(Deadline.case_id == case_id)).one()
    finally:
        engine.dispose()


def test_a_deadline_met_late_keeps_its_breach_in_every_arrival_order(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    events = _met_late("H-LATE")
    for n, order in enumerate(itertools.permutations(events)):
        case_id = f"H-LATE-{n}"
        with Session(engine) as session:
            project(
                session,
                [
                    e.model_copy(
                        update={
                            "case_id": case_id,
                            "workflow_id": f"case_transfer/{case_id}",
                            "event_id": str(uuid.uuid4()),
                        }
                    )
                    for e in order
                ],
            )
            session.commit()
        row = _row(database_url, case_id)
        assert (row.status, row.ever_breached, row.breach_withdrawn) == ("met", True, False), order
        assert row.breached_at == T0 + timedelta(days=3)  # when it was breached
        assert row.late_seconds == 2 * 86400 and row.party == "rz-scjgj"  # how late, and who
        assert row.rule == "case_transfer.head_decision"  # which rule
    with Session(engine) as session:
        stats = compute(session, NOVEMBER, now=NOW)
    figures = {f.key: f.value for f in stats.section("deadlines").figures}
    n = len(list(itertools.permutations(events)))
    assert (figures["due"], figures["met_late"], figures["breached"], figures["met_on_time"]) == (n, n, n, 0)
    assert figures["on_time_rate"] == 0.0
    engine.dispose()


def test_a_breach_cancelled_counts_and_a_withdrawn_one_does_not(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        project(session, [*reversed(_cancelled_after_breach("H-CANCEL")), *_withdrawn("H-WITHDRAWN")])
        session.commit()
    cancelled, withdrawn = _row(database_url, "H-CANCEL"), _row(database_url, "H-WITHDRAWN")
    assert (cancelled.status, cancelled.ever_breached) == ("cancelled", True)
    assert cancelled.cancelled_at == T0 + timedelta(days=8)
    assert (withdrawn.status, withdrawn.ever_breached, withdrawn.breach_withdrawn) == ("met", False, True)
    with Session(engine) as session:
        stats = compute(session, NOVEMBER, now=NOW)
    figures = {f.key: f.value for f in stats.section("deadlines").figures}
    assert figures["breached_closed"] == 1 and figures["met_on_time"] == 1 and figures["breached"] == 1
    assert figures["due"] == 2 and figures["on_time_rate"] == 0.5
    engine.dispose()


def test_the_migration_fills_the_history_of_existing_rows(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0008_step_times")
    engine = make_engine(database_url)
    columns = (
        "id, workflow_id, process, case_id, deadline_id, rule, label_zh, label_en, source, party, counting, "
        "length, provisional, status, warned, starts_at, due_at, escalate_to, updated_seq, nature, late_seconds"
    )
    rows = [
        ("open-breached", "breached", None, "duty"),
        ("met-late", "met", 3600, "duty"),
        ("met-on-time", "met", 0, "duty"),
        ("window-late", "met", 3600, "window"),
    ]
    with engine.begin() as conn:
        for key, status, late, nature in rows:
            conn.execute(
                text(
                    f"INSERT INTO deadline ({columns}) VALUES (:id, :id, 'case_transfer', :id, 'd', 'r', 'z', 'e', "
                    "'s', 'rz-scjgj', 'hours', 24, false, :status, false, :t0, :due, '[]', 1, :nature, :late)"
                ),
                {
                    "id": key,
                    "status": status,
                    "t0": T0,
                    "due": T0 + timedelta(days=1),
                    "nature": nature,
                    "late": late,
                },
            )
    migrate(database_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT id, ever_breached FROM deadline")).all())
    assert {k: bool(v) for k, v in found.items()} == {
        "open-breached": True,
        "met-late": True,
        "met-on-time": False,
        "window-late": False,
    }
    engine.dispose()


# ----- delegations --------------------------------------------------------------------------------

TOWNSHIP = "rz-dg-shijiu"


def _items(state: str, handled: int) -> list[dict[str, Any]]:
    common = {
        "township": TOWNSHIP,
        "original_department": "rz-dg-zhzfj",
        "effective_at": "2025-11-01T00:00:00+08:00",
    }
    return [
        {
            **common,
            "code": "ZH-0107",
            "name_zh": "对在城市道路上擅自摆摊设点的行政处罚",
            "state": state,
            "counters": {"handled": handled, "refused": 0, "overturned": 0, "complaint": 0},
        },
        {
            **common,
            "code": "ZH-0215",
            "name_zh": "对擅自占用城市绿地的行政处罚",
            "state": "returning",
            "counters": {"handled": 1, "refused": 0, "overturned": 0, "complaint": 0},
        },
    ]


def _delegation_event(
    seq: int, kind: str, at: datetime, payload: dict[str, Any], received: bool = False
) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type=kind,
        occurred_at=at,
        process="power_delegation",
        case_id="DG-1",
        workflow_id="power_delegation/DG-1",
        seq=seq,
        kind=EntryKind.RECEIVED if received else EntryKind.STEP,
        actor=TOWNSHIP if received else None,
        state="active",
        parties=("rz-dg", TOWNSHIP),
        payload=payload,
    )


def test_delegation_figures(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    recorded = [
        _delegation_event(
            10 + i,
            "power_delegation.item_case_recorded",
            T0 + timedelta(days=i),
            {"item_code": "ZH-0107", "case_no": f"石臼综执罚〔2026〕{i}号", "activity": activity},
            received=True,
        )
        for i, activity in enumerate(["handled", "handled", "handled", "complaint"])
    ]
    october = _delegation_event(
        5,
        "power_delegation.item_case_recorded",
        datetime(2026, 10, 15, 2, tzinfo=UTC),
        {"item_code": "ZH-0107", "case_no": "石臼综执罚〔2026〕1号", "activity": "handled"},
        received=True,
    )
    review = _delegation_event(
        20,
        "power_delegation.review_concluded",
        T0 + timedelta(days=10),
        {
            "cycle": 1,
            "document_no": "东政评〔2026〕3号",
            "decisions": [
                {"item_code": "ZH-0107", "outcome": "keep"},
                {"item_code": "ZH-0215", "outcome": "revoke"},
            ],
            "items": _items("active", 4),
        },
    )
    with Session(engine) as session:
        project(session, [review, october, *recorded])
        session.commit()
        stats = compute(session, NOVEMBER, now=NOW)
        elsewhere = compute(session, NOVEMBER, district="rz-ls", now=NOW)
    values = {f.key: f.value for f in stats.section("delegations").figures}
    assert values == {
        "items_in_force": 1,
        "townships": 1,
        "cases_handled": 3,
        "items_kept": 1,
        "items_adjusted": 0,
        "items_revoked": 1,
        "items_revoked_early": 0,
    }
    township = stats.section("delegations").table("by_township").row(TOWNSHIP)
    assert township is not None and township.values["cases_handled"] == 3
    item = stats.section("delegations").table("by_item").row("power_delegation/DG-1|ZH-0107")
    assert item is not None and item.values["cases_handled"] == 3 and item.values["cases_handled_total"] == 4
    series = {p.month: p.value for p in stats.section("delegations").series_of("cases_handled").points}
    assert series["2026-11"] == 3 and series["2026-10"] == 1
    assert {f.key: f.value for f in elsewhere.section("delegations").figures}["cases_handled"] == 0
    engine.dispose()
