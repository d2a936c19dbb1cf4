"""Inputs, results and query answers of the case workflows (one model each, so fields can be
added later without breaking running histories)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.deadline_models import DeadlineInfo
from contracts.envelope import Envelope


def workflow_id(process: str, case_id: str) -> str:
    """A case's workflow id: ``<process>/<case_id>`` (starting twice finds the one that runs;
    every service that names a case's workflow or partitions by case uses this)."""
    return f"{process}/{case_id}"


class YearScheduleIn(BaseModel):
    """A year's official holiday schedule, loaded by an operator (``lawlink calendar load``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    holidays: tuple[str, ...]
    workdays: tuple[str, ...]


class CaseStart(BaseModel):
    """How a case workflow starts (and continues as new).

    ``rule_settings`` holds the operator's ``LAWLINK_RULE_*`` overrides as intake saw them, so
    every replay of the workflow computes the same deadlines.
    """

    model_config = ConfigDict(extra="forbid")

    process: str
    case_id: str
    rule_settings: dict[str, str] = Field(default_factory=dict)
    calendar: tuple[YearScheduleIn, ...] = ()
    carry: dict[str, Any] | None = Field(
        default=None, description="Live state carried across continue-as-new."
    )
    opening: Envelope | None = Field(
        default=None,
        description=(
            "The event that opens the case, taken as the run's first step; intake starts every "
            "case with it. Optional because a run continued as new has none (its state, opening "
            "included, is in carry), and a run started without it takes its opening event later, "
            "as the submit signal or the receive Update."
        ),
    )


class ReceiveResult(BaseModel):
    """What intake learns when a workflow took an agency's event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accepted: bool
    duplicate: bool
    state: str


class HistoryItem(BaseModel):
    """One line of a case's own history, as its workflow remembers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int
    type: str
    at: AwareDatetime
    actor: str | None
    state: str


class CaseStatus(BaseModel):
    """The answer of a workflow's ``status`` query."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    process: str
    case_id: str
    state: str
    closed: bool
    open_deadlines: tuple[DeadlineInfo, ...]
    history: tuple[HistoryItem, ...]
    data: dict[str, Any] = Field(default_factory=dict)
