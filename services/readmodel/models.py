"""The read model's tables: what the console and the API show, rebuilt from domain events.

Nothing here is authoritative: Temporal holds each case's truth, and replaying ``LAWLINK_OUT``
into empty tables rebuilds the same rows (every write is an upsert keyed by event ids and
guarded by the workflow's sequence number, so arrival order does not matter).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the read model")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _tz() -> Any:
    return UTCDateTime()


class CaseBase(SQLModel):
    """Fields of a case every reader sees."""

    process: str = Field(index=True, max_length=40)
    case_id: str = Field(index=True, max_length=64)
    state: str = Field(index=True, max_length=60)
    closed: bool = Field(default=False)
    agency: str | None = Field(default=None, index=True, max_length=40)
    title: str | None = Field(default=None, max_length=200)
    confidential: bool = Field(default=False)


class Case(CaseBase, table=True):
    """One case of one process (``workflow_id`` = ``<process>/<case_id>``)."""

    __tablename__ = "case"
    # The dashboard's counts by process and state read this index alone.
    __table_args__ = (Index("ix_case_process_state", "process", "state"),)

    workflow_id: str = Field(primary_key=True, max_length=110)
    parties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    opened_at: datetime = Field(sa_column=Column(_tz(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(_tz(), nullable=False, index=True))
    last_seq: int = Field(default=0)
    # How many timeline entries the case has: the projection adds one with each entry it writes,
    # and the timeline page's total is read from here.
    events: int = Field(default=0)


class CasePublic(CaseBase):
    """A case as the API returns it."""

    workflow_id: str
    parties: list[str]
    opened_at: datetime
    updated_at: datetime
    events: int


class TimelineEntryBase(SQLModel):
    """One event of a case's timeline, inbound (received) or a step of the workflow."""

    workflow_id: str = Field(max_length=110)
    process: str = Field(max_length=40)
    case_id: str = Field(max_length=64)
    seq: int
    type: str = Field(max_length=80)
    kind: str = Field(max_length=20)
    actor: str | None = Field(default=None, max_length=40)
    state: str = Field(max_length=60)
    causation_id: str | None = Field(default=None, max_length=64)
    # The trace of the agency event behind the row (32 hex digits of its W3C traceparent).
    trace_id: str | None = Field(default=None, max_length=32)


class TimelineEntry(TimelineEntryBase, table=True):
    """Keyed by ``event_id``: the same event projected twice is one row."""

    __tablename__ = "timeline_entry"
    __table_args__ = (
        Index("ix_timeline_entry_case", "case_id", "occurred_at", "seq", "process"),
        Index("ix_timeline_entry_workflow", "workflow_id", "seq"),
        # The statistics count events of given types in a period (services/statistics).
        Index("ix_timeline_entry_type_time", "type", "occurred_at"),
        # The dashboard counts the last 24 hours' entries by hour.
        Index("ix_timeline_entry_occurred", "occurred_at"),
    )

    event_id: str = Field(primary_key=True, max_length=64)
    occurred_at: datetime = Field(sa_column=Column(_tz(), nullable=False))
    recorded_at: datetime | None = Field(default=None, sa_column=Column(_tz(), nullable=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TimelineEntryPublic(TimelineEntryBase):
    """A timeline entry as the API returns it, with human labels."""

    event_id: str
    occurred_at: datetime
    recorded_at: datetime | None = None
    payload: dict[str, Any]
    label_zh: str
    label_en: str


class DeadlineBase(SQLModel):
    """A statutory time limit of a case, as last reported by its workflow."""

    workflow_id: str = Field(max_length=110)
    process: str = Field(max_length=40)
    case_id: str = Field(max_length=64)
    deadline_id: str = Field(max_length=120)
    rule: str = Field(max_length=80)
    label_zh: str = Field(max_length=120)
    label_en: str = Field(max_length=160)
    source: str = Field(max_length=200)
    party: str | None = Field(default=None, max_length=40)
    counting: str = Field(max_length=20)
    length: int
    provisional: bool = False
    status: str = Field(max_length=20)
    warned: bool = False
    nature: str = Field(default="duty", max_length=20)
    anchor: str = Field(default="occurred_at", max_length=40)
    late_seconds: int | None = None
    # The breach history survives the step done late or the deadline cancelled: ``status``
    # says where the deadline stands now, these say whether it was ever breached. A breach the
    # step's own date disproved (done in time, reported late) is withdrawn and does not count.
    ever_breached: bool = False
    breach_withdrawn: bool = False


class Deadline(DeadlineBase, table=True):
    """Keyed by workflow and deadline id; ``updated_seq`` keeps the newest report."""

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("workflow_id", "deadline_id", name="uq_deadline_workflow_deadline"),
        # (status, due_at) for the open-deadline lists; the other columns let the statistics
        # count a year of deadlines by month from this index alone (SQLite picks it for them).
        Index("ix_deadline_open_due", "status", "due_at", "nature", "ever_breached", "rule", "party"),
        Index("ix_deadline_party_status", "party", "status"),
        Index("ix_deadline_case", "case_id"),
        # The statistics count duties by due date, a rule's steps by when they were done, and
        # an agency's deadlines by due date (services/statistics). The first two carry every
        # column those counts group by, so a year of monthly counts is read from the index alone.
        Index("ix_deadline_nature_due", "nature", "due_at", "status", "ever_breached", "rule", "party"),
        Index("ix_deadline_rule_met", "rule", "met_at", "status", "ever_breached", "party"),
        Index("ix_deadline_party_due", "party", "due_at"),
    )

    id: str = Field(primary_key=True, max_length=240)
    starts_at: datetime = Field(sa_column=Column(_tz(), nullable=False))
    due_at: datetime = Field(sa_column=Column(_tz(), nullable=False))
    warn_at: datetime | None = Field(default=None, sa_column=Column(_tz(), nullable=True))
    met_at: datetime | None = Field(default=None, sa_column=Column(_tz(), nullable=True))
    breached_at: datetime | None = Field(default=None, sa_column=Column(_tz(), nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(_tz(), nullable=True))
    escalate_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_seq: int = 0


class DeadlinePublic(DeadlineBase):
    """A deadline as the API returns it."""

    starts_at: datetime
    due_at: datetime
    warn_at: datetime | None
    met_at: datetime | None = None
    breached_at: datetime | None = None
    cancelled_at: datetime | None = None
    escalate_to: list[str]


class DeadLetterBase(SQLModel):
    """An inbound message intake gave up on after its last delivery."""

    stream_seq: int = Field(index=True, unique=True)
    subject: str = Field(max_length=200)
    deliveries: int
    last_error: str | None = Field(default=None, max_length=2000)
    event_id: str | None = Field(default=None, max_length=64)
    replay_count: int = 0


class DeadLetter(DeadLetterBase, table=True):
    """The message body is kept so an operator can replay it after fixing the cause."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    body: str
    recorded_at: datetime = Field(sa_column=Column(_tz(), nullable=False))
    replayed_at: datetime | None = Field(default=None, sa_column=Column(_tz(), nullable=True))


class DeadLetterPublic(DeadLetterBase):
    """A dead letter as the API returns it."""

    id: int
    body: str
    recorded_at: datetime
    replayed_at: datetime | None


class ServiceAuditEntry(SQLModel, table=True):
    """Who changed state through the registry's or the notifier's API: the service its
    credential proves and the person it acted for (``X-Lawlink-Actor``)."""

    __tablename__ = "service_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(_tz(), nullable=False, index=True))
    server: str = Field(max_length=20)
    service: str = Field(max_length=40)
    actor: str = Field(max_length=80)
    action: str = Field(max_length=40)
    target: str = Field(max_length=200)
    outcome: str = Field(max_length=20)
    detail: str | None = Field(default=None, max_length=500)
