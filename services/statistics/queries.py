"""The statistics' SQL: grouped counts over the read model, each reached through an index.

Every query is bounded by a time range on an indexed column (``timeline_entry (type,
occurred_at)``, ``deadline (nature, due_at)``, ``deadline (rule, met_at)``) and groups in the
database, so the work grows with the events of the period, not with the read model. Months are
Shanghai months, told apart by comparing with their first instants.

Grouping happens over a subquery of labelled expressions: PostgreSQL refuses a ``GROUP BY`` that
repeats an expression with bound parameters (it sees two different parameters), and grouping
by the subquery's columns sidesteps that on both databases.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, extract, func, literal, select
from sqlalchemy.engine import Row
from sqlmodel import Session

from services.readmodel.models import Case, Deadline, TimelineEntry

TIMELINE = TimelineEntry.__table__
CASES = Case.__table__
DEADLINES = Deadline.__table__


def month_bucket(column: Any, firsts: Sequence[datetime], keys: Sequence[str]) -> ColumnElement[str]:
    """The key of the month ``column`` falls in, for rows already bounded by ``firsts[0]`` and
    the end of the last month: ``firsts`` are the months' first instants (aware UTC) and one
    more, the end. Comparisons with the boundaries, not a date function per row: a year of
    monthly counts then costs little more than reading the index, and the
    boundaries are Shanghai midnights computed once in Python.
    """
    if len(keys) == 1:
        return literal(keys[0], String())
    return case(*[(column < firsts[i + 1], keys[i]) for i in range(len(keys) - 1)], else_=keys[-1])


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    """``end - start`` in seconds, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def in_range(column: Any, start: datetime, end: datetime) -> ColumnElement[int]:
    """1 when ``start <= column < end``, else 0."""
    return case(((column >= start) & (column < end), 1), else_=0)


def grouped(
    session: Session,
    columns: dict[str, ColumnElement[Any]],
    *,
    where: Sequence[ColumnElement[bool]],
    select_from: Any,
) -> list[Row[Any]]:
    """``columns`` and ``count(*)`` (as ``n``) grouped by every column, rows matching ``where``."""
    inner = (
        select(*[c.label(k) for k, c in columns.items()]).select_from(select_from).where(*where).subquery()
    )
    keys = [inner.c[k] for k in columns]
    stmt = select(*keys, func.count().label("n")).group_by(*keys)
    return list(session.connection().execute(stmt).all())


def rows(
    session: Session,
    columns: dict[str, ColumnElement[Any]],
    *,
    where: Sequence[ColumnElement[bool]],
    select_from: Any,
) -> list[Row[Any]]:
    """Plain rows of ``columns`` (for the few figures computed per item: medians, working days)."""
    stmt = select(*[c.label(k) for k, c in columns.items()]).select_from(select_from).where(*where)
    return list(session.connection().execute(stmt).all())


def event_where(
    types: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    process: str | None = None,
    agencies: Collection[str] | None = None,
) -> list[ColumnElement[bool]]:
    """Timeline entries of ``types`` that happened in ``[start, end)`` (of ``process``, of a
    case owned by one of ``agencies``)."""
    where: list[ColumnElement[bool]] = [
        TIMELINE.c.type.in_(sorted(set(types))),
        TIMELINE.c.occurred_at >= start,
        TIMELINE.c.occurred_at < end,
    ]
    if process is not None:
        where.append(TIMELINE.c.process == process)
    if agencies is not None:
        where.append(CASES.c.agency.in_(sorted(agencies)))
    return where


def timeline_with_case() -> Any:
    """Timeline entries joined to their case (the case's owner is the agency a figure counts for)."""
    return TIMELINE.join(CASES, CASES.c.workflow_id == TIMELINE.c.workflow_id)


def payload_text(key: str) -> ColumnElement[str]:
    """A string field of a timeline entry's payload."""
    return TIMELINE.c.payload[key].as_string()
