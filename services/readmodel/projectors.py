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
from typing import Any

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
