"""The coordinator inbox: one ``dispute_task`` row per jurisdiction dispute, kept current from
domain events.

The console lists open disputes for a coordinating office, sorted by the next due date, with who
claimed them and the first-to-file suggestion. Like the rest of the read model the rows are
rebuilt from ``LAWLINK_OUT``: every field is written only by a newer event of its own kind (by
workflow sequence), and ``due_at`` is derived from the deadline rows the generic projection keeps,
so a redelivered or reordered event leaves the same row. ``overdue`` is computed when read,
never stored, so it cannot go stale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, or_
from sqlmodel import Field, Session, SQLModel, col, func, select

from contracts.deadline_models import DeadlineStatus
from contracts.domain import DomainEvent
from contracts.jurisdiction_dispute import CLOSED_STATES, PROCESS
from services.readmodel.models import Deadline, UTCDateTime
from services.readmodel.projectors import PROJECTORS, case_columns, follow_case

_P = PROCESS + "."
_LIVE = (DeadlineStatus.OPEN.value, DeadlineStatus.BREACHED.value)


class DisputeTaskBase(SQLModel):
    """Fields of an inbox row every reader sees."""

    case_id: str = Field(max_length=64)
    state: str = Field(max_length=60)
    closed: bool = False
    kind: str | None = Field(default=None, max_length=20, description="positive / negative")
    title: str | None = Field(default=None, max_length=200)
    enforcement_case_no: str | None = Field(default=None, max_length=80)
    summary: str | None = Field(default=None, max_length=4000)
    coordinator_office: str | None = Field(default=None, max_length=40)
    referred_to: str | None = Field(default=None, max_length=40)
    claimed_by: str | None = Field(default=None, max_length=40)
    claimed_by_name: str | None = Field(default=None, max_length=50)
    suggested_agency: str | None = Field(default=None, max_length=40)
    suggested_reason: str | None = Field(default=None, max_length=1000)
    designated_agency: str | None = Field(default=None, max_length=40)
    interim_agency: str | None = Field(default=None, max_length=40)


class DisputeTask(DisputeTaskBase, table=True):
    """One dispute in the coordinator inbox, keyed by its workflow id."""

    __tablename__ = "dispute_task"
    __table_args__ = (
        Index("ix_dispute_task_state_due", "state", "due_at"),
        Index("ix_dispute_task_claimed_by", "claimed_by"),
        Index("ix_dispute_task_case", "case_id"),
        Index("ix_dispute_task_office", "coordinator_office"),
        # The inbox asks "office = X OR referred_to = X": both sides need an index, or the OR
        # turns into a full scan of every dispute.
        Index("ix_dispute_task_referred_to", "referred_to"),
    )

    workflow_id: str = Field(primary_key=True, max_length=110)
    parties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    filing_dates: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_seq: int = 0
    claim_seq: int = 0
    interim_seq: int = 0


class DisputeTaskPublic(DisputeTaskBase):
    """An inbox row as the console and API return it; ``overdue`` is computed at read time."""

    workflow_id: str
    parties: list[str]
    filing_dates: dict[str, Any]
    due_at: datetime | None
    opened_at: datetime
    updated_at: datetime
    overdue: bool


# Events that change who holds the claim: the newest of them (by sequence) decides.
_CLAIM_EVENTS = {_P + "claimed", _P + "unclaimed", _P + "reassigned", _P + "referred_to_government"}


def project_dispute(session: Session, event: DomainEvent) -> None:
    """Keep the dispute's inbox row current (called by the registry for every new domain event)."""
    if event.process != PROCESS:
        return
    row = session.get(DisputeTask, event.workflow_id)
    if row is None:
        row = DisputeTask(**case_columns(event), updated_seq=0)
        session.add(row)
    payload = event.payload
    if event.type == _P + "opened":
        suggestion = payload.get("suggestion") or {}
        row.kind = payload.get("kind")
        row.title = _text(payload.get("case_title"), 200)
        row.enforcement_case_no = _text(payload.get("enforcement_case_no"), 80)
        row.summary = _text(payload.get("summary"), 4000)
        row.coordinator_office = payload.get("coordinator_office")
        row.suggested_agency = suggestion.get("agency")
        row.suggested_reason = _text(suggestion.get("reason_zh"), 1000)
        row.filing_dates = dict(suggestion.get("filing_dates") or {})
        row.parties = list(payload.get("parties") or row.parties)
    if event.type in _CLAIM_EVENTS and event.seq > row.claim_seq:
        row.claim_seq = event.seq
        if event.type == _P + "claimed":
            row.claimed_by = payload.get("coordinator")
            row.claimed_by_name = _text(payload.get("coordinator_name"), 50)
        elif event.type == _P + "reassigned":
            row.claimed_by = payload.get("to_coordinator")
            row.claimed_by_name = _text(payload.get("to_coordinator_name"), 50)
        else:
            row.claimed_by = None
            row.claimed_by_name = None
    if event.type == _P + "referred_to_government":
        row.referred_to = payload.get("government")
    if event.type == _P + "jurisdiction_designated" or (
        event.type == "case.closed" and payload.get("agency")
    ):
        row.designated_agency = payload.get("agency")
    if event.type == _P + "interim_agency_named" and event.seq > row.interim_seq:
        row.interim_seq = event.seq
        row.interim_agency = payload.get("agency")
    newest = event.seq > row.updated_seq
    if newest:
        row.updated_seq = event.seq
    follow_case(row, event, newest=newest)
    # The generic projection has written this event's deadline row already (same transaction).
    row.due_at = session.exec(
        select(func.min(Deadline.due_at)).where(
            Deadline.workflow_id == event.workflow_id, col(Deadline.status).in_(_LIVE)
        )
    ).one()


PROJECTORS.append(project_dispute)


def list_inbox(
    session: Session,
    *,
    agency: str | None = None,
    state: str | None = None,
    overdue: bool | None = None,
    case_id: str | None = None,
    claimed_by: str | None = None,
    include_closed: bool = False,
    now: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DisputeTaskPublic]:
    """Disputes for the coordinator inbox, soonest due first (rows without a due date last).

    Args:
        session: a read-model session.
        agency: the coordinator's agency: disputes it coordinates or that were referred to it.
        state: only this state (closed states included when asked for by name).
        overdue: True for rows whose next deadline has passed, False for the rest.
        case_id: one dispute's business key.
        claimed_by: a console user id (the "mine" view).
        include_closed: also list agreed, rejected and resolved disputes.
        now: the reference time for ``overdue`` (tests pass one); defaults to the clock.
        limit / offset: paging.

    Raises:
        ValueError: for a non-positive ``limit`` or a negative ``offset``, naming the argument.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    moment = now or datetime.now(UTC)
    query = select(DisputeTask)
    if agency:
        query = query.where(or_(DisputeTask.coordinator_office == agency, DisputeTask.referred_to == agency))
    if state:
        query = query.where(DisputeTask.state == state)
    elif not include_closed:
        query = query.where(col(DisputeTask.state).not_in(sorted(CLOSED_STATES)))
    if case_id:
        query = query.where(DisputeTask.case_id == case_id)
    if claimed_by:
        query = query.where(DisputeTask.claimed_by == claimed_by)
    if overdue is True:
        query = query.where(col(DisputeTask.due_at).is_not(None), col(DisputeTask.due_at) < moment)
    elif overdue is False:
        query = query.where(or_(col(DisputeTask.due_at).is_(None), col(DisputeTask.due_at) >= moment))
    query = (
        query.order_by(
            col(DisputeTask.due_at).is_(None), col(DisputeTask.due_at), col(DisputeTask.workflow_id)
        )
        .offset(offset)
        .limit(limit)
    )
    return [
        DisputeTaskPublic.model_validate(
            {**row.model_dump(), "overdue": row.due_at is not None and row.due_at < moment}
        )
        for row in session.exec(query).all()
    ]


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None
