"""Payloads of process 4, delegation of enforcement powers to townships (赋权乡镇街道).

Sources: 《行政处罚法》第24条 (the province decides, publishes and periodically evaluates
delegations); the municipal plan, task 33 (evaluate one year after a delegation took effect; a
power a township cannot carry is adjusted within the guiding catalogue; a power no longer
exercised by the township returns to the department that exercised it before).

A delegation is one case (``case_id`` is the delegation's business key, its 文号 travels in
``document_no``). Power items are identified by their catalogue code; each names the department
it came from, because a revoked item goes back there together with its open cases.

The agency checks that need no other field (a township is a township, an original department
is a county-level enforcement department: art. 24 delegates "县级人民政府部门的行政处罚权") live in
the models, so intake refuses a wrong id with the field that holds it, before any workflow sees
the event. The checks that relate two agencies (the granting government's territory contains
the township, the department belongs to the township's own county) are the workflow's: intake
answers them with the same field names through the workflow's refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.agencies import AgencyKind, AgencyLevel, agencies
from contracts.common import MAX_ATTACHMENTS, Attachment, DomainEventSpec, EventSpec, Payload
from contracts.envelope import AGENCY_ID_PATTERN
from contracts.process import Clock, Clocks, Process, StateDef
from contracts.recipients import (
    CASE_AGENCY,
    JUSTICE_PARTY,
    ORIGINAL_DEPARTMENTS,
    PARTIES,
    TOWNSHIP,
    Who,
    act,
    inform,
    payload_agencies,
)
from contracts.time_limits import MONTHS, WORKING_DAYS, Rule, limit

PROCESS = "power_delegation"

CATALOGUE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
MAX_ITEMS = 200
MAX_HANDOVER_CASES = 500


def _agency_of_kind(agency_id: str, *kinds: AgencyKind) -> str:
    agency = agencies().get(agency_id)
    if agency is None:
        raise ValueError(f"unknown agency {agency_id!r}")
    if agency.kind not in kinds:
        wanted = " or ".join(k.value for k in kinds)
        raise ValueError(f"{agency_id!r} is a {agency.kind.value} agency, not {wanted}")
    return agency_id


def _township(agency_id: str) -> str:
    return _agency_of_kind(agency_id, AgencyKind.TOWNSHIP)


def _department(agency_id: str) -> str:
    return _agency_of_kind(agency_id, AgencyKind.ADMINISTRATIVE)


def _county_department(agency_id: str) -> str:
    """Art. 24 delegates the powers of county-level government departments only: a city
    department's power is not the county's to hand to a township."""
    _department(agency_id)
    agency = agencies()[agency_id]
    if agency.level is not AgencyLevel.DISTRICT:
        raise ValueError(
            f"{agency_id!r} is a {agency.level.value}-level department; only powers of "
            "county-level (district) departments are delegated to townships (《行政处罚法》第24条)"
        )
    return agency_id


TownshipId = Annotated[str, Field(pattern=AGENCY_ID_PATTERN), AfterValidator(_township)]
DepartmentId = Annotated[str, Field(pattern=AGENCY_ID_PATTERN), AfterValidator(_department)]
CountyDepartmentId = Annotated[str, Field(pattern=AGENCY_ID_PATTERN), AfterValidator(_county_department)]
CatalogueCode = Annotated[
    str,
    Field(
        max_length=40, pattern=CATALOGUE_CODE_PATTERN, description="赋权事项目录编码", examples=["ZH-0107"]
    ),
]
DocumentNo = Annotated[str, Field(min_length=1, max_length=80, description="文号")]
CaseNo = Annotated[str, Field(min_length=1, max_length=80, description="案件文号")]


class ItemState(StrEnum):
    """Where one delegated power item stands."""

    GRANTED = "granted"  # 已赋权，待乡镇承接
    PENDING_EFFECT = "pending_effect"  # 已承接，待生效
    ACTIVE = "active"  # 乡镇行使中
    UNDER_REVIEW = "under_review"  # 评估中（仍由乡镇行使）
    RETURNING = "returning"  # 已收回，待移交在办案件
    RETURNED = "returned"  # 已退回原部门


class CaseActivityKind(StrEnum):
    """What a township's case event says about an item; each kind is one counter."""

    HANDLED = "handled"  # 办理案件
    REFUSED = "refused"  # 不予处罚/不予受理
    OVERTURNED = "overturned"  # 被复议或诉讼撤销、变更
    COMPLAINT = "complaint"  # 投诉举报


class ReviewOutcome(StrEnum):
    """The review's decision on one item."""

    KEEP = "keep"  # 继续实施
    ADJUST = "adjust"  # 调整范围
    REVOKE = "revoke"  # 收回


class AssessorRole(StrEnum):
    """Who an assessment comes from (DOMAIN.md step 4)."""

    TOWNSHIP = "township"
    ORIGINAL_DEPARTMENT = "original_department"
    PUBLIC = "public"  # collected through the 12345 hotline or the government
    JUSTICE = "justice"
    REFORM_OFFICE = "reform_office"


class Rating(StrEnum):
    """An assessor's view of the township's capacity to carry an item."""

    COMPETENT = "competent"  # 能够承接
    NEEDS_SUPPORT = "needs_support"  # 需加强指导
    NOT_COMPETENT = "not_competent"  # 难以承接


class PowerItem(Payload):
    """One enforcement power item from the guiding catalogue."""

    code: CatalogueCode
    name_zh: str = Field(min_length=1, max_length=200, examples=["对在城市道路上擅自摆摊设点的行政处罚"])
    name_en: str | None = Field(default=None, max_length=300)
    original_department: CountyDepartmentId = Field(
        description="原行使部门：乡镇所在县（区）的执法部门 (agency id)", examples=["rz-dg-zhzfj"]
    )
    scope: str | None = Field(default=None, max_length=1000, description="实施范围（如有限定）")


class DelegationGranted(Payload):
    """The county (district) government, or the city government, delegates a list of items to a
    township (step 1). The items take effect on ``effective_date``, whenever the township's
    acceptance is reported, and the yearly review counts from it."""

    document_no: DocumentNo = Field(examples=["东政发〔2026〕12号"])
    township: TownshipId = Field(examples=["rz-dg-shijiu"])
    items: list[PowerItem] = Field(min_length=1, max_length=MAX_ITEMS)
    effective_date: date = Field(description="生效日期 (Asia/Shanghai)", examples=["2026-12-01"])
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _codes_unique(self) -> Self:
        seen: set[str] = set()
        for item in self.items:
            if item.code in seen:
                raise ValueError(f"item code {item.code!r} is listed twice")
            seen.add(item.code)
        return self


class DelegationAccepted(Payload):
    """The township confirms staffing and joint training; the items take effect (step 2)."""

    enforcement_staff: int = Field(ge=1, le=1000, description="综合执法人员数")
    certified_staff: int = Field(ge=0, le=1000, description="持执法证人员数")
    training_completed_on: date = Field(description="跨部门联合培训完成日期")
    training_departments: list[DepartmentId] = Field(
        default_factory=list, max_length=50, description="参与联合培训的部门"
    )
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _certified_within_staff(self) -> Self:
        if self.certified_staff > self.enforcement_staff:
            raise ValueError("certified_staff cannot exceed enforcement_staff")
        return self


class ItemCaseRecorded(Payload):
    """One case event of the township for one item; it moves a counter, nothing else (step 3)."""

    item_code: CatalogueCode
    case_no: CaseNo = Field(examples=["石臼综执罚〔2027〕8号"])
    activity: CaseActivityKind


class ItemAssessment(Payload):
    """An assessor's view of one item."""

    item_code: CatalogueCode
    rating: Rating
    comment: str | None = Field(default=None, max_length=2000)


class AssessmentSubmitted(Payload):
    """An assessment of the items under review (step 4, within the assessment window)."""

    assessor_role: AssessorRole
    ratings: list[ItemAssessment] = Field(min_length=1, max_length=MAX_ITEMS)
    summary: str = Field(min_length=1, max_length=4000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class ItemDecision(BaseModel):
    """The review's decision on one item.

    Deliberately permissive in the model: whether an item may be decided, and whether an
    adjustment names its new scope or a revocation its reason, is checked by the workflow
    (it knows which items are under review), so the Update and the event refuse the same
    input with the same field names.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_code: CatalogueCode
    outcome: ReviewOutcome
    new_scope: str | None = Field(default=None, max_length=1000, description="调整后的实施范围")
    reason: str | None = Field(default=None, max_length=2000, description="收回理由")


class ReviewDecided(Payload):
    """The review's item-by-item decision (step 5), from the system of the justice bureau or
    the reform office of the granting government's level, who run the review."""

    document_no: DocumentNo
    decisions: list[ItemDecision] = Field(min_length=1, max_length=MAX_ITEMS)


class ItemRevokedEarly(Payload):
    """The government revokes items before their review (step 7)."""

    document_no: DocumentNo
    item_codes: list[CatalogueCode] = Field(min_length=1, max_length=MAX_ITEMS)
    reason: str = Field(min_length=1, max_length=2000)


class CaseHandedOver(Payload):
    """The township hands a returned item's open cases to the original department."""

    item_code: CatalogueCode
    case_nos: list[CaseNo] = Field(default_factory=list, max_length=MAX_HANDOVER_CASES)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        if len(set(self.case_nos)) != len(self.case_nos):
            raise ValueError("case_nos lists a case twice")
        return self


class HandoverAcknowledged(Payload):
    """The original department confirms it received the handed-over cases."""

    item_code: CatalogueCode
    received_case_nos: list[CaseNo] = Field(default_factory=list, max_length=MAX_HANDOVER_CASES)


# ----- the reviewer's Update (console) -------------------------------------------------------


class ReviewDecisionIn(BaseModel):
    """A reviewer's decision through the console (the ``decide_review`` Update).

    ``decision_id`` is the idempotency key (the console sends the same id on a retry).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision_id: str = Field(min_length=1, max_length=64)
    reviewer: str = Field(
        pattern=AGENCY_ID_PATTERN, description="作出赋权的政府同级司法局或机构编制委员会办公室的机构编号"
    )
    document_no: DocumentNo
    decisions: tuple[ItemDecision, ...] = Field(min_length=1, max_length=MAX_ITEMS)


class ReviewDecisionResult(BaseModel):
    """What the reviewer learns: the new state and the items that go back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accepted: bool
    duplicate: bool
    state: str
    returned: tuple[str, ...] = ()


# ----- what the workflow publishes about items (read model) -----------------------------------


class ItemCounters(BaseModel):
    """Counts of the township's case events for one item (bounded state, never a list)."""

    model_config = ConfigDict(extra="forbid")

    handled: int = 0
    refused: int = 0
    overturned: int = 0
    complaint: int = 0

    def bumped(self, activity: CaseActivityKind) -> ItemCounters:
        """A copy with one more ``activity``."""
        return self.model_copy(update={activity.value: getattr(self, activity.value) + 1})

    def since(self, earlier: ItemCounters) -> ItemCounters:
        """The counts accumulated after ``earlier`` (the period a review looks at)."""
        return ItemCounters(**{k: getattr(self, k) - getattr(earlier, k) for k in ItemCounters.model_fields})


class DelegatedItemView(BaseModel):
    """One item as domain events carry it; the read model keeps the newest per item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name_zh: str
    name_en: str | None = None
    original_department: str
    township: str
    scope: str | None = None
    state: ItemState
    effective_at: AwareDatetime | None = None
    next_review_at: AwareDatetime | None = None
    counters: ItemCounters = Field(default_factory=ItemCounters)


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        type="power_delegation.delegation_granted",
        payload=DelegationGranted,
        senders=frozenset({AgencyKind.GOVERNMENT}),
        opens=True,
        label_zh="下放行政执法权",
        label_en="Enforcement powers delegated",
        valid_in=frozenset({"new"}),
        leads_to=frozenset({"granted"}),
    ),
    EventSpec(
        type="power_delegation.delegation_accepted",
        payload=DelegationAccepted,
        senders=frozenset({AgencyKind.TOWNSHIP}),
        label_zh="乡镇承接赋权",
        label_en="Township accepted the delegation",
        valid_in=frozenset({"granted"}),
        party=("township",),
        leads_to=frozenset({"accepted", "active"}),
    ),
    EventSpec(
        type="power_delegation.item_case_recorded",
        payload=ItemCaseRecorded,
        senders=frozenset({AgencyKind.TOWNSHIP}),
        label_zh="赋权事项办案记录",
        label_en="Case recorded for a delegated item",
        valid_in=frozenset({"active", "assessed", "under_review"}),
        party=("township",),
    ),
    EventSpec(
        type="power_delegation.assessment_submitted",
        payload=AssessmentSubmitted,
        senders=frozenset(
            {
                AgencyKind.TOWNSHIP,
                AgencyKind.ADMINISTRATIVE,
                AgencyKind.GOVERNMENT,
                AgencyKind.JUSTICE,
                AgencyKind.REFORM_OFFICE,
            }
        ),
        label_zh="提交评估意见",
        label_en="Assessment submitted",
        valid_in=frozenset({"assessed", "under_review"}),
        leads_to=frozenset({"assessed"}),
    ),
    EventSpec(
        type="power_delegation.review_decided",
        payload=ReviewDecided,
        senders=frozenset({AgencyKind.JUSTICE, AgencyKind.REFORM_OFFICE}),
        label_zh="作出评估决定",
        label_en="Review decided",
        valid_in=frozenset({"assessed", "under_review"}),
        leads_to=frozenset({"active", "ended", "returning"}),
    ),
    EventSpec(
        type="power_delegation.item_revoked_early",
        payload=ItemRevokedEarly,
        senders=frozenset({AgencyKind.GOVERNMENT}),
        label_zh="提前收回赋权事项",
        label_en="Items revoked early",
        valid_in=frozenset({"accepted", "active", "assessed", "granted", "returning", "under_review"}),
        leads_to=frozenset({"accepted", "active", "ended", "granted", "returning"}),
    ),
    EventSpec(
        type="power_delegation.case_handed_over",
        payload=CaseHandedOver,
        senders=frozenset({AgencyKind.TOWNSHIP}),
        label_zh="移交在办案件",
        label_en="Open cases handed over",
        valid_in=frozenset({"accepted", "active", "assessed", "granted", "returning", "under_review"}),
        party=("township",),
        leads_to=frozenset({"accepted", "active", "ended", "granted"}),
    ),
    EventSpec(
        type="power_delegation.handover_acknowledged",
        payload=HandoverAcknowledged,
        senders=frozenset({AgencyKind.ADMINISTRATIVE}),
        label_zh="原部门确认接收",
        label_en="Original department acknowledged the handover",
        valid_in=frozenset({"accepted", "active", "assessed", "granted", "returning", "under_review"}),
        leads_to=frozenset({"accepted", "active", "ended", "granted"}),
    ),
)

DOMAIN_EVENTS: tuple[DomainEventSpec, ...] = (
    DomainEventSpec("power_delegation.opened", "赋权程序启动", "Delegation recorded"),
    DomainEventSpec(
        "power_delegation.effect_scheduled", "赋权事项待生效", "Items wait for their effective date"
    ),
    DomainEventSpec("power_delegation.items_effective", "赋权事项生效", "Items took effect"),
    DomainEventSpec("power_delegation.review_started", "启动赋权评估", "Review started", ("request",)),
    DomainEventSpec("power_delegation.assessments_complete", "评估意见收集完毕", "Assessments collected"),
    DomainEventSpec("power_delegation.review_concluded", "评估结论", "Review concluded"),
    DomainEventSpec(
        "power_delegation.item_returned",
        "赋权事项收回原部门",
        "Item returned to its department",
        ("request",),
    ),
    DomainEventSpec("power_delegation.handover_completed", "在办案件移交完毕", "Handover completed"),
)

STATES: tuple[StateDef, ...] = (
    StateDef("new", "新建", "new"),
    StateDef("granted", "已赋权，待乡镇承接", "granted"),
    StateDef("accepted", "已承接，待生效", "accepted"),
    StateDef("active", "乡镇行使中", "active"),
    StateDef("under_review", "评估中", "under review"),
    StateDef("assessed", "评估完成，待决定", "assessed"),
    StateDef("returning", "收回事项移交中", "returning"),
    StateDef("ended", "已终止", "ended", closed=True),
)


# The time limits of this process, one row per limit with the source that fixes it.
# fmt: off
RULES: tuple[Rule, ...] = (
    limit("power_delegation.review_after_effective", "《行政处罚法》第24条；市实施方案任务33(赋权一年后评估)",
        12, MONTHS, "赋权生效一年后评估", "Review one year after the delegation took effect",
        anchor="effective_date"),
    limit("power_delegation.assessment_window", "市实施方案任务33(收集评估意见；默认值)", 20, WORKING_DAYS,
        "收集评估意见", "Collect assessments", True,
        anchor="review_start"),
)
# fmt: on

# Who is told of each of its domain events and steps, and what they must do.
# fmt: off
TELLS: Mapping[str, tuple[Who, ...]] = MappingProxyType({
    # ----- 4. power_delegation (《行政处罚法》第24条) -----
    # Agency events below are followed by the workflow's own step events, which notify.
    "power_delegation.delegation_granted": (),
    "power_delegation.delegation_accepted": (),
    "power_delegation.review_decided": (),
    "power_delegation.item_revoked_early": (),
    "power_delegation.handover_acknowledged": (),
    # Counting cases per item is bookkeeping for the yearly review, not a call to act.
    "power_delegation.item_case_recorded": (),
    # The department already heard from item_returned that it must take the cases back.
    "power_delegation.case_handed_over": (),
    "power_delegation.assessment_submitted": (inform(JUSTICE_PARTY),),
    "power_delegation.opened": (act(payload_agencies("township"), "请确认人员配备和培训后承接赋权",
                                    "Confirm staffing and training, then accept the delegation"),
                                inform(ORIGINAL_DEPARTMENTS)),
    "power_delegation.effect_scheduled": (inform(CASE_AGENCY), inform(ORIGINAL_DEPARTMENTS)),
    "power_delegation.items_effective": (inform(PARTIES, "赋权事项已生效", "The delegated items are in effect"),),
    "power_delegation.review_started": (act(payload_agencies("assessors"), "赋权评估已启动，请提交评估意见",
                                            "The yearly review started; submit your assessment"),
                                        inform(payload_agencies("reviewers"))),
    "power_delegation.assessments_complete": (act(JUSTICE_PARTY, "评估意见已收集完毕，请作出评估决定",
                                                  "Every assessment is in; decide the review"),
                                              inform(CASE_AGENCY)),
    "power_delegation.review_concluded": (inform(PARTIES),),
    "power_delegation.item_returned": (act(payload_agencies("to"), "执法事项收回贵单位，请接收该事项在办案件",
                                           "The power returns to you; take over its open cases"),
                                       act(TOWNSHIP, "请向原部门移交该事项在办案件",
                                           "Hand the item's open cases over to the original department")),
    "power_delegation.handover_completed": (inform(TOWNSHIP), inform(CASE_AGENCY)),
})
# fmt: on

# The yearly review: twelve months from the powers taking effect the workflow's own timer
# starts it (and every anniversary after); each cycle's assessment window runs from that cycle's
# anniversary (one per cycle); the assessments or the review's decision end it.
_R = "power_delegation."
# fmt: off
CLOCKS: Mapping[str, Clocks] = MappingProxyType({
    _R + "items_effective": Clocks(starts=(Clock(_R + "review_after_effective", "reviewer", by_handler=True),)),
    _R + "review_started": Clocks(starts=(Clock(_R + "assessment_window", "reviewer", ("grantor",), by_handler=True),)),
    _R + "assessments_complete": Clocks(meets=(_R + "assessment_window",)),
    _R + "review_concluded": Clocks(meets=(_R + "assessment_window",)),
})
# fmt: on

DEFINITION = Process(
    name=PROCESS,
    label_zh="赋权乡镇街道",
    label_en="Delegation to townships",
    workflow="PowerDelegation",
    states=STATES,
    steps=EVENTS,
    tells=TELLS,
    clocks=CLOCKS,
    rules=RULES,
    domain_events=DOMAIN_EVENTS,
    sources=("《行政处罚法》第24条", "市行政执法质量提升方案 任务33"),
)
