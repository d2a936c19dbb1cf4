"""Process 2, jurisdiction dispute coordination (管辖争议协调): DOMAIN.md section 2.

Agencies' steps (raise, agree, ask for coordination, accept or reject it, submit opinions,
acknowledge a designation) arrive through intake as events on the ``receive`` Update. The
coordinator's steps are Updates of their own, each with a validator, because a person at the
justice bureau drives them from the console and must learn at once, and in words, why an action
is refused: designating an agency that is not a party, deciding without reasons, extending
twice, acting on a dispute someone else claimed. A refused action changes nothing and leaves no
trace in the history; an accepted one emits a domain event with the coordinator as actor.

Time limits (all settings, no national numbers exist): negotiation 5 working days, acceptance 3,
opinions 7, designation 15 from acceptance with one extension of up to 10, acknowledgement 2.
Each counts from when its step happened: an agency's step from the event's ``occurred_at`` (an
event reported late does not buy time, and a period that ran out before it was reported falls
due at once, dated at its true due date); a coordinator's step from when its Update runs, which
is when the decision is taken. A breach warns and escalates (the parties' and the designated
agency's limits → the coordinating office; the office's own limits → its government) and never
decides the dispute.

Negotiation is a window, not a duty: the parties may agree, and failing to agree is nobody's
wrongdoing, so its lapse escalates no one. What follows the lapse is fixed by art. 25 itself
(协商不成的，报请共同的上一级行政机关指定管辖): a dispute the parties did not settle goes to
designation, it does not wait for one of them to ask. So when the window lapses the workflow
moves the dispute into coordination on its own (``taken_into_coordination``, state
``coordination_requested``) and the office's acceptance duty starts, running on from the
negotiation's last day and escalated to the government if the office does not decide. This is
automatic for both kinds, not an action the office may or may not take: in a negative dispute
nobody will ever ask (every party declines the case, and the case would lie unattended), and in
a positive one two agencies go on pursuing the same conduct (a risk of two penalties for one
act, art. 29) while nobody asks. The office keeps its judgement: it may still reject the
request with reasons. Until it accepts, the parties' late use of the window counts: an agreement
signed by every party still ends the dispute (marked late, or in time if it was signed before the
lapse and reported after), and a party's coordination request made before the lapse but
reported after it moves the office's clock back to that request.

Designation names one of the parties, except where the common superior decides (the government
after a referral, or a government that coordinates the dispute itself): art. 25 lets it
designate directly, so it may name another administrative enforcement agency or township, with
reasons; that agency joins the dispute's parties and gets the acknowledgement deadline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ConfigDict, Field

    from contracts.agencies import AgencyKind, get_agency
    from contracts.common import EventSpec, Payload
    from contracts.deadline_models import DeadlineStatus
    from contracts.dispute_rules import (
        DisputeFacts,
        by_common_superior,
        check_claim,
        check_designate,
        check_extend,
        check_interim,
        check_reassign,
        check_refer,
        check_request_opinions,
        check_unclaim,
    )
    from contracts.domain import EntryKind
    from contracts.envelope import Envelope
    from contracts.jurisdiction_dispute import (
        ACTION_REFUSED_ERROR_TYPE,
        DEFINITION,
        ClaimInput,
        CoordinatorActionResult,
        CoordinatorInput,
        DesignateInput,
        DisputeKind,
        DisputeRaised,
        ExtendInput,
        FirstToFile,
        InterimAgencyInput,
        Position,
        ReassignInput,
        ReferInput,
        RequestOpinionsInput,
        State,
        UnclaimInput,
        coordinating_office,
        first_to_file,
        government_of,
    )
    from contracts.workflow_io import CaseStart, CaseStatus

from workflows import deadlines as dl
from workflows.case_base import OVERDUE, WAITING, CaseWorkflow, DeadlineState, Instant, Refusal

P = "jurisdiction_dispute."
NEGOTIATION = P + "negotiation"
ACCEPTANCE = P + "coordination_acceptance"
OPINION = P + "opinion"
DESIGNATION = P + "designation"
EXTENSION = P + "extension"
# A limit the dispute no longer waits on is cancelled whether open, breached or lapsed: unlike a
# late step, a breached limit whose step will never come must not stay overdue in the inbox,
# and a lapse recorded before a step reported late turns out not to have happened.
_MOOT = WAITING + OVERDUE

In = TypeVar("In", bound=CoordinatorInput)


def _action_refused(refusal: Refusal) -> ApplicationError:
    """The error a refused coordinator action raises; the console's client maps it back (with
    the Chinese reason, so the console shows it on a Chinese page)."""
    return ApplicationError(
        refusal.reason,
        {"field": refusal.field, "reason": refusal.reason, "reason_zh": refusal.reason_zh},
        type=ACTION_REFUSED_ERROR_TYPE,
        non_retryable=True,
    )


def _negotiation_over(
    wf: JurisdictionDisputeWorkflow, env: Envelope, payload: Payload, step: EventSpec | None
) -> Refusal:
    if env.type == P + "agreement_reached":
        return Refusal(
            "type",
            "an agreement ends negotiation only (or, after negotiation lapsed, the dispute "
            f"before the office accepts it); the dispute is in state {wf.s.state}",
        )
    return Refusal(
        "type", f"coordination can be requested only during negotiation; the dispute is in state {wf.s.state}"
    )


def _nothing_to_acknowledge(
    wf: JurisdictionDisputeWorkflow, env: Envelope, payload: Payload, step: EventSpec | None
) -> Refusal:
    return Refusal("type", f"nothing to acknowledge: the dispute is in state {wf.s.state}")


# The words for a step out of turn where the generic "not valid in state" would not help.
_OUT_OF_TURN = {
    P + "agreement_reached": _negotiation_over,
    P + "coordination_requested": _negotiation_over,
    P + "designation_acknowledged": _nothing_to_acknowledge,
}


class PartyPosition(BaseModel):
    """One party's claim as the dispute was raised with it. Not the payload model: the carried
    state is read again by every run continued as new, and a party the agency registry has
    renamed since must not stop the dispute from loading."""

    model_config = ConfigDict(extra="forbid")

    agency: str
    position: Position
    legal_basis: str
    reasons: str = ""
    filed_on: date | None = None


class OpinionReceived(BaseModel):
    """A party's written opinion: when it was given and the event that brought it."""

    model_config = ConfigDict(extra="forbid")

    at: Instant
    event_id: str


class Extension(BaseModel):
    """The one extension of the designation period the coordinator may grant."""

    model_config = ConfigDict(extra="forbid")

    working_days: int
    reason: str
    coordinator: str
    at: Instant


class JurisdictionDisputeData(BaseModel):
    """What a dispute knows beyond its state: its parties and office, the coordinator's claim and
    decisions, and when the steps that later events answer happened."""

    model_config = ConfigDict(extra="forbid")

    kind: DisputeKind | None = None
    # The agencies in dispute; one the common superior designates directly joins them.
    parties: list[str] = Field(default_factory=list)
    office: str = ""
    government: str | None = None
    raised_by: str = ""
    title: str = ""
    enforcement_case_no: str = ""
    summary: str = ""
    raised_at: Instant | None = None
    claims: list[PartyPosition] = Field(default_factory=list)
    suggestion: FirstToFile | None = None
    claimed_by: str | None = None
    claimed_by_name: str | None = None
    opinions_pending: list[str] = Field(default_factory=list)
    # When each party was last asked for its opinion, and the opinions given.
    opinions_requested_at: dict[str, Instant] = Field(default_factory=dict)
    opinions: dict[str, OpinionReceived] = Field(default_factory=dict)
    extended: Extension | None = None
    coordination_requested_by: str | None = None
    # When the office's acceptance duty counts from: the request, or the negotiation's lapse.
    coordination_requested_at: Instant | None = None
    negotiation_lapsed_at: Instant | None = None
    accepted_at: Instant | None = None
    designated_agency: str | None = None
    designation_reason: str | None = None
    designated_by: str | None = None
    designated_by_kind: Literal["government", "coordinator"] | None = None
    referred_to: str | None = None
    interim_agency: str | None = None
    interim_measures: str | None = None


@workflow.defn(name="JurisdictionDispute")
class JurisdictionDisputeWorkflow(CaseWorkflow):
    """One jurisdiction dispute, from the first event to the designated agency taking the case."""

    DEFINITION = DEFINITION
    DATA = JurisdictionDisputeData
    d: JurisdictionDisputeData

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        """Run until the dispute is agreed, rejected or acknowledged by the designated agency."""
        return await self.run_case(start)

    # ----- what the workflow knows -------------------------------------------------------------

    def _acting_office(self) -> str:
        """Who decides now: the coordinating office, or its government after a referral."""
        if self.s.state == State.REFERRED:
            return self.d.government or ""
        return self.d.office

    def _decided_at(self) -> datetime:
        """When the coordinator's decision is taken. An Update is the decision itself, taken as
        it runs (no agency event dates it), so the workflow's clock is its legal time."""
        return workflow.now()

    def _decision_day(self) -> date:
        """The day of the coordinator's decision on the Shanghai calendar (days are counted there)."""
        return self._decided_at().astimezone(dl.SHANGHAI).date()

    def _facts(self) -> DisputeFacts:
        """The dispute as the coordinator's rules (contracts.dispute_rules) see it."""
        designation = self.deadline(DESIGNATION)
        return DisputeFacts(
            case_id=self.s.case_id,
            state=self.s.state,
            closed=self.s.closed,
            kind=self.d.kind,
            parties=tuple(self.d.parties),
            office=self.d.office,
            government=self.d.government,
            claimed_by=self.d.claimed_by,
            claimed_by_name=self.d.claimed_by_name,
            extended=self.d.extended.model_dump(mode="json") if self.d.extended is not None else None,
            designation_open=designation is not None and designation.info.status == DeadlineStatus.OPEN,
            opinions_pending=tuple(self.d.opinions_pending),
        )

    def _moved_on_lapse(self) -> bool:
        """Whether the dispute went to coordination because negotiation lapsed, and the office has
        not decided on it yet: the parties' late use of the negotiation window still counts."""
        return self.s.state == State.COORDINATION_REQUESTED and self.d.negotiation_lapsed_at is not None

    # ----- agency events (through intake) -------------------------------------------------------

    def holders(self, role: str) -> tuple[str | None, ...]:
        """The dispute's parties, its coordinating office and the agency it designated."""
        return {
            "parties": tuple(self.d.parties),
            "office": (self.d.office,),
            "designated_agency": (self.d.designated_agency,),
            "government": (self.d.government,),
        }[role]

    def out_of_state(self, env: Envelope, payload: Payload, step: EventSpec) -> Refusal:
        """A dispute not raised or already closed is named by its case id; a step out of turn
        says when it would have been valid."""
        state = self.s.state
        if step.opens:
            return Refusal("type", f"dispute {env.case_id} is already open (state {state})")
        if state == State.NEW:
            return Refusal("case_id", f"no jurisdiction dispute {env.case_id!r} has been raised")
        if self.s.closed:
            return Refusal("case_id", f"dispute {env.case_id} is closed (state {state})")
        words = _OUT_OF_TURN.get(env.type)
        return words(self, env, payload, step) if words else super().out_of_state(env, payload, step)

    def refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """What the definition cannot say: who may raise a dispute, the negotiation's end, the
        agreement's signatures and whose opinion is outstanding."""
        step = env.type.removeprefix(P)
        if step == "dispute_raised":
            return self._raise_refusal(env, payload)
        if step in ("agreement_reached", "coordination_requested") and (
            self.s.state != State.NEGOTIATING and not self._moved_on_lapse()
        ):
            return _negotiation_over(self, env, payload, self.DEFINITION.step(env.type))
        if step == "agreement_reached":
            return _agreement_refusal(payload, self.d.parties)
        if step == "opinion_submitted" and env.source_agency not in self.d.opinions_pending:
            return Refusal(
                "source_agency", f"no opinion is outstanding from {env.source_agency} (state {self.s.state})"
            )
        return None

    def _raise_refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """A dispute is raised by one of its parties or by a justice bureau."""
        assert isinstance(payload, DisputeRaised)
        sender = env.source_agency
        sender_agency = get_agency(sender)
        if sender not in payload.parties and (
            sender_agency is None or sender_agency.kind is not AgencyKind.JUSTICE
        ):
            return Refusal(
                "source_agency",
                f"{sender} is not a party to the dispute; only a party or a justice bureau may raise it",
            )
        return None

    def answers_since(self, env: Envelope) -> datetime | None:
        """When the step ``env`` answers happened, where that is not the current state's start.

        After negotiation lapsed, an agreement or a coordination request still answers the
        negotiation (it may have been made before the lapse and reported after it); an opinion
        answers the request made of its author, not a later request made of another party.
        """
        step = env.type.removeprefix(P)
        if step in ("agreement_reached", "coordination_requested") and self._moved_on_lapse():
            assert self.d.raised_at is not None  # recorded when the dispute opened
            return self.d.raised_at
        if step == "opinion_submitted":
            asked = self.d.opinions_requested_at.get(env.source_agency)
            if asked is not None:
                return asked
        return super().answers_since(env)

    async def on_lapse(self, deadline: DeadlineState) -> None:
        """Negotiation lapsed without agreement: the dispute goes to coordination (art. 25)."""
        if deadline.info.rule == NEGOTIATION and self.s.state == State.NEGOTIATING:
            await self._take_into_coordination(deadline)

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        """Move the dispute one step for an accepted agency event."""
        step = env.type.removeprefix(P)
        cause = str(env.event_id)
        sender = env.source_agency
        if step == "dispute_raised":
            assert isinstance(payload, DisputeRaised)
            await self._open(env, payload)
        elif step == "agreement_reached":
            agreed = payload.model_dump()["agreed_agency"]
            self.d.designated_agency = agreed
            await self.close(State.AGREED, actor=sender, payload={"agency": agreed, "by": "agreement"})
        elif step == "coordination_requested":
            await self._on_coordination_requested(env)
        elif step == "coordination_accepted":
            self.d.accepted_at = env.occurred_at
            self.transition(State.COORDINATING)
        elif step == "coordination_rejected":
            await self.close(State.REJECTED, actor=sender, payload={"reason": payload.model_dump()["reason"]})
        elif step == "opinion_submitted":
            pending = [a for a in self.d.opinions_pending if a != sender]
            self.d.opinions_pending = pending
            self.d.opinions[sender] = OpinionReceived(at=env.occurred_at, event_id=cause)
            if not pending:
                self.transition(State.COORDINATING)
            await self.close_deadline(OPINION, key=sender)
        elif step == "designation_acknowledged":
            await self.close(
                State.RESOLVED,
                actor=sender,
                payload={"agency": sender, "by": self.d.designated_by_kind or "coordinator"},
            )

    async def _open(self, env: Envelope, payload: DisputeRaised) -> None:
        """Record the parties, pick the coordinating office, suggest first-to-file, start talks."""
        parties = payload.parties
        office = payload.coordinator_office or coordinating_office(parties)
        suggestion = first_to_file(payload.kind, payload.claims)
        self.d = JurisdictionDisputeData(
            kind=payload.kind,
            parties=parties,
            office=office,
            government=government_of(office),
            raised_by=env.source_agency,
            title=payload.case_title,
            enforcement_case_no=payload.enforcement_case_no,
            summary=payload.summary,
            raised_at=env.occurred_at,
            claims=[PartyPosition.model_validate(c.model_dump()) for c in payload.claims],
            suggestion=suggestion,
        )
        self.add_parties(*parties)
        self.transition(State.NEGOTIATING)
        await self.emit(
            P + "opened",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={
                "kind": payload.kind.value,
                "parties": parties,
                "coordinator_office": office,
                "government": self.d.government,
                "case_title": payload.case_title,
                "enforcement_case_no": payload.enforcement_case_no,
                "summary": payload.summary,
                "claims": [c.model_dump(mode="json") for c in self.d.claims],
                "suggestion": suggestion.model_dump(mode="json"),
            },
        )

    async def _on_coordination_requested(self, env: Envelope) -> None:
        """A party asks for coordination. During negotiation this ends it; after the lapse the
        dispute is before the office already, and a request made before the lapse (reported after
        it) moves the office's acceptance clock back to the request."""
        sender = env.source_agency
        if self.s.state == State.NEGOTIATING:
            self.d.coordination_requested_by = sender
            self.d.coordination_requested_at = env.occurred_at
            self.transition(State.COORDINATION_REQUESTED)
            await self.cancel_deadline(NEGOTIATION, of=_MOOT)
            await self.start_clock(ACCEPTANCE)
            return
        counted_from = self.d.coordination_requested_at
        assert counted_from is not None  # the lapse that moved the dispute on set it
        if env.occurred_at >= counted_from:
            return  # the office's clock already runs from an earlier moment
        self.d.coordination_requested_by = sender
        self.d.coordination_requested_at = env.occurred_at
        self.transition(State.COORDINATION_REQUESTED)
        # The party asked in time: the negotiation did not lapse, it ended with the request.
        await self.cancel_deadline(NEGOTIATION, of=_MOOT)
        await self.cancel_deadline(ACCEPTANCE, of=_MOOT)
        await self.start_clock(ACCEPTANCE)

    async def _take_into_coordination(self, negotiation: DeadlineState) -> None:
        """Negotiation lapsed: move the dispute before the coordinating office, dated at the lapse.

        Runs from the negotiation's timer or, for a dispute reported after its negotiation ran
        out, while the opening event is taken; either way the step happened at the lapse, not
        when the workflow got to it. The office's acceptance runs on from the negotiation's last
        day, as an extension runs on from the period it extends.
        """
        lapsed_at = negotiation.info.due_at
        self.d.negotiation_lapsed_at = lapsed_at
        self.d.coordination_requested_by = None
        self.d.coordination_requested_at = lapsed_at
        self.transition(State.COORDINATION_REQUESTED)
        self.s.state_at = lapsed_at
        await self.emit(
            P + "taken_into_coordination",
            at=lapsed_at,
            payload={
                "kind": self.d.kind.value if self.d.kind is not None else None,
                "coordinator_office": self.d.office,
                "negotiation_due_at": lapsed_at.isoformat(),
                "reason": "negotiation_lapsed",
            },
        )
        await self.start_clock(ACCEPTANCE, start=_runs_on_from(lapsed_at))

    # ----- coordinator decisions (Updates with validators) ---------------------------------------

    @workflow.update
    async def claim(self, data: ClaimInput) -> CoordinatorActionResult:
        """Take the dispute into the coordinator's own work list."""
        return await self._act("claim", data, self._check_claim, self._do_claim)

    @claim.validator
    def _validate_claim(self, data: ClaimInput) -> None:
        self._validate(data, self._check_claim)

    @workflow.update
    async def unclaim(self, data: UnclaimInput) -> CoordinatorActionResult:
        """Give the dispute back to the office's shared inbox."""
        return await self._act("unclaim", data, self._check_unclaim, self._do_unclaim)

    @unclaim.validator
    def _validate_unclaim(self, data: UnclaimInput) -> None:
        self._validate(data, self._check_unclaim)

    @workflow.update
    async def reassign(self, data: ReassignInput) -> CoordinatorActionResult:
        """A lead hands the claimed dispute to another coordinator (the holder may be away)."""
        return await self._act("reassign", data, self._check_reassign, self._do_reassign)

    @reassign.validator
    def _validate_reassign(self, data: ReassignInput) -> None:
        self._validate(data, self._check_reassign)

    @workflow.update
    async def request_opinions(self, data: RequestOpinionsInput) -> CoordinatorActionResult:
        """Ask parties for written opinions, each with its own due date."""
        return await self._act(
            "request_opinions", data, self._check_request_opinions, self._do_request_opinions
        )

    @request_opinions.validator
    def _validate_request_opinions(self, data: RequestOpinionsInput) -> None:
        self._validate(data, self._check_request_opinions)

    @workflow.update
    async def extend(self, data: ExtendInput) -> CoordinatorActionResult:
        """Extend the designation deadline, once, by up to 10 working days, with a reason."""
        return await self._act("extend", data, self._check_extend, self._do_extend)

    @extend.validator
    def _validate_extend(self, data: ExtendInput) -> None:
        self._validate(data, self._check_extend)

    @workflow.update
    async def designate(self, data: DesignateInput) -> CoordinatorActionResult:
        """Designate the competent agency, with written reasons."""
        return await self._act("designate", data, self._check_designate, self._do_designate)

    @designate.validator
    def _validate_designate(self, data: DesignateInput) -> None:
        self._validate(data, self._check_designate)

    @workflow.update
    async def refer_to_government(self, data: ReferInput) -> CoordinatorActionResult:
        """Coordination failed: the government decides (the claim is released to it)."""
        return await self._act("refer_to_government", data, self._check_refer, self._do_refer)

    @refer_to_government.validator
    def _validate_refer(self, data: ReferInput) -> None:
        self._validate(data, self._check_refer)

    @workflow.update
    async def name_interim_agency(self, data: InterimAgencyInput) -> CoordinatorActionResult:
        """Negative disputes: name the agency that takes urgent measures meanwhile."""
        return await self._act("name_interim_agency", data, self._check_interim, self._do_interim)

    @name_interim_agency.validator
    def _validate_interim(self, data: InterimAgencyInput) -> None:
        self._validate(data, self._check_interim)

    # ----- the shared shape of every decision ------------------------------------------------------

    def _validate(self, data: In, check: Callable[[In], Refusal | None]) -> None:
        """Refuse before anything reaches history; a repeated request passes (the handler answers)."""
        if data.request_id and data.request_id in self.s.seen:
            return
        refusal = check(data)
        if refusal is not None:
            raise _action_refused(refusal)

    async def _act(
        self,
        action: str,
        data: In,
        check: Callable[[In], Refusal | None],
        apply: Callable[[In], Awaitable[bool]],
    ) -> CoordinatorActionResult:
        """Check again under the lock (another decision may have landed since validation), apply.

        The decision's domain events are published together when it is applied: publishing
        awaits an activity, which moves the workflow's clock, and a decision is one step at one
        time (its event, the deadlines it starts and the ones it meets carry the same moment,
        even at a minute to midnight).
        """
        async with self._lock:
            if data.request_id and data.request_id in self.s.seen:
                return self._result(action, duplicate=True)
            refusal = check(data)
            if refusal is not None:
                raise _action_refused(refusal)
            if data.request_id:
                self._remember(data.request_id)
            async with self.batch():
                changed = await apply(data)
            return self._result(action, duplicate=not changed)

    def _result(self, action: str, *, duplicate: bool) -> CoordinatorActionResult:
        live = [
            d.info.due_at
            for d in self.s.deadlines.values()
            if d.info.status in (DeadlineStatus.OPEN, DeadlineStatus.BREACHED)
        ]
        return CoordinatorActionResult(
            action=action,
            state=self.s.state,
            duplicate=duplicate,
            claimed_by=self.d.claimed_by,
            designated_agency=self.d.designated_agency,
            due_at=min(live).isoformat() if live else None,
        )

    def _who(self, data: CoordinatorInput) -> dict[str, Any]:
        return {
            "coordinator": data.coordinator,
            "coordinator_name": data.coordinator_name or self.d.claimed_by_name or "",
            "coordinator_agency": data.coordinator_agency,
        }

    # ----- claim / unclaim ---------------------------------------------------------------------

    def _check_claim(self, data: ClaimInput) -> Refusal | None:
        return check_claim(self._facts(), data)

    async def _do_claim(self, data: ClaimInput) -> bool:
        if self.d.claimed_by == data.coordinator:
            return False
        self.d.claimed_by = data.coordinator
        self.d.claimed_by_name = data.coordinator_name
        await self.emit(P + "claimed", actor=data.coordinator, payload=self._who(data))
        return True

    def _check_unclaim(self, data: UnclaimInput) -> Refusal | None:
        return check_unclaim(self._facts(), data)

    async def _do_unclaim(self, data: UnclaimInput) -> bool:
        who = self._who(data)
        self.d.claimed_by = None
        self.d.claimed_by_name = None
        await self.emit(P + "unclaimed", actor=data.coordinator, payload={**who, "reason": data.reason})
        return True

    def _check_reassign(self, data: ReassignInput) -> Refusal | None:
        return check_reassign(self._facts(), data)

    async def _do_reassign(self, data: ReassignInput) -> bool:
        before, before_name = self.d.claimed_by, self.d.claimed_by_name
        self.d.claimed_by = data.to_coordinator
        self.d.claimed_by_name = data.to_coordinator_name
        await self.emit(
            P + "reassigned",
            actor=data.coordinator,
            payload={
                "coordinator": data.coordinator,
                "coordinator_name": data.coordinator_name,
                "coordinator_agency": data.coordinator_agency,
                "from_coordinator": before,
                "from_coordinator_name": before_name,
                "to_coordinator": data.to_coordinator,
                "to_coordinator_name": data.to_coordinator_name,
                "reason": data.reason,
                "by_admin": data.as_admin,
            },
        )
        return True

    # ----- opinions ------------------------------------------------------------------------------

    def _check_request_opinions(self, data: RequestOpinionsInput) -> Refusal | None:
        return check_request_opinions(
            self._facts(),
            data,
            self._decision_day(),
            lambda day: self._calendar.is_working_day(day)[0],
        )

    async def _do_request_opinions(self, data: RequestOpinionsInput) -> bool:
        length = None
        if data.due_date is not None:
            length = dl.working_days_between(self._decision_day(), data.due_date, self._calendar)
        self.d.opinions_pending = [*self.d.opinions_pending, *data.agencies]
        self.d.opinions_requested_at.update({agency: self._decided_at() for agency in data.agencies})
        self.transition(State.OPINIONS_REQUESTED)
        await self.emit(
            P + "opinion_requested",
            kind=EntryKind.REQUEST,
            actor=data.coordinator,
            payload={
                **self._who(data),
                "agencies": data.agencies,
                "note": data.note,
                "due_date": data.due_date.isoformat() if data.due_date else None,
            },
        )
        for agency in data.agencies:
            await self._open_with_length(OPINION, length, party=agency, key=agency)
        return True

    # ----- extension -----------------------------------------------------------------------------

    def _check_extend(self, data: ExtendInput) -> Refusal | None:
        return check_extend(self._facts(), data, self._rules[EXTENSION].length)

    async def _do_extend(self, data: ExtendInput) -> bool:
        current = self.deadline(DESIGNATION)
        assert current is not None
        # The extension runs on from the last day of the original period, not from today.
        start = _runs_on_from(current.info.due_at)
        self.d.extended = Extension(
            working_days=data.working_days,
            reason=data.reason,
            coordinator=data.coordinator,
            at=self._decided_at(),
        )
        await self.emit(
            P + "extended",
            actor=data.coordinator,
            payload={
                **self._who(data),
                "working_days": data.working_days,
                "reason": data.reason,
                "previous_due_at": current.info.due_at.isoformat(),
            },
        )
        await self.close_deadline(DESIGNATION, cancelled=True)
        await self._open_with_length(EXTENSION, data.working_days, start=start)
        return True

    # ----- designation, referral, interim agency ----------------------------------------------

    def _check_designate(self, data: DesignateInput) -> Refusal | None:
        return check_designate(self._facts(), data)

    async def _do_designate(self, data: DesignateInput) -> bool:
        by_government = by_common_superior(self._facts())
        was_party = data.agency in self.d.parties
        if not was_party:
            # Designated directly by the common superior: the agency joins the dispute, so it is
            # told, may acknowledge, and its acknowledgement deadline is its own.
            self.d.parties = [*self.d.parties, data.agency]
            self.add_parties(data.agency)
        suggestion = self.d.suggestion.agency if self.d.suggestion is not None else None
        self.d.designated_agency = data.agency
        self.d.designation_reason = data.reason
        self.d.designated_by = data.coordinator
        self.d.designated_by_kind = "government" if by_government else "coordinator"
        await self._drop_pending_opinions()
        self.transition(State.DESIGNATED)
        await self.emit(
            P + "jurisdiction_designated",
            actor=data.coordinator,
            payload={
                **self._who(data),
                "agency": data.agency,
                "reason": data.reason,
                "by": "government" if by_government else "coordinator",
                "was_party": was_party,
                "suggested_agency": suggestion,
                "follows_suggestion": suggestion == data.agency if suggestion else None,
            },
        )
        return True

    def _check_refer(self, data: ReferInput) -> Refusal | None:
        return check_refer(self._facts(), data)

    async def _do_refer(self, data: ReferInput) -> bool:
        government = self.d.government
        await self._drop_pending_opinions()
        # The decision passes to the government: the office's claim ends with it.
        self.d.referred_to = government
        self.d.claimed_by = None
        self.d.claimed_by_name = None
        self.transition(State.REFERRED)
        await self.emit(
            P + "referred_to_government",
            actor=data.coordinator,
            payload={**self._who(data), "government": government, "reason": data.reason},
        )
        await self.cancel_deadline(DESIGNATION, of=_MOOT)
        await self.cancel_deadline(EXTENSION, of=_MOOT)
        return True

    def _check_interim(self, data: InterimAgencyInput) -> Refusal | None:
        return check_interim(self._facts(), data)

    async def _do_interim(self, data: InterimAgencyInput) -> bool:
        if self.d.interim_agency == data.agency and self.d.interim_measures == data.measures:
            return False
        self.d.interim_agency = data.agency
        self.d.interim_measures = data.measures
        await self.emit(
            P + "interim_agency_named",
            actor=data.coordinator,
            payload={
                **self._who(data),
                "agency": data.agency,
                "measures": data.measures,
                "reason": data.reason,
            },
        )
        return True

    # ----- helpers ---------------------------------------------------------------------------

    async def _drop_pending_opinions(self) -> None:
        """The decision was taken: outstanding opinion requests no longer apply."""
        for agency in self.d.opinions_pending:
            await self.cancel_deadline(OPINION, key=agency, of=_MOOT)
        self.d.opinions_pending = []

    async def _open_with_length(
        self,
        rule_name: str,
        length: int | None,
        *,
        party: str | None = None,
        key: str = "",
        start: datetime | None = None,
    ) -> DeadlineState:
        """Open a deadline of ``rule_name`` whose length the coordinator chose (a due date, an
        extension of N days). The rule's length is swapped only for this call, under the lock,
        so the deadline records the chosen length and the table keeps the setting."""
        if length is None:
            return await self.start_clock(rule_name, party=party, key=key, start=start)
        original = self._rules[rule_name]
        self._rules[rule_name] = replace(original, length=max(1, length))
        try:
            return await self.start_clock(rule_name, party=party, key=key, start=start)
        finally:
            self._rules[rule_name] = original


def _runs_on_from(due_at: datetime) -> datetime:
    """The start of a period that runs on from another one: 00:00 of the other's last day (the
    day before its ``due_at``). The starting day is not counted, so the new period's first day
    is the day after the old one's last, with no day lost or counted twice."""
    last_day = (due_at.astimezone(dl.SHANGHAI) - timedelta(days=1)).date()
    return datetime.combine(last_day, time(0), tzinfo=dl.SHANGHAI)


def _agreement_refusal(payload: Payload, parties: list[str]) -> Refusal | None:
    """An agreement names one of the parties and is signed by every party and no one else."""
    agreed = payload.model_dump()["agreed_agency"]
    if agreed not in parties:
        return Refusal(
            "payload.agreed_agency",
            f"{agreed} is not a party to the dispute (parties: {', '.join(parties)})",
        )
    signed = set(payload.model_dump()["signatories"])
    strangers = sorted(signed - set(parties))
    if strangers:
        return Refusal("payload.signatories", f"not parties to the dispute: {', '.join(strangers)}")
    missing = [p for p in parties if p not in signed]
    if missing:
        return Refusal(
            "payload.signatories",
            f"every party must sign the agreement; missing: {', '.join(missing)}",
        )
    return None
