"""The deadline as the outside world sees it (domain events, read model, console)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict


class DeadlineStatus(StrEnum):
    """Where a deadline stands."""

    OPEN = "open"
    MET = "met"
    BREACHED = "breached"  # fell due without the step; still open for the late decision
    CANCELLED = "cancelled"


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
