"""Building blocks shared by the payload models of every process."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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

# Every list in a payload has a ceiling: a workflow republishes what it was given (and keeps it
# in its state), so an unbounded list could make a domain event the bus refuses. The ceilings
# are far above what a real case holds (an art. 6 transfer lists a handful of documents).
MAX_ATTACHMENTS = 50
MAX_OFFICERS = 20
MAX_AGENCIES = 20  # parties, signatories, agencies consulted: a dispute has a few


def distinct_officers(officers: list[Officer]) -> list[Officer]:
    """Refuse an officer listed twice: "at least two officers" means two different people.

    People are told apart by their certificate number (执法证号), the one id an officer has.
    """
    numbers = [o.certificate_no for o in officers]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise ValueError(
            f"certificate_no {', '.join(repeated)} is listed more than once; name each officer once"
        )
    return officers


Officers = Annotated[list[Officer], AfterValidator(distinct_officers)]
"""A list of distinct officers; give its length bounds with ``Field`` where it is used."""


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
        valid_in: the states of the case in which the step may happen (an opening step: the
            state before anything happened); the workflow refuses it in any other.
        party: which parties of this case may send it, by the name of the role the workflow
            keeps (``agency``: the agency that opened it, ``police``, ``procuratorate``,
            ``parties``: any party...). Empty: any agency of an allowed kind, with the checks a
            table cannot say left to the workflow's handler.
        leads_to: the states the step may bring the case to (besides leaving it where it is).
    """

    type: str
    payload: type[Payload]
    senders: frozenset[AgencyKind]
    opens: bool = False
    label_zh: str = ""
    label_en: str = ""
    schema_version: int = 1
    workflow_process: str | None = None
    valid_in: frozenset[str] = frozenset()
    party: tuple[str, ...] = ()
    leads_to: frozenset[str] = frozenset()

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
