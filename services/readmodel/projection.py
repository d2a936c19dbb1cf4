"""Project domain events into the read model.

Order-independent and idempotent: a timeline row is keyed by ``event_id``; a case or deadline
row only takes a report whose workflow sequence number is newer than the one it holds. So a
redelivered or reordered event changes nothing, and replaying the stream rebuilds the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import Session, col, select

import services.readmodel.tables  # noqa: F401,E402  (registers feature projectors such as the dispute inbox)
from contracts.catalog import CONFIDENTIAL_PROCESSES
from contracts.deadline_models import DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.readmodel.models import Case, Deadline, TimelineEntry
from services.readmodel.projectors import (
    PROJECTORS,
    Change,
    case_columns,
    follow_case,
    record_change,
    snapshot,
)

_IN_CHUNK = 500


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C traceparent (``00-<trace id>-<span id>-<flags>``), if it is one."""
    parts = traceparent.split("-") if traceparent else []
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def project(session: Session, events: Iterable[DomainEvent]) -> int:
    """Apply ``events`` in one transaction (the caller commits); returns rows newly added.

    The rows a batch touches are read with one query per table before the loop (they then sit
    in the session's identity map), and the inserts go out together when the caller commits:
    a lookup and a flush per event would be most of the registry's CPU under load.
    """
    batch = list(events)
    if not batch:
        return 0
    known = set(
        _select_in(session, TimelineEntry.event_id, TimelineEntry.event_id, {e.event_id for e in batch})
    )
    cases = {
        c.workflow_id: c for c in _select_in(session, Case, Case.workflow_id, {e.workflow_id for e in batch})
    }
    deadline_ids = {
        _deadline_key(e.workflow_id, e.deadline.deadline_id) for e in batch if e.deadline is not None
    }
    deadlines = {d.id: d for d in _select_in(session, Deadline, Deadline.id, deadline_ids)}
    added = 0
    for event in batch:
        if event.event_id in known:
            continue
        known.add(event.event_id)
        session.add(
            TimelineEntry(
                event_id=event.event_id,
                workflow_id=event.workflow_id,
                process=event.process,
                case_id=event.case_id,
                seq=event.seq,
                type=event.type,
                kind=event.kind.value,
                actor=event.actor,
                state=event.state,
                causation_id=event.causation_id,
                trace_id=trace_id_of(event.trace),
                occurred_at=event.occurred_at,
                recorded_at=event.recorded_at,
                payload=event.payload,
            )
        )
        case_before = snapshot(cases.get(event.workflow_id))
        _case(session, cases, event)
        deadline_before = deadline = None
        if event.deadline is not None:
            key = _deadline_key(event.workflow_id, event.deadline.deadline_id)
            deadline_before = snapshot(deadlines.get(key))
            _deadline(session, deadlines, event)
            deadline = snapshot(deadlines[key])
        record_change(
            session, Change(case_before, snapshot(cases[event.workflow_id]) or {}, deadline_before, deadline)
        )
        for projector in PROJECTORS:
            projector(session, event)
        added += 1
    return added


def _select_in(session: Session, what: Any, key: Any, ids: set[str]) -> Iterator[Any]:
    """``select(what)`` of the rows whose ``key`` is in ``ids``, in ``IN`` lists of bounded
    length (SQLite limits bound parameters per statement)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), _IN_CHUNK):
        yield from session.exec(select(what).where(col(key).in_(ordered[start : start + _IN_CHUNK])))


def _deadline_key(workflow_id: str, deadline_id: str) -> str:
    return f"{workflow_id}|{deadline_id}"


def _case(session: Session, cases: dict[str, Case], event: DomainEvent) -> None:
    case = cases.get(event.workflow_id)
    if case is None:
        case = Case(
            **case_columns(event),
            process=event.process,
            last_seq=0,
            events=0,
            confidential=event.process in CONFIDENTIAL_PROCESSES,
        )
        session.add(case)
        cases[case.workflow_id] = case
    case.events += 1
    # The case's agency is who sent the opening event, the workflow's first (seq 1): that
    # event wins whenever it arrives, so a later agency's event projected first (a batch in
    # another order, a replay) does not make, say, the police the owner of a transfer.
    if event.kind == EntryKind.RECEIVED and (case.agency is None or event.seq == 1):
        case.agency = event.actor
    title = event.payload.get("case_title") or event.payload.get("title")
    if case.title is None and isinstance(title, str) and not case.confidential:
        case.title = title[:200]
    newest = event.seq > case.last_seq
    if newest:
        case.last_seq = event.seq
    follow_case(case, event, newest=newest)


def _deadline(session: Session, deadlines: dict[str, Deadline], event: DomainEvent) -> None:
    info = event.deadline
    assert info is not None
    key = _deadline_key(event.workflow_id, info.deadline_id)
    row = deadlines.get(key)
    warned = event.type == "deadline.warning"
    if row is None:
        row = Deadline(
            id=key,
            workflow_id=event.workflow_id,
            process=event.process,
            case_id=event.case_id,
            deadline_id=info.deadline_id,
            rule=info.rule,
            label_zh=info.label_zh,
            label_en=info.label_en,
            source=info.source,
            party=info.party,
            counting=info.counting,
            length=info.length,
            provisional=info.provisional,
            status=info.status.value,
            warned=warned,
            nature=info.nature,
            anchor=info.anchor,
            late_seconds=info.late_seconds,
            met_at=info.met_at,
            starts_at=info.starts_at,
            due_at=info.due_at,
            warn_at=info.warn_at,
            escalate_to=list(info.escalate_to),
            updated_seq=event.seq,
        )
        session.add(row)
        deadlines[key] = row
        _breach_history(row, event)
        return
    row.warned = row.warned or warned
    _breach_history(row, event)
    if event.seq > row.updated_seq:
        row.updated_seq = event.seq
        row.status = info.status.value
        row.due_at = info.due_at
        row.warn_at = info.warn_at
        row.provisional = info.provisional
        row.met_at = info.met_at
        row.late_seconds = info.late_seconds


def _breach_history(row: Deadline, event: DomainEvent) -> None:
    """Remember a breach whatever the deadline's later status (met late, cancelled).

    Each fact comes from the event that states it and is only ever added, so the row ends the
    same in any arrival order: the breach from ``deadline.breached`` (or an escalation, which
    carries the breached deadline), its withdrawal from the ``deadline.met`` that proves the
    step was done in time, the cancellation time from ``deadline.cancelled``.
    """
    info = event.deadline
    assert info is not None
    if info.status == DeadlineStatus.BREACHED and row.breached_at is None:
        row.breached_at = info.due_at
    if event.type == "deadline.met":
        if event.payload.get("breach_withdrawn"):
            row.breach_withdrawn = True
        elif event.payload.get("late") and info.nature == "duty" and row.breached_at is None:
            # A duty done late was breached at its due date, even if that event is yet to come.
            row.breached_at = info.due_at
    if event.type == "deadline.cancelled" and row.cancelled_at is None:
        row.cancelled_at = event.occurred_at
    row.ever_breached = row.breached_at is not None and not row.breach_withdrawn
