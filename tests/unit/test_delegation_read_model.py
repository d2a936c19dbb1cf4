"""The delegated_item read model, fed by the domain events a real delegation workflow published.

The events come from a run on the time-skipping server (grant, cases, a year, a review that
keeps, adjusts and revokes, the handover), so the projector is tested against what the
workflow really sends, in a schema built by the migration (not ``create_all``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from contracts.domain import DomainEvent
from contracts.power_delegation import ItemDecision, ReviewOutcome
from services.delegations.read_model import DelegatedItem, items_by_township, project_delegated_items
from services.readmodel import projection
from services.readmodel.db import alembic_config, make_engine
from services.readmodel.models import Case
from tests.events import event, new_case_id
from tests.unit.test_power_delegation import (
    CODES,
    PROCESS,
    TOWNSHIP,
    decide,
    decision,
    delegation_env,  # noqa: F401  (fixture)
    delegation_worker,
    eventually,
    granted_and_accepted,
    latest,
    record_case,
    reviews,
    run_id,
    until_next_review,
    wait_for_new_run,
)
from tests.workflow_harness import send

pytestmark = pytest.mark.timeout(120)


def migrated_engine(tmp: Path) -> Engine:
    """A SQLite read model at this feature's migration (0001 then 0004), plus the generic
    tables' step times (0008), breach history (0010) and trace ids (0011), which the generic
    projection writes."""
    tmp.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp / 'registry.db'}"
    for revision in ("0004_delegated_item", "0010_breach_history", "0011_timeline_trace"):
        command.upgrade(alembic_config(url), revision)
    return make_engine(url)


@pytest.fixture
def only_delegation_projector(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the generic projection plus this feature's projector only (other features' tables
    are not in this migrated schema)."""
    monkeypatch.setattr(projection, "PROJECTORS", [project_delegated_items])
    yield


async def delegation_events(env: WorkflowEnvironment, task_queue: str) -> tuple[str, list[DomainEvent]]:
    """Run one delegation through its first review and the return of one item."""
    client = env.client
    case_id = new_case_id("DLG")
    async with delegation_worker(client, task_queue, case_id) as published:
        handle = await granted_and_accepted(env, task_queue, case_id)
        for activity in ("handled", "handled", "complaint"):
            await record_case(handle, case_id, "ZH-0107", activity)
        await until_next_review(env, case_id)
        await eventually(lambda: reviews(published, case_id))
        old = await run_id(client, case_id)
        await decide(
            client,
            case_id,
            decision(
                ItemDecision(item_code="ZH-0107", outcome=ReviewOutcome.KEEP),
                ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.ADJUST, new_scope="街道辖区全域"),
                ItemDecision(item_code="SC-0032", outcome=ReviewOutcome.REVOKE, reason="难以承接"),
            ),
        )
        await wait_for_new_run(client, case_id, old)
        h = latest(client, case_id)
        await send(h, event(PROCESS, "case_handed_over", case_id=case_id))
        await send(h, event(PROCESS, "handover_acknowledged", case_id=case_id))
        return case_id, [e for e in published.events if e.case_id == case_id]


def snapshot(engine: Engine, township: str) -> list[tuple]:
    with Session(engine) as session:
        return [
            (i.code, i.state, i.scope, i.next_review_at, i.effective_at, i.counters)
            for i in items_by_township(session, township)
        ]


async def test_items_by_township_shows_states_review_dates_and_counters(
    delegation_env: WorkflowEnvironment,  # noqa: F811  (the imported fixture)
    task_queue: str,
    tmp_path: Path,
    only_delegation_projector: None,
) -> None:
    case_id, events = await delegation_events(delegation_env, task_queue)
    engine = migrated_engine(tmp_path / "forward")
    with Session(engine) as session:
        assert projection.project(session, events) == len(events)
        session.commit()
        case = session.get(Case, f"{PROCESS}/{case_id}")
        assert case is not None and case.state == "active"
        items = items_by_township(session, TOWNSHIP)
        assert items_by_township(session, "rz-dg-qinlou") == []
        active = items_by_township(session, TOWNSHIP, include_returned=False)

    by_code = {i.code: i for i in items}
    assert set(by_code) == set(CODES)
    concluded = [e for e in events if e.type == "power_delegation.review_concluded"][0]
    next_review = concluded.payload["next_review_at"]
    assert by_code["ZH-0107"].state == "active"
    assert by_code["ZH-0107"].counters == {"handled": 2, "refused": 0, "overturned": 0, "complaint": 1}
    assert by_code["ZH-0107"].next_review_at == datetime.fromisoformat(next_review)
    assert by_code["ZH-0215"].scope == "街道辖区全域"
    assert by_code["SC-0032"].state == "returned" and by_code["SC-0032"].next_review_at is None
    assert by_code["SC-0032"].original_department == "rz-dg-scjgj"
    assert {i.effective_at for i in items} == {by_code["ZH-0107"].effective_at}
    assert [i.code for i in items][-1] == "SC-0032"  # no review date: listed last
    assert sorted(i.code for i in active) == ["ZH-0107", "ZH-0215"]

    # Replaying the stream adds nothing; projecting it backwards gives the same rows.
    with Session(engine) as session:
        assert projection.project(session, events) == 0
    backwards = migrated_engine(tmp_path / "backwards")
    with Session(backwards) as session:
        projection.project(session, list(reversed(events)))
        session.commit()
    assert snapshot(backwards, TOWNSHIP) == snapshot(engine, TOWNSHIP)


def test_malformed_item_snapshot_is_skipped_without_losing_the_others(
    tmp_path: Path, only_delegation_projector: None
) -> None:
    engine = migrated_engine(tmp_path)
    good = {
        "code": "ZH-0107",
        "name_zh": "对在城市道路上擅自摆摊设点的行政处罚",
        "original_department": "rz-dg-zhzfj",
        "township": TOWNSHIP,
        "state": "active",
        "effective_at": "2026-12-01T00:00:00+08:00",
        "next_review_at": "2027-12-02T00:00:00+08:00",
        "counters": {"handled": 1, "refused": 0, "overturned": 0, "complaint": 0},
    }
    ev = DomainEvent(
        event_id="e-1",
        type="power_delegation.items_effective",
        occurred_at="2026-12-01T00:00:00+08:00",
        process=PROCESS,
        case_id="DLG-X",
        workflow_id=f"{PROCESS}/DLG-X",
        seq=3,
        kind="step",
        state="active",
        payload={"items": [{"code": "bad code!"}, good]},
    )
    with Session(engine) as session:
        projection.project(session, [ev])
        session.commit()
        rows = session.exec(select(DelegatedItem)).all()
    assert [(r.code, r.state, r.updated_seq) for r in rows] == [("ZH-0107", "active", 3)]
    assert rows[0].next_review_at is not None and rows[0].next_review_at - rows[0].effective_at == timedelta(
        days=366
    )
