"""The coordinator inbox (``dispute_task``) projected on SQLite from the events a real dispute
workflow published on the time-skipping server: current after each step, the same whatever
the arrival order, and queried the way the console lists it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contracts.domain import DomainEvent
from contracts.jurisdiction_dispute import ClaimInput, DesignateInput, RequestOpinionsInput
from services.disputes import client as dc
from services.disputes.inbox import DisputeTask, list_inbox
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
from tests.events import event, new_case_id
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case

pytestmark = pytest.mark.timeout(90)

PROCESS = "jurisdiction_dispute"
COORD = {"coordinator": "u-coord-1", "coordinator_name": "张明", "coordinator_agency": "rz-sfj"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    migrate(url)  # the Alembic revision 0002_dispute_task, not create_all
    eng = make_engine(url)
    yield eng
    eng.dispose()


def _fresh(tmp: Path, name: str) -> Engine:
    url = f"sqlite:///{tmp / name}"
    migrate(url)
    return make_engine(url)


class Feed:
    """Projects whatever the workflow published since the last call."""

    def __init__(self, engine: Engine, published: CollectingPublisher, case_id: str) -> None:
        self.engine, self.published, self.case_id, self.done = engine, published, case_id, 0

    def row(self) -> DisputeTask:
        events = [e for e in self.published.events if e.case_id == self.case_id]
        with Session(self.engine) as session:
            project(session, events[self.done :])
            session.commit()
            self.done = len(events)
            row = session.get(DisputeTask, f"{PROCESS}/{self.case_id}")
            assert row is not None
            session.expunge(row)
            return row


def _live_due(published: CollectingPublisher, case_id: str) -> datetime | None:
    """The earliest due date among deadlines still open or breached, from the events alone."""
    latest: dict[str, Any] = {}
    for e in published.events:
        if e.case_id == case_id and e.deadline is not None:
            latest[e.deadline.deadline_id] = e.deadline
    live = [d.due_at for d in latest.values() if d.status in ("open", "breached")]
    return min(live) if live else None


async def test_inbox_row_follows_every_step_and_ignores_arrival_order(
    time_skipping_env, task_queue, engine, tmp_path
) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("INBOX")
    async with run_worker(client, task_queue) as published:
        feed = Feed(engine, published, case_id)
        handle = await start_case(client, task_queue, "JurisdictionDispute", PROCESS, case_id)
        await send(handle, event(PROCESS, "dispute_raised", case_id=case_id))
        row = feed.row()
        assert (row.state, row.kind, row.coordinator_office, row.claimed_by) == (
            "negotiating",
            "positive",
            "rz-sfj",
            None,
        )
        assert (
            row.parties == ["rz-hyfzj", "rz-scjgj"]
            and row.title
            and row.enforcement_case_no == "日市监立〔2026〕88号"
        )
        assert row.suggested_agency == "rz-hyfzj" and "2026-10-08" in (row.suggested_reason or "")
        assert row.filing_dates == {"rz-hyfzj": "2026-10-08", "rz-scjgj": "2026-10-15"}
        assert row.due_at == _live_due(published, case_id) and row.due_at is not None

        await send(handle, event(PROCESS, "coordination_requested", case_id=case_id))
        row = feed.row()
        assert row.state == "coordination_requested" and row.due_at == _live_due(published, case_id)
        await send(handle, event(PROCESS, "coordination_accepted", case_id=case_id))
        designation_due = feed.row().due_at
        assert designation_due == _live_due(published, case_id)

        await dc.claim(client, case_id, ClaimInput(**COORD))
        row = feed.row()
        assert (row.claimed_by, row.claimed_by_name, row.state) == ("u-coord-1", "张明", "coordinating")

        await dc.request_opinions(client, case_id, RequestOpinionsInput(**COORD, agencies=["rz-scjgj"]))
        row = feed.row()
        assert row.state == "opinions_requested"
        assert row.due_at == _live_due(published, case_id) and row.due_at < designation_due  # type: ignore[operator]

        await time_skipping_env.sleep(timedelta(days=14))  # the opinion falls overdue
        row = feed.row()
        assert row.due_at == _live_due(published, case_id)
        in_time = list_inbox(_session(engine), case_id=case_id, now=row.due_at - timedelta(seconds=1))  # type: ignore[operator]
        late = list_inbox(_session(engine), case_id=case_id, now=row.due_at + timedelta(seconds=1))  # type: ignore[operator]
        assert [r.overdue for r in in_time] == [False] and [r.overdue for r in late] == [True]

        await dc.designate(client, case_id, DesignateInput(**COORD, agency="rz-hyfzj", reason="最先立案"))
        row = feed.row()
        assert (row.state, row.designated_agency) == ("designated", "rz-hyfzj")
        assert row.due_at == _live_due(published, case_id)  # now the acknowledgement

        await send(handle, event(PROCESS, "designation_acknowledged", case_id=case_id))
        await handle.result()
        row = feed.row()
        assert (row.state, row.closed, row.due_at) == ("resolved", True, None)
        assert list_inbox(_session(engine), case_id=case_id) == []
        assert [r.state for r in list_inbox(_session(engine), case_id=case_id, include_closed=True)] == [
            "resolved"
        ]

        events = [e for e in published.events if e.case_id == case_id]
    expected = _snapshot(engine, case_id)
    for name, order in (
        ("reversed.db", list(reversed(events))),
        ("shuffled.db", random.Random(7).sample(events, len(events))),
    ):
        other = _fresh(tmp_path, name)
        with Session(other) as session:
            project(session, order)
            project(session, events)  # a full redelivery adds nothing
            session.commit()
        assert _snapshot(other, case_id) == expected, name
        other.dispose()


def _session(engine: Engine) -> Session:
    return Session(engine)


def _snapshot(engine: Engine, case_id: str) -> dict[str, Any]:
    with Session(engine) as session:
        row = session.get(DisputeTask, f"{PROCESS}/{case_id}")
        assert row is not None
        return row.model_dump()


def _event(case_id: str, seq: int, type_: str, state: str, **payload: Any) -> DomainEvent:
    return DomainEvent(
        event_id=f"{case_id}-{seq}",
        type=type_,
        occurred_at=datetime(2026, 11, 2, 10, tzinfo=UTC) + timedelta(minutes=seq),
        process=PROCESS,
        case_id=case_id,
        workflow_id=f"{PROCESS}/{case_id}",
        seq=seq,
        kind="step",
        state=state,
        parties=("rz-hyfzj", "rz-scjgj"),
        payload=payload,
    )


def _deadline_event(case_id: str, seq: int, state: str, due: datetime, status: str = "open") -> DomainEvent:
    from contracts.deadline_models import DeadlineInfo

    info = DeadlineInfo(
        deadline_id="d",
        rule="jurisdiction_dispute.designation",
        label_zh="指定",
        label_en="Designate",
        source="s",
        party="rz-sfj",
        starts_at=due - timedelta(days=20),
        due_at=due,
        warn_at=None,
        counting="working_days",
        length=15,
        provisional=False,
        status=status,
    )
    return DomainEvent.model_validate(
        {
            **_event(case_id, seq, "deadline.set", state).model_dump(),
            "deadline": info.model_dump(),
            "kind": "deadline",
        }
    )


def test_list_inbox_filters_and_sorts_by_due_date(engine) -> None:  # noqa: ANN001
    base = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [  # case, office, state, due, claimed_by
        ("C-late", "rz-sfj", "coordinating", base + timedelta(days=1), "u-coord-1"),
        ("C-soon", "rz-sfj", "coordination_requested", base - timedelta(days=2), None),
        ("C-none", "rz-sfj", "negotiating", None, None),
        ("C-dg", "rz-dg-sfj", "coordinating", base, "u-coord-9"),
    ]
    with Session(engine) as session:
        for case_id, office, state, due, holder in rows:
            events = [
                _event(
                    case_id,
                    1,
                    "jurisdiction_dispute.opened",
                    "negotiating",
                    kind="positive",
                    coordinator_office=office,
                    parties=["rz-hyfzj", "rz-scjgj"],
                    suggestion={},
                )
            ]
            if holder:
                events.append(
                    _event(
                        case_id,
                        2,
                        "jurisdiction_dispute.claimed",
                        state,
                        coordinator=holder,
                        coordinator_name="某",
                    )
                )
            if due:
                events.append(_deadline_event(case_id, 3, state, due))
            events.append(_event(case_id, 4, "jurisdiction_dispute.noop", state))
            project(session, events)
        project(
            session,
            [
                _event(
                    "C-gone", 1, "jurisdiction_dispute.opened", "negotiating", coordinator_office="rz-sfj"
                ),
                _event("C-gone", 2, "case.closed", "agreed", agency="rz-hyfzj"),
            ],
        )
        session.commit()

    with Session(engine) as session:
        assert [r.case_id for r in list_inbox(session, agency="rz-sfj", now=base)] == [
            "C-soon",
            "C-late",
            "C-none",
        ]
        assert [r.case_id for r in list_inbox(session, agency="rz-sfj", overdue=True, now=base)] == ["C-soon"]
        assert [r.case_id for r in list_inbox(session, agency="rz-sfj", overdue=False, now=base)] == [
            "C-late",
            "C-none",
        ]
        assert [r.case_id for r in list_inbox(session, claimed_by="u-coord-1")] == ["C-late"]
        assert [r.case_id for r in list_inbox(session, state="coordinating", now=base)] == ["C-dg", "C-late"]
        assert [r.case_id for r in list_inbox(session, agency="rz-dg-sfj")] == ["C-dg"]
        assert [r.case_id for r in list_inbox(session, state="agreed")] == ["C-gone"]
        assert list_inbox(session, state="agreed")[0].designated_agency == "rz-hyfzj"
        assert [r.case_id for r in list_inbox(session, agency="rz-sfj", limit=1, offset=1, now=base)] == [
            "C-late"
        ]
        with pytest.raises(ValueError, match="limit"):
            list_inbox(session, limit=0)
        with pytest.raises(ValueError, match="offset"):
            list_inbox(session, offset=-1)

        # A claim reported out of order: the older "claimed" never overrides a newer "unclaimed".
        project(
            session,
            [
                _event(
                    "C-late", 6, "jurisdiction_dispute.unclaimed", "coordinating", coordinator="u-coord-1"
                ),
                _event("C-late", 5, "jurisdiction_dispute.claimed", "coordinating", coordinator="u-coord-2"),
            ],
        )
        session.commit()
        assert list_inbox(session, case_id="C-late")[0].claimed_by is None
