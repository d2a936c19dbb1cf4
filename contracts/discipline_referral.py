"""Payloads of process 3, referral of problem clues to discipline inspection (移送纪检监察机关).

Sources: 监察法 arts. 34, 37, 38; 监察法实施条例 arts. 169, 171, 172; 国务院令第310号 arts. 18-19;
the CCDI rules on handling problem clues (谈话函询, 初步核实, 暂存待查, 予以了结).

Confidential (DESIGN.md, security): the inbound payloads below carry the clue's content (who,
what, the evidence), which agencies send on their own ``lawlink.in.<agency>.>`` subjects. The
workflow publishes on ``lawlink.out`` only the fields named in :data:`PUBLIC_FIELDS` (ids, kinds
and dates); everything else reaches the read model only encrypted, through
``services/discipline``'s content consumer, and is shown only under the need-to-know rule.

Checks that need only the message (a decline without reasons, an escalation without its
proposal id, a commission id that is not a discipline commission) live here, so intake refuses
them before a workflow sees them. Rejection messages never echo the content.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Self

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator, model_validator

from contracts import hotline
from contracts.agencies import Agency, AgencyKind, AgencyLevel, get_agency, supervisor_of
from contracts.common import MAX_ATTACHMENTS, Attachment, DomainEventSpec, EventSpec, Payload
from contracts.envelope import AGENCY_ID_PATTERN, CASE_ID_PATTERN
from contracts.process import Clock, Clocks, Process, StateDef
from contracts.recipients import REFERRER, Who, act, inform, payload_agencies, payload_false, payload_true
from contracts.time_limits import DAYS, STATE_COUNCIL_310, WORKING_DAYS, Nature, Rule, limit

PROCESS = "discipline_referral"
CONFIDENTIAL = True

# Who may identify and refer a clue: the agency that found it (its own special rectification or
# case-file review), a township, the police, the justice bureau in its supervision role, or a
# government running a special rectification.
_REFERRERS = frozenset(
    {
        AgencyKind.ADMINISTRATIVE,
        AgencyKind.TOWNSHIP,
        AgencyKind.POLICE,
        AgencyKind.JUSTICE,
        AgencyKind.GOVERNMENT,
    }
)
_DISCIPLINE = frozenset({AgencyKind.DISCIPLINE})
_JUSTICE = frozenset({AgencyKind.JUSTICE})

# Proposals are named by the process that raised them (a hotline case id, a case-transfer id
# with its rule and deadline), so a little more than a case id's alphabet is allowed.
PROPOSAL_ID_PATTERN = r"^[A-Za-z0-9_:/.#-]{1,160}$"

DocNo = Field(min_length=1, max_length=80, description="文书文号")


def _agency_of_kind(value: str, kinds: frozenset[AgencyKind], what: str) -> str:
    """Refuse an unknown agency id or one of the wrong kind (pydantic names the field)."""
    agency = get_agency(value)
    if agency is None:
        raise ValueError(f"unknown agency {value!r}")
    if agency.kind not in kinds:
        allowed = ", ".join(sorted(k.value for k in kinds))
        raise ValueError(f"{value!r} is a {agency.kind.value} agency; {what} must be of kind {allowed}")
    return value


def _require_text(value: str | None, field: str, when: str) -> None:
    if not (value and value.strip()):
        raise ValueError(f"{field}: required when {when}")


class ClueSource(StrEnum):
    """Where a clue came from (DOMAIN.md process 3, step 1)."""

    SPECIAL_RECTIFICATION = "special_rectification"  # 专项整治
    CASE_FILE_REVIEW = "case_file_review"  # 案卷评查
    HOTLINE_COMPLAINT = "hotline_complaint"  # 12345热线投诉
    COURT_JUDGMENT = "court_judgment"  # 法院判决撤销或确认违法
    CASE_TRANSFER_ESCALATION = "case_transfer_escalation"  # 行刑衔接逾期未移送（第16条）
    OTHER = "other"


class MisconductKind(StrEnum):
    """What the official is said to have done with enforcement powers."""

    ABUSE_OF_POWER = "abuse_of_power"  # 滥用职权
    NEGLECT_OF_DUTY = "neglect_of_duty"  # 玩忽职守 / 不作为
    FAVOURITISM = "favouritism"  # 徇私舞弊（以罚代刑、不移送）
    OTHER = "other"


class ManagingLevel(StrEnum):
    """Which tier's commission manages the official (干部管理权限); it receives the clue."""

    CITY = "city"  # 市管干部 → 市纪委监委
    DISTRICT = "district"  # 区县管干部 → 区县纪委监委


def managing_commission(official_agency: str, level: ManagingLevel) -> Agency | None:
    """The commission that handles a clue about an official of ``official_agency`` managed at
    ``level`` (干部管理权限), or None when no registered commission fits.

    The cadre-management level, not the referrer, decides the tier: a city bureau reviewing a
    district's case files refers a district-managed official to that district's commission, and
    a district-level official managed by the city (a district head) goes to the city commission.
    A district-managed official goes to the commission over their agency's territory; where that
    territory has no commission of its own (a functional zone), the city's handles it, as
    :func:`contracts.agencies.supervisor_of` falls back. Only agencies inside a district can
    employ a district-managed official.
    """
    if level is ManagingLevel.CITY:
        return supervisor_of("rz-gov", AgencyKind.DISCIPLINE)
    agency = get_agency(official_agency)
    if agency is None or agency.district is None:
        return None
    return supervisor_of(official_agency, AgencyKind.DISCIPLINE)


class Official(Payload):
    """The public official the clue is about (content: never on the bus)."""

    name: str = Field(min_length=1, max_length=50, description="被反映人姓名", examples=["李某某"])
    position: str = Field(min_length=1, max_length=100, description="职务", examples=["执法大队副大队长"])
    agency: str = Field(pattern=AGENCY_ID_PATTERN, description="被反映人所在单位")
    certificate_no: str | None = Field(default=None, min_length=4, max_length=40, description="执法证号")

    @field_validator("agency")
    @classmethod
    def _known(cls, value: str) -> str:
        if get_agency(value) is None:
            raise ValueError(f"unknown agency {value!r}")
        return value


class ClueIdentified(Payload):
    """A clue that an official abused or neglected enforcement powers (step 1).

    Sent by the body that will refer it; its head approves. A justice bureau confirming a
    proposal (a process-1 escalation or a hotline complaint) names the ``proposal_id``.

    The first of ``officials`` is the one the clue is principally about (主要被反映人): their
    ``managing_level`` and agency decide the commission the clue must be referred to
    (:func:`managing_commission`).
    """

    source: ClueSource
    proposal_id: str | None = Field(
        default=None, pattern=PROPOSAL_ID_PATTERN, description="确认的线索建议编号"
    )
    related_process: str | None = Field(
        default=None, max_length=40, pattern=r"^[a-z][a-z0-9_]*$", description="关联流程"
    )
    related_case_id: str | None = Field(default=None, pattern=CASE_ID_PATTERN, description="关联案件编号")
    clue_no: str = Field(min_length=1, max_length=80, description="线索登记编号")
    officials: list[Official] = Field(min_length=1, max_length=20)
    managing_level: ManagingLevel = Field(
        description="主要被反映人（officials 第一人）的干部管理权限：决定接收线索的纪委监委层级"
    )
    misconduct: MisconductKind
    allegation: str = Field(min_length=1, max_length=8000, description="问题线索内容")
    evidence: list[Attachment] = Field(
        default_factory=list, max_length=MAX_ATTACHMENTS, description="证据材料（引用）"
    )

    @field_validator("managing_level")
    @classmethod
    def _a_commission_fits(cls, value: ManagingLevel, info: ValidationInfo) -> ManagingLevel:
        """A district-managed official works inside a district; the message names levels, not
        the official (content is never echoed)."""
        officials = info.data.get("officials")
        if not officials:
            return value  # officials failed validation; pydantic reports that field
        if managing_commission(officials[0].agency, value) is None:
            raise ValueError(
                f"no {value.value}-level discipline commission covers the agency of the first "
                "official; a district-managed official belongs to a district or township agency"
            )
        return value

    @model_validator(mode="after")
    def _proposal_needed(self) -> Self:
        """An escalation is always confirmed from a proposal, and names the late case."""
        if self.source is ClueSource.CASE_TRANSFER_ESCALATION:
            if self.proposal_id is None:
                raise ValueError("proposal_id: required when source is case_transfer_escalation")
            if self.related_case_id is None:
                raise ValueError("related_case_id: required when source is case_transfer_escalation")
            if self.related_process not in (None, "case_transfer"):
                raise ValueError("related_process: must be case_transfer for a case_transfer_escalation")
        if self.related_process is not None and self.related_case_id is None:
            raise ValueError("related_case_id: required with related_process")
        return self


class ProposalDismissed(Payload):
    """The justice bureau dismisses a proposed clue (escalation or hotline) with reasons."""

    proposal_id: str = Field(pattern=PROPOSAL_ID_PATTERN, description="不予确认的线索建议编号")
    reasons: str = Field(min_length=1, max_length=4000, description="不予确认的理由")


class ReferralApproved(Payload):
    """The referring body's head approves the referral (step 2)."""

    approved_by: str = Field(min_length=1, max_length=50, description="批准的负责人姓名及职务")
    approval_no: str | None = Field(default=None, max_length=80, description="审批文书文号")


class ReferralDeclined(Payload):
    """The head declines to refer; reasons are required and recorded (step 2)."""

    declined_by: str = Field(min_length=1, max_length=50, description="作出决定的负责人姓名及职务")
    reasons: str = Field(min_length=1, max_length=4000, description="不予移送的理由")


class Referred(Payload):
    """The clue goes to the commission of the level that manages the official (step 3).

    The clue already says how the official is managed; ``managing_level`` may repeat it and
    must then agree. Which commission exactly is checked by the workflow, which knows the
    clue's official (:func:`managing_commission`).
    """

    commission: str = Field(pattern=AGENCY_ID_PATTERN, description="接收线索的纪委监委")
    managing_level: ManagingLevel | None = Field(
        default=None, description="干部管理权限（可省略；填写时须与发现线索时一致）"
    )
    referral_letter_no: str = Field(min_length=1, max_length=80, description="问题线索移送函文号")
    attachments: list[Attachment] = Field(
        min_length=1, max_length=MAX_ATTACHMENTS, description="移送材料（引用）"
    )

    @field_validator("commission")
    @classmethod
    def _commission(cls, value: str) -> str:
        return _agency_of_kind(value, _DISCIPLINE, "the receiving body")

    @model_validator(mode="after")
    def _level(self) -> Self:
        """A city-managed official never goes to a district commission. A district-managed one
        usually goes to a district commission, but to the city's where their territory has
        none (a functional zone), so that direction is left to the workflow."""
        agency = get_agency(self.commission)
        assert agency is not None  # checked by the field validator
        if self.managing_level is ManagingLevel.CITY and agency.level is not AgencyLevel.CITY:
            raise ValueError(
                f"commission: {self.commission!r} is a {agency.level.value}-level commission; "
                "an official managed at city level goes to the city commission"
            )
        return self


class ReferralReceived(Payload):
    """The commission signs for the clue and says whether it has jurisdiction (step 4)."""

    receipt_no: str = DocNo
    received_by: str = Field(min_length=1, max_length=50, description="签收人")
    within_jurisdiction: bool = Field(default=True, description="是否属本机关管辖")
    reasons: str | None = Field(default=None, max_length=4000, description="不属本机关管辖的理由")

    @model_validator(mode="after")
    def _reasons(self) -> Self:
        if not self.within_jurisdiction:
            _require_text(self.reasons, "reasons", "the clue is not within the commission's jurisdiction")
        return self


class ReferralForwarded(Payload):
    """Another commission has jurisdiction: forwarded within 5 working days (条例 art. 171)."""

    forwarded_to: str = Field(pattern=AGENCY_ID_PATTERN, description="有管辖权的纪委监委")
    forward_letter_no: str = DocNo
    reasons: str = Field(min_length=1, max_length=4000)

    @field_validator("forwarded_to")
    @classmethod
    def _commission(cls, value: str) -> str:
        return _agency_of_kind(value, _DISCIPLINE, "the competent body")


class ReferralReturned(Payload):
    """No commission has jurisdiction: the clue goes back to the referrer (step 4)."""

    return_letter_no: str = DocNo
    reasons: str = Field(min_length=1, max_length=4000)


class Disposition(StrEnum):
    """The four ways of disposing of a clue (监督执纪工作规则)."""

    TALK_OR_LETTER_INQUIRY = "talk_or_letter_inquiry"  # 谈话函询
    PRELIMINARY_VERIFICATION = "preliminary_verification"  # 初步核实
    HELD_FOR_LATER = "held_for_later"  # 暂存待查
    CLOSED = "closed"  # 予以了结


class DispositionDecided(Payload):
    """The commission's internal disposition (step 5): the bus learns the kind, nothing else."""

    disposition: Disposition
    decision_no: str | None = Field(default=None, max_length=80)
    inquiry_on: AwareDatetime | None = Field(
        default=None,
        validate_default=True,
        description="谈话或函询回复的时间（谈话函询必填；30日内办结自此起算，可早于本事件）",
    )
    remarks: str = Field(min_length=1, max_length=8000, description="处置意见（内部）")

    @field_validator("inquiry_on")
    @classmethod
    def _inquiry_only(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        """An inquiry's 30 days run from the talk or the reply, so an inquiry without that date
        would have no legal start; no other disposition has one. A field validator (run on the
        default too) so the refusal names ``payload.inquiry_on``."""
        disposition = info.data.get("disposition")
        if disposition is None:
            return value  # disposition failed validation; pydantic reports that field
        if disposition is Disposition.TALK_OR_LETTER_INQUIRY and value is None:
            raise ValueError(
                "required when disposition is talk_or_letter_inquiry (the date of the talk or "
                "of the written reply, from which the 30 days run)"
            )
        if disposition is not Disposition.TALK_OR_LETTER_INQUIRY and value is not None:
            raise ValueError("only for a talk_or_letter_inquiry disposition")
        return value


class OutcomeReported(Payload):
    """The commission reports the outcome back to the referrer (step 6)."""

    report_no: str = DocNo
    outcome_summary: str = Field(min_length=1, max_length=8000, description="处置结果")
    rectification_required: bool = Field(description="是否需要移送机关整改")
    rectification_items: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        default_factory=list, max_length=50, description="整改事项"
    )

    @model_validator(mode="after")
    def _items(self) -> Self:
        if self.rectification_required and not self.rectification_items:
            raise ValueError("rectification_items: list at least one item when rectification_required")
        if not self.rectification_required and self.rectification_items:
            raise ValueError("rectification_items: must be empty when rectification_required is false")
        return self


class Rectified(Payload):
    """The referrer records its rectification (step 6)."""

    report_no: str = DocNo
    measures: str = Field(min_length=1, max_length=8000, description="整改措施及结果")
    completed_on: date
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


# What of each inbound payload may appear on lawlink.out: ids, kinds and dates only. Everything
# else is content and goes only to the encrypted store (services/discipline).
PUBLIC_FIELDS: dict[str, frozenset[str]] = {
    "discipline_referral.clue_identified": frozenset(
        {"source", "proposal_id", "related_process", "related_case_id"}
    ),
    "discipline_referral.proposal_dismissed": frozenset({"proposal_id"}),
    "discipline_referral.referral_approved": frozenset(),
    "discipline_referral.referral_declined": frozenset(),
    "discipline_referral.referred": frozenset({"commission", "managing_level"}),
    "discipline_referral.referral_received": frozenset({"within_jurisdiction"}),
    "discipline_referral.referral_forwarded": frozenset({"forwarded_to"}),
    "discipline_referral.referral_returned": frozenset(),
    "discipline_referral.disposition_decided": frozenset({"disposition", "inquiry_on"}),
    "discipline_referral.outcome_reported": frozenset({"rectification_required"}),
    "discipline_referral.rectified": frozenset({"completed_on"}),
    "hotline.complaint_received": frozenset(),
}

# Inbound types whose content is the commission's internal matter: readable by discipline
# officers only, never by the referrer (DOMAIN.md step 5: "shown to the referrer only as a state").
COMMISSION_INTERNAL_TYPES: frozenset[str] = frozenset({"discipline_referral.disposition_decided"})


def public_part(event_type: str, payload: Payload) -> dict[str, object]:
    """The fields of ``payload`` that may travel on the bus (JSON-ready).

    Raises:
        KeyError: for a type without a public-field list: a new confidential type must be
            classified before it can be published at all.
    """
    allowed = PUBLIC_FIELDS[event_type]
    dumped = payload.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if k in allowed and v is not None}


# fmt: off
EVENTS: tuple[EventSpec, ...] = (
    EventSpec("discipline_referral.clue_identified", ClueIdentified, _REFERRERS, opens=True,
              label_zh="发现问题线索", label_en="Problem clue identified",
              valid_in=frozenset({"new", "proposed"}),
              leads_to=frozenset({"identified"})),
    EventSpec("discipline_referral.proposal_dismissed", ProposalDismissed, _JUSTICE, opens=True,
              label_zh="线索建议不予确认", label_en="Proposed clue dismissed",
              valid_in=frozenset({"new", "proposed"}),
              leads_to=frozenset({"dismissed"})),
    EventSpec("discipline_referral.referral_approved", ReferralApproved, _REFERRERS,
              label_zh="负责人批准移送", label_en="Head approved the referral",
              valid_in=frozenset({"identified"}),
              party=("referring_agency",),
              leads_to=frozenset({"approved"})),
    EventSpec("discipline_referral.referral_declined", ReferralDeclined, _REFERRERS,
              label_zh="负责人不批准移送", label_en="Head declined the referral",
              valid_in=frozenset({"identified"}),
              party=("referring_agency",),
              leads_to=frozenset({"declined"})),
    EventSpec("discipline_referral.referred", Referred, _REFERRERS,
              label_zh="移送纪检监察机关", label_en="Referred to the discipline commission",
              valid_in=frozenset({"approved"}),
              party=("referring_agency",),
              leads_to=frozenset({"referred"})),
    EventSpec("discipline_referral.referral_received", ReferralReceived, _DISCIPLINE,
              label_zh="纪检监察机关签收", label_en="Commission received the referral",
              valid_in=frozenset({"forwarded", "referred"}),
              party=("commission",),
              leads_to=frozenset({"forward_pending", "received"})),
    EventSpec("discipline_referral.referral_forwarded", ReferralForwarded, _DISCIPLINE,
              label_zh="转送有管辖权的纪检监察机关", label_en="Forwarded to the competent commission",
              valid_in=frozenset({"forward_pending", "received"}),
              party=("commission",),
              leads_to=frozenset({"forwarded"})),
    EventSpec("discipline_referral.referral_returned", ReferralReturned, _DISCIPLINE,
              label_zh="线索退回", label_en="Clue returned to the referrer",
              valid_in=frozenset({"forward_pending", "received"}),
              party=("commission",),
              leads_to=frozenset({"returned"})),
    EventSpec("discipline_referral.disposition_decided", DispositionDecided, _DISCIPLINE,
              label_zh="作出处置", label_en="Disposition decided",
              valid_in=frozenset({"held", "received"}),
              party=("commission",),
              leads_to=frozenset({"closed_by_commission", "held", "inquiry", "verification"})),
    EventSpec("discipline_referral.outcome_reported", OutcomeReported, _DISCIPLINE,
              label_zh="反馈处置结果", label_en="Outcome reported to the referrer",
              valid_in=frozenset({"closed_by_commission", "held", "inquiry", "verification"}),
              party=("commission",),
              leads_to=frozenset({"concluded", "rectifying"})),
    EventSpec("discipline_referral.rectified", Rectified, _REFERRERS,
              label_zh="整改完成", label_en="Rectification recorded",
              valid_in=frozenset({"rectifying"}),
              party=("referring_agency",),
              leads_to=frozenset({"rectified"})),
)

# ``discipline_referral.clue_proposed`` is declared by contracts/case_transfer.py (its workflow
# emits it first); the hotline path emits the same type.
DOMAIN_EVENTS: tuple[DomainEventSpec, ...] = (
    DomainEventSpec("discipline_referral.opened", "问题线索待负责人审批", "Clue awaits the head's approval"),
    DomainEventSpec("discipline_referral.approved", "已批准移送", "Referral approved"),
    DomainEventSpec("discipline_referral.declined", "不予移送", "Referral declined"),
    DomainEventSpec("discipline_referral.dismissed", "线索建议不予确认", "Proposal dismissed"),
    DomainEventSpec("discipline_referral.sent", "已移送纪检监察机关", "Sent to the commission"),
    DomainEventSpec("discipline_referral.accepted", "纪检监察机关已受理", "Commission accepted the clue"),
    DomainEventSpec("discipline_referral.forward_pending", "纪检监察机关认为不属本机关管辖",
                    "Commission will forward or return the clue"),
    DomainEventSpec("discipline_referral.forwarded", "已转送有管辖权的纪检监察机关", "Forwarded to another commission"),
    DomainEventSpec("discipline_referral.returned", "线索已退回", "Clue returned"),
    DomainEventSpec("discipline_referral.disposed", "已作出处置（内容保密）", "Disposed (content confidential)"),
    DomainEventSpec("discipline_referral.reminder_sent", "已提醒纪检监察机关反馈处置情况",
                    "Commission reminded to report its disposition", ("request",)),
    DomainEventSpec("discipline_referral.outcome_received", "已收到处置结果", "Outcome received"),
    DomainEventSpec("discipline_referral.rectification_recorded", "整改已完成", "Rectification recorded"),
)
# fmt: on

STATES: tuple[StateDef, ...] = (
    StateDef("new", "新建", "new"),
    StateDef("proposed", "待司法局确认", "proposed"),
    StateDef("identified", "待负责人审批", "awaiting approval"),
    StateDef("approved", "已批准移送", "approved"),
    StateDef("declined", "不予移送", "declined", closed=True),
    StateDef("dismissed", "不予确认", "dismissed", closed=True),
    StateDef("referred", "已移送纪检监察机关", "referred"),
    StateDef("received", "纪检监察机关已签收", "received"),
    StateDef("forward_pending", "待转送", "forward pending"),
    StateDef("forwarded", "已转送", "forwarded"),
    StateDef("returned", "已退回", "returned", closed=True),
    StateDef("inquiry", "谈话函询中", "talk or letter inquiry"),
    StateDef("verification", "初步核实中", "preliminary verification"),
    StateDef("held", "暂存待查", "held for later"),
    StateDef("closed_by_commission", "纪检监察机关予以了结", "closed by the commission"),
    StateDef("rectifying", "整改中", "rectifying"),
    StateDef("rectified", "已整改", "rectified", closed=True),
    StateDef("concluded", "已办结", "concluded", closed=True),
)


# The time limits of this process, one row per limit with the source that fixes it.
# fmt: off
RULES: tuple[Rule, ...] = (
    limit("discipline_referral.head_approval", f"{STATE_COUNCIL_310} 第18-19条(移送义务；审批时限为默认值)", 5, WORKING_DAYS,
        "移送机关负责人审批", "Referring body's head approves the referral", True),
    limit("discipline_referral.forward", "《监察法实施条例》第171条", 5, WORKING_DAYS,
        "转送有管辖权的监察机关", "Commission forwards the clue to the competent commission"),
    limit("discipline_referral.inquiry_close", "《中国共产党纪律检查机关监督执纪工作规则》(谈话函询)",
        30, DAYS, "谈话函询办结", "Talk or letter inquiry closes", anchor="inquiry_on"),
    limit("discipline_referral.disposition_expectation", "默认提醒期限(非法定；仅提醒，不决定结果)",
        30, DAYS, "处置情况预期反馈", "Expected acknowledgement of the disposition", True,
        nature=Nature.REMINDER),
)
# fmt: on

# Who is told of each of its domain events and steps, and what they must do.
# fmt: off
TELLS: Mapping[str, tuple[Who, ...]] = MappingProxyType({
    # ----- 3. discipline_referral (confidential: ids and states only; need-to-know) -----
    # Every agency event is followed by a step event (or case.closed), which notifies.
    "discipline_referral.clue_identified": (),
    "discipline_referral.proposal_dismissed": (),
    "discipline_referral.referral_approved": (),
    "discipline_referral.referral_declined": (),
    "discipline_referral.referred": (),
    "discipline_referral.referral_received": (),
    "discipline_referral.referral_forwarded": (),
    "discipline_referral.referral_returned": (),
    "discipline_referral.disposition_decided": (),
    "discipline_referral.outcome_reported": (),
    "discipline_referral.rectified": (),
    "hotline.complaint_received": (),  # followed by discipline_referral.clue_proposed
    # The referrer's head-approval deadline.set asks for the decision; nobody else may know yet.
    "discipline_referral.opened": (),
    "discipline_referral.approved": (),
    # Declined, dismissed, returned, rectified: case.closed follows and tells the other parties.
    "discipline_referral.declined": (),
    "discipline_referral.dismissed": (),
    "discipline_referral.returned": (),
    "discipline_referral.rectification_recorded": (),
    "discipline_referral.sent": (act(payload_agencies("commission"), "请签收移送的问题线索",
                                     "Sign for the referred clue"),),
    "discipline_referral.accepted": (inform(REFERRER),),
    "discipline_referral.forward_pending": (inform(REFERRER),),
    "discipline_referral.forwarded": (act(payload_agencies("commission"), "请签收转送的问题线索",
                                          "Sign for the forwarded clue"),
                                      inform(REFERRER)),
    "discipline_referral.disposed": (inform(REFERRER),),
    # The deadline.reminder of the same period (a reminder, never a breach) already asks the
    # commission; this step records the count on the timeline, so nobody is told twice.
    "discipline_referral.reminder_sent": (),
    "discipline_referral.outcome_received": (
        act(REFERRER, "已收到处置结果，请落实整改并报告整改情况", "Outcome received; rectify and report",
            when=payload_true("rectification_required")),
        inform(REFERRER, when=payload_false("rectification_required"))),
})
# fmt: on

# What each step or outcome does to the time limits. The disposition expectation (one per
# commission and reminder), a forward (one per commission) and an inquiry's close (only for an
# inquiry) are started by the workflow where they apply, with the party and escalation here.
_R = "discipline_referral."
# fmt: off
CLOCKS: Mapping[str, Clocks] = MappingProxyType({
    _R + "opened": Clocks(starts=(Clock(_R + "head_approval", "referring_agency", ("referrer_supervisor",)),)),
    _R + "referral_approved": Clocks(meets=(_R + "head_approval",)),
    _R + "referral_declined": Clocks(meets=(_R + "head_approval",)),
    _R + "sent": Clocks(starts=(Clock(_R + "disposition_expectation", "commission", by_handler=True),)),
    _R + "forward_pending": Clocks(
        starts=(Clock(_R + "forward", "commission", ("commission_supervisor",), by_handler=True),)),
    _R + "referral_forwarded": Clocks(meets=(_R + "forward",)),
    _R + "forwarded": Clocks(starts=(Clock(_R + "disposition_expectation", "commission", by_handler=True),)),
    _R + "referral_returned": Clocks(meets=(_R + "forward",)),
    _R + "disposed": Clocks(starts=(Clock(_R + "inquiry_close", "commission", by_handler=True),)),
    _R + "outcome_reported": Clocks(meets=(_R + "inquiry_close",)),
})
# fmt: on

DEFINITION = Process(
    name=PROCESS,
    label_zh="问题线索移送纪检监察",
    short_zh="问题线索移送",
    label_en="Discipline referral",
    workflow="DisciplineReferral",
    states=STATES,
    steps=(*hotline.EVENTS, *EVENTS),
    tells=TELLS,
    clocks=CLOCKS,
    rules=RULES,
    domain_events=DOMAIN_EVENTS,
    confidential=CONFIDENTIAL,
    sources=(
        "《监察法》第34、37、38条",
        "《监察法实施条例》第169、171、172条",
        "国务院令第310号 第18、19条",
    ),
)
