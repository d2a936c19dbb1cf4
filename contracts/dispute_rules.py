"""When a coordinator's decision on a jurisdiction dispute is possible, as one set of pure rules.

The dispute's workflow applies them in its Update validators (from its own state); the console
applies the same functions to the read model to offer only the decisions that can work: no
claim button during negotiation, no forms after designation, only the agencies a designation
may name. Each refusal says, in zh-CN and English, what is wrong and which field it is about,
so a coordinator never meets an English sentence on a Chinese page.

The rules take a :class:`DisputeFacts` rather than the workflow itself, so they need no Temporal
and the console can build the facts from the read model. Rules about what the user typed (a
reason, a due date) are separate from the rules about whether the decision is open at all
(``*_open``), which is what a page asks before offering a form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.agencies import AgencyKind, get_agency
from contracts.jurisdiction_dispute import (
    COORDINATOR_STATES,
    DESIGNABLE_KINDS,
    PARTY_KINDS,
    STATE_LABELS,
    CoordinatorInput,
    DesignateInput,
    DisputeKind,
    ExtendInput,
    InterimAgencyInput,
    ReassignInput,
    ReferInput,
    RequestOpinionsInput,
    State,
)
from contracts.refusal import Refusal


@dataclass(frozen=True)
class DisputeFacts:
    """What the rules look at: the workflow's state, or the read model's picture of it."""

    case_id: str
    state: str
    closed: bool
    kind: str | None
    parties: tuple[str, ...]
    office: str
    government: str | None
    claimed_by: str | None = None
    claimed_by_name: str | None = None
    # The one extension taken: working_days and coordinator (None: not extended yet).
    extended: Mapping[str, Any] | None = None
    designation_open: bool = False
    opinions_pending: tuple[str, ...] = field(default_factory=tuple)


# Update name -> (states in which it is valid, whether the acting user must hold the claim).
ACTION_STATES: Mapping[str, tuple[frozenset[str], bool]] = {
    "claim": (COORDINATOR_STATES | {State.REFERRED}, False),
    "unclaim": (COORDINATOR_STATES | {State.REFERRED}, True),
    "reassign": (COORDINATOR_STATES | {State.REFERRED}, False),
    "request_opinions": (COORDINATOR_STATES, True),
    "extend": (COORDINATOR_STATES, True),
    "designate": (COORDINATOR_STATES | {State.REFERRED}, True),
    "refer_to_government": (COORDINATOR_STATES, True),
    "name_interim_agency": (
        frozenset({State.NEGOTIATING, State.COORDINATION_REQUESTED, *COORDINATOR_STATES, State.REFERRED}),
        False,
    ),
}


def acting_office(facts: DisputeFacts) -> str:
    """Who decides now: the coordinating office, or its government after a referral."""
    if facts.state == State.REFERRED:
        return facts.government or ""
    return facts.office


def by_common_superior(facts: DisputeFacts) -> bool:
    """Whether the deciding body is the parties' common superior, a government: after a
    referral, or when a government coordinates the dispute itself. Only it may designate an
    agency that is not a party (art. 25: the common superior may designate directly)."""
    if facts.state == State.REFERRED:
        return True
    office = get_agency(facts.office)
    return office is not None and office.kind is AgencyKind.GOVERNMENT


def actor_refusal(
    action: str, facts: DisputeFacts, coordinator: str, coordinator_agency: str, *, as_admin: bool = False
) -> Refusal | None:
    """The common conditions: the dispute is open and in the action's states, the user acts for
    the deciding office, and nobody else holds the claim (or, if required, the user holds it).
    A reassignment overrides the holder, so it checks only that somebody holds the claim; an
    administrator reassigns for the office without belonging to it."""
    states, must_hold_claim = ACTION_STATES[action]
    if facts.state == State.NEW:
        return Refusal(
            "case_id",
            f"no jurisdiction dispute {facts.case_id!r} has been raised",
            f"尚未提出管辖争议 {facts.case_id}",
        )
    if facts.closed:
        return Refusal(
            "case_id",
            f"dispute {facts.case_id} is closed (state {facts.state})",
            f"争议 {facts.case_id} 已办结（状态：{facts.state}）",
        )
    if facts.state not in states:
        return Refusal(
            "state",
            f"not possible while the dispute is in state {facts.state}",
            f"争议当前处于“{state_zh(facts.state)}”阶段，不能进行此操作",
        )
    acting = acting_office(facts)
    if coordinator_agency != acting and not as_admin:
        if get_agency(coordinator_agency) is None:
            return Refusal(
                "coordinator_agency",
                f"unknown agency {coordinator_agency!r}",
                f"未知机关 {coordinator_agency or '（空）'}",
            )
        return Refusal(
            "coordinator_agency",
            f"{coordinator_agency} does not decide this dispute; {acting} does",
            f"{coordinator_agency} 无权决定本争议，应由 {acting} 决定",
        )
    holder = facts.claimed_by
    if action == "reassign":
        if not holder:
            return Refusal(
                "coordinator",
                "nobody holds the claim; a coordinator claims the dispute instead",
                "本争议尚无人认领，无需改派；请由协调人直接认领",
            )
        return None
    if holder and holder != coordinator:
        who = facts.claimed_by_name or holder
        return Refusal(
            "coordinator",
            f"dispute {facts.case_id} is claimed by {who} ({holder})",
            f"争议 {facts.case_id} 已由 {who}（{holder}）认领",
        )
    if must_hold_claim and not holder:
        return Refusal("coordinator", "claim the dispute before acting on it", "请先认领本争议再办理")
    return None


def state_zh(state: str) -> str:
    """A dispute state in Chinese, for the refusals (the contract's own labels)."""
    return STATE_LABELS.get(state, (state, state))[0]


def _reason(text: str, zh: str, en: str) -> Refusal | None:
    if not text.strip():
        return Refusal("reason", f"{en} needs written reasons", f"{zh}须写明理由")
    return None


# ----- whether each decision is open, and what the user typed ------------------------------------


def extend_open(facts: DisputeFacts, coordinator: str, coordinator_agency: str) -> Refusal | None:
    """An extension is possible once, while the designation deadline is still open."""
    refusal = actor_refusal("extend", facts, coordinator, coordinator_agency)
    if refusal is not None:
        return refusal
    done = facts.extended
    if done:
        return Refusal(
            "working_days",
            f"the designation deadline was already extended once ({done['working_days']} working days "
            f"by {done['coordinator']}); it cannot be extended again",
            f"指定管辖期限已延长过一次（{done['working_days']}个工作日，{done['coordinator']}），不能再次延长",
        )
    if not facts.designation_open:
        return Refusal(
            "working_days",
            "the designation deadline has already passed and can no longer be extended",
            "指定管辖期限已届满，不能再延长",
        )
    return None


def check_extend(facts: DisputeFacts, data: ExtendInput, max_days: int) -> Refusal | None:
    """An extension of 1 to ``max_days`` working days, with a reason."""
    refusal = extend_open(facts, data.coordinator, data.coordinator_agency)
    if refusal is not None:
        return refusal
    if not 1 <= data.working_days <= max_days:
        return Refusal(
            "working_days",
            f"an extension is 1 to {max_days} working days",
            f"延长期限为1至{max_days}个工作日",
        )
    return _reason(data.reason, "延长期限", "an extension")


def designation_refusal(facts: DisputeFacts, agency_id: str) -> Refusal | None:
    """Whether ``agency_id`` may be designated: a party, or, where the common superior decides,
    an administrative enforcement agency or township."""
    parties = list(facts.parties)
    if agency_id in parties:
        return None
    if not by_common_superior(facts):
        return Refusal(
            "agency",
            f"{agency_id} is not a party to this dispute (parties: {', '.join(parties)}); only "
            "the common superior government may designate another agency (refer the dispute to it)",
            f"{agency_id} 不是本争议的当事机关（当事机关：{'、'.join(parties)}）；只有共同上级人民政府"
            "可以指定其他机关（请报请政府决定）",
        )
    agency = get_agency(agency_id)
    if agency is None:
        return Refusal("agency", f"unknown agency {agency_id!r}", f"未知机关 {agency_id}")
    if agency.kind not in DESIGNABLE_KINDS:
        return Refusal(
            "agency",
            f"{agency_id} is a {agency.kind.value} agency, not an administrative enforcement "
            "agency or township that can take the case",
            f"{agency_id} 不是可以承办案件的行政执法机关或乡镇（街道）",
        )
    return None


def check_designate(facts: DisputeFacts, data: DesignateInput) -> Refusal | None:
    """A designation by the claim holder of an agency it may name, with reasons."""
    refusal = actor_refusal("designate", facts, data.coordinator, data.coordinator_agency)
    if refusal is not None:
        return refusal
    refusal = designation_refusal(facts, data.agency)
    if refusal is not None:
        return refusal
    return _reason(data.reason, "指定管辖", "a designation")


def refer_open(facts: DisputeFacts, coordinator: str, coordinator_agency: str) -> Refusal | None:
    """A referral needs a government above the coordinating office."""
    refusal = actor_refusal("refer_to_government", facts, coordinator, coordinator_agency)
    if refusal is not None:
        return refusal
    if not facts.government:
        return Refusal(
            "coordinator_agency",
            f"{facts.office} has no government to refer to",
            f"{facts.office} 没有可报请决定的人民政府",
        )
    return None


def check_refer(facts: DisputeFacts, data: ReferInput) -> Refusal | None:
    """A referral to the government, with reasons."""
    refusal = refer_open(facts, data.coordinator, data.coordinator_agency)
    if refusal is not None:
        return refusal
    return _reason(data.reason, "报请政府决定", "a referral to the government")


def opinion_refusal(facts: DisputeFacts, agency_id: str) -> Refusal | None:
    """Whether ``agency_id`` may be asked for an opinion: a party with none outstanding."""
    if agency_id not in facts.parties:
        return Refusal(
            "agencies",
            f"{agency_id} is not a party to this dispute (parties: {', '.join(facts.parties)})",
            f"{agency_id} 不是本争议的当事机关（当事机关：{'、'.join(facts.parties)}）",
        )
    if agency_id in facts.opinions_pending:
        return Refusal(
            "agencies",
            f"an opinion from {agency_id} is already outstanding",
            f"{agency_id} 的书面意见尚未提交，不能重复征求",
        )
    return None


def check_request_opinions(
    facts: DisputeFacts,
    data: RequestOpinionsInput,
    today: date,
    is_working_day: Callable[[date], bool],
) -> Refusal | None:
    """Parties asked once each, a due date after today on a working day."""
    refusal = actor_refusal("request_opinions", facts, data.coordinator, data.coordinator_agency)
    if refusal is not None:
        return refusal
    if len(set(data.agencies)) != len(data.agencies):
        return Refusal("agencies", "an agency is listed twice", "同一机关列了两次")
    for agency in data.agencies:
        refusal = opinion_refusal(facts, agency)
        if refusal is not None:
            return refusal
    if data.due_date is not None:
        shown = data.due_date.isoformat()
        if data.due_date <= today:
            return Refusal("due_date", f"{shown} is not after today", f"{shown} 不晚于今天")
        if not is_working_day(data.due_date):
            return Refusal("due_date", f"{shown} is not a working day", f"{shown} 不是工作日")
    return None


def interim_open(facts: DisputeFacts, coordinator: str, coordinator_agency: str) -> Refusal | None:
    """An interim agency is named only in a negative dispute."""
    refusal = actor_refusal("name_interim_agency", facts, coordinator, coordinator_agency)
    if refusal is not None:
        return refusal
    if facts.kind != DisputeKind.NEGATIVE:
        return Refusal(
            "agency",
            "an interim agency is named only in a negative dispute (no agency will take the case)",
            "只有消极争议（无机关愿意管辖）才指定临时处置机关",
        )
    return None


def interim_agency_refusal(agency_id: str) -> Refusal | None:
    """Whether ``agency_id`` can take urgent measures: an enforcement agency."""
    agency = get_agency(agency_id)
    if agency is None or agency.kind not in PARTY_KINDS:
        return Refusal(
            "agency",
            f"{agency_id} is not an enforcement agency that can take urgent measures",
            f"{agency_id} 不是可以采取紧急措施的执法机关",
        )
    return None


def check_interim(facts: DisputeFacts, data: InterimAgencyInput) -> Refusal | None:
    """An enforcement agency, the measures and the reasons."""
    refusal = interim_open(facts, data.coordinator, data.coordinator_agency)
    if refusal is not None:
        return refusal
    refusal = interim_agency_refusal(data.agency)
    if refusal is not None:
        return refusal
    if not data.measures.strip():
        return Refusal(
            "measures",
            "name the urgent measures (e.g. evidence preservation)",
            "请写明紧急措施（如证据保全）",
        )
    return _reason(data.reason, "指定临时处置机关", "naming an interim agency")


def check_reassign(facts: DisputeFacts, data: ReassignInput) -> Refusal | None:
    """A lead (or an administrator) hands a claimed dispute to another coordinator, with reasons."""
    refusal = actor_refusal(
        "reassign", facts, data.coordinator, data.coordinator_agency, as_admin=data.as_admin
    )
    if refusal is not None:
        return refusal
    if data.to_coordinator == facts.claimed_by:
        return Refusal(
            "to_coordinator",
            f"the dispute is already claimed by {data.to_coordinator}; pick another coordinator",
            f"争议已由 {facts.claimed_by_name or data.to_coordinator} 认领，请选择另一名协调人",
        )
    return _reason(data.reason, "改派", "a reassignment")


def check_claim(facts: DisputeFacts, data: CoordinatorInput) -> Refusal | None:
    """Claim: the deciding office's coordinator, nobody else holding it."""
    return actor_refusal("claim", facts, data.coordinator, data.coordinator_agency)


def check_unclaim(facts: DisputeFacts, data: CoordinatorInput) -> Refusal | None:
    """Release: only the holder."""
    return actor_refusal("unclaim", facts, data.coordinator, data.coordinator_agency)
