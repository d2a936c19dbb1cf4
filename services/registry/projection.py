"""Project domain events into the read model.

Order-independent and idempotent: a timeline row is keyed by ``event_id``; a case or deadline
row only takes a report whose workflow sequence number is newer than the one it holds. So a
redelivered or reordered event changes nothing, and replaying the stream rebuilds the tables.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

import services.registry.tables  # noqa: F401,E402  (registers feature projectors such as the dispute inbox)
from contracts.catalog import CONFIDENTIAL_PROCESSES
from contracts.domain import DomainEvent, EntryKind
from services.registry.models import Case, Deadline, TimelineEntry
from services.registry.projectors import PROJECTORS


def project(session: Session, events: Iterable[DomainEvent]) -> int:
    """Apply ``events`` in one transaction (the caller commits); returns rows newly added."""
    added = 0
    for event in events:
        if session.get(TimelineEntry, event.event_id) is not None:
            continue
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
                occurred_at=event.occurred_at,
                payload=event.payload,
            )
        )
        _case(session, event)
        if event.deadline is not None:
            _deadline(session, event)
        for projector in PROJECTORS:
            projector(session, event)
        added += 1
        session.flush()
    return added


def _case(session: Session, event: DomainEvent) -> None:
    case = session.get(Case, event.workflow_id)
    if case is None:
        case = Case(
            workflow_id=event.workflow_id,
            process=event.process,
            case_id=event.case_id,
            state=event.state,
            closed=event.closed,
            parties=list(event.parties),
            opened_at=event.occurred_at,
            updated_at=event.occurred_at,
            last_seq=0,
            events=0,
            confidential=event.process in CONFIDENTIAL_PROCESSES,
        )
        session.add(case)
    case.events += 1
    if event.occurred_at < case.opened_at:
        case.opened_at = event.occurred_at
    if case.agency is None and event.kind == EntryKind.RECEIVED:
        case.agency = event.actor
    title = event.payload.get("case_title") or event.payload.get("title")
    if case.title is None and isinstance(title, str) and not case.confidential:
        case.title = title[:200]
    if event.seq > case.last_seq:
        case.last_seq = event.seq
        case.state = event.state
        case.closed = event.closed
        case.parties = list(event.parties)
        case.updated_at = max(case.updated_at, event.occurred_at)


def _deadline(session: Session, event: DomainEvent) -> None:
    info = event.deadline
    assert info is not None
    key = f"{event.workflow_id}|{info.deadline_id}"
    row = session.get(Deadline, key)
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
            starts_at=info.starts_at,
            due_at=info.due_at,
            warn_at=info.warn_at,
            escalate_to=list(info.escalate_to),
            updated_seq=event.seq,
        )
        session.add(row)
        return
    row.warned = row.warned or warned
    if event.seq > row.updated_seq:
        row.updated_seq = event.seq
        row.status = info.status.value
        row.due_at = info.due_at
        row.warn_at = info.warn_at
        row.provisional = info.provisional
