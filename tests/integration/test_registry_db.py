"""The read model on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL.

Projection is idempotent and order-independent; Alembic builds the schema; the API answers.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import Session

from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.readmodel import queries
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
from tests.servers import SERVICE_TOKEN, api_headers, postgres_schema

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rm.db'}"
        return
    with postgres_schema(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


def _events(case_id: str, n: int = 5) -> list[DomainEvent]:
    t0 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    wid = f"case_transfer/{case_id}"
    info = DeadlineInfo(
        deadline_id="case_transfer.head_decision",
        rule="case_transfer.head_decision",
        label_zh="负责人审批",
        label_en="Head's decision",
        source="国务院令第310号 第5条",
        party="rz-scjgj",
        starts_at=t0,
        due_at=t0 + timedelta(days=3),
        warn_at=t0 + timedelta(days=2),
        counting="calendar_days",
        length=3,
        provisional=False,
        status=DeadlineStatus.OPEN,
    )
    events = [
        DomainEvent(
            event_id=str(uuid.uuid4()),
            type="case_transfer.crime_suspected",
            occurred_at=t0,
            process="case_transfer",
            case_id=case_id,
            workflow_id=wid,
            seq=1,
            kind=EntryKind.RECEIVED,
            state="new",
            actor="rz-scjgj",
            parties=(),
            payload={"case_title": "某案"},
        ),
        DomainEvent(
            event_id=str(uuid.uuid4()),
            type="case_transfer.opened",
            occurred_at=t0,
            process="case_transfer",
            case_id=case_id,
            workflow_id=wid,
            seq=2,
            kind=EntryKind.STEP,
            state="opened",
            actor="rz-scjgj",
            parties=("rz-scjgj",),
        ),
        DomainEvent(
            event_id=str(uuid.uuid4()),
            type="deadline.set",
            occurred_at=t0,
            process="case_transfer",
            case_id=case_id,
            workflow_id=wid,
            seq=3,
            kind=EntryKind.DEADLINE,
            state="opened",
            parties=("rz-scjgj",),
            deadline=info,
        ),
        DomainEvent(
            event_id=str(uuid.uuid4()),
            type="deadline.warning",
            occurred_at=t0 + timedelta(days=2),
            process="case_transfer",
            case_id=case_id,
            workflow_id=wid,
            seq=4,
            kind=EntryKind.DEADLINE,
            state="opened",
            parties=("rz-scjgj",),
            deadline=info,
        ),
        DomainEvent(
            event_id=str(uuid.uuid4()),
            type="deadline.breached",
            occurred_at=t0 + timedelta(days=3),
            process="case_transfer",
            case_id=case_id,
            workflow_id=wid,
            seq=5,
            kind=EntryKind.DEADLINE,
            state="opened",
            parties=("rz-scjgj",),
            deadline=info.model_copy(update={"status": DeadlineStatus.BREACHED}),
        ),
    ]
    return events[:n]


def test_alembic_builds_the_schema_with_indexes(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # a second run is a no-op
    engine = make_engine(database_url)
    inspector = inspect(engine)
    assert {"case", "timeline_entry", "deadline", "dead_letter"} <= set(inspector.get_table_names())
    timeline_indexes = {i["name"] for i in inspector.get_indexes("timeline_entry")}
    assert "ix_timeline_entry_case" in timeline_indexes
    engine.dispose()


def test_projection_is_idempotent_and_order_independent(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    events = _events("RM-1")
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    with Session(engine) as session:
        assert project(session, shuffled) == 5
        session.commit()
    with Session(engine) as session:
        assert project(session, events) == 0  # replayed: nothing new
        session.commit()
    with Session(engine) as session:
        rows = queries.timeline(session, case_id="RM-1")
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
        assert rows[0].label_zh == "发现涉嫌犯罪"
        case = queries.find_cases(session, case_id="RM-1")[0]
        assert case.state == "opened" and case.events == 5 and case.agency == "rz-scjgj"
        assert case.title == "某案"
        (deadline,) = queries.deadlines(session, case_id="RM-1")
        assert deadline.status == "breached" and deadline.warned
        assert deadline.due_at == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    engine.dispose()


def test_a_large_batch_with_repeats_projects_each_event_once(database_url: str) -> None:
    """One batch the size the registry pulls and more: 300 cases, every event of the first
    case twice in the batch, and cases already partly projected by an earlier batch. The
    batch's reads go out as bounded IN lists, so this also crosses a chunk boundary."""
    migrate(database_url)
    engine = make_engine(database_url)
    cases = [f"RB-{i:03d}" for i in range(300)]
    events = {case_id: _events(case_id) for case_id in cases}
    with Session(engine) as session:  # an earlier batch saw the first two events of ten cases
        assert project(session, [e for c in cases[:10] for e in events[c][:2]]) == 20
        session.commit()
    batch = [e for c in cases for e in events[c]] + events[cases[0]]
    random.Random(3).shuffle(batch)
    with Session(engine) as session:
        assert project(session, batch) == 300 * 5 - 20
        session.commit()
    with Session(engine) as session:
        for case_id in (cases[0], cases[5], cases[299]):
            assert [r.seq for r in queries.timeline(session, case_id=case_id)] == [1, 2, 3, 4, 5]
            case = queries.find_cases(session, case_id=case_id)[0]
            assert case.events == 5 and case.state == "opened" and case.agency == "rz-scjgj"
            (deadline,) = queries.deadlines(session, case_id=case_id)
            assert deadline.status == "breached" and deadline.warned
    engine.dispose()


def test_registry_api_serves_cases_and_timelines(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.registry.app import create_app
    from services.settings import StackSettings

    migrate(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        project(session, _events("RM-API"))
        session.commit()
    engine.dispose()
    settings = StackSettings(
        DATABASE_URL=database_url, NATS_URL="nats://127.0.0.1:1", LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN
    )
    app = create_app(settings, consume=False)
    with TestClient(app, headers=api_headers()) as http:
        cases = http.get("/api/cases").json()
        assert [c["case_id"] for c in cases] == ["RM-API"]
        detail = http.get("/api/cases/RM-API").json()
        assert detail["case"]["state"] == "opened"
        assert detail["temporal_ui_url"].endswith("/workflows/case_transfer/RM-API")
        timeline = http.get("/api/cases/RM-API/timeline").json()
        assert [t["type"] for t in timeline][:2] == ["case_transfer.crime_suspected", "case_transfer.opened"]
        missing = http.get("/api/cases/NOPE/timeline")
        assert missing.status_code == 404 and missing.json()["detail"]["field"] == "case_id"
        assert http.get("/api/deadlines", params={"status": "breached"}).json()[0]["case_id"] == "RM-API"


def test_a_timeline_page_goes_out_as_the_typed_entries_would(database_url: str) -> None:
    """The API writes a page's JSON from the stored rows, payload text included; what a client
    reads must be the typed entries, labels and nested Chinese payloads alike, on both
    backends (PostgreSQL keeps ``json`` as text, SQLite as a string)."""
    from pydantic import TypeAdapter

    from services.readmodel.models import TimelineEntryPublic

    migrate(database_url)
    engine = make_engine(database_url)
    events = _events("RM-JSON")
    events[0] = events[0].model_copy(
        update={"payload": {"case_title": "某案“引号”\\n", "amounts": [1, 2.5], "who": {"名": None}}}
    )
    with Session(engine) as session:
        project(session, events)
        session.commit()
    with Session(engine) as session:
        for offset, limit in ((0, 100), (1, 2), (4, 10), (5, 10)):
            typed, total = queries.timeline_page(session, case_id="RM-JSON", offset=offset, limit=limit)
            body, sent_total = queries.timeline_page_json(
                session, case_id="RM-JSON", offset=offset, limit=limit
            )
            assert sent_total == total == 5
            as_sent = TypeAdapter(list[TimelineEntryPublic]).validate_json(body)
            assert as_sent == typed and len(typed) == max(0, min(limit, 5 - offset))
        first = TypeAdapter(list[TimelineEntryPublic]).validate_json(
            queries.timeline_page_json(session, case_id="RM-JSON", limit=1)[0]
        )[0]
        assert first.payload["who"] == {"名": None} and first.label_zh == "发现涉嫌犯罪"
        assert queries.timeline_page_json(session, case_id="RM-NONE") == (b"[]", 0)
    engine.dispose()
