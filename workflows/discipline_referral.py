"""Process 3, referral of problem clues to discipline inspection (移送纪检监察机关): DOMAIN.md §3.

Steps: a clue is identified (by the body that will refer it, by the justice bureau confirming a
process-1 escalation or a 12345 complaint), the referring body's head approves or declines it
(5 working days, a setting), it is referred to the commission of the level that manages the
official (the clue's ``managing_level`` over the principal official's agency, whoever refers it),
the commission receives it and either keeps it, forwards it to the competent commission
(5 working days, 条例 art. 171) or returns it; it disposes of it in one of four ways (谈话函询 closes
within 30 days of the talk or reply, the date the disposition carries); it reports the outcome;
the referrer rectifies. Every period counts from when its step happened (the events'
``occurred_at``, the talk's ``inquiry_on``), however late the agencies report it.

Confidentiality: every payload this workflow receives carries the clue's content, and none of it
goes on ``lawlink.out``. :meth:`received_payload` publishes only the fields
``contracts.discipline_referral.PUBLIC_FIELDS`` lists (ids, kinds, dates); step events carry
ids and states; refusal reasons name states and agency ids, never content; the workflow's facts
(:class:`DisciplineReferralData`, the ``status`` query's data) hold ids, kinds and levels only: the commission the clue must go to is worked out
from the official when the clue is identified and kept as an id, never the official's agency;
it reaches the bus only when the clue is referred there (``sent``). The commission's
disposition is a state (its kind), never its remarks.

The 30-day disposition expectation is a reminder, never an outcome (``Nature.REMINDER``): when
it falls due the core publishes ``deadline.reminder``, the workflow records the reminder
(``discipline_referral.reminder_sent``, a request, never a breach or an escalation) and a new
period starts from that due date, up to :data:`MAX_REMINDERS` times per commission, while the
workflow keeps waiting for the real disposition. The reminded periods stay on record and are met
when the disposition comes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ConfigDict, Field

    from contracts import discipline_referral as c
    from contracts.agencies import AgencyKind, AgencyLevel, get_agency, supervisor_of
    from contracts.common import Payload
    from contracts.deadline_models import DeadlineStatus
    from contracts.domain import EntryKind
    from contracts.envelope import Envelope
    from contracts.hotline import ComplaintReceived
    from contracts.workflow_io import CaseStart, CaseStatus

from workflows import deadlines as dl
from workflows.case_base import CaseWorkflow, DeadlineState, Refusal

P = "discipline_referral."
FORWARD = P + "forward"
INQUIRY_CLOSE = P + "inquiry_close"
EXPECTATION = P + "disposition_expectation"

MAX_REMINDERS = 6
"""Reminders sent to a silent commission before the workflow just waits (and the overdue list
shows it): six 30-day periods is half a year of reminders. Counted per commission: one the clue
is forwarded to gets its own series."""

# States.
NEW = "new"
PROPOSED = "proposed"  # a hotline complaint awaits the justice bureau's confirmation
IDENTIFIED = "identified"  # awaits the head's approval
APPROVED = "approved"
DECLINED = "declined"
DISMISSED = "dismissed"
REFERRED = "referred"
RECEIVED = "received"
FORWARD_PENDING = "forward_pending"
FORWARDED = "forwarded"
RETURNED = "returned"
OUTCOME_PENDING_RECTIFICATION = "rectifying"
RECTIFIED = "rectified"
CONCLUDED = "concluded"  # outcome reported, no rectification needed

DISPOSITION_STATES: dict[c.Disposition, str] = {
    c.Disposition.TALK_OR_LETTER_INQUIRY: "inquiry",
    c.Disposition.PRELIMINARY_VERIFICATION: "verification",
    c.Disposition.HELD_FOR_LATER: "held",
    c.Disposition.CLOSED: "closed_by_commission",
}


def _escalation_for(agency_id: str) -> tuple[str, ...]:
    """Who is told when a referring body's head is late: its justice bureau (enforcement
    supervision); a justice bureau that is late itself answers to its government."""
    justice = supervisor_of(agency_id, AgencyKind.JUSTICE)
    if justice is not None and justice.id != agency_id:
        return (justice.id,)
    agency = get_agency(agency_id)
    return (agency.parent,) if agency is not None and agency.parent else ()


def _commission_supervisor(commission_id: str) -> tuple[str, ...]:
    """A district commission late to forward is supervised by the city commission."""
    agency = get_agency(commission_id)
    if agency is None or agency.level is AgencyLevel.CITY:
        return ()
    city = supervisor_of("rz-gov", AgencyKind.DISCIPLINE)
    return (city.id,) if city is not None else ()


class DisciplineReferralData(BaseModel):
    """What a referral knows beyond its state: ids, kinds and levels, never the clue's content."""

    model_config = ConfigDict(extra="forbid")

    source: c.ClueSource | None = None
    proposal_id: str | None = None
    # The justice bureau a proposal is for (to confirm or dismiss it).
    justice_bureau: str | None = None
    referring_agency: str | None = None
    managing_level: c.ManagingLevel | None = None
    # The commission the clue must go to, worked out from the official when it is identified.
    managing_commission: str | None = None
    related_process: str | None = None
    related_case_id: str | None = None
    # The commission holding the clue, and every one that has held it, in order.
    commission: str | None = None
    commissions: list[str] = Field(default_factory=list)
    # Reminders sent to the commission holding the clue, and the key of the expectation period
    # whose reminder starts the next one (None: no such period).
    reminders: int = 0
    expect_key: str | None = None
    disposition: c.Disposition | None = None
    rectification_required: bool | None = None


@workflow.defn(name="DisciplineReferral")
class DisciplineReferralWorkflow(CaseWorkflow):
    """One problem clue, from identification (or proposal) to rectification."""

    DEFINITION = c.DEFINITION
    DATA = DisciplineReferralData
    d: DisciplineReferralData

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        """Run until the referral closes (declined, dismissed, returned, concluded, rectified)."""
        return await self.run_case(start)

    # ----- confidentiality ---------------------------------------------------------------

    def received_payload(self, env: Envelope, payload: Payload) -> dict[str, Any]:
        """Only ids, kinds and dates of an accepted event go on the bus; never its content."""
        return c.public_part(env.type, payload)

    # ----- validity ----------------------------------------------------------------------

    def holders(self, role: str) -> tuple[str | None, ...]:
        """The referring body and the commission that holds the clue, and those above them."""
        referrer, commission = self.d.referring_agency, self.d.commission
        if role == "referrer_supervisor":
            return _escalation_for(referrer) if referrer else ()
        if role == "commission_supervisor":
            return _commission_supervisor(commission) if commission else ()
        return {"referring_agency": (referrer,), "commission": (commission,)}[role]

    def refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """Why ``env`` is not valid now (in words that name states and agencies, not content)."""
        state = self.s.state
        sender = env.source_agency
        facts = self.d
        if env.type == P + "clue_identified":
            return self._identification_refusal(env, payload)
        if env.type == P + "proposal_dismissed":
            assert isinstance(payload, c.ProposalDismissed)
            if state == PROPOSED:
                if sender != facts.justice_bureau:
                    return Refusal(
                        "source_agency", f"the proposal is for {facts.justice_bureau} to confirm or dismiss"
                    )
                if payload.proposal_id != facts.proposal_id:
                    return Refusal("payload.proposal_id", f"this case carries proposal {facts.proposal_id}")
        if env.type == P + "referred":
            assert isinstance(payload, c.Referred)
            return self._referral_refusal(payload)
        if env.type == P + "disposition_decided":
            assert isinstance(payload, c.DispositionDecided)
            return self._inquiry_date_refusal(env, payload)
        if env.type == P + "referral_forwarded":
            assert isinstance(payload, c.ReferralForwarded)
            if payload.forwarded_to in facts.commissions:
                return Refusal("payload.forwarded_to", f"{payload.forwarded_to} already had this clue")
        return None

    def _identification_refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        assert isinstance(payload, c.ClueIdentified)
        sender = get_agency(env.source_agency)
        if sender is None:  # intake refuses unknown senders; this guards direct callers
            return Refusal("source_agency", f"unknown agency {env.source_agency!r}")
        if c.managing_commission(payload.officials[0].agency, payload.managing_level) is None:
            # The contract checks this too; the registry could have changed since intake.
            return Refusal(
                "payload.managing_level",
                f"no {payload.managing_level.value}-level commission covers the first official's agency",
            )
        if payload.source is c.ClueSource.CASE_TRANSFER_ESCALATION and sender.kind is not AgencyKind.JUSTICE:
            return Refusal("source_agency", "only a justice bureau confirms a case-transfer escalation")
        if self.s.state == PROPOSED:
            if env.source_agency != self.d.justice_bureau:
                return Refusal("source_agency", f"the proposal is for {self.d.justice_bureau} to confirm")
            if payload.proposal_id != self.d.proposal_id:
                return Refusal("payload.proposal_id", f"this case carries proposal {self.d.proposal_id}")
            if payload.source is not c.ClueSource.HOTLINE_COMPLAINT:
                return Refusal(
                    "payload.source",
                    "a proposal from the 12345 hotline is confirmed with source hotline_complaint",
                )
        return None

    def _referral_refusal(self, payload: c.Referred) -> Refusal | None:
        """The clue goes to the commission that manages its official, whoever refers it.

        The reasons name levels and commission ids (both go on the bus with the referral), never
        the official or their agency.
        """
        level = self.d.managing_level
        expected = self.d.managing_commission
        if payload.managing_level is not None and payload.managing_level != level:
            return Refusal(
                "payload.managing_level",
                f"the clue was identified for an official managed at {level} level, "
                f"not {payload.managing_level.value}",
            )
        if payload.commission != expected:
            return Refusal(
                "payload.commission",
                f"an official managed at {level} level goes to commission {expected}, "
                f"not {payload.commission}",
            )
        return None

    def _inquiry_date_refusal(self, env: Envelope, payload: c.DispositionDecided) -> Refusal | None:
        """The talk or reply the 30 days run from happened while the commission held the clue
        and before the disposition reporting it."""
        talk = payload.inquiry_on
        if talk is None:
            return None
        if talk > env.occurred_at:
            return Refusal(
                "payload.inquiry_on",
                f"the talk or reply is dated {dl.legal_minute(talk)}, after the disposition reporting it "
                f"({dl.legal_minute(env.occurred_at)})",
            )
        since = self.s.state_at
        if since is not None and talk < since:
            return Refusal(
                "payload.inquiry_on",
                f"the talk or reply is dated {dl.legal_minute(talk)}, before the commission held the clue "
                f"(state {self.s.state} since {dl.legal_minute(since)})",
            )
        return None

    # ----- the state machine -------------------------------------------------------------

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        """Move the referral one step."""
        handler = getattr(self, "_on_" + env.type.split(".", 1)[1])
        await handler(env, payload)

    async def _on_complaint_received(self, env: Envelope, payload: Payload) -> None:
        """A 12345 complaint proposes a clue; the complained-about agency's justice bureau decides."""
        assert isinstance(payload, ComplaintReceived)
        justice = supervisor_of(payload.subject_agency, AgencyKind.JUSTICE)
        assert justice is not None  # every district and the city have a justice bureau
        self.d.proposal_id = env.case_id
        self.d.justice_bureau = justice.id
        self.d.source = c.ClueSource.HOTLINE_COMPLAINT
        self.add_parties(env.source_agency, justice.id)
        self.transition(PROPOSED)
        await self.emit(
            P + "clue_proposed",
            kind=EntryKind.ESCALATION,
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={"proposal_id": env.case_id, "source": "hotline_complaint", "justice_bureau": justice.id},
        )

    async def _on_clue_identified(self, env: Envelope, payload: Payload) -> None:
        """Open the referral and start the head's approval deadline."""
        assert isinstance(payload, c.ClueIdentified)
        referrer = env.source_agency
        commission = c.managing_commission(payload.officials[0].agency, payload.managing_level)
        assert commission is not None  # refused otherwise
        escalated = payload.source is c.ClueSource.CASE_TRANSFER_ESCALATION
        facts = self.d
        facts.referring_agency = referrer
        # The official's agency is content; the commission it leads to is an id.
        facts.managing_level = payload.managing_level
        facts.managing_commission = commission.id
        facts.source = payload.source
        facts.proposal_id = payload.proposal_id or facts.proposal_id
        facts.related_process = payload.related_process or ("case_transfer" if escalated else None)
        facts.related_case_id = payload.related_case_id
        facts.commissions = []
        self.add_parties(referrer)
        self.transition(IDENTIFIED)
        opened: dict[str, Any] = {"source": payload.source.value}
        if facts.proposal_id:
            opened["proposal_id"] = facts.proposal_id
        if facts.related_case_id:
            opened["related_case_id"] = facts.related_case_id
        await self.emit(P + "opened", actor=referrer, causation_id=str(env.event_id), payload=opened)

    async def _on_proposal_dismissed(self, env: Envelope, payload: Payload) -> None:
        """The justice bureau dismisses the proposal: recorded, and the case ends."""
        assert isinstance(payload, c.ProposalDismissed)
        if self.d.proposal_id is None:
            self.d.proposal_id = payload.proposal_id
        if self.d.justice_bureau is None:
            self.d.justice_bureau = env.source_agency
        self.add_parties(env.source_agency)
        self.transition(DISMISSED)
        await self.emit(
            P + "dismissed",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={"proposal_id": payload.proposal_id},
        )
        await self.close(DISMISSED, actor=env.source_agency)

    async def _on_referral_approved(self, env: Envelope, payload: Payload) -> None:
        self.transition(APPROVED)
        await self.emit(P + "approved", actor=env.source_agency, causation_id=str(env.event_id))

    async def _on_referral_declined(self, env: Envelope, payload: Payload) -> None:
        """Declined with reasons (kept encrypted): the referral ends."""
        await self._end(env, DECLINED, "declined")

    async def _end(self, env: Envelope, state: str, outcome: str) -> None:
        """The referral ends on the sender's step: its outcome announced, then the case closed."""
        self.transition(state)
        await self.emit(P + outcome, actor=env.source_agency, causation_id=str(env.event_id))
        await self.close(state, actor=env.source_agency)

    async def _on_referred(self, env: Envelope, payload: Payload) -> None:
        """Sent to the commission: the disposition expectation (a reminder) starts."""
        assert isinstance(payload, c.Referred)
        level = self.d.managing_level
        assert level is not None  # set when the clue was identified, before any referral
        await self._hand_to(payload.commission)
        self.transition(REFERRED)
        await self.emit(
            P + "sent",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={"commission": payload.commission, "managing_level": level.value},
        )
        await self._expect_disposition()

    async def _on_referral_received(self, env: Envelope, payload: Payload) -> None:
        """Signed for; a commission without jurisdiction has 5 working days to forward."""
        assert isinstance(payload, c.ReferralReceived)
        commission = env.source_agency
        if payload.within_jurisdiction:
            self.transition(RECEIVED)
            await self.emit(P + "accepted", actor=commission, causation_id=str(env.event_id))
            return
        self.transition(FORWARD_PENDING)
        await self.emit(P + "forward_pending", actor=commission, causation_id=str(env.event_id))
        await self.start_clock(FORWARD, key=commission)

    async def _on_referral_forwarded(self, env: Envelope, payload: Payload) -> None:
        """The competent commission takes over; the expectation restarts for it."""
        assert isinstance(payload, c.ReferralForwarded)
        previous = env.source_agency
        await self._cancel_expectation()
        await self._hand_to(payload.forwarded_to)
        self.transition(FORWARDED)
        await self.emit(
            P + "forwarded",
            actor=previous,
            causation_id=str(env.event_id),
            payload={"from": previous, "commission": payload.forwarded_to},
        )
        await self._expect_disposition()

    async def _on_referral_returned(self, env: Envelope, payload: Payload) -> None:
        """No commission has jurisdiction: the clue goes back and the referral ends."""
        await self._end(env, RETURNED, "returned")

    async def _on_disposition_decided(self, env: Envelope, payload: Payload) -> None:
        """Record the disposition's kind as a state; an inquiry must close within 30 days."""
        assert isinstance(payload, c.DispositionDecided)
        commission = env.source_agency
        await self._close_expectation()
        state = DISPOSITION_STATES[payload.disposition]
        self.d.disposition = payload.disposition
        self.transition(state)
        await self.emit(
            P + "disposed",
            actor=commission,
            causation_id=str(env.event_id),
            payload={"disposition": payload.disposition.value},
        )
        if payload.disposition is c.Disposition.TALK_OR_LETTER_INQUIRY:
            # The rule's anchor is the payload's inquiry_on (required for an inquiry): the 30 days
            # run from the talk or reply, which may be days before the disposition was reported.
            await self.start_clock(INQUIRY_CLOSE)

    async def _on_outcome_reported(self, env: Envelope, payload: Payload) -> None:
        """The outcome reaches the referrer; it rectifies, or the referral concludes."""
        assert isinstance(payload, c.OutcomeReported)
        self.d.rectification_required = payload.rectification_required
        state = OUTCOME_PENDING_RECTIFICATION if payload.rectification_required else CONCLUDED
        self.transition(state)
        await self.emit(
            P + "outcome_received",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={"rectification_required": payload.rectification_required},
        )
        if not payload.rectification_required:
            await self.close(CONCLUDED, actor=env.source_agency)

    async def _on_rectified(self, env: Envelope, payload: Payload) -> None:
        self.transition(RECTIFIED)
        await self.emit(P + "rectification_recorded", actor=env.source_agency, causation_id=str(env.event_id))
        await self.close(RECTIFIED, actor=env.source_agency)

    # ----- helpers -----------------------------------------------------------------------

    async def _hand_to(self, commission: str) -> None:
        self.d.commission = commission
        self.d.commissions.append(commission)
        self.d.reminders = 0
        self.add_parties(commission)

    async def _expect_disposition(self, start: datetime | None = None) -> None:
        """Start a 30-day expectation period for the commission holding the clue: from the
        referral or forward being taken, or from ``start``, the due date of the period whose
        reminder it follows (a date the workflow holds, whenever the timer or a late report
        makes it fall due)."""
        key = f"{self.d.commission}#{self.d.reminders}"
        self.d.expect_key = key
        await self.start_clock(EXPECTATION, key=key, start=start)

    def _live_expectations(self) -> list[DeadlineState]:
        """The expectation periods of the commission holding the clue not yet settled: the open
        one and those already reminded."""
        return [
            d
            for d in self.s.deadlines.values()
            if d.info.rule == EXPECTATION
            and d.info.party == self.d.commission
            and d.info.status in (DeadlineStatus.OPEN, DeadlineStatus.REMINDED)
        ]

    async def _close_expectation(self) -> None:
        """The disposition came: every period it was expected in is met (a reminder is never
        late). A period that began after the disposition happened exists only because it was
        reported late, and is cancelled."""
        self.d.expect_key = None
        when = self.step_time()
        for d in self._live_expectations():
            await self.close_deadline(EXPECTATION, key=d.key, cancelled=d.info.starts_at > when)

    async def _cancel_expectation(self) -> None:
        self.d.expect_key = None
        for d in self._live_expectations():
            await self.close_deadline(EXPECTATION, key=d.key, cancelled=True)

    async def on_reminder(self, deadline: DeadlineState) -> None:
        """A silent commission is reminded and a new period starts; nothing is decided, nobody
        is escalated, and the reminded period stays on record until the disposition comes."""
        if deadline.info.rule != EXPECTATION or deadline.key != self.d.expect_key:
            return
        reminders = self.d.reminders + 1
        self.d.reminders = reminders
        # Dated at the period's due date, like the deadline.reminder it follows, even when a
        # late report makes it fall due long after.
        await self.emit(
            P + "reminder_sent",
            kind=EntryKind.REQUEST,
            deadline=deadline.info,
            payload={"target": self.d.commission, "reminder": reminders},
            at=deadline.info.due_at,
        )
        self.d.expect_key = None
        if reminders < MAX_REMINDERS:
            await self._expect_disposition(start=deadline.info.due_at)
