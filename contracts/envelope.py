"""The one JSON envelope every inbound message travels in (DESIGN.md, "The event contract").

The envelope is validated strictly and on its own, before the payload: a sender that gets the
envelope wrong learns which envelope field is wrong, and one that gets the payload wrong learns
the payload field (``payload.<name>``), never a stack trace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

CASE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
AGENCY_ID_PATTERN = r"^[a-z0-9-]{2,40}$"
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class Envelope(BaseModel):
    """An agency's event: what happened, to which case, sent by whom."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    event_id: UUID = Field(
        description="UUID chosen by the sender; the idempotency key everywhere.",
        examples=["5f0c6a52-8a0e-4f43-9a43-6b1f1d2f6a01"],
    )
    type: str = Field(
        pattern=EVENT_TYPE_PATTERN,
        description="<process>.<step>, one payload model per type.",
        examples=["case_transfer.crime_suspected"],
    )
    occurred_at: AwareDatetime = Field(
        description="RFC 3339 with offset (Asia/Shanghai in examples).",
        examples=["2026-11-20T09:30:00+08:00"],
    )
    source_agency: str = Field(
        pattern=AGENCY_ID_PATTERN,
        description="Agency id; must match the agency token of the subject.",
        examples=["rz-scjgj"],
    )
    case_id: str = Field(
        pattern=CASE_ID_PATTERN,
        description="ASCII business key of the case, dispute, referral or delegation.",
        examples=["RZSC-2026-0015"],
    )
    schema_version: int = Field(ge=1, description="Version of the payload model.", examples=[1])
    payload: dict[str, Any] = Field(description="The type's own payload model.")
    trace: str | None = Field(
        default=None,
        pattern=TRACEPARENT_PATTERN,
        description="Optional W3C traceparent.",
    )

    @field_validator("event_id")
    @classmethod
    def _not_nil(cls, value: UUID) -> UUID:
        """Refuse the nil UUID: it is what a sender's unset field defaults to, and as the
        idempotency key it would make every later event reusing it vanish as a duplicate."""
        if value.int == 0:
            raise ValueError("the nil UUID (all zeros) is not an event id; generate a random UUID")
        return value

    def occurred(self) -> datetime:
        """The event time as a datetime (a readable accessor for workflow code)."""
        return self.occurred_at
