"""Process 1, administrative-to-criminal case transfer (行刑衔接), forward direction.

Source: 国务院令第310号《行政执法机关移送涉嫌犯罪案件的规定》(2020 revision); supervision of a
refusal to file follows the Public Security Ministry's criminal-case procedure rules. Every
step of DOMAIN.md process 1 is one inbound event type (``contracts/case_transfer.py``); this
module is the state machine that says which of them is valid when, and who may send it.

The machine, by state (closed states in capitals)::

    new ─crime_suspected→ opened ─team_formed→ team_formed ─transfer_report_submitted→ reported
    reported ─head_decided(refuse)→ REFUSED_BY_HEAD
    reported ─head_decided(approve)→ approved ─transferred→ transferred
    transferred ─police_received(ours)→ received ─police_decided(file)→ filed
    transferred ─police_received(not ours)→ forwarding ─police_forwarded→ transferred (new authority)
    received ─police_forwarded→ transferred (new authority)
    received ─police_decided(refuse)→ police_refused
    police_refused ─reconsideration_requested→ reconsideration
        reconsideration ─reconsideration_decided(file)→ filed
        reconsideration ─reconsideration_decided(uphold)→ refusal_upheld
    police_refused | reconsideration | refusal_upheld ─supervision_requested | supervision_opened→ supervision
        supervision ─reconsideration_requested→ supervision (a reconsideration runs beside it)
        supervision ─explanation_requested→ supervision ─police_explained→ explained
        explained ─supervision_concluded→ refusal_final (or reconsideration, if one is pending)
        supervision | explained ─filing_ordered→ filing_ordered ─police_decided(file)→ filed
        supervision | explained ─police_decided(file)→ filed   (police change their mind)
    police_refused | refusal_upheld | refusal_final ─returned_for_penalty→ RETURNED_FOR_PENALTY
    filed ─materials_handed_over→ materials_handed_over
    filed | materials_handed_over ─criminal_outcome_reported→ CONCLUDED
    filed | materials_handed_over ─administrative_case_closed→ ADMINISTRATIVE_CLOSED

Design choices, each traceable to a rule:

- The head's 3-day clock (art. 5) runs from the report (``transfer_report_submitted``): a case
  whose team takes a week to write it has kept the law, and a prompt head is never escalated.
- After the transfer, a clock runs for the police's receipt (art. 7's 回执; one working day by
  default, a setting); a late receipt is escalated to the procuratorate (art. 17 names refusal
  to accept).
- Reconsideration and supervision may both be asked for (art. 9 "and/or"): either request leaves
  the other's window open, a reconsideration may run beside supervision, and its decision then
  ends the case's refusal only when it files.
- The procuratorate may open supervision itself (``supervision_opened``), not only on request.
  The police's 7 days to explain run from their receipt of the procuratorate's request
  (``explanation_requested``, ``served_at``), not from the agency's request.
- Windows the agency may use (reconsideration, supervision, referral after reconsideration) are
  deadlines of nature "window": one that runs out lapses, nobody is escalated, and a late
  request is still accepted and marked late.
- A penalty never replaces a transfer (art. 11): ``returned_for_penalty`` is refused until the
  refusal to file is final in this process.
- Escalations (art. 16, 17): the agency late at step 3 or 4 notifies its supervising authority
  (the justice bureau, or a vertically managed agency's superior) and emits a
  ``discipline_referral.clue_proposed`` the justice bureau may confirm (process 3); police late
  at any of their steps notify the procuratorate.
- Forwarding (art. 7) goes to any competent authority: police, customs anti-smuggling, the coast
  guard; the one it went to acts as "the police" of the case from then on.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ConfigDict, Field

    from contracts import case_transfer as ct
    from contracts.agencies import AgencyKind, AgencyLevel, get_agency, supervising_authority, supervisor_of
    from contracts.common import EventSpec, Payload
    from contracts.domain import EntryKind
    from contracts.envelope import Envelope
    from contracts.workflow_io import CaseStart, CaseStatus

from workflows.case_base import CaseWorkflow, DeadlineState, Instant, Refusal

P = "case_transfer."

# States of the forward transfer.
NEW = "new"
OPENED = "opened"
TEAM_FORMED = "team_formed"
REPORTED = "reported"
APPROVED = "approved"
TRANSFERRED = "transferred"
FORWARDING = "forwarding"
RECEIVED = "received"
POLICE_REFUSED = "police_refused"
RECONSIDERATION = "reconsideration"
REFUSAL_UPHELD = "refusal_upheld"
SUPERVISION = "supervision"
EXPLAINED = "explained"
FILING_ORDERED = "filing_ordered"
REFUSAL_FINAL = "refusal_final"
FILED = "filed"
MATERIALS_HANDED_OVER = "materials_handed_over"
# Closed states.
REFUSED_BY_HEAD = "refused_by_head"
CONCLUDED = "concluded"
ADMINISTRATIVE_CLOSED = "administrative_closed"
RETURNED_FOR_PENALTY = "returned_for_penalty"

# Rules (workflows/deadlines.py RULES).
R_HEAD = P + "head_decision"
R_TRANSFER = P + "transfer_after_approval"

# While the procuratorate supervises the refusal (a reconsideration may run beside it).
_SUPERVISED = frozenset({SUPERVISION, EXPLAINED, FILING_ORDERED})

# Specific reasons for the most likely out-of-order events (the generic one lists valid states).
_WHY: dict[tuple[str, str], str] = {
    (P + "head_decided", OPENED): "the head decides on the team's written report (art. 5); no report yet",
    (
        P + "head_decided",
        TEAM_FORMED,
    ): "the head decides on the team's written report (art. 5); no report yet",
    (
        P + "transfer_report_submitted",
        OPENED,
    ): "the report is written by the special team (art. 5); form it first",
    (P + "transferred", REPORTED): "the head has not approved the transfer yet (art. 5)",
    (P + "police_explained", EXPLAINED): "the police have explained already",
}

# Events that answer the police's refusal to file, whichever path moved the state since (art. 9).
_ANSWER_THE_REFUSAL = frozenset(
    {P + "reconsideration_requested", P + "supervision_requested", P + "supervision_opened"}
)

# Agency-late rules that make the case a discipline-referral candidate (art. 16).
DISCIPLINE_RULES = frozenset({R_HEAD, R_TRANSFER})


class Reconsideration(StrEnum):
    """Where the agency's request for reconsideration (art. 9) stands."""

    PENDING = "pending"
    DECIDED = "decided"


class CaseTransferData(BaseModel):
    """What a transfer knows beyond its state: who holds each case role, and when the steps that
    later events answer happened."""

    model_config = ConfigDict(extra="forbid")

    agency: str = ""
    enforcement_case_no: str = ""
    case_title: str = ""
    # The authority holding the case since the transfer: the police, or the one they forwarded it to.
    police: str | None = None
    # The procuratorate copied on the transfer, or the one the agency asked to supervise.
    procuratorate: str | None = None
    transfer_letter_no: str | None = None
    refused_at: Instant | None = None
    reconsideration: Reconsideration | None = None
    reconsideration_at: Instant | None = None
    explanation_requested: bool = False
    filing_order_no: str | None = None
    discipline_proposals: list[str] = Field(default_factory=list)


@workflow.defn(name="CaseTransfer")
class CaseTransferWorkflow(CaseWorkflow):
    """One enforcement case on its way from an administrative agency to the police."""

    DEFINITION = ct.DEFINITION
    DATA = CaseTransferData
    d: CaseTransferData

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        """Run until the transfer closes."""
        return await self.run_case(start)

    # ----- who is who ----------------------------------------------------------------------

    @property
    def _procuratorate(self) -> str:
        """The procuratorate that watches the police: the one copied, or the one asked to supervise."""
        if self.d.procuratorate:
            return self.d.procuratorate
        found = supervisor_of(self.d.police or self.d.agency, AgencyKind.PROCURATORATE)
        return found.id if found else ""

    def _justice(self) -> tuple[str, ...]:
        found = supervisor_of(self.d.agency, AgencyKind.JUSTICE)
        return (found.id,) if found else ()

    def _supervising_authority(self) -> tuple[str, ...]:
        """Who is told when the agency is late (art. 16): its government's supervision office,
        or, for a vertically managed agency, its superior authority."""
        found = supervising_authority(self.d.agency)
        return (found.id,) if found else ()

    def _watchers_of_police(self) -> tuple[str, ...]:
        return (self._procuratorate,) if self._procuratorate else ()

    # ----- validity --------------------------------------------------------------------------

    def holders(self, role: str) -> tuple[str | None, ...]:
        """The agency that opened the case, its police and its procuratorate."""
        return {
            "agency": (self.d.agency,),
            "police": (self.d.police,),
            "procuratorate": (self._procuratorate,),
            "supervising_authority": self._supervising_authority(),
        }[role]

    def out_of_state(self, env: Envelope, payload: Payload, step: EventSpec) -> Refusal:
        """The likely mistakes in words that name the article they break."""
        kind = env.type
        if kind == P + "crime_suspected":
            return Refusal("type", f"case {env.case_id} is already open (state {self.s.state})")
        if kind == P + "returned_for_penalty":
            return Refusal(
                "type",
                f"a penalty never replaces a transfer (art. 11): handling the case administratively is "
                f"possible only once filing is finally refused; the case is in state {self.s.state}",
            )
        why = _WHY.get((kind, self.s.state))
        return Refusal("type", why) if why else super().out_of_state(env, payload, step)

    def refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """A decision the case's history rules out (the definition checked state and sender)."""
        return self._payload_refusal(env.type, payload)

    def _payload_refusal(self, kind: str, payload: Payload) -> Refusal | None:
        recon = self.d.reconsideration
        if isinstance(payload, ct.ReconsiderationRequested) and recon is not None:
            return Refusal("type", f"a reconsideration was already requested (it is {recon})")
        if isinstance(payload, ct.ReconsiderationDecided) and recon is not Reconsideration.PENDING:
            return Refusal("type", "no reconsideration is pending (art. 9: the agency asks for it first)")
        if isinstance(payload, ct.ExplanationRequested) and self.d.explanation_requested:
            return Refusal("type", "the procuratorate already asked the police to explain")
        if isinstance(payload, ct.PoliceExplained) and not self.d.explanation_requested:
            return Refusal(
                "type", "the procuratorate has not asked the police to explain yet (explanation_requested)"
            )
        if isinstance(payload, ct.Transferred):
            return _same_level_police(self.d.agency, payload.police_agency)
        if isinstance(payload, ct.PoliceForwarded) and payload.forwarded_to == self.d.police:
            return Refusal("payload.forwarded_to", "the case is already with this police agency")
        if isinstance(payload, ct.PoliceDecided) and payload.decision is ct.PoliceDecision.REFUSE:
            if self.s.state == FILING_ORDERED:
                notice = self.d.filing_order_no or ""
                return Refusal(
                    "payload.decision", f"the procuratorate ordered filing ({notice}); the police must file"
                )
            if self.s.state in (SUPERVISION, EXPLAINED):
                return Refusal(
                    "payload.decision",
                    "the refusal is already on record and under supervision; send police_explained instead",
                )
        return None

    def answers_since(self, env: Envelope) -> datetime | None:
        """Requests under art. 9 answer the refusal, and a reconsideration decision answers its
        request, whichever of the parallel paths moved the state since."""
        answered = None
        if env.type in _ANSWER_THE_REFUSAL:
            answered = self.d.refused_at
        elif env.type == P + "reconsideration_decided":
            answered = self.d.reconsideration_at
        return answered if answered is not None else super().answers_since(env)

    # ----- steps -----------------------------------------------------------------------------

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        """Move the transfer one step (the event was checked by :meth:`refusal`)."""
        handler = getattr(self, "_on_" + env.type.removeprefix(P))
        await handler(env, payload)

    async def _step(self, state: str, event_type: str, env: Envelope, **payload: Any) -> None:
        """Enter ``state`` and announce it as a step caused by ``env``."""
        self.transition(state)
        await self.emit(
            P + event_type, actor=env.source_agency, causation_id=str(env.event_id), payload=payload
        )

    async def _on_crime_suspected(self, env: Envelope, p: ct.CrimeSuspected) -> None:
        """Open the case; the head's clock waits for the team's report (art. 5)."""
        agency = env.source_agency
        self.add_parties(agency)
        self.d.agency = agency
        self.d.enforcement_case_no = p.enforcement_case_no
        self.d.case_title = p.case_title
        await self._step(
            OPENED,
            "opened",
            env,
            agency=agency,
            case_title=p.case_title,
            suspected_offence=p.suspected_offence,
        )

    async def _on_team_formed(self, env: Envelope, p: ct.TeamFormed) -> None:
        await self._step(TEAM_FORMED, "team_assigned", env, officers=len(p.officers))

    async def _on_transfer_report_submitted(self, env: Envelope, p: ct.TransferReportSubmitted) -> None:
        """The head's 3 days run from the report (art. 5)."""
        await self._step(REPORTED, "awaiting_head_decision", env, report_no=p.report_no)

    async def _on_head_decided(self, env: Envelope, p: ct.HeadDecided) -> None:
        if p.decision is ct.HeadDecision.APPROVE:
            await self._step(APPROVED, "transfer_approved", env, decided_by=p.decided_by)
            return
        # Refusal: the case stays with the agency, visible to the procuratorate and justice bureau.
        watchers = [a for a in (self._procuratorate, *self._justice()) if a]
        self.add_parties(*watchers)
        self.transition(REFUSED_BY_HEAD)
        await self.emit(
            P + "transfer_refused_by_head",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={"decided_by": p.decided_by, "reasons": p.reasons, "visible_to": watchers},
        )
        await self.close(REFUSED_BY_HEAD, actor=env.source_agency, payload={"reasons": p.reasons})

    async def _on_transferred(self, env: Envelope, p: ct.Transferred) -> None:
        self.d.police = p.police_agency
        self.d.procuratorate = p.procuratorate_copy
        self.d.transfer_letter_no = p.transfer_letter_no
        self.add_parties(p.police_agency, p.procuratorate_copy)
        await self._step(
            TRANSFERRED,
            "sent_to_police",
            env,
            police=p.police_agency,
            procuratorate_copy=p.procuratorate_copy,
            penalty_already_imposed=p.penalty_already_imposed,
        )

    async def _on_police_received(self, env: Envelope, p: ct.PoliceReceived) -> None:
        if p.within_jurisdiction:
            await self._step(RECEIVED, "accepted_by_police", env, receipt_no=p.receipt_no)
        else:
            await self._step(FORWARDING, "forward_pending", env, receipt_no=p.receipt_no, reasons=p.reasons)

    async def _on_police_forwarded(self, env: Envelope, p: ct.PoliceForwarded) -> None:
        """The competent authority takes over; it signs a receipt of its own next (art. 7)."""
        previous = self.d.police
        self.d.police = p.forwarded_to
        self.add_parties(p.forwarded_to)
        await self._step(
            TRANSFERRED,
            "forwarded_to_competent",
            env,
            previous=previous,
            forwarded_to=p.forwarded_to,
            reasons=p.reasons,
        )

    async def _on_police_decided(self, env: Envelope, p: ct.PoliceDecided) -> None:
        if p.decision is ct.PoliceDecision.FILE:
            await self._filed(env, p.decision_no)
            return
        self.d.refused_at = env.occurred_at
        await self._step(
            POLICE_REFUSED,
            "filing_refused",
            env,
            decision_no=p.decision_no,
            reasons=p.reasons,
            file_returned=p.file_returned,
        )

    async def _filed(self, env: Envelope, decision_no: str) -> None:
        """Filing ends every police clock: the one it answers is met, the others no longer apply."""
        await self._step(FILED, "case_filed", env, decision_no=decision_no)

    async def _on_reconsideration_requested(self, env: Envelope, p: ct.ReconsiderationRequested) -> None:
        """Asked alone, or beside supervision (art. 9 "and/or"): the supervision window stays open."""
        self.d.reconsideration = Reconsideration.PENDING
        self.d.reconsideration_at = env.occurred_at
        if self.s.state in _SUPERVISED:
            await self.emit(
                P + "reconsideration_pending",
                actor=env.source_agency,
                causation_id=str(env.event_id),
                payload={"request_no": p.request_no, "beside_supervision": True},
            )
        else:
            await self._step(RECONSIDERATION, "reconsideration_pending", env, request_no=p.request_no)

    async def _on_reconsideration_decided(self, env: Envelope, p: ct.ReconsiderationDecided) -> None:
        if p.outcome is ct.ReconsiderationOutcome.FILE:
            self.d.reconsideration = Reconsideration.DECIDED
            await self._filed(env, p.decision_no)
            return
        self.d.reconsideration = Reconsideration.DECIDED
        if self.s.state in _SUPERVISED:
            # Supervision goes on; the agency needs no referral window, it has one already.
            await self.emit(
                P + "reconsideration_concluded",
                actor=env.source_agency,
                causation_id=str(env.event_id),
                payload={"decision_no": p.decision_no, "reasons": p.reasons},
            )
            return
        await self._step(REFUSAL_UPHELD, "refusal_upheld", env, decision_no=p.decision_no, reasons=p.reasons)

    async def _on_supervision_requested(self, env: Envelope, p: ct.SupervisionRequested) -> None:
        self.d.procuratorate = p.procuratorate
        self.add_parties(p.procuratorate)
        await self._step(
            SUPERVISION, "supervision_started", env, procuratorate=p.procuratorate, request_no=p.request_no
        )

    async def _on_supervision_opened(self, env: Envelope, p: ct.SupervisionOpened) -> None:
        """The procuratorate supervises on its own: the agency's request windows are moot."""
        await self._step(
            SUPERVISION,
            "supervision_started",
            env,
            procuratorate=env.source_agency,
            notice_no=p.notice_no,
            on_own_initiative=True,
        )

    async def _on_explanation_requested(self, env: Envelope, p: ct.ExplanationRequested) -> None:
        """The police's 7 days run from their receipt of the request (``served_at``)."""
        self.d.explanation_requested = True
        await self.emit(
            P + "explanation_pending",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={"request_no": p.request_no, "served_at": p.served_at.isoformat()},
        )

    async def _on_police_explained(self, env: Envelope, p: ct.PoliceExplained) -> None:
        await self._step(EXPLAINED, "explanation_received", env, explanation_no=p.explanation_no)

    async def _on_filing_ordered(self, env: Envelope, p: ct.FilingOrdered) -> None:
        self.d.filing_order_no = p.notice_no
        await self._step(FILING_ORDERED, "filing_order_issued", env, notice_no=p.notice_no)

    async def _on_supervision_concluded(self, env: Envelope, p: ct.SupervisionConcluded) -> None:
        """The refusal stands; it is final unless a reconsideration still runs beside it."""
        if self.d.reconsideration is Reconsideration.PENDING:
            await self._step(
                RECONSIDERATION, "supervision_ended", env, conclusion_no=p.conclusion_no, reasons=p.reasons
            )
            return
        await self._step(
            REFUSAL_FINAL, "refusal_final", env, conclusion_no=p.conclusion_no, reasons=p.reasons
        )

    async def _on_materials_handed_over(self, env: Envelope, p: ct.MaterialsHandedOver) -> None:
        await self._step(MATERIALS_HANDED_OVER, "materials_complete", env, handover_no=p.handover_no)

    async def _on_criminal_outcome_reported(self, env: Envelope, p: ct.CriminalOutcomeReported) -> None:
        await self.close(
            CONCLUDED,
            actor=env.source_agency,
            payload={"outcome": p.outcome.value, "document_no": p.document_no},
        )

    async def _on_administrative_case_closed(self, env: Envelope, p: ct.AdministrativeCaseClosed) -> None:
        await self.close(ADMINISTRATIVE_CLOSED, actor=env.source_agency, payload={"closing_no": p.closing_no})

    async def _on_returned_for_penalty(self, env: Envelope, p: ct.ReturnedForPenalty) -> None:
        """The agency handles the case itself (art. 10); fines paid are credited later (art. 11)."""
        await self.close(
            RETURNED_FOR_PENALTY,
            actor=env.source_agency,
            payload={"penalty_imposed": p.penalty_imposed, "penalty_decision_no": p.penalty_decision_no},
        )

    # ----- escalation beyond the generic one -------------------------------------------------

    async def on_breach(self, deadline: DeadlineState) -> None:
        """The agency late at step 3 or 4 (art. 16): propose a discipline referral.

        The proposal names only ids and the rule breached (no personal content): the justice
        bureau confirms it in process 3 by sending ``discipline_referral.clue_identified`` with
        the ``proposal_id``.
        """
        info = deadline.info
        if info.rule not in DISCIPLINE_RULES:
            return
        justice = self._justice()
        proposal = ct.ClueProposal(
            proposal_id=str(workflow.uuid4()),
            process=self.s.process,
            case_id=self.s.case_id,
            workflow_id=workflow.info().workflow_id,
            agency=self.d.agency,
            rule=info.rule,
            rule_source=info.source,
            deadline_id=info.deadline_id,
            due_at=info.due_at,
            justice_bureau=justice[0] if justice else None,
            basis="国务院令第310号第16条：逾期不移送，由本级或者上级人民政府责令限期移送，并追究责任",
        )
        self.d.discipline_proposals.append(proposal.proposal_id)
        await self.emit(
            "discipline_referral.clue_proposed",
            kind=EntryKind.ESCALATION,
            deadline=info,
            payload=proposal.model_dump(mode="json"),
        )


def _same_level_police(agency_id: str, police_id: str) -> Refusal | None:
    """Art. 3: the case goes to the police of the same level (a township's is its district's)."""
    agency, police = get_agency(agency_id), get_agency(police_id)
    if agency is None or police is None:
        return Refusal("payload.police_agency", f"unknown agency {police_id!r}")
    level = AgencyLevel.DISTRICT if agency.level is AgencyLevel.TOWNSHIP else agency.level
    if police.level is not level or police.district != agency.district:
        expected = supervisor_of(agency_id, AgencyKind.POLICE)
        hint = f" (expected {expected.id})" if expected else ""
        return Refusal(
            "payload.police_agency",
            f"{police_id} is not the police of the same level as {agency_id}{hint} (art. 3)",
        )
    return None
