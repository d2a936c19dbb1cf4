"""Process-specific projections that run beside the generic one (case, timeline, deadline).

A feature that keeps its own read-model table (the coordinator inbox, delegated items ...)
adds a function here that takes the session and one domain event; it is called in the same
transaction, once per newly seen event, so it may assume the event is new.

A projector that keeps counts derived from the case and deadline rows (the statistics' monthly
counts) reads :func:`current_change`: those rows as they were before the event and as they are
after it, so it can take back what it counted for the old values (a deadline met after it was
breached, a case whose owner changed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import inspect
from sqlmodel import Session, SQLModel

from contracts.domain import DomainEvent

Projector = Callable[[Session, DomainEvent], None]

PROJECTORS: list[Projector] = []

Snapshot = Mapping[str, Any]
"""A row's column values at one moment (the row object itself changes with later events)."""


def snapshot(row: SQLModel | None) -> Snapshot | None:
    """The column values of ``row`` now; None for no row."""
    if row is None:
        return None
    return {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}


@dataclass(frozen=True)
class Change:
    """What one newly seen event did to its case's row and, if it carries one, its deadline's
    row: the values before (None for a row the event created) and after."""

    case_before: Snapshot | None
    case: Snapshot
    deadline_before: Snapshot | None = None
    deadline: Snapshot | None = None


_CHANGE = "lawlink.projection.change"


def record_change(session: Session, change: Change) -> None:
    """Called by the projection before the projectors of each new event."""
    session.info[_CHANGE] = change


def current_change(session: Session) -> Change:
    """What the event now being projected did to its case and deadline rows (for a projector).

    Raises:
        LookupError: when called outside the projection of an event.
    """
    change = session.info.get(_CHANGE)
    if change is None:
        raise LookupError("current_change: no event is being projected in this session")
    return change


# The case lists' search words, due dates and involved agencies (every process's cases).
from services.readmodel.case_index import project_case_index  # noqa: E402

PROJECTORS.append(project_case_index)


class CaseRow(Protocol):
    """The columns every per-case row keeps of its case (the case itself, the inbox's task)."""

    state: str
    closed: bool
    parties: list[str]
    opened_at: datetime
    updated_at: datetime


def case_columns(event: DomainEvent) -> dict[str, Any]:
    """A per-case row's columns from the first event of its case the projection sees."""
    return {
        "workflow_id": event.workflow_id,
        "case_id": event.case_id,
        "state": event.state,
        "closed": event.closed,
        "parties": list(event.parties),
        "opened_at": event.occurred_at,
        "updated_at": event.occurred_at,
    }


def follow_case(row: CaseRow, event: DomainEvent, *, newest: bool) -> None:
    """Keep a per-case row current whatever order its events arrive in: opened at the earliest
    moment any event shows; state, closure and parties as the ``newest`` event by the workflow's
    sequence leaves them (an event without parties, the inbound one before the case opened,
    keeps those known)."""
    if event.occurred_at < row.opened_at:
        row.opened_at = event.occurred_at
    if newest:
        row.state = event.state
        row.closed = event.closed
        if event.parties:
            row.parties = list(event.parties)
        row.updated_at = max(row.updated_at, event.occurred_at)
