"""Domain events: what a workflow publishes on ``lawlink.out.<process>.<case_id>`` for every step.

The read model, the notifier and the console learn everything from these; nothing reads the
workflow directly. One model for every process keeps the projection generic: the process-specific
part travels in ``payload``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.common import DomainEventSpec
from contracts.deadline_models import DeadlineInfo


class EntryKind(StrEnum):
    """How a timeline entry came about; the console draws each differently."""

    RECEIVED = "received"  # an agency's event the workflow accepted
    STEP = "step"  # the process moved (opened, decided, closed...)
    DEADLINE = "deadline"  # a time limit was set, met, warned about or breached
    ESCALATION = "escalation"  # a supervisor was called in
    REQUEST = "request"  # someone was asked to act (opinion, review...)


class DomainEvent(BaseModel):
    """One step of one case, as published by its workflow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(description="Unique id; for a RECEIVED entry, the agency's event_id.")
    type: str = Field(examples=["case_transfer.opened", "deadline.breached"])
    occurred_at: AwareDatetime = Field(
        description=(
            "When the step happened: the agency's occurred_at for a received event and the steps "
            "it caused, the true due date for a breach, the answering event's time for a met deadline."
        )
    )
    recorded_at: AwareDatetime | None = Field(
        default=None, description="When the workflow recorded it (agency systems sync late)."
    )
    process: str
    case_id: str
    workflow_id: str
    seq: int = Field(ge=1, description="Position in the workflow's own sequence of domain events.")
    kind: EntryKind
    state: str = Field(description="The process state after this event.")
    actor: str | None = Field(default=None, description="Agency that acted; None for the system.")
    causation_id: str | None = Field(default=None, description="Inbound event_id that caused it.")
    trace: str | None = Field(
        default=None,
        description=(
            "W3C traceparent of the inbound event that caused it: the trace an operator follows "
            "from a timeline row (None for a step no event caused, such as a deadline falling due)."
        ),
    )
    parties: tuple[str, ...] = Field(default=(), description="Agencies involved in the case.")
    closed: bool = Field(default=False, description="True once the process has ended.")
    deadline: DeadlineInfo | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    def msg_id(self) -> str:
        """JetStream de-duplication id: a retried publish activity never publishes twice."""
        return f"{self.workflow_id}:{self.seq}"


class DomainEventBatch(BaseModel):
    """The domain events of one workflow step, published together (in order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: tuple[DomainEvent, ...]


# Types every process emits through the shared deadline and escalation machinery.
COMMON_DOMAIN_EVENTS: tuple[DomainEventSpec, ...] = (
    DomainEventSpec("deadline.set", "时限开始计算", "Deadline set", ("deadline",)),
    DomainEventSpec("deadline.met", "时限事项已办理", "Deadline step done", ("deadline",)),
    DomainEventSpec("deadline.warning", "时限即将届满", "Deadline approaching", ("deadline",)),
    DomainEventSpec("deadline.breached", "已超过时限", "Deadline breached", ("deadline",)),
    DomainEventSpec("deadline.cancelled", "时限不再适用", "Deadline no longer applies", ("deadline",)),
    DomainEventSpec("deadline.lapsed", "期限届满未行使", "Window lapsed unused", ("deadline",)),
    DomainEventSpec("deadline.reminder", "提醒期限已到", "Reminder due", ("deadline",)),
    DomainEventSpec("deadline.recomputed", "时限已按新日历重算", "Deadline recomputed", ("deadline",)),
    DomainEventSpec("escalation.raised", "已提请监督", "Escalated to supervisor", ("escalation",)),
    DomainEventSpec(
        "escalation.withdrawn",
        "超期提请撤回（按时完成、迟报）",
        "Escalation withdrawn (done in time, reported late)",
        ("escalation",),
    ),
    DomainEventSpec("case.closed", "办结", "Closed"),
)
