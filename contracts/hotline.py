"""Events from the 12345 government service hotline (日照市12345政务服务便民热线, ``rz-12345``).

Only one event enters Lawlink: a complaint whose category points to misconduct in enforcement.
It proposes a discipline referral (process 3): the workflow ``discipline_referral/<case_id>``
opens in state ``proposed`` and the justice bureau of the complained-about agency confirms it
(``discipline_referral.clue_identified`` with ``proposal_id`` = the case id) or dismisses it.

Decision on other categories: they are **refused at intake** with a clear reason naming
``payload.category``, not accepted-and-ignored. A refusal tells the hotline's system at once that
Lawlink is the wrong place (its own dispatch handles them), creates no empty confidential case,
and never puts a citizen's complaint into a store it does not belong in.

The complaint's content (complainant, the facts) is confidential like every clue: nothing of the
payload goes on ``lawlink.out``; the content consumer stores it encrypted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from contracts.agencies import AgencyKind, get_agency
from contracts.common import EventSpec, Payload
from contracts.envelope import AGENCY_ID_PATTERN

PROCESS = "hotline"
CONFIDENTIAL = True


class ComplaintCategory(StrEnum):
    """The hotline's own work-order categories (a subset of its taxonomy relevant here)."""

    ENFORCEMENT_ABUSE = "enforcement_abuse"  # 执法人员滥用职权、乱罚款
    ENFORCEMENT_NEGLECT = "enforcement_neglect"  # 执法不作为、慢作为
    ENFORCEMENT_FAVOURITISM = "enforcement_favouritism"  # 执法人员徇私、以罚代刑
    CONSULTATION = "consultation"  # 政策咨询
    PUBLIC_SERVICE = "public_service"  # 公共服务诉求
    MARKET_ORDER = "market_order"  # 市场秩序（对企业的投诉）
    ENVIRONMENT = "environment"  # 生态环境（对污染的投诉）
    OTHER = "other"


ENFORCEMENT_MISCONDUCT: frozenset[ComplaintCategory] = frozenset(
    {
        ComplaintCategory.ENFORCEMENT_ABUSE,
        ComplaintCategory.ENFORCEMENT_NEGLECT,
        ComplaintCategory.ENFORCEMENT_FAVOURITISM,
    }
)
"""Categories that point to an official's misconduct in enforcement: the only ones taken."""


class Complainant(Payload):
    """Who called (content: never on the bus)."""

    name: str | None = Field(default=None, max_length=50, description="来电人（可匿名）")
    phone: str | None = Field(default=None, max_length=30)
    anonymous: bool = False


class ComplaintReceived(Payload):
    """A 12345 work order about enforcement misconduct (proposes a discipline referral)."""

    ticket_no: str = Field(
        min_length=1, max_length=40, description="12345工单号", examples=["RZ12345-20261120-0087"]
    )
    category: ComplaintCategory
    received_at: AwareDatetime = Field(description="来电时间")
    subject_agency: str = Field(pattern=AGENCY_ID_PATTERN, description="被投诉的执法机关")
    complainant: Complainant
    official_description: str | None = Field(default=None, max_length=500, description="被投诉人员描述")
    summary: str = Field(min_length=1, max_length=8000, description="诉求内容")

    @field_validator("category")
    @classmethod
    def _misconduct_only(cls, value: ComplaintCategory) -> ComplaintCategory:
        if value not in ENFORCEMENT_MISCONDUCT:
            allowed = ", ".join(sorted(c.value for c in ENFORCEMENT_MISCONDUCT))
            raise ValueError(
                f"category {value.value!r} does not point to enforcement misconduct, so it is not "
                f"referred to discipline inspection (handled by the hotline's own dispatch); "
                f"Lawlink takes only: {allowed}"
            )
        return value

    @field_validator("subject_agency")
    @classmethod
    def _enforcement_agency(cls, value: str) -> str:
        agency = get_agency(value)
        if agency is None:
            raise ValueError(f"unknown agency {value!r}")
        if agency.kind not in (AgencyKind.ADMINISTRATIVE, AgencyKind.TOWNSHIP, AgencyKind.POLICE):
            raise ValueError(f"{value!r} is a {agency.kind.value} agency, not an enforcement agency")
        return value

    @model_validator(mode="after")
    def _anonymous(self) -> Self:
        if self.complainant.anonymous and (self.complainant.name or self.complainant.phone):
            raise ValueError("complainant: an anonymous complainant carries no name or phone")
        return self

    def received(self) -> datetime:
        """When the call came in (a readable accessor for workflow code)."""
        return self.received_at


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "hotline.complaint_received",
        ComplaintReceived,
        frozenset({AgencyKind.GOVERNMENT}),
        opens=True,
        label_zh="12345热线执法投诉",
        label_en="12345 hotline complaint about enforcement",
        workflow_process="discipline_referral",
        valid_in=frozenset({"new"}),
        leads_to=frozenset({"proposed"}),
    ),
)

DOMAIN_EVENTS: tuple = ()
