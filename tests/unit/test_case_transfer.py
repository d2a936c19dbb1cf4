"""Process 1, forward path, on the time-skipping server: one test per path of DOMAIN.md, every
deadline breached once (warning a working day before, breach, escalation target), refusals of
out-of-order events, and de-duplication by event_id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from contracts.case_transfer import HeadDecided
from contracts.deadline_models import DeadlineInfo
from contracts.domain import DomainEvent
from contracts.workflow_io import CaseStatus
from tests.events import event, new_case_id
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case
from workflows import deadlines as dl

pytestmark = pytest.mark.timeout(90)

Step = tuple[str, dict[str, Any]]

REFUSE = {
    "decision": "refuse",
    "reasons": "现有证据不能证明当事人明知产品不合格，不予立案。",
    "file_returned": True,
}
UPHOLD = {"outcome": "uphold", "reasons": "复议认为原不予立案决定正确，予以维持。"}

OPEN: list[Step] = [("crime_suspected", {})]
REPORTED: list[Step] = [*OPEN, ("team_formed", {}), ("transfer_report_submitted", {})]
APPROVED: list[Step] = [*REPORTED, ("head_decided", {})]
TRANSFERRED: list[Step] = [*APPROVED, ("transferred", {})]
RECEIVED: list[Step] = [*TRANSFERRED, ("police_received", {})]
POLICE_REFUSED: list[Step] = [*RECEIVED, ("police_decided", REFUSE)]
RECONSIDERATION: list[Step] = [*POLICE_REFUSED, ("reconsideration_requested", {})]
UPHELD: list[Step] = [*RECONSIDERATION, ("reconsideration_decided", UPHOLD)]
SUPERVISION: list[Step] = [*POLICE_REFUSED, ("supervision_requested", {})]
EXPLAINING: list[Step] = [*SUPERVISION, ("explanation_requested", {})]
ORDERED: list[Step] = [*EXPLAINING, ("police_explained", {}), ("filing_ordered", {})]
FILED: list[Step] = [*RECEIVED, ("police_decided", {})]
NOT_OURS: list[Step] = [
    *TRANSFERRED,
    ("police_received", {"within_jurisdiction": False, "reasons": "犯罪地不在本机关管辖范围。"}),
]


@dataclass
class Case:
    """One running case under test."""

    env: WorkflowEnvironment
    handle: WorkflowHandle[Any, Any]
    case_id: str
    published: CollectingPublisher

    async def send(self, name: str, agency: str | None = None, **changes: Any) -> str:
        """Send the example ``name`` with payload changes; returns the resulting state. The
        procuratorate's request is served when it is sent, unless the test says otherwise."""
        if name == "explanation_requested" and "served_at" not in changes:
            changes["served_at"] = (await self.env.get_current_time()).isoformat()
        result = await send(
            self.handle, event("case_transfer", name, case_id=self.case_id, agency=agency, **changes)
        )
        assert result.accepted
        return result.state

    async def play(self, steps: list[Step]) -> str:
        state = ""
        for name, changes in steps:
            state = await self.send(name, **changes)
        return state

    async def refused(self, name: str, agency: str | None = None, **changes: Any) -> dict[str, str]:
        """Send an event that must be refused; returns the refusal details and checks nothing moved."""
        before = list(self.types())
        state_before = (await self.status()).state
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(
                self.handle, event("case_transfer", name, case_id=self.case_id, agency=agency, **changes)
            )
        assert self.types() == before, "a refused event must publish nothing"
        assert (await self.status()).state == state_before
        details = info.value.cause.details[0]  # type: ignore[union-attr]
        return {"field": details["field"], "reason": details["reason"]}

    def types(self) -> list[str]:
        return self.published.types(self.case_id)

    def of(self, event_type: str) -> list[DomainEvent]:
        return self.published.of_type(event_type, self.case_id)

    def deadline_set(self, rule: str) -> DeadlineInfo:
        found = [e.deadline for e in self.of("deadline.set") if e.deadline and e.deadline.rule == rule]
        assert found, f"no deadline.set for {rule}; published {self.types()}"
        return found[-1]  # type: ignore[return-value]

    def statuses(self, rule: str) -> list[str]:
        """Every deadline event of ``rule``, as 'type:status' strings in order."""
        return [
            f"{e.type}:{e.deadline.status}"
            for e in self.published.events
            if e.case_id == self.case_id and e.deadline and e.deadline.rule == rule
        ]

    async def status(self) -> CaseStatus:
        return await self.handle.query("status", result_type=CaseStatus)


@asynccontextmanager
async def case(env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Case]:
    """A fresh case on a worker; the workflow is terminated afterwards if still running, so its
    timers never wake up on a queue nobody serves."""
    case_id = new_case_id("CT")
    async with run_worker(env.client, task_queue) as published:
        handle = await start_case(env.client, task_queue, "CaseTransfer", "case_transfer", case_id)
        try:
            yield Case(env, handle, case_id, published)
        finally:
            desc = await handle.describe()
            if desc.status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


def _ordinary_fortnight(monday: date, calendar: dl.WorkCalendar) -> bool:
    """Two weeks from ``monday`` with working Monday-Friday and free weekends (no holiday shifts)."""
    days = [monday + timedelta(days=i) for i in range(14)]
    return all(calendar.is_working_day(d)[0] == (d.weekday() < 5) for d in days)


async def to_next_monday_morning(env: WorkflowEnvironment) -> None:
    """Skip to 09:00 Shanghai on the next Monday that starts two ordinary weeks, so every
    deadline starts on a working day and its one-working-day warning falls after the start,
    whatever date the suite runs on (a Golden Week would otherwise move last days around)."""
    now = (await env.get_current_time()).astimezone(dl.SHANGHAI)
    calendar = dl.WorkCalendar()
    monday = now.date() + timedelta(days=(7 - now.weekday()) % 7 or 7)
    while not _ordinary_fortnight(monday, calendar):
        monday += timedelta(days=7)
    target = datetime.combine(monday, time(9), tzinfo=dl.SHANGHAI)
    await env.sleep(target - now)


# ----- paths ---------------------------------------------------------------------------------


async def test_approved_transferred_filed_and_concluded(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        assert await c.play(FILED) == "filed"
        assert await c.send("materials_handed_over") == "materials_handed_over"
        assert await c.send("criminal_outcome_reported") == "concluded"

        steps = [
            t
            for t in c.types()
            if t.startswith("case_transfer.")
            and t.split(".")[1]
            not in {
                "crime_suspected",
                "team_formed",
                "transfer_report_submitted",
                "head_decided",
                "transferred",
                "police_received",
                "police_decided",
                "materials_handed_over",
                "criminal_outcome_reported",
            }
        ]
        assert steps == [
            "case_transfer.opened",
            "case_transfer.team_assigned",
            "case_transfer.awaiting_head_decision",
            "case_transfer.transfer_approved",
            "case_transfer.sent_to_police",
            "case_transfer.accepted_by_police",
            "case_transfer.case_filed",
            "case_transfer.materials_complete",
        ]
        assert c.types()[-1] == "case.closed"
        # Every clock of the path: set, then met; the head's starts with the report (art. 5).
        for rule in (
            "head_decision",
            "transfer_after_approval",
            "police_receipt",
            "police_decision",
            "materials_handover",
        ):
            assert c.statuses(f"case_transfer.{rule}") == ["deadline.set:open", "deadline.met:met"], rule
        status = await c.status()
        assert status.closed and status.state == "concluded" and status.open_deadlines == ()
        assert [h.type for h in status.history] == c.types()
        assert set(status.data) >= {"agency", "police", "procuratorate"}
        assert status.data["police"] == "rz-gaj" and status.data["procuratorate"] == "rz-jcy"
        assert await c.handle.result() is not None  # the workflow ended


async def test_refused_by_the_head_ends_forward_path_visible_to_supervisors(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        await c.play(REPORTED)
        state = await c.send("head_decided", decision="refuse", reasons="证据不足，暂不移送。")
        assert state == "refused_by_head"
        refused = c.of("case_transfer.transfer_refused_by_head")[0]
        assert refused.payload["reasons"] == "证据不足，暂不移送。"
        assert set(refused.payload["visible_to"]) == {"rz-jcy", "rz-sfj"}
        closed = c.of("case.closed")[0]
        assert closed.closed and closed.state == "refused_by_head"
        assert {"rz-jcy", "rz-sfj", "rz-scjgj"} <= set(closed.parties)
        assert c.statuses("case_transfer.head_decision")[-1] == "deadline.met:met"
        # A head's refusal without reasons never reaches the workflow: the payload model refuses it.
        with pytest.raises(ValueError, match="reasons"):
            HeadDecided.model_validate(event("case_transfer", "head_decided", decision="refuse")["payload"])


async def test_police_forward_the_case_to_the_competent_police(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        assert await c.play(NOT_OURS) == "forwarding"
        assert c.deadline_set("case_transfer.police_forward").party == "rz-gaj"
        assert await c.send("police_forwarded") == "transferred"  # to rz-dg-gaj (the example)
        forwarded = c.of("case_transfer.forwarded_to_competent")[0]
        assert forwarded.payload["previous"] == "rz-gaj" and forwarded.payload["forwarded_to"] == "rz-dg-gaj"
        assert c.statuses("case_transfer.police_forward") == ["deadline.set:open", "deadline.met:met"]
        # The first police no longer carry the case; the competent one signs and decides.
        refusal = await c.refused("police_received")
        assert refusal["field"] == "source_agency" and "rz-dg-gaj" in refusal["reason"]
        assert await c.send("police_received", agency="rz-dg-gaj") == "received"
        assert c.deadline_set("case_transfer.police_decision").party == "rz-dg-gaj"
        assert await c.send("police_decided", agency="rz-dg-gaj") == "filed"
        assert "rz-dg-gaj" in (await c.status()).data["police"]


async def test_police_forward_a_smuggling_case_to_customs_anti_smuggling(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """Art. 7: the competent authority may be other than police: here customs anti-smuggling,
    which then signs its own receipt (on its own clock) and decides."""
    async with case(time_skipping_env, task_queue) as c:
        assert await c.play(NOT_OURS) == "forwarding"
        assert (
            await c.send("police_forwarded", forwarded_to="rz-hgjs", reasons="涉嫌走私，属海关缉私部门管辖。")
            == "transferred"
        )
        receipts = [
            e.deadline for e in c.of("deadline.set") if e.deadline.rule == "case_transfer.police_receipt"
        ]  # type: ignore[union-attr]
        assert [d.party for d in receipts] == ["rz-gaj", "rz-hgjs"]  # type: ignore[union-attr]
        assert await c.send("police_received", agency="rz-hgjs") == "received"
        assert c.deadline_set("case_transfer.police_decision").party == "rz-hgjs"
        assert await c.send("police_decided", agency="rz-hgjs") == "filed"
    # Forwarding to an agency that investigates no crimes is refused by the payload model.
    from contracts.case_transfer import PoliceForwarded

    with pytest.raises(ValueError, match="forwarded_to"):
        PoliceForwarded.model_validate(
            event("case_transfer", "police_forwarded", forwarded_to="rz-scjgj")["payload"]
        )


async def test_police_refuse_then_grant_reconsideration(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        assert await c.play(POLICE_REFUSED) == "police_refused"
        refused = c.of("case_transfer.filing_refused")[0]
        assert refused.payload["file_returned"] is True and refused.payload["reasons"]
        # Both of the agency's art. 9 windows run, for the agency.
        assert c.deadline_set("case_transfer.reconsideration_request").party == "rz-scjgj"
        assert c.deadline_set("case_transfer.supervision_request").party == "rz-scjgj"

        assert await c.send("reconsideration_requested") == "reconsideration"
        assert c.statuses("case_transfer.reconsideration_request")[-1] == "deadline.met:met"
        # Art. 9 "and/or": asking for reconsideration leaves the supervision window open.
        assert c.statuses("case_transfer.supervision_request") == ["deadline.set:open"]
        refusal = await c.refused("reconsideration_requested")
        assert refusal["field"] == "type" and "not valid in state reconsideration" in refusal["reason"]

        assert await c.send("reconsideration_decided") == "filed"  # the example grants it
        assert c.statuses("case_transfer.reconsideration_decision") == [
            "deadline.set:open",
            "deadline.met:met",
        ]
        # Filing makes the unused window moot.
        assert c.statuses("case_transfer.supervision_request")[-1] == "deadline.cancelled:cancelled"
        assert c.deadline_set("case_transfer.materials_handover").party == "rz-scjgj"


async def test_reconsideration_and_supervision_run_side_by_side(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        assert await c.play(RECONSIDERATION) == "reconsideration"
        assert await c.send("supervision_requested") == "supervision"
        assert c.statuses("case_transfer.supervision_request")[-1] == "deadline.met:met"
        # The police uphold their refusal on reconsideration: supervision goes on, no referral
        # window opens (the procuratorate already has the case).
        assert await c.send("reconsideration_decided", **UPHOLD) == "supervision"
        assert c.of("case_transfer.reconsideration_concluded")
        assert not c.of("deadline.set") or all(
            e.deadline.rule != "case_transfer.refer_after_reconsideration"  # type: ignore[union-attr]
            for e in c.of("deadline.set")
        )
        await c.send("explanation_requested")
        await c.send("police_explained")
        assert await c.send("supervision_concluded") == "refusal_final"

    async with case(time_skipping_env, task_queue) as c:
        # Supervision first, reconsideration asked beside it; the police then file on it.
        assert await c.play(SUPERVISION) == "supervision"
        assert c.statuses("case_transfer.reconsideration_request") == ["deadline.set:open"]
        assert await c.send("reconsideration_requested") == "supervision"
        assert c.deadline_set("case_transfer.reconsideration_decision").party == "rz-gaj"
        assert await c.send("reconsideration_decided") == "filed"


async def test_procuratorate_opens_supervision_itself(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        await c.play(POLICE_REFUSED)
        refusal = await c.refused("supervision_opened", agency="rz-dg-jcy")
        assert refusal["field"] == "source_agency"
        assert await c.send("supervision_opened") == "supervision"
        started = c.of("case_transfer.supervision_started")[0]
        assert started.payload["on_own_initiative"] is True and started.actor == "rz-jcy"
        # The agency no longer needs to ask; its supervision window is moot.
        assert c.statuses("case_transfer.supervision_request")[-1] == "deadline.cancelled:cancelled"
        # The police explain only once asked, and their 7 days run from receiving the request.
        refusal = await c.refused("police_explained")
        assert refusal["field"] == "type" and "explanation_requested" in refusal["reason"]
        served = (await c.env.get_current_time()) - timedelta(days=2)
        await c.send("explanation_requested", served_at=served.isoformat())
        info = c.deadline_set("case_transfer.police_explanation")
        assert info.starts_at == served and info.anchor == "served_at"


async def test_refused_again_supervision_and_filing_ordered(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        assert await c.play(UPHELD) == "refusal_upheld"
        assert c.deadline_set("case_transfer.refer_after_reconsideration").party == "rz-scjgj"
        assert await c.send("supervision_requested") == "supervision"
        assert c.statuses("case_transfer.refer_after_reconsideration")[-1] == "deadline.met:met"
        # The agency's request opens no police clock: the procuratorate's request does.
        assert all(e.deadline.rule != "case_transfer.police_explanation" for e in c.of("deadline.set"))  # type: ignore[union-attr]
        await c.send("explanation_requested")
        assert c.deadline_set("case_transfer.police_explanation").escalate_to == ("rz-jcy",)

        # Only the supervising procuratorate orders filing.
        refusal = await c.refused("filing_ordered", agency="rz-dg-jcy")
        assert refusal["field"] == "source_agency"
        assert await c.send("police_explained") == "explained"
        assert await c.send("filing_ordered") == "filing_ordered"
        assert c.deadline_set("case_transfer.filing_after_order").party == "rz-gaj"
        refusal = await c.refused("police_decided", **REFUSE)
        assert refusal["field"] == "payload.decision" and "ordered filing" in refusal["reason"]
        assert await c.send("police_decided") == "filed"
        assert c.statuses("case_transfer.filing_after_order") == ["deadline.set:open", "deadline.met:met"]


async def test_supervision_finds_refusal_sound_then_agency_penalises(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        await c.play(SUPERVISION)
        # Art. 11: a penalty never replaces a transfer while the refusal is not final.
        refusal = await c.refused("returned_for_penalty")
        assert "art. 11" in refusal["reason"]
        await c.send("explanation_requested")
        await c.send("police_explained")
        assert await c.send("supervision_concluded") == "refusal_final"
        assert await c.send("returned_for_penalty") == "returned_for_penalty"
        closed = c.of("case.closed")[0]
        assert closed.payload["penalty_decision_no"] == "日市监罚〔2026〕15号"
        assert (await c.status()).open_deadlines == ()


# ----- every deadline breached once ----------------------------------------------------------


BREACHES = [
    # rule, steps that start its clock, party, escalation targets, discipline proposal expected
    ("head_decision", REPORTED, "rz-scjgj", ("rz-sfj",), True),
    ("transfer_after_approval", APPROVED, "rz-scjgj", ("rz-sfj",), True),
    ("police_receipt", TRANSFERRED, "rz-gaj", ("rz-jcy",), False),
    ("police_forward", NOT_OURS, "rz-gaj", ("rz-jcy",), False),
    ("police_decision", RECEIVED, "rz-gaj", ("rz-jcy",), False),
    ("reconsideration_decision", RECONSIDERATION, "rz-gaj", ("rz-jcy",), False),
    ("police_explanation", EXPLAINING, "rz-gaj", ("rz-jcy",), False),
    ("filing_after_order", ORDERED, "rz-gaj", ("rz-jcy",), False),
    ("materials_handover", FILED, "rz-scjgj", ("rz-sfj",), False),
]


def assert_warned_a_working_day_before(info: DeadlineInfo, warning: DomainEvent) -> None:
    """Day rules warn at 00:00 of the working day before the last day; hour rules a quarter early."""
    assert info.warn_at is not None
    assert info.warn_at <= warning.occurred_at < info.due_at
    if info.counting == "hours":
        assert info.due_at - info.warn_at == timedelta(hours=info.length) / 4
        return
    calendar = dl.WorkCalendar()
    warn_day = info.warn_at.astimezone(dl.SHANGHAI).date()
    last_day = (info.due_at.astimezone(dl.SHANGHAI) - timedelta(days=1)).date()
    assert info.warn_at.astimezone(dl.SHANGHAI).time() == datetime.min.time()
    assert calendar.is_working_day(warn_day)[0] and warn_day < last_day
    between = [warn_day + timedelta(days=i) for i in range(1, (last_day - warn_day).days)]
    assert not any(calendar.is_working_day(d)[0] for d in between), "warning is not the working day before"


@pytest.mark.parametrize(
    ("rule", "steps", "party", "targets", "discipline"), BREACHES, ids=[b[0] for b in BREACHES]
)
async def test_each_deadline_breached_once(  # noqa: PLR0913
    time_skipping_env,
    task_queue,
    rule: str,
    steps: list[Step],
    party: str,
    targets: tuple[str, ...],  # noqa: ANN001
    discipline: bool,
) -> None:
    env: WorkflowEnvironment = time_skipping_env
    await to_next_monday_morning(env)
    async with case(env, task_queue) as c:
        state = await c.play(steps)
        info = c.deadline_set(f"case_transfer.{rule}")
        assert info.party == party and info.escalate_to == targets
        assert info.source and info.label_zh and info.label_en

        now = await env.get_current_time()
        await env.sleep(info.due_at - now + timedelta(hours=1))

        mine = [
            e
            for e in c.published.events
            if e.case_id == c.case_id and e.deadline and e.deadline.deadline_id == info.deadline_id
        ]
        kinds = [e.type for e in mine]
        if info.warn_at is None:
            # One working day from Monday morning: the working day before its last day is the
            # starting day itself, so there is no warning to give.
            assert info.length == 1 and kinds[:2] == ["deadline.set", "deadline.breached"], kinds
            breach = mine[1]
        else:
            assert kinds[:3] == ["deadline.set", "deadline.warning", "deadline.breached"], kinds
            warning, breach = mine[1], mine[2]
            assert_warned_a_working_day_before(info, warning)
        assert breach.occurred_at >= info.due_at and breach.deadline.status == "breached"  # type: ignore[union-attr]
        escalations = [
            e for e in c.of("escalation.raised") if e.deadline and e.deadline.deadline_id == info.deadline_id
        ]
        assert tuple(e.payload["target"] for e in escalations) == targets
        assert all(e.payload["party"] == party and e.payload["rule"] == info.rule for e in escalations)

        proposals = c.of("discipline_referral.clue_proposed")
        if discipline:
            assert len(proposals) == 1
            proposal = proposals[0].payload
            assert proposal["rule"] == info.rule and proposal["agency"] == "rz-scjgj"
            assert proposal["justice_bureau"] == "rz-sfj" and proposal["case_id"] == c.case_id
            assert proposal["source"] == "case_transfer_escalation"
            assert proposal["proposal_id"]
            assert proposals[0].kind == "escalation"
            # No personal content: no officer names, case facts or titles in the proposal.
            text = str(proposal)
            for personal in ("王磊", "李静", "伪劣", "facts", "officers"):
                assert personal not in text
            assert (await c.status()).data["discipline_proposals"] == [proposal["proposal_id"]]
        else:
            assert proposals == []
        # A deadline never decides an outcome: the case still waits in the same state.
        status = await c.status()
        assert status.state == state and not status.closed
        assert any(
            d.deadline_id == info.deadline_id and d.status == "breached" for d in status.open_deadlines
        )


async def test_late_step_is_accepted_and_marks_the_deadline_met_late(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        await c.play(APPROVED)
        await time_skipping_env.sleep(timedelta(days=3))
        assert "deadline.breached" in c.types()
        assert await c.send("transferred") == "transferred"
        met = [
            e
            for e in c.of("deadline.met")
            if e.deadline and e.deadline.rule == "case_transfer.transfer_after_approval"
        ]
        assert met[0].payload["late"] is True
        # Approved at the start, transferred three days later: 48 hours past the 24-hour limit.
        assert met[0].payload["late_seconds"] == 2 * 24 * 3600
        assert met[0].deadline.late_seconds == 2 * 24 * 3600  # type: ignore[union-attr]


WINDOWS = [
    ("reconsideration_request", POLICE_REFUSED),
    ("supervision_request", POLICE_REFUSED),
    ("refer_after_reconsideration", UPHELD),
]


@pytest.mark.parametrize(("rule", "steps"), WINDOWS, ids=[w[0] for w in WINDOWS])
async def test_each_window_lapses_without_blame(
    time_skipping_env, task_queue, rule: str, steps: list[Step]
) -> None:  # noqa: ANN001
    """The agency's art. 9 windows are rights: one left unused lapses, nobody is escalated."""
    env: WorkflowEnvironment = time_skipping_env
    await to_next_monday_morning(env)
    async with case(env, task_queue) as c:
        state = await c.play(steps)
        info = c.deadline_set(f"case_transfer.{rule}")
        assert info.party == "rz-scjgj" and info.nature == "window" and info.escalate_to == ()
        await env.sleep(info.due_at - await env.get_current_time() + timedelta(hours=1))
        assert c.statuses(f"case_transfer.{rule}") == [
            "deadline.set:open",
            "deadline.warning:open",
            "deadline.lapsed:lapsed",
        ]
        assert not c.of("deadline.breached") and not c.of("escalation.raised")
        assert (await c.status()).state == state


# ----- refusals and duplicates ---------------------------------------------------------------


async def test_out_of_order_events_are_refused_and_change_nothing(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        await c.play(OPEN)
        refusal = await c.refused("head_decided")
        assert refusal["field"] == "type" and "written report" in refusal["reason"]
        refusal = await c.refused("police_decided")
        assert refusal["field"] == "type" and "not valid in state opened" in refusal["reason"]
        refusal = await c.refused("returned_for_penalty")
        assert "art. 11" in refusal["reason"]
        # Another agency may not act on this agency's case.
        refusal = await c.refused("team_formed", agency="rz-sthjj")
        assert refusal["field"] == "source_agency" and "rz-scjgj" in refusal["reason"]

        await c.play(REPORTED[1:] + [("head_decided", {})])
        # Art. 3: the case goes to the police of the same level.
        refusal = await c.refused("transferred", police_agency="rz-dg-gaj")
        assert refusal["field"] == "payload.police_agency" and "rz-gaj" in refusal["reason"]
        assert (await c.status()).state == "approved"


async def test_duplicate_event_id_is_ignored(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        await c.play(REPORTED)
        data = event("case_transfer", "head_decided", case_id=c.case_id)
        first = await send(c.handle, data)
        before = list(c.types())
        again = await send(c.handle, data, update_id="redelivered")
        assert first.state == "approved" and again.duplicate and again.state == "approved"
        assert c.types() == before
        # Even in a state where the event would be refused, a seen event_id is a duplicate, not an error.
        await c.send("transferred")
        late_copy = await send(c.handle, data, update_id="redelivered-again")
        assert late_copy.duplicate and late_copy.state == "transferred"


def test_expert_report_is_required_only_when_one_was_made() -> None:
    """Art. 6: test or expert reports are attached where they exist, not invented where none was made."""
    from contracts.case_transfer import Transferred

    payload = event("case_transfer", "transferred")["payload"]
    without = [a for a in payload["attachments"] if a["kind"] != "expert_report"]
    assert Transferred.model_validate({**payload, "attachments": without}).expert_report_made is False
    with pytest.raises(ValueError, match="expert_report_made"):
        Transferred.model_validate({**payload, "attachments": without, "expert_report_made": True})
    assert Transferred.model_validate({**payload, "expert_report_made": True}).expert_report_made
