"""Process-specific projections that run beside the generic one (case, timeline, deadline).

A feature that keeps its own read-model table (the coordinator inbox, delegated items ...)
adds a function here that takes the session and one domain event; it is called in the same
transaction, once per newly seen event, so it may assume the event is new.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from contracts.domain import DomainEvent

Projector = Callable[[Session, DomainEvent], None]

PROJECTORS: list[Projector] = []
