"""The statistics' monthly counts, kept as events are projected instead of counted per page view.

Two tables hold counts by Shanghai month: timeline entries by type, process, the case's owning
agency and a detail (one payload field of the type, :data:`DETAIL_FIELDS`; for a transfer,
whether the police filed its case, :data:`FILED`); deadline rows by the month of
their due date and of the step that met them, with rule, party, nature, status and breach
history. :func:`services.statistics.figures.compute` reads its monthly series, and the counts of
a period made of whole months, from here; what a figure counts is still defined there.

The registry keeps the tables in the projection's transaction (:func:`project_statistics`, a
projector that reads the case and deadline rows before and after each new event). A
deadline that changes status, breach history or dates leaves its old counts and joins the new
ones; a case whose owner changes, or that the police file, takes its earlier entries along.
Several registry replicas add to the same counts at once, so every write is one atomic
``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`` (never read, then written), sent at
commit in key order so two replicas lock the rows they share in the same order. :func:`rebuild` recounts both tables from the
entries and deadline rows: the migration that adds them fills them so, and the bench's seeding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, Table, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Field, Session, SQLModel

from contracts.domain import DomainEvent
from services.readmodel.models import Case, Deadline, TimelineEntry
from services.readmodel.projectors import PROJECTORS, Snapshot, current_change
from services.statistics.model import month_key, shanghai_midnight
from services.statistics.queries import month_bucket
from workflows.deadlines import SHANGHAI

DETAIL_FIELDS: dict[str, str] = {
    "case_transfer.reconsideration_decided": "outcome",
    "jurisdiction_dispute.opened": "kind",
    "case.closed": "by",
}
"""The payload field counted beside each of these event types (the figures split them by it)."""

TRANSFERRED = "case_transfer.transferred"
FILED_TYPE = "case_transfer.case_filed"
FILED = "filed"
"""The detail of a transfer whose case the police have filed (at any time, before or after):
the 立案率 cohort. A case's first filing moves its transfers to it."""

_DETAIL_LENGTH = 80
_CHUNK = 1000


class StatisticsEventMonth(SQLModel, table=True):
    """Timeline entries counted by Shanghai month, type, process, the case's owning agency and
    detail (:func:`detail_of`). Empty strings stand for "no agency" and "no such
    field" (key columns cannot be NULL)."""

    __tablename__ = "statistics_event_month"

    type: str = Field(primary_key=True, max_length=80)
    month: str = Field(primary_key=True, max_length=7)
    process: str = Field(primary_key=True, max_length=40)
    agency: str = Field(primary_key=True, max_length=40)
    detail: str = Field(primary_key=True, max_length=_DETAIL_LENGTH)
    n: int = 0


class StatisticsDeadlineMonth(SQLModel, table=True):
    """Deadline rows counted by the Shanghai month of their due date (``basis`` ``due``) or of
    the step that met them (``met``), by rule, party (empty for none), process, nature, status
    and breach history (``late`` is ``ever_breached``)."""

    __tablename__ = "statistics_deadline_month"
    __table_args__ = (Index("ix_statistics_deadline_month_month", "basis", "month"),)

    basis: str = Field(primary_key=True, max_length=3)
    rule: str = Field(primary_key=True, max_length=80)
    month: str = Field(primary_key=True, max_length=7)
    party: str = Field(primary_key=True, max_length=40)
    process: str = Field(primary_key=True, max_length=40)
    nature: str = Field(primary_key=True, max_length=20)
    status: str = Field(primary_key=True, max_length=20)
    late: bool = Field(primary_key=True)
    n: int = 0


EVENT_MONTHS: Table = StatisticsEventMonth.__table__  # type: ignore[assignment]
DEADLINE_MONTHS: Table = StatisticsDeadlineMonth.__table__  # type: ignore[assignment]
_EVENT_KEY = [c.name for c in EVENT_MONTHS.primary_key.columns]
_DEADLINE_KEY = [c.name for c in DEADLINE_MONTHS.primary_key.columns]

EventKey = tuple[str, str, str, str, str]
DeadlineKey = tuple[str, str, str, str, str, str, str, bool]


def month_of(at: datetime) -> str:
    """``YYYY-MM`` of the Shanghai month ``at`` falls in (the months the figures count by)."""
    return month_key(at.astimezone(SHANGHAI).date())


def detail_of(type_: str, payload: Mapping[str, Any] | None, filed: bool) -> str:
    """The detail an entry is counted by: :data:`FILED` for a transfer of a case ``filed`` by
    the police, else its :data:`DETAIL_FIELDS` value when that is a string short enough for the
    key; empty otherwise."""
    if type_ == TRANSFERRED:
        return FILED if filed else ""
    field = DETAIL_FIELDS.get(type_)
    value = (payload or {}).get(field) if field else None
    return value if isinstance(value, str) and len(value) <= _DETAIL_LENGTH else ""


def event_key(type_: str, occurred_at: datetime, process: str, agency: str | None, detail: str) -> EventKey:
    """The count an entry belongs to, in the key order of :class:`StatisticsEventMonth`."""
    return (type_, month_of(occurred_at), process, agency or "", detail)


def deadline_keys(row: Snapshot | None) -> list[DeadlineKey]:
    """The counts a deadline row belongs to: its due month, and its met month once met."""
    if row is None:
        return []
    rest = (row["party"] or "", row["process"], row["nature"], row["status"], bool(row["ever_breached"]))
    keys: list[DeadlineKey] = [("due", row["rule"], month_of(row["due_at"]), *rest)]
    if row["met_at"] is not None:
        keys.append(("met", row["rule"], month_of(row["met_at"]), *rest))
    return keys


# ----- kept by the registry -----------------------------------------------------------------------

_PENDING = "lawlink.statistics.pending"
_LISTENING = "lawlink.statistics.listening"
_FILED = "lawlink.statistics.filed"
_TRANSFERS = "lawlink.statistics.transfers"


def project_statistics(session: Session, event: DomainEvent) -> None:
    """Count one newly seen event (a projector, in the projection's transaction).

    The changes are summed in the session and written when it commits, one upsert per count
    touched by the whole batch.
    """
    change = current_change(session)
    pending = _pending(session)
    agency = change.case.get("agency")
    existed = change.case_before is not None
    owner_before = change.case_before.get("agency") if change.case_before is not None else agency
    moved = (owner_before or "") != (agency or "")
    filed_before = False
    if existed and (moved or event.type in (TRANSFERRED, FILED_TYPE)):
        filed_before = _was_filed(session, event)
    filed_after = filed_before or event.type == FILED_TYPE
    if event.type in (TRANSFERRED, FILED_TYPE):
        session.info[_FILED][event.workflow_id] = filed_after
    if event.type == TRANSFERRED:
        transfers = session.info[_TRANSFERS].setdefault(event.workflow_id, {})
        transfers[event.event_id] = (event.type, event.occurred_at, event.process, event.payload)
    detail = detail_of(event.type, event.payload, filed_after)
    pending["e", event_key(event.type, event.occurred_at, event.process, agency, detail)] += 1
    if existed and (moved or filed_after != filed_before):
        _rekey_case(session, event, (owner_before, filed_before), (agency, filed_after), pending)
    if change.deadline is not None:
        for key in deadline_keys(change.deadline_before):
            pending["d", key] -= 1
        for key in deadline_keys(change.deadline):
            pending["d", key] += 1


def _was_filed(session: Session, event: DomainEvent) -> bool:
    """Whether the event's case had a filing before this event: known from this batch, or read
    from what is flushed (no flush needed: a filing earlier in the batch was noted when it was
    counted)."""
    known = session.info[_FILED]
    if event.workflow_id not in known:
        t = TimelineEntry.__table__.c
        found = session.connection().execute(
            select(t.event_id)
            .where(t.workflow_id == event.workflow_id, t.type == FILED_TYPE, t.event_id != event.event_id)
            .limit(1)
        )
        known[event.workflow_id] = found.first() is not None
    return known[event.workflow_id]


def _rekey_case(
    session: Session,
    event: DomainEvent,
    old: tuple[str | None, bool],
    new: tuple[str | None, bool],
    pending: Counter[Any],
) -> None:
    """The case's owner changed (its opening event came after others) or it was filed for the
    first time: its entries counted so far move from ``old`` (owner, filed) to ``new``."""
    for type_, occurred_at, process, payload in _counted_entries(
        session, event, owner_changed=old[0] != new[0]
    ):
        before = event_key(type_, occurred_at, process, old[0], detail_of(type_, payload, old[1]))
        after = event_key(type_, occurred_at, process, new[0], detail_of(type_, payload, new[1]))
        if before != after:
            pending["e", before] -= 1
            pending["e", after] += 1


def _counted_entries(
    session: Session, event: DomainEvent, *, owner_changed: bool
) -> Iterable[tuple[str, datetime, str, Mapping[str, Any]]]:
    """The case's entries counted before this event: all of them when its owner changed (rare:
    the flush makes this batch's earlier ones readable), else only its transfers (a filing
    changes nothing else), read without a flush: those flushed, and this batch's as noted."""
    t = TimelineEntry.__table__.c
    where = [t.workflow_id == event.workflow_id, t.event_id != event.event_id]
    if owner_changed:
        session.flush()
        stmt = select(t.type, t.occurred_at, t.process, t.payload).where(*where)
        yield from ((r.type, r.occurred_at, r.process, r.payload) for r in session.connection().execute(stmt))
        return
    found = dict(session.info[_TRANSFERS].get(event.workflow_id, {}))
    stmt = select(t.event_id, t.type, t.occurred_at, t.process, t.payload).where(
        *where, t.type == TRANSFERRED
    )
    for r in session.connection().execute(stmt):
        found[r.event_id] = (r.type, r.occurred_at, r.process, r.payload)
    found.pop(event.event_id, None)
    yield from found.values()


def _pending(session: Session) -> Counter[Any]:
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = Counter()
    session.info.setdefault(_FILED, {})
    session.info.setdefault(_TRANSFERS, {})
    if not session.info.get(_LISTENING):
        event.listen(session, "before_commit", _write_pending)
        event.listen(session, "after_transaction_end", _drop_pending)
        session.info[_LISTENING] = True
    return pending


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        add_counts(session.connection(), pending)


def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    """A transaction rolled back or closed unwritten takes its counts with it (a savepoint's
    end is not the batch's)."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_FILED, None)
        session.info.pop(_TRANSFERS, None)


def add_counts(connection: Connection, deltas: Mapping[tuple[str, tuple[Any, ...]], int]) -> None:
    """Add ``deltas`` (``("e", event key)`` or ``("d", deadline key)`` to a change of count)
    to the tables: atomic upserts in key order, so concurrent writers never lose an addition
    and lock shared rows in one order."""
    events = [
        dict(zip(_EVENT_KEY, k, strict=True), n=n) for (t, k), n in sorted(deltas.items()) if t == "e" and n
    ]
    deadlines = [
        dict(zip(_DEADLINE_KEY, k, strict=True), n=n)
        for (t, k), n in sorted(deltas.items())
        if t == "d" and n
    ]
    for table, key, rows in ((EVENT_MONTHS, _EVENT_KEY, events), (DEADLINE_MONTHS, _DEADLINE_KEY, deadlines)):
        if not rows:
            continue
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(index_elements=key, set_={"n": table.c.n + stmt.excluded.n})
        for start in range(0, len(rows), _CHUNK):
            connection.execute(stmt, rows[start : start + _CHUNK])


PROJECTORS.append(project_statistics)


# ----- rebuilt from the read model ----------------------------------------------------------------


def rebuild(connection: Connection) -> dict[str, int]:
    """Recount both tables from the timeline entries and deadline rows (the caller commits).

    For a read model filled without the registry's projection (the migration that adds the
    tables, a bulk load), or to check the kept counts. Run it while no registry projects: it
    replaces the tables' contents. Returns the rows written to each table.
    """
    connection.execute(EVENT_MONTHS.delete())
    connection.execute(DEADLINE_MONTHS.delete())
    counts: Counter[Any] = Counter()
    for key, n in _recount_events(connection):
        counts["e", key] += n
    for key, n in _recount_deadlines(connection):
        counts["d", key] += n
    add_counts(connection, counts)
    return {
        EVENT_MONTHS.name: sum(1 for t, _ in counts if t == "e"),
        DEADLINE_MONTHS.name: sum(1 for t, _ in counts if t == "d"),
    }


def _months(connection: Connection, column: Any) -> tuple[list[datetime], list[str]] | None:
    """The first instants of the Shanghai months from ``column``'s least value to its greatest,
    and the end of the last, with their keys; None for no values."""
    low, high = connection.execute(select(func.min(column), func.max(column))).one()
    if low is None:
        return None
    first = low.astimezone(SHANGHAI).date().replace(day=1)
    last = high.astimezone(SHANGHAI).date().replace(day=1)
    firsts: list[date] = [first]
    while firsts[-1] <= last:
        d = firsts[-1]
        firsts.append(date(d.year + d.month // 12, d.month % 12 + 1, 1))
    return [shanghai_midnight(d) for d in firsts], [month_key(d) for d in firsts[:-1]]


_DETAILED = sorted({*DETAIL_FIELDS, TRANSFERRED})


def _recount_events(connection: Connection) -> Iterable[tuple[EventKey, int]]:
    t, c = TimelineEntry.__table__.c, Case.__table__.c
    months = _months(connection, t.occurred_at)
    if months is None:
        return
    firsts, keys = months
    source = TimelineEntry.__table__.outerjoin(Case.__table__, c.workflow_id == t.workflow_id)
    inner = (
        select(
            t.type.label("type"),
            month_bucket(t.occurred_at, firsts, keys).label("month"),
            t.process.label("process"),
            func.coalesce(c.agency, "").label("agency"),
        )
        .select_from(source)
        .where(t.type.not_in(_DETAILED))
        .subquery()
    )
    grouped = select(*inner.c, func.count().label("n")).group_by(*inner.c)
    for r in connection.execute(grouped):
        yield (r.type, r.month, r.process, r.agency, ""), r.n
    # The few types counted by a detail: read and classified as the projector does.
    filed = {
        r.workflow_id
        for r in connection.execute(select(t.workflow_id).where(t.type == FILED_TYPE).distinct())
    }
    detailed = (
        select(t.type, t.occurred_at, t.process, t.workflow_id, c.agency, t.payload)
        .select_from(source)
        .where(t.type.in_(_DETAILED))
    )
    for r in connection.execute(detailed):
        detail = detail_of(r.type, r.payload, r.workflow_id in filed)
        yield event_key(r.type, r.occurred_at, r.process, r.agency, detail), 1


def _recount_deadlines(connection: Connection) -> Iterable[tuple[DeadlineKey, int]]:
    d = Deadline.__table__.c
    for basis, column in (("due", d.due_at), ("met", d.met_at)):
        months = _months(connection, column)
        if months is None:
            continue
        firsts, keys = months
        inner = (
            select(
                d.rule.label("rule"),
                month_bucket(column, firsts, keys).label("month"),
                func.coalesce(d.party, "").label("party"),
                d.process.label("process"),
                d.nature.label("nature"),
                d.status.label("status"),
                d.ever_breached.label("late"),
            )
            .where(column.is_not(None))
            .subquery()
        )
        grouped = select(*inner.c, func.count().label("n")).group_by(*inner.c)
        for r in connection.execute(grouped):
            yield (basis, r.rule, r.month, r.party, r.process, r.nature, r.status, bool(r.late)), r.n


# ----- read by the figures ------------------------------------------------------------------------


def event_counts(
    session: Session,
    types: Collection[str],
    months: Sequence[str],
    *,
    by: Collection[str] = (),
    process: str | None = None,
    agencies: Collection[str] | None = None,
) -> list[Row[Any]]:
    """Entries of ``types`` in the consecutive ``months`` (keys), summed by ``type`` and ``by``:
    any of ``m`` (the month), ``agency`` (the case's owner, None for none) and ``detail``; only
    cases owned by one of ``agencies`` when given."""
    e = EVENT_MONTHS.c
    named: dict[str, Any] = {"m": e.month, "agency": e.agency, "detail": e.detail}
    keys = [e.type, *(named[k] for k in by)]
    labels = [e.type.label("type"), *(_none_if_empty(named[k]).label(k) for k in by)]
    where = [e.type.in_(sorted(set(types))), e.month >= months[0], e.month <= months[-1], e.n > 0]
    if process is not None:
        where.append(e.process == process)
    if agencies is not None:
        where.append(e.agency.in_(sorted(agencies)))
    stmt = select(*labels, func.sum(e.n).label("n")).where(*where).group_by(*keys)
    return list(session.connection().execute(stmt).all())


def deadline_counts(
    session: Session,
    basis: str,
    months: Sequence[str],
    *,
    by: Collection[str],
    rule: str | None = None,
    nature: str | None = None,
    status: str | None = None,
    agencies: Collection[str] | None = None,
) -> list[Row[Any]]:
    """Deadline rows whose ``basis`` date (``due`` or ``met``) falls in the consecutive
    ``months``, summed by ``by``: any of ``m``, ``rule``, ``party`` (None for none), ``status``
    and ``late`` (ever breached); only those owed by one of ``agencies`` when given."""
    d = DEADLINE_MONTHS.c
    named: dict[str, Any] = {
        "m": d.month,
        "rule": d.rule,
        "party": d.party,
        "status": d.status,
        "late": d.late,
    }
    keys = [named[k] for k in by]
    labels = [(_none_if_empty(named[k]) if k == "party" else named[k]).label(k) for k in by]
    where = [d.basis == basis, d.month >= months[0], d.month <= months[-1], d.n > 0]
    for column, value in ((d.rule, rule), (d.nature, nature), (d.status, status)):
        if value is not None:
            where.append(column == value)
    if agencies is not None:
        where.append(d.party.in_(sorted(agencies)))
    stmt = select(*labels, func.sum(d.n).label("n")).where(*where)
    if keys:
        stmt = stmt.group_by(*keys)
    return list(session.connection().execute(stmt).all())


def _none_if_empty(column: Any) -> Any:
    """The key columns' empty string read back as the None the base tables hold."""
    return func.nullif(column, "") if column.key in ("agency", "party", "detail") else column
