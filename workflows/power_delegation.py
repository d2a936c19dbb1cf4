"""Process 4, delegation of enforcement powers to townships (赋权乡镇街道).

Sources: 《行政处罚法》第24条; the municipal plan, task 33 (DOMAIN.md process 4). One workflow per
delegation lives as long as the delegation does, possibly many years:

* the competent government (the township's county/district government or the city government)
  grants items of county-level departments, the township accepts, and the items take effect on
  the effective date the grant names: a durable timer waits for it when the acceptance comes
  first; an acceptance reported after it finds the items in effect since that date;
* the township's case events move per-item counters (counters, never lists, so the state stays
  bounded however many cases a township handles);
* one year after the effective date a review starts, dated on that day even when Lawlink only
  learns of the delegation later: assessments are collected within the
  ``power_delegation.assessment_window``, counted from the review's own date (a deadline that
  escalates to the granting government when it falls due, and keeps waiting for the decision);
* the justice bureau or the reform office of the granting government's level decides item by
  item (the ``decide_review`` Update from the console, or the ``review_decided`` event from its
  system): keep, adjust the scope, or revoke;
* a revoked item (or one the government revokes early) goes back to its original department:
  the township hands over the open cases and the department acknowledges them;
* each review cycle ends with continue-as-new carrying only the live state, so ten years of
  reviews never make a long history; the next cycle counts from the anniversary the last one
  marked, so the review dates never drift with a late decision or a holiday.

The review period is the ``power_delegation.review_after_effective`` rule: 12 months from the
effective date (then from each anniversary), a last day that is a day off moving to the next
working day like any period (民法典 art. 203; ``LAWLINK_MONTH_LIMITS=fixed`` keeps the day).
For demonstrations ``LAWLINK_DELEGATION_REVIEW_PERIOD_SECONDS`` in the workflow's
``rule_settings`` replaces it with a number of seconds (intake passes it to new workflows from
its environment); it is never meant for production, and, having no legal start, it counts from
when the items took effect in the workflow so a demonstration can watch its review come.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ConfigDict, Field

    from contracts.agencies import AgencyKind, AgencyLevel, agencies, supervisor_of
    from contracts.common import EventSpec, Payload
    from contracts.deadline_models import DeadlineStatus
    from contracts.domain import EntryKind
    from contracts.envelope import Envelope
    from contracts.power_delegation import (
        DEFINITION,
        PROCESS,
        AssessmentSubmitted,
        AssessorRole,
        CaseHandedOver,
        DelegatedItemView,
        DelegationAccepted,
        DelegationGranted,
        HandoverAcknowledged,
        ItemCaseRecorded,
        ItemCounters,
        ItemDecision,
        ItemRevokedEarly,
        ItemState,
        ReviewDecided,
        ReviewDecisionIn,
        ReviewDecisionResult,
        ReviewOutcome,
    )
    from contracts.workflow_io import CaseStart, CaseStatus

from workflows import deadlines as dl
from workflows.case_base import REFUSED_ERROR_TYPE, CaseWorkflow, Refusal

REVIEW_RULE = "power_delegation.review_after_effective"
ASSESSMENT_RULE = "power_delegation.assessment_window"
REVIEW_PERIOD_SETTING = "LAWLINK_DELEGATION_REVIEW_PERIOD_SECONDS"
"""Demo-only override of the one-year review period, in seconds (see the module docstring)."""
MAX_REVIEW_PERIOD_SECONDS = 400 * 24 * 3600
# How much of the workflow's own step history survives a continue-as-new: the status query
# shows recent steps; the full timeline lives in the read model.
HISTORY_KEEP = 50

# Process states.
GRANTED = "granted"
ACCEPTED = "accepted"  # accepted, waiting for the effective date
ACTIVE = "active"
UNDER_REVIEW = "under_review"
ASSESSED = "assessed"  # every required assessment is in; waiting for the decision
RETURNING = "returning"  # nothing delegated any more; handovers still open
ENDED = "ended"

_DELEGATED = (ItemState.ACTIVE, ItemState.UNDER_REVIEW)
_REVOCABLE = (ItemState.GRANTED, ItemState.PENDING_EFFECT, ItemState.ACTIVE, ItemState.UNDER_REVIEW)
_REVIEWING = (UNDER_REVIEW, ASSESSED)
_CASE_RECORDED = PROCESS + ".item_case_recorded"
_ASSESSED = PROCESS + ".assessment_submitted"
_DECIDED = PROCESS + ".review_decided"
_REVOKED = PROCESS + ".item_revoked_early"
_HANDED_OVER = PROCESS + ".case_handed_over"
_ACKNOWLEDGED = PROCESS + ".handover_acknowledged"


def competent_governments(township_id: str) -> tuple[str, ...]:
    """The governments that may grant or revoke a township's powers.

    《行政处罚法》第24条 hands county-level departments' powers to townships, so only a
    government of county level or above whose territory contains the township decides: its own
    district/county government (or functional-zone committee) and the city government. A
    government's office (the 12345 hotline) is not the government, nor is another district's.
    """
    registry = agencies()
    township = registry.get(township_id)
    found: list[str] = []
    if township is not None and township.district is not None:
        district = registry.get(township.district)
        if district is not None and district.kind is AgencyKind.GOVERNMENT:
            found.append(district.id)
    found.extend(
        a.id
        for a in registry.values()
        if a.kind is AgencyKind.GOVERNMENT and a.level is AgencyLevel.CITY and a.parent is None
    )
    return tuple(found)


def review_period_override(settings: Mapping[str, str]) -> timedelta | None:
    """The demo's shortened review period, or None for the statutory one year.

    Raises:
        ValueError: naming the setting, when it is not a whole number of seconds in range.
    """
    raw = settings.get(REVIEW_PERIOD_SETTING)
    if raw is None:
        return None
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_REVIEW_PERIOD_SECONDS:
        raise ValueError(
            f"{REVIEW_PERIOD_SETTING}={raw!r}: expected whole seconds between 1 and {MAX_REVIEW_PERIOD_SECONDS}"
        )
    return timedelta(seconds=int(value))


class ItemRecord(BaseModel):
    """One delegated item as the workflow tracks it."""

    model_config = ConfigDict(extra="forbid")

    code: str
    name_zh: str
    name_en: str | None = None
    original_department: str
    scope: str | None = None
    state: ItemState = ItemState.GRANTED
    counters: ItemCounters = Field(default_factory=ItemCounters)
    at_last_review: ItemCounters = Field(default_factory=ItemCounters)
    ratings: dict[str, int] = Field(default_factory=dict)
    handover_cases: list[str] | None = None
    returned_reason: str | None = None
    # When the item was taken back and when its cases were handed over: the steps the
    # township's handover and the department's acknowledgement answer.
    returned_at: datetime | None = None
    handed_over_at: datetime | None = None


class Delegation(BaseModel):
    """The live state of one delegation (the status query's ``data['delegation']``)."""

    model_config = ConfigDict(extra="forbid")

    grantor: str = ""
    township: str = ""
    document_no: str = ""
    justice: str | None = None
    reform_office: str | None = None
    granted_at: datetime | None = None
    planned_effective_at: datetime | None = None
    accepted_at: datetime | None = None
    effective_at: datetime | None = None
    cycle: int = 0
    # The legal start of the period running to the next review: the effective date, then each
    # anniversary of it (never a review's rolled or late date, so the dates do not drift).
    period_start: datetime | None = None
    next_review_at: datetime | None = None
    review_started_at: datetime | None = None
    assessed_by: list[str] = Field(default_factory=list)
    items: dict[str, ItemRecord] = Field(default_factory=dict)


@workflow.defn(name="PowerDelegation")
class PowerDelegationWorkflow(CaseWorkflow):
    """One delegation of enforcement powers to one township, with its yearly reviews."""

    DEFINITION = DEFINITION
    DATA = Delegation
    DATA_KEY = "delegation"
    d: Delegation
    # A township's case is reported alongside the process, whenever it happened while the item
    # was delegated; it answers no step.
    NOT_ANSWERING = frozenset({_CASE_RECORDED})

    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        super().__init__(start)
        try:
            self._period = review_period_override(start.rule_settings)
        except ValueError as exc:
            # A bad demo setting must not wedge a running delegation: use the statutory year.
            workflow.logger.warning("ignoring %s", exc)
            self._period = None
        self._cycle_done = False
        # The legal date of a step the workflow takes by itself (see _dated).
        self._legal_time: datetime | None = None

    # ----- lifecycle -----------------------------------------------------------------------

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        """Wait for the effective date and each review date; continue as new after each review."""
        await self.begin()
        while True:
            wake = self._wake_at()
            if wake is not None and wake <= workflow.now():
                async with self._lock:
                    await self._on_timer()
                continue
            if not self._should_stop():
                timeout = None if wake is None else (wake - workflow.now()).total_seconds()
                try:
                    await workflow.wait_condition(
                        lambda wake=wake: self._should_stop() or self._wake_at() != wake,
                        timeout=timeout,
                        timeout_summary="delegation-timer" if timeout is not None else None,
                    )
                except TimeoutError:
                    continue
            if not self._should_stop():
                continue
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self.s.closed:
                return self.status()
            self._prune()
            self.continue_as_new()

    def _should_stop(self) -> bool:
        return self.s.closed or self._cycle_done or workflow.info().is_continue_as_new_suggested()

    def _wake_at(self) -> datetime | None:
        """The next moment the workflow acts by itself: the effective date or the review date."""
        if self.s.closed:
            return None
        if self.s.state == ACCEPTED and self.d.effective_at is None:
            return self.d.planned_effective_at
        if self.s.state == ACTIVE and self._items(ItemState.ACTIVE):
            return self.d.next_review_at
        return None

    async def _on_timer(self) -> None:
        now = workflow.now()
        if self.s.state == ACCEPTED and self.d.effective_at is None:
            await self._take_effect(causation_id=None)
        elif self.s.state == ACTIVE and self.d.next_review_at is not None and now >= self.d.next_review_at:
            await self._start_review()

    def step_time(self) -> datetime:
        """When the step being taken happened. A step the workflow takes by itself on a legal
        date (the items taking effect, a review starting) happened on that date, even when the
        workflow only gets to it later (an acceptance reported after the effective date, a
        delegation recorded after its review fell due)."""
        if self._legal_time is not None:
            return self._legal_time
        return super().step_time()

    @contextmanager
    def _dated(self, moment: datetime) -> Iterator[None]:
        """Date the steps taken inside the block (state changes, domain events) at ``moment``.

        Only used under the lock, as the agency event being taken is.
        """
        self._legal_time = moment
        try:
            yield
        finally:
            self._legal_time = None

    def _prune(self) -> None:
        """Keep only what the next cycle needs: live deadlines and recent steps."""
        self.s.deadlines = {
            k: v
            for k, v in self.s.deadlines.items()
            if v.info.status in (DeadlineStatus.OPEN, DeadlineStatus.BREACHED)
        }
        del self.s.history[: max(0, len(self.s.history) - HISTORY_KEEP)]

    # ----- agency events ---------------------------------------------------------------------

    def holders(self, role: str) -> tuple[str | None, ...]:
        """The township the powers were delegated to, the justice bureau reviewing them and the
        authority that delegated them."""
        return {
            "township": (self.d.township,),
            "reviewer": (self.d.justice,),
            "grantor": (self.d.grantor,),
        }[role]

    def out_of_state(self, env: Envelope, payload: Payload, step: EventSpec) -> Refusal:
        """An ended delegation is named by its case id; an item's case in a state without
        exercised items says which item is not exercised."""
        state = self.s.state
        if self.s.closed:
            return Refusal("case_id", f"delegation {self.s.case_id} has ended")
        if isinstance(payload, ItemCaseRecorded):
            return self._case_refusal(env, payload) or super().out_of_state(env, payload, step)
        words = {
            PROCESS + ".delegation_granted": f"delegation {env.case_id} is already recorded (state {state})",
            PROCESS + ".delegation_accepted": f"the delegation is not waiting for acceptance (state {state})",
            _ASSESSED: f"no review is collecting assessments (state {state})",
            _DECIDED: f"no review is waiting for a decision (state {state})",
        }.get(env.type)
        return Refusal("type", words) if words else super().out_of_state(env, payload, step)

    def refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """What the definition cannot say, item by item; the field named is the one the sender
        must fix (the definition checked the state and the township)."""
        match payload:
            case DelegationGranted():
                return self._grant_refusal(env, payload)
            case ItemCaseRecorded():
                return self._case_refusal(env, payload)
            case AssessmentSubmitted():
                return self._assessment_refusal(env, payload)
            case ReviewDecided():
                return self._decision_refusal(
                    env.source_agency, payload.decisions, "source_agency", "payload."
                )
            case ItemRevokedEarly():
                return self._early_revocation_refusal(env, payload)
            case CaseHandedOver():
                item = self.d.items.get(payload.item_code)
                if item is None or item.state != ItemState.RETURNING:
                    return Refusal("payload.item_code", f"item {payload.item_code!r} is not being returned")
                if item.handover_cases is not None:
                    return Refusal(
                        "payload.item_code", f"the cases of item {payload.item_code} were handed over already"
                    )
                return None
            case HandoverAcknowledged():
                return self._acknowledgement_refusal(env, payload)
        return None

    def answers_since(self, env: Envelope) -> datetime | None:
        """When the step ``env`` answers happened, where that is not the latest state change:
        a revocation answers the grant; an assessment or a decision the review's start (other
        assessments may have moved the state since); a handover the return of its own item, and
        an acknowledgement that item's handover (other items may have moved on meanwhile)."""
        if env.type == _REVOKED:
            return self.d.granted_at
        if env.type in (_ASSESSED, _DECIDED) and self.s.state in _REVIEWING:
            return self.d.review_started_at
        if env.type in (_HANDED_OVER, _ACKNOWLEDGED):
            item = self.d.items.get(str(env.payload.get("item_code")))
            if item is not None:
                return item.returned_at if env.type == _HANDED_OVER else item.handed_over_at
        return super().answers_since(env)

    def received_payload(self, env: Envelope, payload: Payload) -> dict[str, Any]:
        """A case event carries the item's counters as they will be, so the read model needs no
        second event per case (the township may record thousands a year)."""
        data = payload.model_dump(mode="json")
        if isinstance(payload, ItemCaseRecorded):
            item = self.d.items[payload.item_code]
            bumped = item.model_copy(update={"counters": item.counters.bumped(payload.activity)})
            data["items"] = [self._view(bumped)]
        return data

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        """Move the delegation one step for an accepted event."""
        cause = str(env.event_id)
        match payload:
            case DelegationGranted():
                await self._grant(env, payload)
            case DelegationAccepted():
                self.d.accepted_at = env.occurred_at
                for item in self._items(ItemState.GRANTED):
                    item.state = ItemState.PENDING_EFFECT
                planned = self.d.planned_effective_at
                assert planned is not None
                # Whether to wait is a question for the timer; the items take effect on the
                # effective date either way, not when the acceptance is processed.
                if planned <= workflow.now():
                    await self._take_effect(causation_id=cause)
                else:
                    self.transition(ACCEPTED)
                    await self.emit(
                        "power_delegation.effect_scheduled",
                        actor=env.source_agency,
                        causation_id=cause,
                        payload={"effective_at": planned.isoformat(), "items": self._views()},
                    )
            case ItemCaseRecorded():
                item = self.d.items[payload.item_code]
                item.counters = item.counters.bumped(payload.activity)
            case AssessmentSubmitted():
                await self._record_assessment(env, payload)
            case ReviewDecided():
                await self._apply_decision(env.source_agency, payload.document_no, payload.decisions, cause)
            case ItemRevokedEarly():
                await self._revoke_early(env, payload)
            case CaseHandedOver():
                item = self.d.items[payload.item_code]
                item.handover_cases = list(payload.case_nos)
                item.handed_over_at = env.occurred_at
            case HandoverAcknowledged():
                await self._complete_handover(env, payload)

    # ----- the reviewer's Update -------------------------------------------------------------

    @workflow.update
    async def decide_review(self, decision: ReviewDecisionIn) -> ReviewDecisionResult:
        """A reviewer (justice bureau or government) decides every item under review."""
        async with self._lock:
            if decision.decision_id in self.s.seen:
                return ReviewDecisionResult(accepted=True, duplicate=True, state=self.s.state)
            refusal = self._decision_refusal(decision.reviewer, decision.decisions, "reviewer", "")
            if refusal is not None:
                raise _refused(refusal)
            self._remember(decision.decision_id)
            returned = await self._apply_decision(
                decision.reviewer, decision.document_no, decision.decisions, decision.decision_id
            )
            return ReviewDecisionResult(accepted=True, duplicate=False, state=self.s.state, returned=returned)

    @decide_review.validator
    def validate_decide_review(self, decision: ReviewDecisionIn) -> None:
        """Refuse, before anything is written to history, a decision that is not complete and valid."""
        if decision.decision_id in self.s.seen:
            return
        refusal = self._decision_refusal(decision.reviewer, decision.decisions, "reviewer", "")
        if refusal is not None:
            raise _refused(refusal)

    # ----- refusals ----------------------------------------------------------------------------

    def _grant_refusal(self, env: Envelope, payload: DelegationGranted) -> Refusal | None:
        competent = competent_governments(payload.township)
        if env.source_agency not in competent:
            return Refusal(
                "source_agency",
                f"{env.source_agency} may not delegate powers to {payload.township}: only "
                f"{' or '.join(competent)} (a government of county level or above over its territory)",
            )
        township = agencies()[payload.township]
        for n, item in enumerate(payload.items):
            # The payload model admits county-level departments only; the county must be the
            # township's own, since its powers are the ones handed down.
            department = agencies()[item.original_department]
            if department.district != township.district:
                return Refusal(
                    f"payload.items[{n}].original_department",
                    f"{department.id} is a department of {department.district}, not of "
                    f"{township.district} where {payload.township} is",
                )
        return None

    def _case_refusal(self, env: Envelope, payload: ItemCaseRecorded) -> Refusal | None:
        item = self.d.items.get(payload.item_code)
        if item is None:
            return Refusal("payload.item_code", f"{payload.item_code!r} is not delegated by {self.s.case_id}")
        if item.state not in _DELEGATED:
            return Refusal(
                "payload.item_code",
                f"item {payload.item_code} is {item.state.value}, not exercised by the township",
            )
        effective = self.d.effective_at
        if effective is not None and env.occurred_at < effective:
            return Refusal(
                "occurred_at",
                f"the case is dated {env.occurred_at.isoformat()}, before the items took effect "
                f"on {effective.date().isoformat()}",
            )
        return None

    def _assessment_refusal(self, env: Envelope, payload: AssessmentSubmitted) -> Refusal | None:
        agency = agencies().get(env.source_agency)
        if agency is None:
            return Refusal("source_agency", f"unknown agency {env.source_agency!r}")
        reviewed = self._items(ItemState.UNDER_REVIEW)
        role = payload.assessor_role
        township = agencies()[self.d.township]
        fits = {
            AssessorRole.TOWNSHIP: env.source_agency == self.d.township,
            AssessorRole.ORIGINAL_DEPARTMENT: env.source_agency in {i.original_department for i in reviewed},
            # The public's view comes through a government over the township (or its hotline).
            AssessorRole.PUBLIC: agency.kind is AgencyKind.GOVERNMENT
            and (agency.level is AgencyLevel.CITY or agency.district == township.district),
            AssessorRole.JUSTICE: env.source_agency == self.d.justice,
            AssessorRole.REFORM_OFFICE: env.source_agency == self.d.reform_office,
        }[role]
        if not fits:
            return Refusal("payload.assessor_role", f"{env.source_agency} cannot assess as {role.value}")
        codes = {i.code for i in reviewed}
        for n, rating in enumerate(payload.ratings):
            if rating.item_code not in codes:
                return Refusal(
                    f"payload.ratings[{n}].item_code", f"item {rating.item_code!r} is not under review"
                )
        return None

    def _decision_refusal(
        self, reviewer: str, decisions: Sequence[ItemDecision], reviewer_field: str, prefix: str
    ) -> Refusal | None:
        """The rules shared by the Update and the event: who may decide, and a complete,
        item-by-item decision on exactly the items under review.

        The review is run by the justice bureau and the reform office of the granting
        government's level; either may record their decision, nobody else.
        """
        reviewers = [a for a in (self.d.justice, self.d.reform_office) if a]
        if reviewer not in reviewers:
            agency = agencies().get(reviewer)
            what = f"a {agency.kind.value} agency" if agency is not None else "not a known agency"
            return Refusal(
                reviewer_field,
                f"{reviewer} is {what}; the review of {self.s.case_id} is decided by "
                f"{' or '.join(reviewers) or 'its justice bureau or reform office'}",
            )
        if self.s.state not in _REVIEWING:
            return Refusal("type", f"no review is waiting for a decision (state {self.s.state})")
        reviewed = {i.code for i in self._items(ItemState.UNDER_REVIEW)}
        seen: set[str] = set()
        for n, decision in enumerate(decisions):
            where = f"{prefix}decisions[{n}]"
            if decision.item_code not in reviewed:
                return Refusal(f"{where}.item_code", f"item {decision.item_code!r} is not under review")
            if decision.item_code in seen:
                return Refusal(f"{where}.item_code", f"item {decision.item_code} is decided twice")
            seen.add(decision.item_code)
            if decision.outcome is ReviewOutcome.ADJUST and not (decision.new_scope or "").strip():
                return Refusal(f"{where}.new_scope", "an adjustment must state the new scope")
            if decision.outcome is ReviewOutcome.REVOKE and not (decision.reason or "").strip():
                return Refusal(f"{where}.reason", "a revocation must give its reason")
        missing = sorted(reviewed - seen)
        if missing:
            return Refusal(
                f"{prefix}decisions", f"no decision for item(s) under review: {', '.join(missing)}"
            )
        return None

    def _early_revocation_refusal(self, env: Envelope, payload: ItemRevokedEarly) -> Refusal | None:
        competent = competent_governments(self.d.township)
        if env.source_agency not in competent:
            return Refusal(
                "source_agency",
                f"{env.source_agency} may not revoke powers of {self.d.township}: only {' or '.join(competent)}",
            )
        seen: set[str] = set()
        for n, code in enumerate(payload.item_codes):
            item = self.d.items.get(code)
            if item is None:
                return Refusal(f"payload.item_codes[{n}]", f"{code!r} is not delegated by {self.s.case_id}")
            if item.state not in _REVOCABLE:
                return Refusal(f"payload.item_codes[{n}]", f"item {code} is already {item.state.value}")
            if code in seen:
                return Refusal(f"payload.item_codes[{n}]", f"item {code} is listed twice")
            seen.add(code)
        return None

    def _acknowledgement_refusal(self, env: Envelope, payload: HandoverAcknowledged) -> Refusal | None:
        item = self.d.items.get(payload.item_code)
        if item is None or item.state != ItemState.RETURNING:
            return Refusal("payload.item_code", f"item {payload.item_code!r} is not being returned")
        if env.source_agency != item.original_department:
            return Refusal("source_agency", f"item {item.code} returns to {item.original_department}")
        if item.handover_cases is None:
            return Refusal(
                "payload.item_code", f"the township has not handed over the cases of item {item.code} yet"
            )
        handed, received = set(item.handover_cases), set(payload.received_case_nos)
        if handed != received:
            problems = []
            if handed - received:
                problems.append(f"handed over but not acknowledged: {', '.join(sorted(handed - received))}")
            if received - handed:
                problems.append(f"never handed over: {', '.join(sorted(received - handed))}")
            return Refusal("payload.received_case_nos", "; ".join(problems))
        return None

    # ----- steps -------------------------------------------------------------------------------

    async def _grant(self, env: Envelope, payload: DelegationGranted) -> None:
        township = payload.township
        # The review is run at the granting government's level: a district's grant by the
        # district's justice bureau and reform office, the city's by the city's.
        justice = supervisor_of(env.source_agency, AgencyKind.JUSTICE)
        reform = supervisor_of(env.source_agency, AgencyKind.REFORM_OFFICE)
        self.d = Delegation(
            grantor=env.source_agency,
            township=township,
            document_no=payload.document_no,
            justice=justice.id if justice else None,
            reform_office=reform.id if reform else None,
            granted_at=env.occurred_at,
            planned_effective_at=datetime.combine(payload.effective_date, time(0), tzinfo=dl.SHANGHAI),
            items={
                i.code: ItemRecord(
                    code=i.code,
                    name_zh=i.name_zh,
                    name_en=i.name_en,
                    original_department=i.original_department,
                    scope=i.scope,
                )
                for i in payload.items
            },
        )
        self.add_parties(
            env.source_agency,
            township,
            *(i.original_department for i in payload.items),
            self.d.justice,
            self.d.reform_office,
        )
        self.transition(GRANTED)
        await self.emit(
            "power_delegation.opened",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={
                "title": f"{payload.document_no} 赋权 {agencies()[township].name_zh}",
                "township": township,
                "document_no": payload.document_no,
                "effective_date": payload.effective_date.isoformat(),
                "items": self._views(),
            },
        )

    async def _take_effect(self, *, causation_id: str | None) -> None:
        """The accepted items take effect on the effective date the grant names, and the
        one-year clock counts from that date: from the timer that waited for it, or from an
        acceptance reported after it (the items have been in effect since that date)."""
        effective = self.d.planned_effective_at
        assert effective is not None
        self.d.effective_at = effective
        for item in self._items(ItemState.PENDING_EFFECT):
            item.state = ItemState.ACTIVE
        self.d.cycle = 0
        # Demo only: a shortened period has no legal start; it counts from when the items took
        # effect here, or a demonstration granting "today" would find its review already due.
        self.d.period_start = effective if self._period is None else max(effective, workflow.now())
        self.d.next_review_at = self._review_at(self.d.period_start)
        with self._dated(effective):
            self.transition(ACTIVE)
            await self.emit(
                "power_delegation.items_effective",
                actor=self.d.township,
                causation_id=causation_id,
                payload={
                    "effective_at": effective.isoformat(),
                    "next_review_at": self.d.next_review_at.isoformat(),
                    "review_period": self._period_label(),
                    "items": self._views(),
                },
            )

    async def _start_review(self) -> None:
        """The review falls due: it starts on its own date, whenever the workflow gets to it,
        and the assessment window counts from that date."""
        review_at = self.d.next_review_at
        assert review_at is not None and self.d.period_start is not None
        self.d.cycle += 1
        self.d.assessed_by = []
        self.d.review_started_at = review_at
        # The anniversary this review marks is where the next period starts.
        self.d.period_start = self._anniversary(self.d.period_start)
        period: dict[str, dict[str, int]] = {}
        for item in self._items(ItemState.ACTIVE):
            item.state = ItemState.UNDER_REVIEW
            period[item.code] = item.counters.since(item.at_last_review).model_dump()
            item.at_last_review = item.counters.model_copy()
            item.ratings = {}
        with self._dated(review_at):
            self.transition(UNDER_REVIEW)
            await self.emit(
                "power_delegation.review_started",
                kind=EntryKind.REQUEST,
                payload={
                    "cycle": self.d.cycle,
                    "period_counters": period,
                    "assessors": self._required_assessors(),
                    "reviewers": [a for a in (self.d.justice, self.d.reform_office) if a],
                    "items": self._views(ItemState.UNDER_REVIEW),
                },
            )
            await self.start_clock(ASSESSMENT_RULE, key=self._cycle_key(), start=review_at)

    async def _record_assessment(self, env: Envelope, payload: AssessmentSubmitted) -> None:
        if env.source_agency not in self.d.assessed_by:
            self.d.assessed_by.append(env.source_agency)
        for rating in payload.ratings:
            item = self.d.items[rating.item_code]
            item.ratings[rating.rating.value] = item.ratings.get(rating.rating.value, 0) + 1
        required = self._required_assessors()
        if self.s.state == UNDER_REVIEW and all(a in self.d.assessed_by for a in required):
            self.transition(ASSESSED)
            await self.emit(
                "power_delegation.assessments_complete",
                causation_id=str(env.event_id),
                payload={"cycle": self.d.cycle, "assessed_by": list(self.d.assessed_by)},
            )

    async def _apply_decision(
        self, reviewer: str, document_no: str, decisions: Sequence[ItemDecision], causation_id: str
    ) -> tuple[str, ...]:
        """Apply a complete decision: kept and adjusted items run on, revoked ones go back."""
        returned: list[str] = []
        outcomes: list[dict[str, Any]] = []
        for decision in decisions:
            item = self.d.items[decision.item_code]
            outcomes.append({**decision.model_dump(mode="json"), "ratings": dict(item.ratings)})
            if decision.outcome is ReviewOutcome.REVOKE:
                item.state = ItemState.RETURNING
                item.returned_reason = decision.reason
                item.returned_at = self.step_time()
                returned.append(item.code)
            else:
                item.state = ItemState.ACTIVE
                if decision.outcome is ReviewOutcome.ADJUST:
                    item.scope = decision.new_scope
        await self._conclude_review(
            reviewer, causation_id, {"document_no": document_no, "decisions": outcomes}
        )
        for code in returned:
            await self._announce_return(code, actor=reviewer, causation_id=causation_id, early=False)
        await self._maybe_end(actor=reviewer)
        return tuple(returned)

    async def _conclude_review(
        self, actor: str | None, causation_id: str | None, details: dict[str, Any]
    ) -> None:
        """End the review cycle: schedule the next review, counted from the anniversary the
        review marked (not from the decision), if anything is still delegated."""
        start = self.d.period_start
        assert start is not None
        self.d.next_review_at = self._review_at(start) if self._items(ItemState.ACTIVE) else None
        self.transition(self._resting_state())
        await self.emit(
            "power_delegation.review_concluded",
            actor=actor,
            causation_id=causation_id,
            payload={
                "cycle": self.d.cycle,
                **details,
                "next_review_at": self.d.next_review_at.isoformat() if self.d.next_review_at else None,
                "items": self._views(),
            },
        )
        self._cycle_done = True

    async def _revoke_early(self, env: Envelope, payload: ItemRevokedEarly) -> None:
        cause = str(env.event_id)
        was_reviewing = self.s.state in _REVIEWING
        for code in payload.item_codes:
            item = self.d.items[code]
            took_effect = item.state in _DELEGATED
            item.returned_reason = payload.reason
            item.returned_at = env.occurred_at
            # An item that never took effect has no cases to hand over.
            item.state = ItemState.RETURNING if took_effect else ItemState.RETURNED
        if was_reviewing and not self._items(ItemState.UNDER_REVIEW):
            await self.close_deadline(ASSESSMENT_RULE, key=self._cycle_key(), cancelled=True)
            await self._conclude_review(
                env.source_agency, cause, {"document_no": payload.document_no, "decisions": []}
            )
        elif not was_reviewing:
            self.transition(self._resting_state())
        for code in payload.item_codes:
            await self._announce_return(code, actor=env.source_agency, causation_id=cause, early=True)
        await self._maybe_end(actor=env.source_agency)

    async def _announce_return(
        self, code: str, *, actor: str | None, causation_id: str | None, early: bool
    ) -> None:
        item = self.d.items[code]
        await self.emit(
            "power_delegation.item_returned",
            kind=EntryKind.REQUEST,
            actor=actor,
            causation_id=causation_id,
            payload={
                "item_code": code,
                "to": item.original_department,
                "early": early,
                "reason": item.returned_reason,
                "handover_required": item.state == ItemState.RETURNING,
                "items": [self._view(item)],
            },
        )

    async def _complete_handover(self, env: Envelope, payload: HandoverAcknowledged) -> None:
        item = self.d.items[payload.item_code]
        item.state = ItemState.RETURNED
        cases = len(item.handover_cases or ())
        item.handover_cases = None
        self.transition(self._resting_state())
        await self.emit(
            "power_delegation.handover_completed",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={"item_code": item.code, "cases": cases, "items": [self._view(item)]},
        )
        await self._maybe_end(actor=env.source_agency)

    async def _maybe_end(self, *, actor: str | None) -> None:
        """The delegation ends once every item is back with its department."""
        if all(i.state == ItemState.RETURNED for i in self.d.items.values()):
            self.d.next_review_at = None
            await self.close(ENDED, actor=actor, payload={"items": self._views()})

    # ----- helpers -----------------------------------------------------------------------------

    def _resting_state(self) -> str:
        """The process state outside a review, from the items' states."""
        states = {i.state for i in self.d.items.values()}
        if ItemState.UNDER_REVIEW in states:
            return self.s.state
        if ItemState.ACTIVE in states:
            return ACTIVE
        if ItemState.GRANTED in states:
            return GRANTED
        if ItemState.PENDING_EFFECT in states:
            return ACCEPTED
        if ItemState.RETURNING in states:
            return RETURNING
        return ENDED

    def _review_at(self, start: datetime) -> datetime:
        """When the review of the period starting at ``start`` starts: the end of the period's
        last day (12 months on, moved off a day off unless month limits are fixed)."""
        if self._period is not None:
            return start + self._period
        return dl.compute_due(start, self._rules[REVIEW_RULE], self._calendar).due_at

    def _anniversary(self, start: datetime) -> datetime:
        """The same day one review period after ``start`` (clamped to the month's end), never
        rolled: the next period counts from it, so a holiday moves one review, not all later ones."""
        if self._period is not None:
            return start + self._period
        local = start.astimezone(dl.SHANGHAI)
        # The review rule counts calendar months (the table fixes it; it is not a setting).
        years, month0 = divmod(local.month - 1 + self._rules[REVIEW_RULE].length, 12)
        year, month = local.year + years, month0 + 1
        return local.replace(year=year, month=month, day=min(local.day, monthrange(year, month)[1]))

    def _period_label(self) -> str:
        if self._period is not None:
            return f"{int(self._period.total_seconds())}s ({REVIEW_PERIOD_SETTING}, demo only)"
        rule = self._rules[REVIEW_RULE]
        return f"{rule.length} {rule.counting.value}"

    def _cycle_key(self) -> str:
        return f"cycle{self.d.cycle}"

    def _required_assessors(self) -> list[str]:
        """The township and every original department of an item under review."""
        required = [self.d.township]
        for item in self._items(ItemState.UNDER_REVIEW):
            if item.original_department not in required:
                required.append(item.original_department)
        return required

    def _items(self, state: ItemState) -> list[ItemRecord]:
        return [i for i in self.d.items.values() if i.state == state]

    def _view(self, item: ItemRecord) -> dict[str, Any]:
        took_effect = self.d.effective_at is not None and item.state not in (
            ItemState.GRANTED,
            ItemState.PENDING_EFFECT,
        )
        return DelegatedItemView(
            code=item.code,
            name_zh=item.name_zh,
            name_en=item.name_en,
            original_department=item.original_department,
            township=self.d.township,
            scope=item.scope,
            state=item.state,
            effective_at=self.d.effective_at if took_effect else self.d.planned_effective_at,
            next_review_at=self.d.next_review_at if item.state in _DELEGATED else None,
            counters=item.counters,
        ).model_dump(mode="json")

    def _views(self, state: ItemState | None = None) -> list[dict[str, Any]]:
        return [self._view(i) for i in self.d.items.values() if state is None or i.state == state]


def _refused(refusal: Refusal) -> ApplicationError:
    """The same refusal shape as the ``receive`` Update's, so callers read both alike."""
    return ApplicationError(
        refusal.reason,
        {"field": refusal.field, "reason": refusal.reason},
        type=REFUSED_ERROR_TYPE,
        non_retryable=True,
    )
