"""The reverse path of process 1 (行刑反向衔接): a criminal case comes back for an administrative penalty.

Two ways in, one workflow per case (id ``reverse_transfer/<case_id>``):

- The procuratorate decides not to prosecute but a penalty is due
  (最高检《人民检察院行刑反向衔接工作指引》, 2024)::

      new ─non_prosecution_decided→ handover_pending      (3 working days, criminal department)
      handover_pending ─handed_over→ under_review          (10 working days, extendable once by 10)
      under_review ⇄ paused   (review_paused / review_resumed: police ask for review, a party appeals)
      under_review ─opinion_issued→ awaiting_reply         (agency replies within 2 months of service)
      under_review | paused ─review_ended→ REVIEW_ENDED
      awaiting_reply ─agency_replied→ REPLIED

- The police find no crime but an administrative violation (国务院令第310号 art. 13)::

      new ─police_no_crime_found→ return_pending           ("promptly"; default 3 days, a setting)
      return_pending ─police_returned→ awaiting_acceptance ─agency_accepted→ ACCEPTED

Every period counts from when its step happened, as the agency reports it, never from when
Lawlink took the event: the handover's 3 working days from the decision's ``occurred_at``, the
review's 10 from the handover's, each pause and resumption from its own ``occurred_at``, the
agency's 2 months from the opinion's service (``served_at``) and the police's return from their
finding. An event reported late therefore finds its period already run out and breaches it at
once, dated at the true due date.

The review clock and its pause
------------------------------
The review has a budget of working days (10, or 20 once extended). The workflow keeps how many
working days were used before the current run of the clock (``used_before``) and the date the
clock last started (``running_since``), both on the dates the events carry. A period's starting
day is never counted, and neither is the day a pause begins (the clock stops when it does), so a
pause on the last day leaves one working day after resumption instead of a period that silently
vanished. On ``review_paused`` it adds the working days run from ``running_since`` to the pause
day to ``used_before``, cancels the open review deadline (``deadline.cancelled``) and emits
``reverse_transfer.clock_paused`` with the days used and left. On ``review_resumed`` it opens a
new deadline of the same rule whose due date is the resumption day plus the remaining working
days, and emits ``reverse_transfer.clock_resumed``. A pause (or an extension) dated before the
due date but reported after the timer breached the review stops the clock in time: the breach
is withdrawn (``deadline.cancelled`` with ``breach_withdrawn``).

Because a deadline row is defined by its rule and its start (so a later calendar load can
recompute it), the resumed deadline is opened with an *effective start*: the day from which the
rule's full length ends exactly ``remaining`` working days after resumption (earlier than the
resumption when days were used, later when an extension left more than the rule's length). Its
``starts_at`` is therefore not the resumption time; the ``clock_resumed`` event carries the real
times. If the budget was already spent when the clock stopped, the breached deadline stays on
record and nothing new is opened: the breach stands and the review still waits for its decision.

An extension (once, ``review_extended``) adds 10 working days to the budget. While the clock runs,
the current deadline is replaced by one of rule ``reverse_transfer.review_extension`` that ends
10 working days after the original one; while paused, the next resumption uses the larger
budget. An extension asked for after the budget ran out is refused: it can only prolong a period
that has not ended.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ConfigDict

    from contracts import reverse_transfer as rt
    from contracts.agencies import AgencyKind, supervisor_of
    from contracts.common import EventSpec, Payload
    from contracts.deadline_models import DeadlineStatus
    from contracts.domain import EntryKind
    from contracts.envelope import Envelope
    from contracts.workflow_io import CaseStart, CaseStatus

from workflows import deadlines as dl
from workflows.case_base import CaseWorkflow, Instant, Refusal

P = "reverse_transfer."

NEW = "new"
HANDOVER_PENDING = "handover_pending"
UNDER_REVIEW = "under_review"
PAUSED = "paused"
AWAITING_REPLY = "awaiting_reply"
RETURN_PENDING = "return_pending"
AWAITING_ACCEPTANCE = "awaiting_acceptance"
# Closed states.
REPLIED = "replied"
REVIEW_ENDED = "review_ended"
ACCEPTED = "accepted"

R_REVIEW = P + "review"
R_EXTENSION = P + "review_extension"

_WHY: dict[tuple[str, str], str] = {
    (P + "opinion_issued", PAUSED): "the review is paused; resume it before issuing the opinion",
    (P + "review_paused", PAUSED): "the review is already paused",
    (P + "review_resumed", UNDER_REVIEW): "the review is not paused",
    (P + "agency_replied", UNDER_REVIEW): "no procuratorial opinion has been served yet",
}


class ReturnPath(StrEnum):
    """Which way the case came back: the procuratorate's non-prosecution, or the police's finding."""

    PROCURATORATE = "procuratorate"
    POLICE = "police"


class ReverseTransferData(BaseModel):
    """What a reverse transfer knows beyond its state: the agencies holding its case roles, and
    the review clock (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    path: ReturnPath | None = None
    procuratorate: str | None = None
    police: str | None = None
    # The agency the case goes to (the one the opinion names, once issued).
    agency: str = ""
    case_title: str = ""
    decision_no: str = ""
    opinion_no: str | None = None
    # The review's budget of working days: None until the handover starts the review.
    budget: int | None = None
    used_before: int = 0
    # The day the clock last started; None while it is stopped.
    running_since: date | None = None
    # The rule of the review's deadline: the review's own, the extension's once extended.
    review_rule: str = R_REVIEW
    extended: bool = False
    extended_at: Instant | None = None
    pause_reason: rt.PauseReason | None = None


@workflow.defn(name="ReverseTransfer")
class ReverseTransferWorkflow(CaseWorkflow):
    """One case returning from the criminal side to an administrative agency."""

    DEFINITION = rt.DEFINITION
    DATA = ReverseTransferData
    d: ReverseTransferData

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        """Run until the reverse transfer closes."""
        return await self.run_case(start)

    # ----- validity --------------------------------------------------------------------------

    def holders(self, role: str) -> tuple[str | None, ...]:
        """The procuratorate carrying the review, the agency the case goes to, the police."""
        return {
            "procuratorate": (self.d.procuratorate,),
            "agency": (self.d.agency,),
            "police": (self.d.police,),
            "justice_bureau": _supervisor(self.d.agency, AgencyKind.JUSTICE),
            "supervising_procuratorate": _supervisor(self.d.police, AgencyKind.PROCURATORATE),
        }[role]

    def out_of_state(self, env: Envelope, payload: Payload, step: EventSpec) -> Refusal:
        """An opening for an open case, and the likely mistakes of the review, in words."""
        if step.opens:
            return Refusal("type", f"case {env.case_id} is already open (state {self.s.state})")
        why = _WHY.get((env.type, self.s.state))
        return Refusal("type", why) if why else super().out_of_state(env, payload, step)

    def refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """A second extension, an extension of a spent period, or an opinion served before the
        review began (the definition checked state and sender)."""
        if env.type == P + "review_extended":
            if self.d.extended:
                return Refusal(
                    "type", "the review was already extended once; a second extension is not allowed"
                )
            if self._clock_spent(_day(env.occurred_at)):
                return Refusal(
                    "type", "the review period has already run out; only a running period can be extended"
                )
        if isinstance(payload, rt.OpinionIssued):
            return _service_refusal(payload.served_at, env.occurred_at, self.s.state_at)
        return None

    def answers_since(self, env: Envelope) -> datetime | None:
        """An extension does not change the state, yet later review events answer it too: a pause
        or an opinion cannot predate the extension already on record."""
        since = self.s.state_at
        extended_at = self.d.extended_at
        if extended_at is not None and self.s.state in (UNDER_REVIEW, PAUSED):
            since = extended_at if since is None or extended_at > since else since
        return since

    # ----- steps -----------------------------------------------------------------------------

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        """Move the reverse transfer one step (checked by :meth:`refusal`)."""
        await getattr(self, "_on_" + env.type.removeprefix(P))(env, payload)

    async def _step(self, state: str, event_type: str, env: Envelope, **payload: Any) -> None:
        self.transition(state)
        await self.emit(
            P + event_type, actor=env.source_agency, causation_id=str(env.event_id), payload=payload
        )

    async def _on_non_prosecution_decided(self, env: Envelope, p: rt.NonProsecutionDecided) -> None:
        self.d.procuratorate = env.source_agency
        await self._open(ReturnPath.PROCURATORATE, HANDOVER_PENDING, env, p)

    async def _open(
        self,
        path: ReturnPath,
        state: str,
        env: Envelope,
        p: rt.NonProsecutionDecided | rt.PoliceNoCrimeFound,
    ) -> None:
        """Either path opens on the deciding body's decision and names the agency it returns to."""
        self.d.path = path
        self.d.agency = p.agency
        self.d.case_title = p.case_title
        self.d.decision_no = p.decision_no
        self.add_parties(env.source_agency, p.agency)
        await self._step(
            state,
            "opened",
            env,
            path=path.value,
            agency=p.agency,
            case_title=p.case_title,
            decision_no=p.decision_no,
        )

    async def _on_handed_over(self, env: Envelope, p: rt.HandedOver) -> None:
        """The review's 10 working days run from the handover (its ``occurred_at``)."""
        self.d.budget = self._rules[R_REVIEW].length
        self.d.used_before = 0
        self.d.running_since = _day(env.occurred_at)
        self.d.review_rule = R_REVIEW
        self.d.extended = False
        await self._step(UNDER_REVIEW, "under_review", env, department=p.receiving_department)

    async def _on_review_paused(self, env: Envelope, p: rt.ReviewPaused) -> None:
        """The clock stops on the day the pause began, whenever the pause is reported."""
        used = self._used_until(_day(env.occurred_at))
        self.d.used_before = used
        self.d.running_since = None
        self.d.pause_reason = p.reason
        await self._stop_review_clock(self.d.review_rule, env.occurred_at)
        remaining = max(self._budget() - used, 0)
        await self._step(
            PAUSED,
            "clock_paused",
            env,
            **rt.ReviewClock(
                rule=self.d.review_rule,
                used_working_days=used,
                remaining_working_days=remaining,
                reason=p.reason.value,
            ).model_dump(mode="json"),
        )

    async def _on_review_resumed(self, env: Envelope, p: rt.ReviewResumed) -> None:
        """The remaining working days run from the resumption's ``occurred_at``."""
        resumed_at = env.occurred_at
        used = self.d.used_before
        remaining = max(self._budget() - used, 0)
        self.d.running_since = _day(resumed_at)
        rule_name = R_EXTENSION if self.d.extended else R_REVIEW
        self.d.review_rule = rule_name
        self.transition(UNDER_REVIEW)
        due = None
        if remaining > 0:
            start = self._effective_start(resumed_at, remaining, self._rules[rule_name].length)
            opened = await self.start_clock(rule_name, start=start)
            due = opened.info.due_at
        await self.emit(
            P + "clock_resumed",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload=rt.ReviewClock(
                rule=rule_name, used_working_days=used, remaining_working_days=remaining, due_at=due
            ).model_dump(mode="json"),
        )

    async def _on_review_extended(self, env: Envelope, p: rt.ReviewExtended) -> None:
        """10 more working days after the current last day, granted on the extension's date."""
        self.d.extended = True
        self.d.extended_at = env.occurred_at
        budget = self._budget() + self._rules[R_EXTENSION].length
        self.d.budget = budget
        due = None
        if self.s.state == UNDER_REVIEW:
            current = self.deadline(self.d.review_rule)
            await self._stop_review_clock(self.d.review_rule, env.occurred_at)
            self.d.review_rule = R_EXTENSION
            # The extension's working days follow the current last day (due_at is 00:00 after it).
            if current is not None:
                start = current.info.due_at - timedelta(days=1)
            else:
                remaining = budget - self._used_until(_day(env.occurred_at))
                start = self._effective_start(env.occurred_at, remaining, self._rules[R_EXTENSION].length)
            opened = await self.start_clock(R_EXTENSION, start=start)
            due = opened.info.due_at
        await self.emit(
            P + "clock_extended",
            actor=env.source_agency,
            causation_id=str(env.event_id),
            payload={
                "approved_by": p.approved_by,
                "budget_working_days": budget,
                "due_at": due.isoformat() if due else None,
            },
        )

    async def _on_opinion_issued(self, env: Envelope, p: rt.OpinionIssued) -> None:
        self.d.agency = p.agency
        self.d.opinion_no = p.opinion_no
        self.add_parties(p.agency)
        await self._step(
            AWAITING_REPLY,
            "awaiting_reply",
            env,
            opinion_no=p.opinion_no,
            agency=p.agency,
            served_at=p.served_at.isoformat(),
        )

    async def _on_review_ended(self, env: Envelope, p: rt.ReviewEnded) -> None:
        await self.close(REVIEW_ENDED, actor=env.source_agency, payload={"reasons": p.reasons})

    async def _on_agency_replied(self, env: Envelope, p: rt.AgencyReplied) -> None:
        await self.close(
            REPLIED,
            actor=env.source_agency,
            payload={"adoption": p.adoption.value, "penalty_decision_no": p.penalty_decision_no},
        )

    async def _on_police_no_crime_found(self, env: Envelope, p: rt.PoliceNoCrimeFound) -> None:
        self.d.police = env.source_agency
        await self._open(ReturnPath.POLICE, RETURN_PENDING, env, p)

    async def _on_police_returned(self, env: Envelope, p: rt.PoliceReturned) -> None:
        await self._step(AWAITING_ACCEPTANCE, "awaiting_acceptance", env, return_letter_no=p.return_letter_no)

    async def _on_agency_accepted(self, env: Envelope, p: rt.AgencyAccepted) -> None:
        await self.close(
            ACCEPTED, actor=env.source_agency, payload={"enforcement_case_no": p.enforcement_case_no}
        )

    # ----- the review clock --------------------------------------------------------------------

    async def _stop_review_clock(self, rule_name: str, at: datetime) -> None:
        """The review deadline stops counting at ``at`` (a pause, or its replacement by the extension).

        A deadline still open is cancelled. One the timer already breached although the clock
        stopped before its due date (the step was reported late) was never overdue: the breach
        is withdrawn and the deadline cancelled. One that stopped after its due date stays
        breached: the period had run out.
        """
        current = self.deadline(rule_name)
        if current is None:
            return
        if current.info.status == DeadlineStatus.OPEN and at >= current.info.due_at:
            # The period ran out before the clock stopped, though its timer has not fired yet.
            await self._fall_due(current)
        if current.info.status == DeadlineStatus.BREACHED:
            if at < current.info.due_at:
                current.info = current.info.model_copy(update={"status": DeadlineStatus.CANCELLED})
                await self.emit(
                    "deadline.cancelled",
                    kind=EntryKind.DEADLINE,
                    deadline=current.info,
                    payload={"breach_withdrawn": True},
                    at=at,
                )
            return
        await self.close_deadline(rule_name, cancelled=True)

    def _used_until(self, day: date) -> int:
        """Working days of the review budget used before ``day`` (neither the day the clock
        started nor ``day`` counts: a step on ``day`` stops or tests the clock at its start)."""
        used = self.d.used_before
        first = self.d.running_since
        before = day - timedelta(days=1)
        if first is not None and before > first:
            used += dl.working_days_between(first, before, self._calendar)
        return used

    def _clock_spent(self, day: date) -> bool:
        """Whether the review budget had run out by ``day``."""
        return self.d.budget is not None and self._used_until(day) >= self.d.budget

    def _budget(self) -> int:
        """The review's budget of working days (the steps that read it are valid only under review)."""
        assert self.d.budget is not None
        return self.d.budget

    def _effective_start(self, moment: datetime, remaining: int, length: int) -> datetime:
        """The start from which ``length`` working days end ``remaining`` working days after ``moment``."""
        local = moment.astimezone(dl.SHANGHAI)
        day = local.date()
        offset = length - remaining
        if offset < 0:
            day, _ = dl.add_working_days(day, -offset, self._calendar)
        else:
            counted = 0
            while counted < offset:
                if self._calendar.is_working_day(day)[0]:
                    counted += 1
                day -= timedelta(days=1)
        return datetime.combine(day, local.timetz())


def _service_refusal(
    served_at: datetime, reported_at: datetime, review_since: datetime | None
) -> Refusal | None:
    """The opinion is served between the start of the review and the event reporting its service:
    a document cannot be served after the event that reports it, nor before its review began."""
    if served_at > reported_at:
        return Refusal(
            "payload.served_at",
            f"service ({dl.legal_minute(served_at)}) cannot be later than the event reporting it "
            f"(occurred_at {dl.legal_minute(reported_at)})",
        )
    if review_since is not None and served_at < review_since:
        return Refusal(
            "payload.served_at",
            f"service ({dl.legal_minute(served_at)}) cannot precede the review it concludes "
            f"(under review since {dl.legal_minute(review_since)})",
        )
    return None


def _day(moment: datetime) -> date:
    """The Shanghai calendar day of ``moment`` (deadlines count days on the Shanghai wall calendar)."""
    return moment.astimezone(dl.SHANGHAI).date()


def _supervisor(agency: str | None, kind: AgencyKind) -> tuple[str | None, ...]:
    found = supervisor_of(agency, kind) if agency else None
    return (found.id if found else None,)
