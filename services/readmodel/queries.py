"""Read queries of the read model, shared by the registry API and the console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select as sa_select
from sqlalchemy import tuple_
from sqlmodel import Session, col, func, select

from contracts.catalog import DOMAIN_EVENT_TYPES
from services.readmodel.models import (
    Case,
    CasePublic,
    DeadLetter,
    Deadline,
    DeadlinePublic,
    TimelineEntry,
    TimelineEntryPublic,
)


def list_cases(
    session: Session,
    *,
    process: str | None = None,
    state: str | None = None,
    agency: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CasePublic]:
    """Cases, most recently updated first; ``agency`` matches any party."""
    query = select(Case)
    if process:
        query = query.where(Case.process == process)
    if state:
        query = query.where(Case.state == state)
    rows = session.exec(
        query.order_by(col(Case.updated_at).desc()).offset(offset).limit(limit * 4 if agency else limit)
    ).all()
    if agency:
        rows = [r for r in rows if agency in (r.parties or []) or r.agency == agency][:limit]
    return [CasePublic.model_validate(r, from_attributes=True) for r in rows]


def count_cases(session: Session) -> int:
    """How many cases the read model holds."""
    return session.exec(select(func.count()).select_from(Case)).one()


def find_cases(session: Session, *, case_id: str, process: str | None = None) -> list[Case]:
    """Every process's case with this business key (usually one)."""
    query = select(Case).where(Case.case_id == case_id)
    if process:
        query = query.where(Case.process == process)
    return list(session.exec(query).all())


_TIMELINE_ENTRIES = TypeAdapter(list[TimelineEntryPublic])


def timeline(
    session: Session,
    *,
    case_id: str,
    process: str | None = None,
    limit: int = 10000,
    offset: int = 0,
    since: tuple[datetime, int] | None = None,
) -> list[TimelineEntryPublic]:
    """A case's entries in the order they happened (then in workflow order).

    Reads plain rows and validates them in one pydantic call: building an ORM object, dumping it
    and validating each entry on its own costs many times more on a long case.
    """
    table = TimelineEntry.__table__
    query = sa_select(table).where(table.c.case_id == case_id)
    if process:
        query = query.where(table.c.process == process)
    if since is not None:  # from this (occurred_at, seq) on
        query = query.where(tuple_(table.c.occurred_at, table.c.seq) >= tuple_(*since))
    query = query.order_by(table.c.occurred_at, table.c.seq).offset(offset).limit(limit)
    labels: dict[str, tuple[str, str]] = {}
    rows: list[dict[str, Any]] = []
    for row in session.connection().execute(query).mappings():
        kind = row["type"]
        if kind not in labels:
            spec = DOMAIN_EVENT_TYPES.get(kind)
            labels[kind] = (spec.label_zh, spec.label_en) if spec else (kind, kind)
        label_zh, label_en = labels[kind]
        rows.append({**row, "label_zh": label_zh, "label_en": label_en})
    return _TIMELINE_ENTRIES.validate_python(rows)


def timeline_json(entries: list[TimelineEntryPublic]) -> bytes:
    """Timeline entries as the API sends them (JSON, in the response model's shape)."""
    return _TIMELINE_ENTRIES.dump_json(entries)


def timeline_page(
    session: Session, *, case_id: str, process: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[TimelineEntryPublic], int]:
    """One page of a case's timeline (in the order things happened) and how many entries it has.

    The page's first entry is found by skipping ``offset`` entries of ``ix_timeline_entry_case``
    alone (an index-only scan), then the page's rows are read from there: an OFFSET on the rows
    themselves would read every skipped row from the table, deep into a long case. The total is
    the cases' own count of their entries."""
    table, cases = TimelineEntry.__table__, Case.__table__
    where = [table.c.case_id == case_id] + ([table.c.process == process] if process else [])
    connection = session.connection()
    # The projection counts each case's entries as it writes them (Case.events): reading that
    # costs an index lookup, counting the entries a walk over all of them.
    counted = (
        sa_select(func.coalesce(func.sum(cases.c.events), 0))
        .where(cases.c.case_id == case_id, *([cases.c.process == process] if process else []))
        .scalar_subquery()
    )
    first = (
        sa_select(table.c.occurred_at, table.c.seq)
        .where(*where)
        .order_by(table.c.occurred_at, table.c.seq)
        .offset(offset)
        .limit(1)
        .subquery()
    )
    # The count and the page's first key in one round trip; no row only past the last entry.
    start = connection.execute(sa_select(counted, first.c.occurred_at, first.c.seq)).first()
    if start is None:
        return [], int(connection.execute(sa_select(counted)).scalar_one())
    total, since = int(start[0]), (start[1], start[2])
    return timeline(session, case_id=case_id, process=process, limit=limit, since=since), total


def deadlines(session: Session, *, case_id: str, process: str | None = None) -> list[DeadlinePublic]:
    """A case's deadlines, soonest first."""
    query = select(Deadline).where(Deadline.case_id == case_id)
    if process:
        query = query.where(Deadline.process == process)
    rows = session.exec(query.order_by(col(Deadline.due_at))).all()
    return [DeadlinePublic.model_validate(r, from_attributes=True) for r in rows]


def open_deadlines(
    session: Session,
    *,
    provisional: bool | None = None,
    status: str | None = None,
    party: str | None = None,
    limit: int = 10000,
) -> list[DeadlinePublic]:
    """Deadlines across cases, soonest first (operators, calendar recompute, digests)."""
    query = select(Deadline)
    if provisional is not None:
        query = query.where(Deadline.provisional == provisional)
    if status:
        query = query.where(Deadline.status == status)
    if party:
        query = query.where(Deadline.party == party)
    rows = session.exec(query.order_by(col(Deadline.due_at)).limit(limit)).all()
    return [DeadlinePublic.model_validate(r, from_attributes=True) for r in rows]


def dead_letters(session: Session, *, include_replayed: bool = True) -> list[DeadLetter]:
    """Dead letters, newest first."""
    query = select(DeadLetter)
    if not include_replayed:
        query = query.where(col(DeadLetter.replayed_at).is_(None))
    return list(session.exec(query.order_by(col(DeadLetter.id).desc())).all())


def dead_letter_page(
    session: Session, *, include_replayed: bool = True, offset: int = 0, limit: int = 50
) -> tuple[list[DeadLetter], int]:
    """One page of dead letters, newest first, and how many there are in all."""
    query = select(DeadLetter)
    count = select(func.count()).select_from(DeadLetter)
    if not include_replayed:
        query = query.where(col(DeadLetter.replayed_at).is_(None))
        count = count.where(col(DeadLetter.replayed_at).is_(None))
    rows = list(session.exec(query.order_by(col(DeadLetter.id).desc()).offset(offset).limit(limit)).all())
    return rows, int(session.exec(count).one())
