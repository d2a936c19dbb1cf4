"""Payloads of process 2, jurisdiction dispute coordination (管辖争议协调), and the inputs of the
coordinator's decisions.

Source: 《行政处罚法》art. 25 (first to file has jurisdiction; disputes are negotiated, failing which
the common superior designates); the 2024 central opinion on the enforcement coordination and
supervision system names the justice bureau as the coordinating office. Agencies' steps arrive as
events through intake (``EVENTS``); the coordinator's steps are Temporal Updates on the dispute's
workflow, whose inputs are the ``*Input`` models here, so the console, the workflow and the CLI
share one definition. :func:`first_to_file` is pure so the console can show the same suggestion
the workflow recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.agencies import AgencyKind, AgencyLevel, agencies, get_agency, supervisor_of
from contracts.common import (
    MAX_AGENCIES,
    MAX_ATTACHMENTS,
    AgencyRef,
    Attachment,
    DomainEventSpec,
    EventSpec,
    Payload,
)
from contracts.process import Clock, Clocks, Process, StateDef
from contracts.recipients import COORDINATOR, PARTIES, Who, act, coordinate, inform, payload_agencies
from contracts.time_limits import WORKING_DAYS, Nature, Rule, limit

PROCESS = "jurisdiction_dispute"
ACTION_REFUSED_ERROR_TYPE = "DisputeActionRefused"
"""``ApplicationError.type`` of a refused coordinator action; details carry ``field`` and ``reason``."""

# Agencies that can be a party to a jurisdiction dispute: those that file enforcement cases.
PARTY_KINDS: frozenset[AgencyKind] = frozenset(
    {AgencyKind.ADMINISTRATIVE, AgencyKind.TOWNSHIP, AgencyKind.POLICE}
)
COORDINATOR_KINDS: frozenset[AgencyKind] = frozenset({AgencyKind.JUSTICE, AgencyKind.GOVERNMENT})
# Agencies the common superior may designate although they are not parties (art. 25 lets it
# designate directly): those that impose administrative penalties, departments and townships.
DESIGNABLE_KINDS: frozenset[AgencyKind] = frozenset({AgencyKind.ADMINISTRATIVE, AgencyKind.TOWNSHIP})


class State(StrEnum):
    """States of a dispute (the inbox filters on them)."""

    NEW = "new"
    NEGOTIATING = "negotiating"  # 协商中
    COORDINATION_REQUESTED = "coordination_requested"  # 已提请协调，待受理
    COORDINATING = "coordinating"  # 协调中
    OPINIONS_REQUESTED = "opinions_requested"  # 征求意见中
    REFERRED = "referred_to_government"  # 报请政府决定
    DESIGNATED = "designated"  # 已指定，待确认
    AGREED = "agreed"  # 协商一致（结束）
    REJECTED = "coordination_rejected"  # 不予受理（结束）
    RESOLVED = "resolved"  # 被指定机关已确认（结束）


OPEN_STATES: frozenset[str] = frozenset(
    {
        State.NEGOTIATING,
        State.COORDINATION_REQUESTED,
        State.COORDINATING,
        State.OPINIONS_REQUESTED,
        State.REFERRED,
        State.DESIGNATED,
    }
)
CLOSED_STATES: frozenset[str] = frozenset({State.AGREED, State.REJECTED, State.RESOLVED})
# States in which a coordinator works on the dispute (claim, opinions, extension, designation).
COORDINATOR_STATES: frozenset[str] = frozenset({State.COORDINATING, State.OPINIONS_REQUESTED})

STATE_LABELS: dict[str, tuple[str, str]] = {
    State.NEGOTIATING: ("协商中", "Negotiating"),
    State.COORDINATION_REQUESTED: ("待受理", "Coordination requested"),
    State.COORDINATING: ("协调中", "Coordinating"),
    State.OPINIONS_REQUESTED: ("征求意见中", "Opinions requested"),
    State.REFERRED: ("报请政府决定", "Referred to the government"),
    State.DESIGNATED: ("已指定管辖，待确认", "Designated, awaiting acknowledgement"),
    State.AGREED: ("协商一致", "Agreed"),
    State.REJECTED: ("不予受理", "Coordination rejected"),
    State.RESOLVED: ("已办结", "Resolved"),
}


class DisputeKind(StrEnum):
    """Positive: several agencies claim the case (积极争议); negative: none will take it (消极争议)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class Position(StrEnum):
    """What one party says about its own jurisdiction."""

    CLAIMS = "claims"  # 主张由本机关管辖
    DECLINES = "declines"  # 认为本机关无管辖权


def _check_agency(agency_id: str, kinds: frozenset[AgencyKind], what: str) -> None:
    """Refuse ids that are not in the registry or not of a kind that may play ``what``."""
    agency = get_agency(agency_id)
    if agency is None:
        raise ValueError(f"unknown agency {agency_id!r}")
    if agency.kind not in kinds:
        allowed = ", ".join(sorted(k.value for k in kinds))
        raise ValueError(
            f"{agency_id!r} is a {agency.kind.value} agency and cannot be {what} (allowed: {allowed})"
        )


class PartyClaim(Payload):
    """One party's position: whether it claims the case, on what legal basis, and when it filed."""

    agency: str = AgencyRef
    position: Position
    legal_basis: str = Field(
        min_length=1, max_length=1000, description="法律依据", examples=["《行政处罚法》第22条"]
    )
    reasons: str = Field(default="", max_length=4000, description="理由")
    filed_on: date | None = Field(default=None, description="立案日期（未立案为空）", examples=["2026-10-08"])

    @field_validator("agency")
    @classmethod
    def _party_kind(cls, value: str) -> str:
        _check_agency(value, PARTY_KINDS, "a party to a jurisdiction dispute")
        return value


class DisputeRaised(Payload):
    """A jurisdiction dispute over one case: who the parties are and what each says."""

    enforcement_case_no: str = Field(
        min_length=1, max_length=80, description="案件编号/文号", examples=["日市监立〔2026〕88号"]
    )
    case_title: str = Field(min_length=1, max_length=200, examples=["某海产品加工厂无证经营案"])
    kind: DisputeKind
    summary: str = Field(min_length=1, max_length=4000, description="争议事项概要")
    claims: list[PartyClaim] = Field(
        min_length=2, max_length=MAX_AGENCIES, description="各方主张（每个争议方一条）"
    )
    coordinator_office: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9-]{2,40}$",
        description="协调机构（司法局或共同上级政府）；为空时按各方所在地确定",
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Parties are distinct; positive disputes need two claimants, negative ones none."""
        seen: set[str] = set()
        for claim in self.claims:
            if claim.agency in seen:
                raise ValueError(f"claims: agency {claim.agency!r} appears twice")
            seen.add(claim.agency)
        claimants = [c for c in self.claims if c.position is Position.CLAIMS]
        if self.kind is DisputeKind.POSITIVE and len(claimants) < 2:
            raise ValueError("claims: a positive dispute needs at least two parties that claim the case")
        if self.kind is DisputeKind.NEGATIVE and claimants:
            raise ValueError("claims: in a negative dispute every party declines the case")
        if self.coordinator_office is not None:
            _check_agency(self.coordinator_office, COORDINATOR_KINDS, "the coordinating office")
        return self

    @property
    def parties(self) -> list[str]:
        """The disputing agencies, in the order given."""
        return [c.agency for c in self.claims]


class AgreementReached(Payload):
    """The parties agreed who takes the case; valid only when every party signed."""

    agreed_agency: str = AgencyRef
    signatories: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1,
        max_length=MAX_AGENCIES,
        description="签署协议的各方（须为全部争议方；缺少任何一方即不成立）",
    )
    summary: str = Field(min_length=1, max_length=4000, description="协商结果")
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class CoordinationRequested(Payload):
    """A party asks the coordinating office to coordinate (no agreement, or no wish to negotiate)."""

    reason: str = Field(min_length=1, max_length=4000, description="提请协调的理由")


class CoordinationAccepted(Payload):
    """The coordinating office accepts the request (受理)."""

    note: str = Field(default="", max_length=2000)


class CoordinationRejected(Payload):
    """The coordinating office rejects the request, with its reasons (不予受理)."""

    reason: str = Field(min_length=1, max_length=4000, description="不予受理的理由")


class OpinionSubmitted(Payload):
    """A party's written opinion, asked for by the coordinator."""

    opinion: str = Field(min_length=1, max_length=8000, description="书面意见")
    legal_basis: str = Field(default="", max_length=1000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class DesignationAcknowledged(Payload):
    """The designated agency confirms it takes the case (the case moves to it)."""

    note: str = Field(default="", max_length=2000)
    receiving_case_no: str | None = Field(default=None, max_length=80, description="接收后的案件编号")


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "jurisdiction_dispute.dispute_raised",
        DisputeRaised,
        frozenset({*PARTY_KINDS, AgencyKind.JUSTICE}),
        opens=True,
        label_zh="提出管辖争议",
        label_en="Jurisdiction dispute raised",
        valid_in=frozenset({"new"}),
        leads_to=frozenset({"negotiating"}),
    ),
    EventSpec(
        "jurisdiction_dispute.agreement_reached",
        AgreementReached,
        PARTY_KINDS,
        label_zh="协商一致",
        label_en="Agreement reached",
        valid_in=frozenset({"coordination_requested", "negotiating"}),
        party=("parties",),
        leads_to=frozenset({"agreed"}),
    ),
    EventSpec(
        "jurisdiction_dispute.coordination_requested",
        CoordinationRequested,
        PARTY_KINDS,
        label_zh="提请协调",
        label_en="Coordination requested",
        valid_in=frozenset({"coordination_requested", "negotiating"}),
        party=("parties",),
        leads_to=frozenset({"coordination_requested"}),
    ),
    EventSpec(
        "jurisdiction_dispute.coordination_accepted",
        CoordinationAccepted,
        COORDINATOR_KINDS,
        label_zh="受理协调申请",
        label_en="Coordination accepted",
        valid_in=frozenset({"coordination_requested"}),
        party=("office",),
        leads_to=frozenset({"coordinating"}),
    ),
    EventSpec(
        "jurisdiction_dispute.coordination_rejected",
        CoordinationRejected,
        COORDINATOR_KINDS,
        label_zh="不予受理协调申请",
        label_en="Coordination rejected",
        valid_in=frozenset({"coordination_requested"}),
        party=("office",),
        leads_to=frozenset({"coordination_rejected"}),
    ),
    EventSpec(
        "jurisdiction_dispute.opinion_submitted",
        OpinionSubmitted,
        PARTY_KINDS,
        label_zh="提交书面意见",
        label_en="Opinion submitted",
        valid_in=frozenset(
            {
                "coordinating",
                "coordination_requested",
                "designated",
                "negotiating",
                "opinions_requested",
                "referred_to_government",
            }
        ),
        party=("parties",),
        leads_to=frozenset({"coordinating"}),
    ),
    EventSpec(
        "jurisdiction_dispute.designation_acknowledged",
        DesignationAcknowledged,
        PARTY_KINDS,
        label_zh="被指定机关确认接收",
        label_en="Designation acknowledged",
        valid_in=frozenset({"designated"}),
        party=("designated_agency",),
        leads_to=frozenset({"resolved"}),
    ),
)

DOMAIN_EVENTS: tuple[DomainEventSpec, ...] = (
    DomainEventSpec(
        "jurisdiction_dispute.opened", "管辖争议立项，进入协商", "Dispute opened, negotiation started"
    ),
    DomainEventSpec(
        "jurisdiction_dispute.taken_into_coordination",
        "协商期满未达成一致，转入协调",
        "Negotiation lapsed without agreement; the dispute goes to coordination",
    ),
    DomainEventSpec("jurisdiction_dispute.claimed", "协调人认领", "Claimed by a coordinator"),
    DomainEventSpec("jurisdiction_dispute.unclaimed", "协调人退回认领", "Released by the coordinator"),
    DomainEventSpec("jurisdiction_dispute.reassigned", "改派协调人", "Reassigned to another coordinator"),
    DomainEventSpec(
        "jurisdiction_dispute.opinion_requested", "征求书面意见", "Opinions requested", ("request",)
    ),
    DomainEventSpec("jurisdiction_dispute.extended", "延长指定管辖期限", "Designation deadline extended"),
    DomainEventSpec("jurisdiction_dispute.jurisdiction_designated", "指定管辖", "Jurisdiction designated"),
    DomainEventSpec(
        "jurisdiction_dispute.referred_to_government", "报请政府决定", "Referred to the government"
    ),
    DomainEventSpec(
        "jurisdiction_dispute.interim_agency_named",
        "指定临时处置机关",
        "Interim agency named for urgent measures",
    ),
)


# ----- the coordinator's decisions (Temporal Updates) -------------------------------------------


class CoordinatorInput(BaseModel):
    """Who acts: a console user and the agency they act for.

    ``request_id`` is the console's id of one form submission; it becomes the Update id, so a
    double click or a retried request changes the dispute once.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    coordinator: str = Field(min_length=1, max_length=40, description="控制台用户 id", examples=["u-coord-1"])
    coordinator_name: str = Field(default="", max_length=50, examples=["张明"])
    coordinator_agency: str = Field(
        pattern=r"^[a-z0-9-]{2,40}$", description="用户所属机关", examples=["rz-sfj"]
    )
    request_id: str | None = Field(default=None, max_length=100)


class ClaimInput(CoordinatorInput):
    """Take the dispute into one's own work list (认领)."""

    coordinator_name: str = Field(min_length=1, max_length=50, examples=["张明"])


class UnclaimInput(CoordinatorInput):
    """Give the dispute back to the office's inbox."""

    reason: str = Field(default="", max_length=1000)


class ReassignInput(CoordinatorInput):
    """A coordinator lead (or an administrator) hands a claimed dispute to another coordinator
    of the deciding office, e.g. when the holder is away; ``coordinator`` is the one who decides."""

    to_coordinator: str = Field(min_length=1, max_length=40, description="接手的协调人 id")
    to_coordinator_name: str = Field(min_length=1, max_length=50, description="接手的协调人姓名")
    reason: str = Field(default="", max_length=1000, description="改派理由")
    as_admin: bool = Field(default=False, description="由管理员代协调机构改派")


class RequestOpinionsInput(CoordinatorInput):
    """Ask parties for written opinions; ``due_date`` (last day) defaults to 7 working days."""

    agencies: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=MAX_AGENCIES, description="被征求意见的争议方"
    )
    due_date: date | None = Field(default=None, description="意见截止日（含当日）")
    note: str = Field(default="", max_length=2000)


class ExtendInput(CoordinatorInput):
    """Extend the designation deadline once, by up to 10 working days, with a reason."""

    working_days: int = Field(ge=1, le=10)
    reason: str = Field(default="", max_length=2000)


class DesignateInput(CoordinatorInput):
    """Designate the competent agency (指定管辖), with written reasons.

    A party, unless the common superior government designates: it may name another
    administrative enforcement agency or township (art. 25), which then joins the dispute.
    """

    agency: str = Field(pattern=r"^[a-z0-9-]{2,40}$", description="被指定的机关")
    reason: str = Field(default="", max_length=4000)


class ReferInput(CoordinatorInput):
    """Coordination failed: report the dispute to the government for decision."""

    reason: str = Field(default="", max_length=4000)


class InterimAgencyInput(CoordinatorInput):
    """Negative disputes: name an agency to take urgent measures while the dispute runs."""

    agency: str = Field(pattern=r"^[a-z0-9-]{2,40}$")
    measures: str = Field(default="", max_length=2000, description="紧急措施（如证据保全）")
    reason: str = Field(default="", max_length=2000)


class CoordinatorActionResult(BaseModel):
    """What the console learns after a coordinator action was applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str
    state: str
    duplicate: bool = False
    claimed_by: str | None = None
    designated_agency: str | None = None
    due_at: str | None = Field(default=None, description="The next open deadline, ISO 8601, if any.")


# ----- pure helpers the workflow and the console share -------------------------------------------


class FirstToFile(BaseModel):
    """The suggestion of art. 25 ("first to file has jurisdiction") and the dates behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: str | None = Field(description="Suggested agency, or None when the dates do not decide it.")
    reason_zh: str
    reason_en: str
    filing_dates: dict[str, date | None]


def first_to_file(kind: DisputeKind, claims: list[PartyClaim]) -> FirstToFile:
    """Suggest the agency that filed first, when the filing dates decide it.

    Candidates are the parties that claim the case (positive disputes) or every party (negative
    disputes, where one may have filed before declining). A suggestion is made only when every
    candidate's filing date is known and one date is the earliest alone; otherwise the dates are
    still returned so the coordinator sees what is missing. Never a decision: the coordinator
    designates with their own reasons.
    """
    candidates = [c for c in claims if kind is DisputeKind.NEGATIVE or c.position is Position.CLAIMS]
    dates = {c.agency: c.filed_on for c in claims}
    shown = "；".join(f"{c.agency} {c.filed_on.isoformat() if c.filed_on else '未立案'}" for c in candidates)
    shown_en = "; ".join(
        f"{c.agency} {c.filed_on.isoformat() if c.filed_on else 'not filed'}" for c in candidates
    )
    known = [c for c in candidates if c.filed_on is not None]
    if not known:
        return FirstToFile(
            agency=None,
            reason_zh=f"各方均未立案，无法依“最先立案”规则建议（{shown}）",
            reason_en=f"No party has filed; first-to-file gives no suggestion ({shown_en})",
            filing_dates=dates,
        )
    if len(known) < len(candidates):
        return FirstToFile(
            agency=None,
            reason_zh=f"部分争议方立案日期不明，无法确定最先立案机关（{shown}）",
            reason_en=f"Some filing dates are unknown; first to file cannot be established ({shown_en})",
            filing_dates=dates,
        )
    earliest = min(c.filed_on for c in known if c.filed_on is not None)
    first = [c for c in known if c.filed_on == earliest]
    if len(first) > 1:
        tied = "、".join(c.agency for c in first)
        return FirstToFile(
            agency=None,
            reason_zh=f"{tied} 同日立案，“最先立案”规则无法区分（{shown}）",
            reason_en=f"{', '.join(c.agency for c in first)} filed on the same day ({shown_en})",
            filing_dates=dates,
        )
    winner = first[0]
    return FirstToFile(
        agency=winner.agency,
        reason_zh=f"依《行政处罚法》第二十五条，由最先立案的行政机关管辖：{winner.agency} 于 {earliest.isoformat()} "
        f"立案，早于其他争议方（{shown}）",
        reason_en=f"Administrative Penalty Law art. 25, first to file has jurisdiction: {winner.agency} filed on "
        f"{earliest.isoformat()}, before the other parties ({shown_en})",
        filing_dates=dates,
    )


def coordinating_office(parties: list[str]) -> str:
    """The justice bureau that coordinates a dispute between ``parties`` when the event names none.

    Parties of one district go to that district's justice bureau; any other mix (city
    departments, several districts) goes to the city's justice bureau, the office of their
    common superior.

    Raises:
        ValueError: when the registry has no justice bureau at all (a broken agencies.json).
    """
    districts = {getattr(get_agency(p), "district", None) for p in parties}
    if len(districts) == 1 and None not in districts and parties:
        found = supervisor_of(parties[0], AgencyKind.JUSTICE)
        if found is not None:
            return found.id
    for agency in agencies().values():
        if agency.kind is AgencyKind.JUSTICE and agency.level is AgencyLevel.CITY:
            return agency.id
    raise ValueError("agencies.json names no city-level justice bureau")


def government_of(office: str) -> str | None:
    """The government the coordinating office reports to (referrals and escalations go there)."""
    agency = get_agency(office)
    if agency is None:
        return None
    if agency.kind is AgencyKind.GOVERNMENT:
        return agency.id if agency.parent is None else agency.parent
    if agency.parent is not None:
        return agency.parent
    found = supervisor_of(office, AgencyKind.GOVERNMENT)
    return found.id if found is not None else None


STATES: tuple[StateDef, ...] = (
    StateDef(str(State.NEW), "新建", "new"),
    *(
        StateDef(str(state), *STATE_LABELS[state], closed=state in CLOSED_STATES)
        for state in State
        if state is not State.NEW
    ),
)

DISPUTE_RULES = "《行政处罚法》第25条；市级行政执法协调规则(默认值，无国家时限)"

# The time limits of this process, one row per limit with the source that fixes it.
# fmt: off
RULES: tuple[Rule, ...] = (
    limit("jurisdiction_dispute.negotiation", DISPUTE_RULES, 5, WORKING_DAYS,
        "争议各方协商", "Parties negotiate", True, nature=Nature.WINDOW),
    limit("jurisdiction_dispute.coordination_acceptance", DISPUTE_RULES, 3, WORKING_DAYS,
        "协调机构决定是否受理", "Coordinator accepts or rejects the request", True),
    limit("jurisdiction_dispute.opinion", DISPUTE_RULES, 7, WORKING_DAYS,
        "争议方提交书面意见", "Party submits a written opinion", True),
    limit("jurisdiction_dispute.designation", DISPUTE_RULES, 15, WORKING_DAYS,
        "协调机构指定管辖", "Coordinator designates the competent agency", True),
    limit("jurisdiction_dispute.extension", DISPUTE_RULES, 10, WORKING_DAYS,
        "指定管辖期限延长", "Designation extension (once, with reasons)", True),
    limit("jurisdiction_dispute.acknowledgement", DISPUTE_RULES, 2, WORKING_DAYS,
        "被指定机关确认", "Designated agency acknowledges", True),
)
# fmt: on

# Who is told of each of its domain events and steps, and what they must do.
# fmt: off
TELLS: Mapping[str, tuple[Who, ...]] = MappingProxyType({
    # ----- 2. jurisdiction_dispute (《行政处罚法》第25条) -----
    "jurisdiction_dispute.dispute_raised": (),  # followed by jurisdiction_dispute.opened
    # The parties hear of it through the negotiation deadline.set (a deadline of every party).
    "jurisdiction_dispute.opened": (coordinate(COORDINATOR, "管辖争议已立项，进入协商阶段；协商不成可申请协调",
                                               "A dispute was opened and is in negotiation; coordination may follow"),),
    "jurisdiction_dispute.agreement_reached": (),  # case.closed tells every party
    "jurisdiction_dispute.coordination_requested": (inform(PARTIES, "已提请协调", "Coordination was requested"),),
    "jurisdiction_dispute.coordination_accepted": (inform(PARTIES, "协调机构已受理", "The coordinator accepted the request"),),
    # The office's acceptance deadline.set asks it to decide.
    "jurisdiction_dispute.taken_into_coordination": (inform(PARTIES, "协商期满未达成一致，已转入协调",
                                                            "Negotiation lapsed without agreement; the dispute went to coordination"),),
    "jurisdiction_dispute.coordination_rejected": (),  # case.closed tells every party, with the state
    "jurisdiction_dispute.claimed": (inform(PARTIES),),
    "jurisdiction_dispute.unclaimed": (coordinate(COORDINATOR, "争议已退回，待协调人认领",
                                                  "The dispute was released and awaits a coordinator"),),
    "jurisdiction_dispute.reassigned": (coordinate(COORDINATOR, "争议已改派给另一名协调人",
                                                   "The dispute was reassigned to another coordinator"),),
    "jurisdiction_dispute.opinion_requested": (),  # each asked party's deadline.set asks for the opinion
    "jurisdiction_dispute.opinion_submitted": (coordinate(COORDINATOR, "争议方已提交书面意见",
                                                          "A party submitted its written opinion"),),
    "jurisdiction_dispute.extended": (inform(PARTIES),),
    # The designated agency's acknowledgement deadline.set asks it to acknowledge.
    "jurisdiction_dispute.jurisdiction_designated": (inform(PARTIES),),
    "jurisdiction_dispute.referred_to_government": (act(payload_agencies("government"), "协调未果，请决定管辖",
                                                        "Coordination failed; please designate the competent agency"),
                                                    inform(PARTIES)),
    "jurisdiction_dispute.interim_agency_named": (act(payload_agencies("agency"), "请在争议期间采取证据保全等紧急措施",
                                                      "Take urgent measures (evidence preservation) while the dispute runs"),
                                                  inform(PARTIES)),
    "jurisdiction_dispute.designation_acknowledged": (),  # case.closed tells every party
})
# fmt: on

# What each step or outcome does to the time limits. Negotiation is a window of every party:
# its lapse escalates nobody, it moves the dispute before the office. The office's acceptance
# runs from a request or from the lapse, an opinion per agency asked, an extension by the
# working days the coordinator grants: the workflow starts those where they apply. Cancelling
# a limit a decision made moot is the workflow's too (a breached one is cancelled as well).
_R = "jurisdiction_dispute."
_OFFICE = ("office", ("government",))
# fmt: off
CLOCKS: Mapping[str, Clocks] = MappingProxyType({
    _R + "opened": Clocks(starts=(Clock(_R + "negotiation"),)),
    _R + "agreement_reached": Clocks(meets=(_R + "negotiation",)),
    _R + "coordination_requested": Clocks(starts=(Clock(_R + "coordination_acceptance", *_OFFICE, by_handler=True),)),
    _R + "taken_into_coordination": Clocks(
        starts=(Clock(_R + "coordination_acceptance", *_OFFICE, by_handler=True),)),
    _R + "coordination_accepted": Clocks(
        meets=(_R + "coordination_acceptance",), starts=(Clock(_R + "designation", *_OFFICE),)),
    _R + "coordination_rejected": Clocks(meets=(_R + "coordination_acceptance",)),
    _R + "opinion_requested": Clocks(starts=(Clock(_R + "opinion", "asked_agency", ("office",), by_handler=True),)),
    _R + "extended": Clocks(starts=(Clock(_R + "extension", *_OFFICE, by_handler=True),)),
    _R + "jurisdiction_designated": Clocks(
        meets=(_R + "designation", _R + "extension"),
        starts=(Clock(_R + "acknowledgement", "designated_agency", ("office",)),)),
    _R + "designation_acknowledged": Clocks(meets=(_R + "acknowledgement",)),
})
# fmt: on

DEFINITION = Process(
    name=PROCESS,
    label_zh="管辖争议协调",
    label_en="Jurisdiction dispute",
    workflow="JurisdictionDispute",
    states=STATES,
    steps=EVENTS,
    tells=TELLS,
    clocks=CLOCKS,
    rules=RULES,
    domain_events=DOMAIN_EVENTS,
    sources=("《行政处罚法》第25条", "市级行政执法协调规则"),
)
