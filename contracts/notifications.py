"""The notification an agency receives on ``lawlink.notify.<agency>`` and by webhook.

One model for every process, so an agency's system parses one shape. Texts come in zh-CN with
an English twin; the due date travels both as data (``due_at``, ``counting``, ``provisional``)
and inside the texts, so a system that only shows text still shows the limit.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.recipients import Reason

REASON_RANK: dict[Reason, int] = {Reason.ACT: 0, Reason.SUPERVISE: 1, Reason.COORDINATE: 2, Reason.INFORM: 3}

REASON_LABELS: dict[Reason, tuple[str, str]] = {
    Reason.ACT: ("须办理", "Action required"),
    Reason.SUPERVISE: ("监督", "Supervision"),
    Reason.COORDINATE: ("协调", "Coordination"),
    Reason.INFORM: ("知悉", "For information"),
}


class Audience(StrEnum):
    """Which console users of the recipient agency the bell shows it to (see queries.ROLE_SEES)."""

    AGENCY_OFFICER = "agency_officer"
    COORDINATOR = "coordinator"
    DISCIPLINE_OFFICER = "discipline_officer"


class Notification(BaseModel):
    """What one agency must know about one domain event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notification_id: str = Field(
        description="<domain_event_id>:<recipient>; the Nats-Msg-Id and the idempotency key for receivers.",
        examples=["5f0c6a52-8a0e-4f43-9a43-6b1f1d2f6a01:rz-scjgj"],
    )
    recipient: str = Field(description="Agency id the notification is for.", examples=["rz-scjgj"])
    reason: Reason
    audience: Audience
    domain_event_id: str
    event_type: str = Field(examples=["deadline.warning"])
    process: str = Field(examples=["case_transfer"])
    case_id: str = Field(examples=["RZSC-2026-0015"])
    workflow_id: str
    seq: int
    occurred_at: AwareDatetime
    state: str = Field(description="The process state after the event.")
    actor: str | None = None
    title_zh: str = Field(description="What happened (zh-CN).")
    title_en: str = Field(description="What happened (English).")
    action_zh: str | None = Field(default=None, description="What the recipient must do (zh-CN).")
    action_en: str | None = Field(default=None, description="What the recipient must do (English).")
    deadline_id: str | None = None
    deadline_rule: str | None = None
    deadline_label_zh: str | None = None
    deadline_label_en: str | None = None
    due_at: AwareDatetime | None = Field(default=None, description="First instant after the limit.")
    counting: str | None = Field(default=None, examples=["calendar_days", "working_days", "hours"])
    provisional: bool | None = Field(
        default=None, description="True when the due date rests on a year without an official calendar."
    )
    link: str = Field(description="Console page of the case.")
    confidential: bool = Field(default=False, description="True: ids and states only, no content.")
    case_title: str | None = Field(default=None, description="Never set for confidential processes.")
