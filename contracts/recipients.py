"""Who must hear about each domain event, and what they are told: the pieces each process's
definition names its recipients with (``tells`` of :class:`~contracts.process.Process`).

A row lists rules (:class:`Who`): a selector that picks agencies from the event (:class:`Pick`),
why they are told (:class:`Reason`) and what they must do, in zh-CN and English. The notifier
(``services/notifier/recipients.py``) applies the general rules to every row: the acting agency
is not told of its own step, an agency picked twice hears once with the strongest reason, and a
confidential process's texts carry ids and states only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from contracts.agencies import AgencyKind, AgencyLevel, agencies, get_agency, supervisor_of
from contracts.domain import DomainEvent


class Reason(StrEnum):
    """Why an agency is told; also the order of precedence when one agency qualifies twice."""

    ACT = "act"  # 须办理: the party that must act next
    SUPERVISE = "supervise"  # 监督: the supervisor on an escalation
    COORDINATE = "coordinate"  # 协调: the coordinator of a dispute
    INFORM = "inform"  # 知悉: a party kept informed


# ----- selectors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """A named way of finding agencies in a domain event (the name is what tests compare)."""

    name: str
    fn: Callable[[DomainEvent], Iterable[Any]]

    def __call__(self, event: DomainEvent) -> list[str]:
        """Agency ids this selector finds in ``event`` (may be empty, never raises on odd payloads)."""
        found: list[str] = []
        for value in self.fn(event):
            if isinstance(value, str) and value and value not in found:
                found.append(value)
        return found


def _case_agency(event: DomainEvent) -> str | None:
    """The agency that opened the case: the first party (workflows add it first), else the actor."""
    if event.parties:
        return event.parties[0]
    return event.actor


def _deadline_party(event: DomainEvent) -> list[str | None]:
    # A deadline without a party belongs to the case as a whole: every party must act.
    if event.deadline is None:
        return []
    if event.deadline.party:
        return [event.deadline.party]
    return list(event.parties)


def _escalation_target(event: DomainEvent) -> list[Any]:
    target = event.payload.get("target")
    if target:
        return [target]
    return list(event.deadline.escalate_to) if event.deadline is not None else []


def kind_of(agency_id: str) -> AgencyKind | None:
    agency = get_agency(agency_id)
    return agency.kind if agency is not None else None


def _is_referrer(agency_id: str) -> bool:
    """Could ``agency_id`` be the body that referred a clue? Not a commission, and not the 12345
    hotline (a city-level government body that is a department of the city government), which
    only proposes a clue and has no need to know how it is handled."""
    agency = get_agency(agency_id)
    if agency is None or agency.kind is AgencyKind.DISCIPLINE:
        return False
    return not (agency.kind is AgencyKind.GOVERNMENT and agency.level is AgencyLevel.CITY and agency.parent)


def parties_of(kind: AgencyKind | None = None) -> Pick:
    """Every party of the case (of one agency kind, when given)."""
    name = f"parties:{kind.value}" if kind else "parties"
    return Pick(name, lambda e: [p for p in e.parties if kind is None or kind_of(p) is kind])


def supervisor(kind: AgencyKind) -> Pick:
    """The agency of ``kind`` supervising the case agency's territory (contracts.agencies.supervisor_of)."""

    def fn(event: DomainEvent) -> list[str | None]:
        agency = _case_agency(event)
        found = supervisor_of(agency, kind) if agency else None
        return [found.id if found is not None else None]

    return Pick(f"supervisor:{kind.value}", fn)


def _walk(value: Any, path: list[str]) -> list[Any]:
    """Values at a dotted path; ``name[]`` steps into every element of a list."""
    if not path:
        return value if isinstance(value, list) else [value]
    head, rest = path[0], path[1:]
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(value, dict) or key not in value:
        return []
    inner = value[key]
    if many:
        if not isinstance(inner, list):
            return []
        return [v for item in inner for v in _walk(item, rest)]
    return _walk(inner, rest)


def payload_agencies(*paths: str) -> Pick:
    """Agency ids named in the payload at any of ``paths`` (``items[].original_department``)."""
    return Pick(
        "payload:" + ",".join(paths),
        lambda e: [v for path in paths for v in _walk(e.payload, path.split("."))],
    )


def _coordinator(event: DomainEvent) -> list[str | None]:
    """The dispute's coordinator: named in the payload, else the justice bureau of the parties'
    common district, else the city justice bureau (the 2024 opinion names the justice bureau)."""
    named = _walk(event.payload, ["coordinator_office"])
    if named:
        return named
    registry = agencies()
    districts = {registry[p].district for p in event.parties if p in registry}
    if len(districts) == 1:
        district = next(iter(districts))
        if district is not None:
            found = supervisor_of(district, AgencyKind.JUSTICE)
            return [found.id if found else None]
    city = [a.id for a in registry.values() if a.kind is AgencyKind.JUSTICE and a.level is AgencyLevel.CITY]
    return city[:1]


DEADLINE_PARTY = Pick("deadline_party", _deadline_party)
ESCALATION_TARGET = Pick("escalation_target", _escalation_target)
CASE_AGENCY = Pick("case_agency", lambda e: [_case_agency(e)])
PARTIES = parties_of()
COORDINATOR = Pick("coordinator", _coordinator)
POLICE = parties_of(AgencyKind.POLICE)
PROCURATORATE_PARTY = parties_of(AgencyKind.PROCURATORATE)
DISCIPLINE = parties_of(AgencyKind.DISCIPLINE)
TOWNSHIP = parties_of(AgencyKind.TOWNSHIP)
JUSTICE_PARTY = parties_of(AgencyKind.JUSTICE)
REFERRER = Pick("referrer", lambda e: [next((p for p in e.parties if _is_referrer(p)), None)])
AGENCY_PARTIES = Pick(
    "parties:administrative+township",
    lambda e: [p for p in e.parties if kind_of(p) in (AgencyKind.ADMINISTRATIVE, AgencyKind.TOWNSHIP)],
)
PROCURATORATE = supervisor(AgencyKind.PROCURATORATE)
JUSTICE = supervisor(AgencyKind.JUSTICE)
GOVERNMENT = supervisor(AgencyKind.GOVERNMENT)
REFORM_OFFICE = supervisor(AgencyKind.REFORM_OFFICE)
ORIGINAL_DEPARTMENTS = payload_agencies("items[].original_department", "original_department")


# ----- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """One rule of a row: whom to tell, why, and what they must do.

    ``action_zh``/``action_en`` may use ``{deadline_zh}``, ``{deadline_en}``, ``{due_zh}`` and
    ``{due_en}``; None means the recipient is only informed.
    """

    pick: Pick
    reason: Reason
    action_zh: str | None = None
    action_en: str | None = None
    when: Callable[[DomainEvent], bool] | None = None

    def applies(self, event: DomainEvent) -> bool:
        """False when the rule is conditional and the condition does not hold for ``event``."""
        return self.when is None or self.when(event)


def act(pick: Pick, zh: str, en: str, *, when: Callable[[DomainEvent], bool] | None = None) -> Who:
    """The picked agencies must do something."""
    return Who(pick, Reason.ACT, zh, en, when)


def inform(
    pick: Pick,
    zh: str | None = None,
    en: str | None = None,
    *,
    when: Callable[[DomainEvent], bool] | None = None,
) -> Who:
    """The picked agencies are kept informed."""
    return Who(pick, Reason.INFORM, zh, en, when)


def payload_true(key: str) -> Callable[[DomainEvent], bool]:
    return lambda e: e.payload.get(key) is True


def payload_false(key: str) -> Callable[[DomainEvent], bool]:
    return lambda e: e.payload.get(key) is not True


def supervise(pick: Pick, zh: str, en: str) -> Who:
    """The picked agencies supervise (escalations)."""
    return Who(pick, Reason.SUPERVISE, zh, en)


def coordinate(pick: Pick, zh: str, en: str) -> Who:
    """The picked agencies coordinate (disputes)."""
    return Who(pick, Reason.COORDINATE, zh, en)


_DO_BY = ("请于{due_zh}办理：{deadline_zh}", "Please complete by {due_en}: {deadline_en}")


# The rows every process shares: deadlines, escalations and the closing of a case.
# fmt: off
COMMON_TELLS: Mapping[str, tuple[Who, ...]] = MappingProxyType({
    # ----- shared deadline and escalation machinery (every process) -----
    "deadline.set": (act(DEADLINE_PARTY, *_DO_BY),),
    "deadline.warning": (act(DEADLINE_PARTY, "时限即将届满，请于{due_zh}办理：{deadline_zh}",
                             "Deadline approaching; complete by {due_en}: {deadline_en}"),),
    "deadline.breached": (act(DEADLINE_PARTY, "已超过时限（{due_zh}），请立即办理：{deadline_zh}；已提请监督",
                              "Deadline passed ({due_en}); act now: {deadline_en}. The supervisor has been told"),),
    # Met: the party itself just acted; a late step was already escalated at the breach.
    "deadline.met": (),
    "deadline.cancelled": (inform(DEADLINE_PARTY, "该时限不再适用：{deadline_zh}",
                                  "This deadline no longer applies: {deadline_en}"),),
    # A window is a right: the party learns it lapsed, nobody is escalated.
    "deadline.lapsed": (inform(DEADLINE_PARTY, "期限已届满（{due_zh}），未行使：{deadline_zh}",
                               "The window closed ({due_en}) unused: {deadline_en}"),),
    # A reminder is never a breach, and is worded as one nowhere.
    "deadline.reminder": (act(DEADLINE_PARTY, "提醒：{deadline_zh}（预期{due_zh}前反馈；仅提醒，不决定结果）",
                              "Reminder: {deadline_en} (expected by {due_en}; a reminder, not an outcome)"),),
    "deadline.recomputed": (act(DEADLINE_PARTY, "期限已按新公布的节假日安排重算，请于{due_zh}办理：{deadline_zh}",
                                "Due date recomputed with the official calendar; complete by {due_en}: {deadline_en}"),),
    "escalation.raised": (supervise(ESCALATION_TARGET, "请督促办理：{deadline_zh}（期限{due_zh}，已超期）",
                                    "Please supervise: {deadline_en} (due {due_en}, not met)"),),
    # A breach recorded before a late-reported step proved it was done in time.
    "escalation.withdrawn": (inform(ESCALATION_TARGET, "超期提请撤回：{deadline_zh}已按时完成（迟报）",
                                    "Escalation withdrawn: {deadline_en} was done in time (reported late)"),),
    "case.closed": (inform(PARTIES),),
})
# fmt: on
