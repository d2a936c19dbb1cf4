"""A long case's page reads its timeline a page at a time: 100 rows a page with the total and a
pager, the drawing and facts from a bounded first part (said on the page), never the whole
history at once. The console and people are those of ``tests.unit.console_day``."""

# ruff: noqa: F811 - the tests take the fixtures imported from tests.unit.console_day

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from contracts.domain import DomainEvent, EntryKind
from services.console.case_views import DRAWN, TIMELINE_PER_PAGE
from services.readmodel.models import TimelineEntry
from services.readmodel.projection import project
from tests.unit.console_day import day, people  # noqa: F401 - fixtures
from tests.unit.test_console_app import Env

CASE = "JD-MINE"


def _lengthen(day: Env, to: int) -> None:
    """Give the dispute ``to`` timeline entries in all (opinion reminders, say), written as the
    projection writes them."""
    with Session(day.engine) as session:
        rows = session.exec(select(TimelineEntry).where(TimelineEntry.case_id == CASE)).all()
        last = max(rows, key=lambda r: r.seq)
        project(
            session,
            [
                DomainEvent(
                    event_id=uuid.uuid4().hex,
                    type="jurisdiction_dispute.opinion_submitted",
                    occurred_at=last.occurred_at + timedelta(minutes=n + 1),
                    recorded_at=last.occurred_at + timedelta(minutes=n + 1),
                    process=last.process,
                    case_id=CASE,
                    workflow_id=last.workflow_id,
                    seq=last.seq + 1 + n,
                    kind=EntryKind.RECEIVED,
                    actor="rz-scjgj",
                    state=last.state,
                    payload={"agency": "rz-scjgj", "opinion": f"第 {n} 份意见"},
                )
                for n in range(len(rows), to)
            ],
        )
        session.commit()


def _rows(page: str) -> list[str]:
    table = page[page.index('id="timeline-table"') :]
    return re.findall(r'<tr id="entry-(\d+)"', table[: table.index("</table>")])


def test_a_long_case_pages_its_timeline_and_says_the_drawing_is_partial(
    day: Env, people: dict[str, TestClient]
) -> None:
    coord = people["coord"]
    _lengthen(day, 250)
    first = coord.get(f"/cases/jurisdiction_dispute/{CASE}").text
    assert len(_rows(first)) == TIMELINE_PER_PAGE and "共 250 条，第 1/3 页" in first
    last = coord.get(f"/cases/jurisdiction_dispute/{CASE}?tl_page=3").text
    assert len(_rows(last)) == 50 and not set(_rows(first)) & set(_rows(last))
    assert 'id="drawn-partly"' not in first
    _lengthen(day, DRAWN + 5)
    long = coord.get(f"/cases/jurisdiction_dispute/{CASE}").text
    assert f"最早的 {DRAWN} 条记录" in long and f"共 {DRAWN + 5} 条" in long
    assert len(_rows(long)) == TIMELINE_PER_PAGE
    bad = coord.get(f"/cases/jurisdiction_dispute/{CASE}?tl_page=x")
    assert bad.status_code == 422
