"""Building blocks shared by the payload models of every process."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from contracts.agencies import AgencyKind
from contracts.envelope import AGENCY_ID_PATTERN


class Payload(BaseModel):
    """Base of every payload: unknown fields are refused so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Officer(Payload):
    """An enforcement officer named in an event (law-enforcement certificate number included)."""

    name: str = Field(min_length=1, max_length=50, examples=["王磊"])
    certificate_no: str = Field(
        min_length=4, max_length=40, description="执法证号", examples=["37110020260015"]
    )


class AttachmentKind(StrEnum):
    """What a referenced document is."""

    TRANSFER_LETTER = "transfer_letter"
    INVESTIGATION_REPORT = "investigation_report"
    ITEM_LIST = "item_list"
    EXPERT_REPORT = "expert_report"
    PENALTY_DECISION = "penalty_decision"
    DECISION = "decision"
    OPINION = "opinion"
    EVIDENCE = "evidence"
    OTHER = "other"


class Attachment(Payload):
    """A document by reference: the bytes stay in the agency's system, Lawlink keeps the hash."""

    name: str = Field(min_length=1, max_length=200, examples=["移送书.pdf"])
    kind: AttachmentKind
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    uri: str = Field(min_length=1, max_length=1000, examples=["https://docs.rz.example/cases/15/letter.pdf"])


AgencyRef = Field(pattern=AGENCY_ID_PATTERN)


@dataclass(frozen=True)
class EventSpec:
    """What the catalog knows of one inbound event type.

    Attributes:
        type: ``<process>.<step>``.
        payload: the payload model.
        senders: agency kinds allowed to send it (intake refuses the rest).
        opens: True when the event may start the process's workflow.
        label_zh / label_en: what the console and timeline call it.
        schema_version: the newest payload version; older versions stay readable.
        workflow_process: the process that takes it when that is not the type's prefix.
    """

    type: str
    payload: type[Payload]
    senders: frozenset[AgencyKind]
    opens: bool = False
    label_zh: str = ""
    label_en: str = ""
    schema_version: int = 1
    workflow_process: str | None = None

    @property
    def process(self) -> str:
        """The process whose workflow takes the event: its prefix unless ``workflow_process``
        says otherwise (a hotline complaint feeds a discipline referral)."""
        return self.workflow_process or self.type.split(".", 1)[0]


@dataclass(frozen=True)
class DomainEventSpec:
    """What the catalog knows of one outbound domain event type."""

    type: str
    label_zh: str
    label_en: str
    kinds: tuple[str, ...] = field(default=("step",))
