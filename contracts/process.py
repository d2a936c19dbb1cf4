"""The shape of a process definition: its states, its steps and what each step may do.

A process is defined once, in its ``contracts/<process>.py`` module, as one :class:`Process`
value (``DEFINITION``). The catalog, the JSON Schemas, intake's routing and sender checks, the
workflow's validity table, the console's state names and the rule book a legal officer reviews
are all read from it, so a reviewer checks a process against DOMAIN.md in one place and a
change to a rule cannot reach one of those and miss another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from contracts.common import DomainEventSpec, EventSpec
from contracts.recipients import Who
from contracts.time_limits import Rule

PARTY_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "agency": ("本案的行政执法机关", "the case's administrative agency"),
        "police": ("本案的公安机关", "the case's police"),
        "procuratorate": ("本案的检察院", "the case's procuratorate"),
        "parties": ("本案任一当事机关", "any party to the case"),
        "office": ("受理协调的司法行政机关", "the coordinating office"),
        "designated_agency": ("被指定管辖的机关", "the designated agency"),
        "referring_agency": ("移送线索的单位", "the referring body"),
        "commission": ("线索所在的纪检监察机关", "the commission holding the clue"),
        "township": ("承接赋权的乡镇（街道）", "the township"),
        "referrer_supervisor": (
            "移送单位的监督机关（司法行政机关；司法行政机关自身则为本级人民政府）",
            "the referring body's supervisor (its justice bureau; for a justice bureau, its government)",
        ),
        "commission_supervisor": ("上级纪检监察机关", "the commission's superior commission"),
        "government": ("协调机关的本级人民政府", "the coordinating office's government"),
        "asked_agency": ("被征求意见的机关（每一机关各自计算）", "each agency asked for its opinion"),
        "reviewer": ("组织赋权评估的司法行政机关", "the justice bureau that runs the delegation's review"),
        "grantor": ("作出赋权决定的机关", "the authority that delegated the powers"),
        "justice_bureau": ("本案行政执法机关的司法行政机关", "the justice bureau over the case's agency"),
        "supervising_procuratorate": (
            "监督本案公安机关的检察院",
            "the procuratorate supervising the case's police",
        ),
        "supervising_authority": (
            "本案行政执法机关的监督机关（本级人民政府或上级主管机关）",
            "the agency's supervising authority (its government or superior authority)",
        ),
    }
)
"""The case roles a step's ``party`` may name; the workflow keeps who holds each role."""


@dataclass(frozen=True)
class Clock:
    """A time limit an outcome starts: the rule, the case role whose duty or window it is (None:
    nobody in particular, a joint negotiation, or whoever the step names) and the roles told
    when it is breached.

    ``by_handler``: the workflow's handler starts it where it applies (one per party, a start
    or a party the workflow computes: what a table cannot say), still with this party and
    escalation; the rule book says so.
    """

    rule: str
    party: str | None = None
    escalate_to: tuple[str, ...] = ()
    by_handler: bool = False


@dataclass(frozen=True)
class Clocks:
    """What one outcome (a domain event of the workflow) or step (an agency event taken, whatever
    its outcome) does to the case's time limits.

    ``meets``: the rules whose awaited step this is (met, or met late, at the step's own time);
    ``cancels``: the rules that no longer apply; ``starts``: the limits it starts, after it is
    announced. Meeting and cancelling come first, so an outcome that restarts a rule (a
    receipt after forwarding) answers the old clock before the new one runs.
    """

    starts: tuple[Clock, ...] = ()
    meets: tuple[str, ...] = ()
    cancels: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateDef:
    """One state of a process, with the words the console and notifications use for it."""

    name: str
    label_zh: str
    label_en: str
    closed: bool = False


@dataclass(frozen=True)
class Process:
    """Everything Lawlink knows of one process, as data.

    Attributes:
        name: the process id (the prefix of its event types and the first part of its
            workflow ids).
        label_zh / label_en: its name for people.
        workflow: the Temporal workflow type that carries a case of it, or None for a process
            that only feeds another (a hotline complaint opens a discipline referral).
        states: every state a case can be in, the first being the state before anything
            happened.
        steps: the inbound events, each with its payload, senders, valid states and the states
            it leads to (:class:`~contracts.common.EventSpec`).
        domain_events: what its workflow publishes besides the accepted steps.
        rules: its time limits (length, unit, start, nature and legal source of each).
        tells: who is told of each of its steps and domain events, why, and what they must do.
        roles: case roles of its own beyond :data:`PARTY_LABELS`, with their ``(zh, en)``
            names (a process added as a plugin names the parties only it has).
        clocks: by domain event (an outcome) or step (whatever its outcome), the time limits it
            starts, meets and cancels; the workflow applies them as it records the step or
            announces the outcome.
        confidential: need-to-know content: the bus, the read model and notifications carry
            ids and states only.
        sources: the legal sources of the process, for the rule book.
        short_zh / short_en: the name where space is tight (a notification's subject line);
            the full name when empty.
    """

    name: str
    label_zh: str
    label_en: str
    workflow: str | None
    states: tuple[StateDef, ...]
    steps: tuple[EventSpec, ...]
    domain_events: tuple[DomainEventSpec, ...] = ()
    rules: tuple[Rule, ...] = ()
    tells: Mapping[str, tuple[Who, ...]] = field(default_factory=dict)
    clocks: Mapping[str, Clocks] = field(default_factory=dict)
    roles: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    confidential: bool = False
    sources: tuple[str, ...] = ()
    short_zh: str = ""
    short_en: str = ""
    _states: Mapping[str, StateDef] = field(init=False, repr=False, compare=False)
    _steps: Mapping[str, EventSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        states = {s.name: s for s in self.states}
        steps = {s.type: s for s in self.steps}
        if len(states) != len(self.states):
            raise ValueError(f"{self.name}: a state is defined twice")
        if len(steps) != len(self.steps):
            raise ValueError(f"{self.name}: a step is defined twice")
        for step in self.steps:
            unknown = sorted((set(step.valid_in) | set(step.leads_to)) - set(states))
            if unknown:
                raise ValueError(f"{self.name}: step {step.type} names unknown states {unknown}")
            roles = sorted(set(step.party) - set(self.role_labels))
            if roles:
                raise ValueError(f"{self.name}: step {step.type} names unknown case roles {roles}")
        strays = [r.name for r in self.rules if r.process != self.name]
        if strays:
            raise ValueError(f"{self.name}: time limits of another process {strays}")
        self._check_clocks()
        object.__setattr__(self, "_states", MappingProxyType(states))
        object.__setattr__(self, "_steps", MappingProxyType(steps))

    def _check_clocks(self) -> None:
        """Every clock names an outcome of this process, one of its rules and known case roles."""
        outcomes = {d.type for d in self.domain_events} | {s.type for s in self.steps}
        rules = {r.name for r in self.rules}
        for outcome, clocks in self.clocks.items():
            if outcome not in outcomes:
                raise ValueError(
                    f"{self.name}: clocks for {outcome}, which is none of its steps or domain events"
                )
            named = {c.rule for c in clocks.starts} | set(clocks.meets) | set(clocks.cancels)
            if named - rules:
                raise ValueError(f"{self.name}: {outcome} names unknown time limits {sorted(named - rules)}")
            roles = {r for c in clocks.starts for r in (c.party, *c.escalate_to) if r is not None}
            unknown = sorted(roles - set(self.role_labels))
            if unknown:
                raise ValueError(f"{self.name}: {outcome} names unknown case roles {unknown}")

    @property
    def role_labels(self) -> Mapping[str, tuple[str, str]]:
        """``{role: (zh, en)}`` of every case role a step or clock of this process may name."""
        return {**PARTY_LABELS, **self.roles}

    def clock(self, rule: str) -> Clock | None:
        """How ``rule`` is started (its party and escalation), wherever an outcome starts it."""
        for clocks in self.clocks.values():
            for clock in clocks.starts:
                if clock.rule == rule:
                    return clock
        return None

    @property
    def short_label(self) -> tuple[str, str]:
        """``(zh, en)`` of the short name."""
        return (self.short_zh or self.label_zh, self.short_en or self.label_en)

    def state(self, name: str) -> StateDef | None:
        """The state called ``name``, or None when the process has none of that name."""
        return self._states.get(name)

    def step(self, event_type: str) -> EventSpec | None:
        """The step an inbound ``event_type`` is, or None when it is not one of this process."""
        return self._steps.get(event_type)

    @property
    def state_labels(self) -> dict[str, tuple[str, str]]:
        """``{state: (zh, en)}`` for every state."""
        return {s.name: (s.label_zh, s.label_en) for s in self.states}

    @property
    def closed_states(self) -> frozenset[str]:
        """The states in which a case is over."""
        return frozenset(s.name for s in self.states if s.closed)
