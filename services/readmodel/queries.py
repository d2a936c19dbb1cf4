"""Read queries of the read model, shared by the registry API and the console."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import to_json
from sqlalchemy import Text, cast, tuple_
from sqlalchemy import select as sa_select
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


def _labels(kind: str) -> tuple[str, str]:
    """An entry type's zh-CN and English names (the type itself for one the catalog lacks)."""
    spec = DOMAIN_EVENT_TYPES.get(kind)
    return (spec.label_zh, spec.label_en) if spec else (kind, kind)


def _timeline_query(case_id: str, process: str | None) -> tuple[Any, list[Any]]:
    """The timeline table and the conditions that select one case's entries."""
    table = TimelineEntry.__table__
    return table, [table.c.case_id == case_id] + ([table.c.process == process] if process else [])


def _entries(rows: Iterable[Mapping[str, Any]]) -> list[TimelineEntryPublic]:
    """Rows of the timeline table, labelled and validated in one pydantic call: building an ORM
    object, dumping it and validating each entry on its own costs many times more on a long case."""
    labelled = []
    for row in rows:
        label_zh, label_en = _labels(row["type"])
        labelled.append({**row, "label_zh": label_zh, "label_en": label_en})
    return _TIMELINE_ENTRIES.validate_python(labelled)


def timeline(
    session: Session,
    *,
    case_id: str,
    process: str | None = None,
    limit: int = 10000,
    offset: int = 0,
) -> list[TimelineEntryPublic]:
    """A case's entries in the order they happened (then in workflow order)."""
    table, where = _timeline_query(case_id, process)
    query = (
        sa_select(table).where(*where).order_by(table.c.occurred_at, table.c.seq).offset(offset).limit(limit)
    )
    return _entries(session.connection().execute(query).mappings())


def _page_rows(
    session: Session, case_id: str, process: str | None, offset: int, limit: int, payload_as_text: bool
) -> tuple[list[Mapping[str, Any]], int]:
    """One page of a case's timeline rows and how many entries the case has, in one statement.

    The page's first entry is found by skipping ``offset`` entries of ``ix_timeline_entry_case``
    alone (an index-only scan), then the page's rows are read from there: an OFFSET on the rows
    themselves would read every skipped row from the table, deep into a long case. The total is
    the cases' own count of their entries (Case.events, kept by the projection): an index lookup,
    where counting the entries would walk all of them."""
    table, where = _timeline_query(case_id, process)
    cases = Case.__table__
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
        .scalar_subquery()
    )
    columns = [c for c in table.c if c.name != "payload"]
    columns.append(cast(table.c.payload, Text).label("payload") if payload_as_text else table.c.payload)
    query = (
        sa_select(*columns, counted.label("_total"))
        .where(*where, tuple_(table.c.occurred_at, table.c.seq) >= first)
        .order_by(table.c.occurred_at, table.c.seq)
        .limit(limit)
    )
    connection = session.connection()
    result = connection.execute(query)
    names = [c.key for c in columns]  # every column but the total, which comes last
    fetched = result.all()
    if not fetched:  # an empty case, or a page past its last entry: the total alone
        return [], int(connection.execute(sa_select(counted)).scalar_one())
    return [dict(zip(names, row[:-1], strict=True)) for row in fetched], int(fetched[0][-1])


def timeline_page(
    session: Session, *, case_id: str, process: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[TimelineEntryPublic], int]:
    """One page of a case's timeline (in the order things happened) and how many entries it has."""
    rows, total = _page_rows(session, case_id, process, offset, limit, payload_as_text=False)
    return _entries(rows), total


def timeline_page_json(
    session: Session, *, case_id: str, process: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[bytes, int]:
    """``timeline_page`` as the API sends it (a JSON array in the response model's shape).

    A payload is JSON in the database and JSON on the wire, so its stored text goes out as it is:
    parsing a page's payloads into objects, validating and serialising them again is most of the
    time such a page takes."""
    rows, total = _page_rows(session, case_id, process, offset, limit, payload_as_text=True)
    parts = []
    for row in rows:
        payload = row.pop("payload")
        row["label_zh"], row["label_en"] = _labels(row["type"])
        parts.append(to_json(row)[:-1] + b',"payload":' + payload.encode() + b"}")
    return b"[" + b",".join(parts) + b"]", total


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
