"""Payloads of the reverse path of process 1 (行刑反向衔接, criminal → administrative).

Sources: 最高人民检察院《人民检察院行刑反向衔接工作指引》(2024) for the procuratorate's internal
handover (3 working days) and review (10 working days, extendable once, paused while police ask
for review or a party appeals); 高检发释字〔2021〕4号 for the agency's written reply within 2
months of receiving the procuratorial opinion; 国务院令第310号 art. 13 for police that find no
crime but an administrative violation and return the case "promptly" (default 3 days, a setting).

Two events open the process: the procuratorate's decision not to prosecute, and the police's
finding of no crime. Either names the administrative agency that must handle the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from contracts.agencies import AgencyKind
from contracts.case_transfer import check_agency, require_kinds, require_reasons
from contracts.common import (
    MAX_ATTACHMENTS,
    MAX_OFFICERS,
    Attachment,
    AttachmentKind,
    DomainEventSpec,
    EventSpec,
    Officer,
    Officers,
    Payload,
)
from contracts.envelope import AGENCY_ID_PATTERN
from contracts.process import Clock, Clocks, Process, StateDef
from contracts.recipients import AGENCY_PARTIES, Who, act, inform, payload_agencies
from contracts.time_limits import DAYS, MONTHS, STATE_COUNCIL_310, WORKING_DAYS, Rule, limit

PROCESS = "reverse_transfer"

_AGENCY_SIDE = frozenset({AgencyKind.ADMINISTRATIVE, AgencyKind.TOWNSHIP})
_POLICE = frozenset({AgencyKind.POLICE})
_PROCURATORATE = frozenset({AgencyKind.PROCURATORATE})

DocNo = Field(min_length=1, max_length=80, description="文书文号")


class NonProsecutionDecided(Payload):
    """The procuratorate decides not to prosecute, but an administrative penalty is due."""

    decision_no: str = Field(
        min_length=1, max_length=80, description="不起诉决定书文号", examples=["日东检刑不诉〔2026〕8号"]
    )
    criminal_case_no: str = Field(min_length=1, max_length=80, description="刑事案件编号")
    case_title: str = Field(min_length=1, max_length=200)
    agency: str = Field(pattern=AGENCY_ID_PATTERN, description="应当给予行政处罚的主管机关")
    offence_considered: str = Field(min_length=1, max_length=200, description="审查的罪名")
    administrative_violation: str = Field(min_length=1, max_length=2000, description="涉嫌的行政违法行为")
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @field_validator("agency")
    @classmethod
    def _agency(cls, value: str) -> str:
        return check_agency(value, _AGENCY_SIDE, "the competent agency")


class HandedOver(Payload):
    """The criminal department hands the case to the administrative-procuratorial department."""

    handover_no: str = DocNo
    receiving_department: str = Field(
        min_length=1, max_length=100, description="行政检察部门", examples=["第七检察部"]
    )
    prosecutors: Officers = Field(
        min_length=1, max_length=MAX_OFFICERS, description="承办检察官（检察官证号）"
    )


class PauseReason(StrEnum):
    """Why the review clock stops (2024 guideline)."""

    POLICE_REVIEW = "police_review"  # 公安机关要求复议、提请复核
    PARTY_APPEAL = "party_appeal"  # 被不起诉人或者被害人申诉


class ReviewPaused(Payload):
    """The review stops while police ask for review or a party appeals."""

    reason: PauseReason
    document_no: str = DocNo
    details: str = Field(min_length=1, max_length=2000)


class ReviewResumed(Payload):
    """The review continues: the police review or the appeal has been decided."""

    document_no: str = DocNo
    outcome_of_pause: str = Field(min_length=1, max_length=2000, description="复议/复核/申诉的处理结果")


class ReviewExtended(Payload):
    """The chief procurator extends the review once (10 more working days)."""

    approval_no: str = DocNo
    approved_by: str = Field(min_length=1, max_length=50, description="批准延长的检察长")
    reasons: str = Field(min_length=1, max_length=2000)


class OpinionIssued(Payload):
    """The procuratorial opinion (检察意见书) recommending an administrative penalty."""

    opinion_no: str = Field(min_length=1, max_length=80, description="检察意见书文号")
    agency: str = Field(pattern=AGENCY_ID_PATTERN, description="送达的主管机关")
    recommendation: str = Field(min_length=1, max_length=4000, description="检察意见")
    served_at: AwareDatetime = Field(description="送达时间；两个月答复期限自此起算")
    attachments: list[Attachment] = Field(min_length=1, max_length=MAX_ATTACHMENTS)

    @field_validator("agency")
    @classmethod
    def _agency(cls, value: str) -> str:
        return check_agency(value, _AGENCY_SIDE, "the addressee")

    @model_validator(mode="after")
    def _opinion_attached(self) -> Self:
        require_kinds(self.attachments, (AttachmentKind.OPINION,), "the procuratorial opinion itself")
        return self


class ReviewEnded(Payload):
    """The review ends without an opinion (no penalty due, or another body already acted)."""

    document_no: str = DocNo
    reasons: str = Field(min_length=1, max_length=4000)


class ReplyAdoption(StrEnum):
    """How the agency answered the opinion."""

    ADOPTED = "adopted"  # 采纳，已作出行政处罚
    PARTLY_ADOPTED = "partly_adopted"
    NOT_ADOPTED = "not_adopted"  # 不采纳（须说明理由）


class AgencyReplied(Payload):
    """The agency's written reply to the opinion (2 months, 高检发释字〔2021〕4号)."""

    reply_no: str = DocNo
    adoption: ReplyAdoption
    penalty_decision_no: str | None = Field(default=None, max_length=80)
    measures: str = Field(min_length=1, max_length=4000, description="处理情况")
    reasons: str | None = Field(default=None, min_length=1, max_length=4000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        require_reasons(
            self.adoption is not ReplyAdoption.ADOPTED, self.reasons, "the opinion is not fully adopted"
        )
        if self.adoption is ReplyAdoption.ADOPTED and not self.penalty_decision_no:
            raise ValueError("penalty_decision_no: required when the opinion is adopted")
        return self


class PoliceNoCrimeFound(Payload):
    """Police find no crime but an administrative violation (art. 13): the case goes back."""

    decision_no: str = Field(min_length=1, max_length=80, description="撤销案件/不予立案决定书文号")
    case_title: str = Field(min_length=1, max_length=200)
    agency: str = Field(pattern=AGENCY_ID_PATTERN, description="应当移回的行政执法机关")
    administrative_violation: str = Field(min_length=1, max_length=2000)
    reasons: str = Field(min_length=1, max_length=4000)

    @field_validator("agency")
    @classmethod
    def _agency(cls, value: str) -> str:
        return check_agency(value, _AGENCY_SIDE, "the agency the case returns to")


class PoliceReturned(Payload):
    """The police send the case file back to the agency."""

    return_letter_no: str = DocNo
    attachments: list[Attachment] = Field(min_length=1, max_length=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _item_list(self) -> Self:
        require_kinds(self.attachments, (AttachmentKind.ITEM_LIST,), "the list of what is returned")
        return self


class AgencyAccepted(Payload):
    """The agency accepts the returned case into its own administrative procedure."""

    acceptance_no: str = DocNo
    enforcement_case_no: str = Field(min_length=1, max_length=80, description="行政执法案件文号")
    received_by: Officer


class ReviewClock(Payload):
    """Payload of the pause/resume domain events: how much review time is left and why."""

    rule: str
    used_working_days: int = Field(ge=0)
    remaining_working_days: int = Field(ge=0)
    reason: str | None = None
    due_at: datetime | None = None


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "reverse_transfer.non_prosecution_decided",
        NonProsecutionDecided,
        _PROCURATORATE,
        opens=True,
        label_zh="检察院作出不起诉决定（需行政处罚）",
        label_en="Non-prosecution decided, penalty due",
        valid_in=frozenset({"new"}),
        leads_to=frozenset({"handover_pending"}),
    ),
    EventSpec(
        "reverse_transfer.handed_over",
        HandedOver,
        _PROCURATORATE,
        label_zh="移交行政检察部门",
        label_en="Handed to the administrative-procuratorial department",
        valid_in=frozenset({"handover_pending"}),
        party=("procuratorate",),
        leads_to=frozenset({"under_review"}),
    ),
    EventSpec(
        "reverse_transfer.review_paused",
        ReviewPaused,
        _PROCURATORATE,
        label_zh="审查中止（复议复核或申诉）",
        label_en="Review paused",
        valid_in=frozenset({"under_review"}),
        party=("procuratorate",),
        leads_to=frozenset({"paused"}),
    ),
    EventSpec(
        "reverse_transfer.review_resumed",
        ReviewResumed,
        _PROCURATORATE,
        label_zh="恢复审查",
        label_en="Review resumed",
        valid_in=frozenset({"paused"}),
        party=("procuratorate",),
        leads_to=frozenset({"under_review"}),
    ),
    EventSpec(
        "reverse_transfer.review_extended",
        ReviewExtended,
        _PROCURATORATE,
        label_zh="经检察长批准延长审查期限",
        label_en="Review extended by the chief procurator",
        valid_in=frozenset({"paused", "under_review"}),
        party=("procuratorate",),
    ),
    EventSpec(
        "reverse_transfer.opinion_issued",
        OpinionIssued,
        _PROCURATORATE,
        label_zh="制发检察意见书",
        label_en="Procuratorial opinion issued",
        valid_in=frozenset({"under_review"}),
        party=("procuratorate",),
        leads_to=frozenset({"awaiting_reply"}),
    ),
    EventSpec(
        "reverse_transfer.review_ended",
        ReviewEnded,
        _PROCURATORATE,
        label_zh="终结审查",
        label_en="Review ended without opinion",
        valid_in=frozenset({"paused", "under_review"}),
        party=("procuratorate",),
        leads_to=frozenset({"review_ended"}),
    ),
    EventSpec(
        "reverse_transfer.agency_replied",
        AgencyReplied,
        _AGENCY_SIDE,
        label_zh="主管机关书面回复",
        label_en="Agency replied in writing",
        valid_in=frozenset({"awaiting_reply"}),
        party=("agency",),
        leads_to=frozenset({"replied"}),
    ),
    EventSpec(
        "reverse_transfer.police_no_crime_found",
        PoliceNoCrimeFound,
        _POLICE,
        opens=True,
        label_zh="公安机关认为不构成犯罪但应予行政处罚",
        label_en="Police found no crime but a violation",
        valid_in=frozenset({"new"}),
        leads_to=frozenset({"return_pending"}),
    ),
    EventSpec(
        "reverse_transfer.police_returned",
        PoliceReturned,
        _POLICE,
        label_zh="公安机关移回案件",
        label_en="Police returned the case",
        valid_in=frozenset({"return_pending"}),
        party=("police",),
        leads_to=frozenset({"awaiting_acceptance"}),
    ),
    EventSpec(
        "reverse_transfer.agency_accepted",
        AgencyAccepted,
        _AGENCY_SIDE,
        label_zh="行政执法机关接收案件",
        label_en="Agency accepted the returned case",
        valid_in=frozenset({"awaiting_acceptance"}),
        party=("agency",),
        leads_to=frozenset({"accepted"}),
    ),
)

# fmt: off
DOMAIN_EVENTS: tuple[DomainEventSpec, ...] = (
    DomainEventSpec("reverse_transfer.opened", "反向移送程序启动", "Reverse transfer opened"),
    DomainEventSpec("reverse_transfer.under_review", "行政检察部门审查中", "Under administrative-procuratorial review"),
    DomainEventSpec("reverse_transfer.clock_paused", "审查期限中止计算", "Review clock paused"),
    DomainEventSpec("reverse_transfer.clock_resumed", "审查期限恢复计算", "Review clock resumed"),
    DomainEventSpec("reverse_transfer.clock_extended", "审查期限已延长", "Review clock extended"),
    DomainEventSpec("reverse_transfer.awaiting_reply", "等待主管机关书面回复", "Awaiting the agency's written reply"),
    DomainEventSpec("reverse_transfer.return_pending", "等待公安机关移回案件", "Awaiting the police's return of the case"),
    DomainEventSpec("reverse_transfer.awaiting_acceptance", "等待行政执法机关接收", "Awaiting the agency's acceptance"),
)
# fmt: on

STATES: tuple[StateDef, ...] = (
    StateDef("new", "新建", "new"),
    StateDef("handover_pending", "待检察机关内部移交", "awaiting the internal handover"),
    StateDef("under_review", "审查中（是否提出检察意见）", "under review"),
    StateDef("paused", "审查中止", "review paused"),
    StateDef(
        "awaiting_reply", "已提出检察意见，待行政机关回复", "opinion issued, awaiting the agency's reply"
    ),
    StateDef("return_pending", "公安机关待移回行政机关", "awaiting return by the police"),
    StateDef("awaiting_acceptance", "已移回，待行政机关接收", "returned, awaiting the agency's acceptance"),
    StateDef("replied", "行政机关已回复", "the agency replied", closed=True),
    StateDef("review_ended", "审查终结", "review ended", closed=True),
    StateDef("accepted", "行政机关已接收", "accepted by the agency", closed=True),
)

SPP_REVERSE = "最高人民检察院《人民检察院行刑反向衔接工作指引》(2024)"

# The time limits of this process, one row per limit with the source that fixes it.
# fmt: off
RULES: tuple[Rule, ...] = (
    limit("reverse_transfer.internal_handover", SPP_REVERSE, 3, WORKING_DAYS,
        "刑事检察部门移交行政检察部门",
        "Criminal department hands the case to the administrative-procuratorial department"),
    limit("reverse_transfer.review", SPP_REVERSE, 10, WORKING_DAYS,
        "行政检察部门审查", "Administrative-procuratorial review"),
    limit("reverse_transfer.review_extension", f"{SPP_REVERSE}(经检察长批准延长一次)", 10, WORKING_DAYS,
        "审查期限延长", "Review extension (once, approved by the chief procurator)",
        anchor="review_last_day"),
    limit("reverse_transfer.agency_reply", "高检发释字〔2021〕4号", 2, MONTHS,
        "主管机关书面回复检察意见", "Agency replies in writing to the procuratorial opinion",
        anchor="served_at"),
    limit("reverse_transfer.police_return", f"{STATE_COUNCIL_310} 第13条(“及时”；默认3日)", 3, DAYS,
        "公安机关将案件移回行政执法机关", "Police return the case to the agency", True),
)
# fmt: on

# Who is told of each of its domain events and steps, and what they must do.
# fmt: off
TELLS: Mapping[str, tuple[Who, ...]] = MappingProxyType({
    # ----- 1b. reverse_transfer (刑事 → 行政) -----
    # Every agency event is followed by a step event or case.closed; those notify.
    "reverse_transfer.non_prosecution_decided": (),
    "reverse_transfer.handed_over": (),
    "reverse_transfer.review_paused": (),
    "reverse_transfer.review_resumed": (),
    "reverse_transfer.review_extended": (),
    "reverse_transfer.opinion_issued": (),
    "reverse_transfer.review_ended": (),
    "reverse_transfer.agency_replied": (),
    "reverse_transfer.police_no_crime_found": (),
    "reverse_transfer.police_returned": (),
    "reverse_transfer.agency_accepted": (),
    "reverse_transfer.opened": (inform(payload_agencies("agency"), "案件将移交贵单位依法作出行政处理",
                                       "The case is coming to you for an administrative decision"),),
    # The procuratorate's internal review clock: its own deadline events tell it everything.
    "reverse_transfer.under_review": (),
    "reverse_transfer.clock_paused": (),
    "reverse_transfer.clock_resumed": (),
    "reverse_transfer.clock_extended": (),
    # The agency's reply deadline.set (2 months) and the police's return deadline.set ask them.
    "reverse_transfer.awaiting_reply": (),
    "reverse_transfer.return_pending": (),
    "reverse_transfer.awaiting_acceptance": (act(AGENCY_PARTIES, "公安机关已移回案件，请接收并依法处理",
                                                 "The police returned the case; accept it and handle it"),),
})
# fmt: on

# What each step does to the time limits. The procuratorate's own review escalates to itself
# (its leadership sees its dashboard); the agency's reply to the procuratorate and the justice
# bureau; the police's return to the procuratorate that supervises them.
_R = "reverse_transfer."
_REVIEW = ("procuratorate", ("procuratorate",))
# fmt: off
CLOCKS: Mapping[str, Clocks] = MappingProxyType({
    _R + "non_prosecution_decided": Clocks(starts=(Clock(_R + "internal_handover", *_REVIEW),)),
    _R + "handed_over": Clocks(meets=(_R + "internal_handover",), starts=(Clock(_R + "review", *_REVIEW),)),
    # The remaining working days run again from the resumption (or from the current last day
    # for an extension): the workflow computes the start.
    _R + "review_resumed": Clocks(starts=(
        Clock(_R + "review", *_REVIEW, by_handler=True), Clock(_R + "review_extension", *_REVIEW, by_handler=True))),
    _R + "review_extended": Clocks(starts=(Clock(_R + "review_extension", *_REVIEW, by_handler=True),)),
    _R + "opinion_issued": Clocks(
        meets=(_R + "review", _R + "review_extension"),
        starts=(Clock(_R + "agency_reply", "agency", ("procuratorate", "justice_bureau")),)),
    _R + "agency_replied": Clocks(meets=(_R + "agency_reply",)),
    _R + "police_no_crime_found": Clocks(
        starts=(Clock(_R + "police_return", "police", ("supervising_procuratorate",)),)),
    _R + "police_returned": Clocks(meets=(_R + "police_return",)),
})
# fmt: on

DEFINITION = Process(
    name=PROCESS,
    label_zh="行刑反向衔接",
    label_en="Criminal-to-administrative transfer",
    short_en="Reverse transfer",
    workflow="ReverseTransfer",
    states=STATES,
    steps=EVENTS,
    tells=TELLS,
    clocks=CLOCKS,
    rules=RULES,
    domain_events=DOMAIN_EVENTS,
    sources=(
        "最高人民检察院《人民检察院行刑反向衔接工作指引》(2024)",
        "高检发释字〔2021〕4号",
        "国务院令第310号 第13条",
    ),
)
