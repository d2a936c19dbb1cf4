"""The deadline as the outside world sees it (domain events, read model, console)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class DeadlineStatus(StrEnum):
    """Where a deadline stands."""

    OPEN = "open"
    MET = "met"
    BREACHED = "breached"  # a duty fell due without the step; still open for the late decision
    CANCELLED = "cancelled"
    LAPSED = "lapsed"  # a window (a right a party may use) ended unused; nobody's fault
    REMINDED = "reminded"  # a reminder fell due and was sent; still open, never a breach


class DeadlineInfo(BaseModel):
    """One statutory time limit of one case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline_id: str
    rule: str
    label_zh: str
    label_en: str
    source: str
    party: str | None
    starts_at: AwareDatetime
    due_at: AwareDatetime
    warn_at: AwareDatetime | None
    counting: str
    length: int
    provisional: bool
    status: DeadlineStatus
    escalate_to: tuple[str, ...] = ()
    nature: str = Field(default="duty", description="duty (breach, escalated), window (lapses) or reminder.")
    anchor: str = Field(
        default="occurred_at",
        description="What starts_at is: the opening event's occurred_at or the payload date named here.",
    )
    met_at: AwareDatetime | None = Field(default=None, description="When the step that met it happened.")
    late_seconds: int | None = Field(
        default=None, description="How late the step was (0 or more when met; None while not met)."
    )
