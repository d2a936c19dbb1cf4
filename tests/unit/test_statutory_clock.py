"""The statutory clock: every deadline counts from when its step happened, never from when
Lawlink processed the event (agency systems sync late).

Due dates here are computed by this module's own oracle, straight from ``chinese_calendar`` and
民法典 arts. 201-203 (the first day is not counted; a period in days or months ending on a day
off ends on the next working day; hours never roll), not by ``workflows/deadlines.py``, so a
mistake there cannot hide behind the same mistake here. Hand-checked dates name the holiday
they cross.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import chinese_calendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError

from contracts.envelope import Envelope
from contracts.validation import EventRejected
from services.intake.core import Intake
from tests.events import body, event, new_case_id
from tests.unit.test_case_transfer import (
    APPROVED,
    RECEIVED,
    REPORTED,
    SUPERVISION,
    TRANSFERRED,
    Case,
    Step,
    case,
)
from tests.workflow_harness import run_worker, send, start_case
from workflows import deadlines as dl

pytestmark = pytest.mark.timeout(300)

SH = timezone(timedelta(hours=8))


# ----- the oracle ------------------------------------------------------------------------------


def is_workday(d: date) -> bool:
    """China's official calendar; Monday-Friday for a year nobody has published yet."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


def next_workday(d: date) -> date:
    d += timedelta(days=1)
    while not is_workday(d):
        d += timedelta(days=1)
    return d


def roll(d: date) -> date:
    return d if is_workday(d) else next_workday(d)


def plus_months(d: date, n: int) -> date:
    year, month = divmod(d.month - 1 + n, 12)
    year += d.year
    return date(year, month + 1, min(d.day, month_calendar.monthrange(year, month + 1)[1]))


def oracle_due(start: datetime, counting: str, length: int) -> datetime:
    """The first instant after the period: 00:00 after its last day, or start + hours."""
    if counting == "hours":
        return start + timedelta(hours=length)
    first = start.astimezone(SH).date()
    if counting == "calendar_days":
        last = roll(first + timedelta(days=length))
    elif counting == "months":
        last = roll(plus_months(first, length))
    else:
        last = first
        for _ in range(length):
            last = next_workday(last)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=SH)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def test_oracle_knows_the_holidays_it_is_used_across() -> None:
    # National Day 2025: Oct 1-8 off, Sunday Sep 28 and Saturday Oct 11 worked.
    assert not any(is_workday(date(2025, 10, d)) for d in range(1, 9))
    assert is_workday(date(2025, 9, 28)) and is_workday(date(2025, 10, 11))
    # Spring Festival 2026: Feb 15-23 off, Saturdays Feb 14 and Feb 28 worked.
    assert not any(is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert is_workday(date(2026, 2, 14)) and is_workday(date(2026, 2, 28))


# ----- the due date is the rule applied to its anchor --------------------------------------------

NOW = datetime(2026, 12, 1, 12, tzinfo=SH)
RULE_NAMES = sorted(dl.RULES)


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(RULE_NAMES),
    offset=st.integers(min_value=-2 * 366 * 24 * 60, max_value=2 * 366 * 24 * 60),
)
def test_due_date_is_the_rule_applied_to_the_anchor(name: str, offset: int) -> None:
    """For any rule and any start within two years either side of today."""
    rule = dl.RULES[name]
    start = NOW + timedelta(minutes=offset)
    due = dl.compute_due(start, rule, dl.WorkCalendar())
    assert due.due_at == oracle_due(start, rule.counting.value, rule.length)
    assert due.due_at > start


def test_every_rule_names_what_it_counts_from() -> None:
    # The anchors that are not the event's own time, as the sources say.
    anchors = {name: r.anchor for name, r in dl.RULES.items() if r.anchor != dl.ANCHOR_OCCURRED_AT}
    assert anchors["case_transfer.police_explanation"] == "served_at"
    assert anchors["reverse_transfer.agency_reply"] == "served_at"
    assert anchors["discipline_referral.inquiry_close"] == "inquiry_on"
    assert anchors["power_delegation.review_after_effective"] == "effective_date"
    assert dl.RULES["discipline_referral.disposition_expectation"].nature is dl.Nature.REMINDER
    windows = {n for n, r in dl.RULES.items() if r.nature is dl.Nature.WINDOW}
    assert {
        "case_transfer.reconsideration_request",
        "case_transfer.supervision_request",
        "case_transfer.refer_after_reconsideration",
    } <= windows


# ----- case transfer, fed events dated in the past ---------------------------------------------


async def play_at(c: Case, steps: list[Step], at: datetime) -> None:
    """Send ``steps`` an hour apart, the last one happening at ``at``."""
    for i, (name, changes) in enumerate(steps):
        at_i = at - timedelta(hours=len(steps) - 1 - i)
        await send(c.handle, event("case_transfer", name, case_id=c.case_id, occurred_at=at_i, **changes))


async def send_at(c: Case, name: str, at: datetime, **changes: Any) -> str:
    result = await send(c.handle, event("case_transfer", name, case_id=c.case_id, occurred_at=at, **changes))
    return result.state


def deadline_events(c: Case, rule: str) -> list[Any]:
    return [
        e for e in c.published.events if e.case_id == c.case_id and e.deadline and e.deadline.rule == rule
    ]


async def test_prompt_head_is_never_escalated(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """The team took ten days to write its report; the head decided two days after it. The
    head's clock runs from the report (art. 5): no breach, no escalation, no discipline proposal."""
    now = (await time_skipping_env.get_current_time()).astimezone(SH)
    report = now - timedelta(days=2)
    async with case(time_skipping_env, task_queue) as c:
        await play_at(c, REPORTED[:2], report - timedelta(days=10))
        await send_at(c, "transfer_report_submitted", report)
        info = deadline_events(c, "case_transfer.head_decision")[0].deadline
        assert info.starts_at == report and info.due_at == oracle_due(report, "calendar_days", 3)
        assert await send_at(c, "head_decided", now - timedelta(hours=1)) == "approved"
        kinds = [e.type for e in deadline_events(c, "case_transfer.head_decision")]
        assert kinds[0] == "deadline.set" and kinds[-1] == "deadline.met"
        assert not c.of("deadline.breached") and not c.of("escalation.raised")
        assert not c.of("discipline_referral.clue_proposed")


async def test_head_across_national_day_reported_a_year_late(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """A report of Monday 2025-09-29: the head's 3 days end on Oct 2, inside the National Day
    holiday (Oct 1-8), so they run to Thursday Oct 9. Synced more than a year later, the report
    falls due at once; the decision of Oct 9 then proves it was on time: the breach is withdrawn
    and so is the escalation."""
    async with case(time_skipping_env, task_queue) as c:
        report = sh(2025, 9, 29, 10)
        await play_at(c, REPORTED[:2], report - timedelta(days=10))
        await send_at(c, "transfer_report_submitted", report)
        info = deadline_events(c, "case_transfer.head_decision")[0].deadline
        assert info.starts_at == report and info.due_at == sh(2025, 10, 10)
        breach = c.of("deadline.breached")[0]
        assert breach.occurred_at == sh(2025, 10, 10) and breach.recorded_at > sh(2026, 11, 1)
        assert not c.of("deadline.warning")
        assert await send_at(c, "head_decided", sh(2025, 10, 9, 15)) == "approved"
        met = [e for e in c.of("deadline.met") if e.deadline.rule == "case_transfer.head_decision"][0]
        assert met.payload["late"] is False and met.payload.get("breach_withdrawn") is True
        assert met.deadline.met_at == sh(2025, 10, 9, 15) and met.deadline.late_seconds == 0
        withdrawn = c.of("escalation.withdrawn")
        assert [e.payload["target"] for e in withdrawn] == ["rz-sfj"]


async def test_head_decision_sixty_days_late_breaches_at_once(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """A report 63 days ago and a decision now: the breach is recorded at once with the true due
    date, no warning, escalated to the justice bureau, proposed for a discipline referral, and
    the decision is recorded met late by 60 days."""
    now = (await time_skipping_env.get_current_time()).astimezone(SH)
    report = now - timedelta(days=63)
    async with case(time_skipping_env, task_queue) as c:
        await play_at(c, REPORTED[:2], report - timedelta(hours=5))
        await send_at(c, "transfer_report_submitted", report)
        expected = oracle_due(report, "calendar_days", 3)
        events = deadline_events(c, "case_transfer.head_decision")
        assert [e.type for e in events] == [
            "deadline.set",
            "deadline.breached",
            "escalation.raised",
            "discipline_referral.clue_proposed",
        ]
        assert events[1].occurred_at == expected and events[1].deadline.due_at == expected
        assert events[2].payload["target"] == "rz-sfj"
        proposal = c.of("discipline_referral.clue_proposed")
        assert len(proposal) == 1 and proposal[0].payload["rule"] == "case_transfer.head_decision"
        assert proposal[0].occurred_at == expected  # what the breach leads to happened with it
        assert await send_at(c, "head_decided", now) == "approved"
        met = [e for e in c.of("deadline.met") if e.deadline.rule == "case_transfer.head_decision"][0]
        assert met.payload["late"] is True
        assert met.payload["late_seconds"] == int((now - expected).total_seconds())
        # Still one breach, one escalation: the late step does not escalate twice.
        assert len(c.of("deadline.breached")) == 1 and len(c.of("escalation.raised")) == 1


async def test_transfer_hours_back_do_not_roll(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """Approved 30 hours ago: the 24-hour transfer limit ran out 6 hours ago, night or holiday."""
    now = (await time_skipping_env.get_current_time()).astimezone(SH)
    approved = now - timedelta(hours=30)
    async with case(time_skipping_env, task_queue) as c:
        await play_at(c, REPORTED, approved - timedelta(hours=4))
        await send_at(c, "head_decided", approved)
        info = deadline_events(c, "case_transfer.transfer_after_approval")[0].deadline
        assert info.due_at == approved + timedelta(hours=24)
        mine = deadline_events(c, "case_transfer.transfer_after_approval")
        assert [e.type for e in mine][:2] == ["deadline.set", "deadline.breached"]
        assert mine[1].occurred_at == approved + timedelta(hours=24)


async def test_police_decision_across_spring_festival(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """Received Friday 2026-02-13: 3 days end on Feb 16, inside the Spring Festival holiday
    (Feb 15-23), so the police have until Tuesday Feb 24; a receipt a day earlier after the
    transfer on Feb 12 is what counts, not the day Lawlink hears of it."""
    async with case(time_skipping_env, task_queue) as c:
        transferred = sh(2026, 2, 12, 9)
        await play_at(c, TRANSFERRED, transferred)
        receipt = deadline_events(c, "case_transfer.police_receipt")[0].deadline
        # One working day from Thursday Feb 12 is Friday Feb 13.
        assert receipt.starts_at == transferred and receipt.due_at == sh(2026, 2, 14)
        assert await send_at(c, "police_received", sh(2026, 2, 13, 10)) == "received"
        decision = deadline_events(c, "case_transfer.police_decision")[0].deadline
        assert decision.starts_at == sh(2026, 2, 13, 10) and decision.due_at == sh(2026, 2, 25)
        assert await send_at(c, "police_decided", sh(2026, 2, 24, 16)) == "filed"
        met = [e for e in c.of("deadline.met") if e.deadline.rule == "case_transfer.police_decision"][0]
        assert met.payload["late"] is False
        # Both clocks had run out by the time the case reached Lawlink: withdrawn, not escalated
        # a second time, and the receipt met on time.
        receipt_met = [e for e in c.of("deadline.met") if e.deadline.rule == "case_transfer.police_receipt"][
            0
        ]
        assert receipt_met.payload["late"] is False


async def test_a_decision_dated_before_its_report_is_refused(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        report = sh(2026, 11, 20, 10)
        await play_at(c, REPORTED[:2], report - timedelta(days=1))
        await send_at(c, "transfer_report_submitted", report)
        before = list(c.types())
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send_at(c, "head_decided", report - timedelta(hours=2))
        details = info.value.cause.details[0]  # type: ignore[union-attr]
        assert details["field"] == "occurred_at"
        assert "2026-11-20T08:00+08:00" in details["reason"] and "2026-11-20T10:00+08:00" in details["reason"]
        assert c.types() == before


# ----- a breach exists exactly when the due date is before the answering step ------------------


@dataclass(frozen=True)
class Path:
    """How a duty is opened and answered: the process, the steps before, the opening step and
    the answering step. ``anchored`` names the opening payload field that carries the legal
    start, where the rule counts from one (it is set to the opening time)."""

    process: str
    workflow: str
    before: list[Step]
    opening: str
    answer: str
    anchored: str | None = None
    answer_changes: dict[str, Any] = field(default_factory=dict)


CT = "case_transfer"
PATHS: dict[str, Path] = {
    "case_transfer.head_decision": Path(
        CT, "CaseTransfer", REPORTED[:2], "transfer_report_submitted", "head_decided"
    ),
    "case_transfer.transfer_after_approval": Path(
        CT, "CaseTransfer", REPORTED, "head_decided", "transferred"
    ),
    "case_transfer.police_receipt": Path(CT, "CaseTransfer", APPROVED, "transferred", "police_received"),
    "case_transfer.police_decision": Path(
        CT, "CaseTransfer", TRANSFERRED, "police_received", "police_decided"
    ),
    "case_transfer.police_explanation": Path(
        CT, "CaseTransfer", SUPERVISION, "explanation_requested", "police_explained", anchored="served_at"
    ),
    "case_transfer.materials_handover": Path(
        CT, "CaseTransfer", RECEIVED, "police_decided", "materials_handed_over"
    ),
    "reverse_transfer.internal_handover": Path(
        "reverse_transfer", "ReverseTransfer", [], "non_prosecution_decided", "handed_over"
    ),
    "reverse_transfer.agency_reply": Path(
        "reverse_transfer",
        "ReverseTransfer",
        [("non_prosecution_decided", {}), ("handed_over", {})],
        "opinion_issued",
        "agency_replied",
        anchored="served_at",
    ),
    "discipline_referral.head_approval": Path(
        "discipline_referral", "DisciplineReferral", [], "clue_identified", "referral_approved"
    ),
    "jurisdiction_dispute.coordination_acceptance": Path(
        "jurisdiction_dispute",
        "JurisdictionDispute",
        [("dispute_raised", {})],
        "coordination_requested",
        "coordination_accepted",
    ),
}


@asynccontextmanager
async def opened_case(env: Any, task_queue: str, path: Path) -> AsyncIterator[tuple[Any, Any, str]]:
    case_id = new_case_id("PROP")
    async with run_worker(env.client, task_queue) as published:
        handle = await start_case(env.client, task_queue, path.workflow, path.process, case_id)
        try:
            yield handle, published, case_id
        finally:
            if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rule=st.sampled_from(sorted(PATHS)),
    opened_minutes_ago=st.integers(min_value=1, max_value=2 * 366 * 24 * 60),
    answered_after=st.integers(min_value=0, max_value=70 * 24 * 60),
)
async def test_breach_exactly_when_due_before_the_answer(  # noqa: ANN001
    time_skipping_env, task_queue, rule: str, opened_minutes_ago: int, answered_after: int
) -> None:
    """For duties of every process, opened at any time within two years back and answered any
    time after (reported now): the due date is the rule applied to its anchor, and a breach
    stands exactly when the due date is before the answering step."""
    now = (await time_skipping_env.get_current_time()).astimezone(SH)
    opened = now - timedelta(minutes=opened_minutes_ago)
    answered = min(opened + timedelta(minutes=answered_after), now)
    path = PATHS[rule]
    r = dl.RULES[rule]
    due = oracle_due(opened, r.counting.value, r.length)
    async with opened_case(time_skipping_env, task_queue, path) as (handle, published, case_id):

        async def deliver(name: str, at: datetime, **changes: Any) -> None:
            await send(handle, event(path.process, name, case_id=case_id, occurred_at=at, **changes))

        for i, (name, changes) in enumerate(path.before):
            await deliver(name, opened - timedelta(hours=len(path.before) - i), **changes)
        anchored = {path.anchored: opened.isoformat()} if path.anchored else {}
        await deliver(path.opening, opened, **anchored)
        await deliver(path.answer, answered, **path.answer_changes)

        ours = [
            e for e in published.events if e.case_id == case_id and e.deadline and e.deadline.rule == rule
        ]
        # The deadline the answer met (a dispute's office clock may have been set once at the
        # negotiation's lapse and again from the request it was told of late).
        met = [e for e in ours if e.type == "deadline.met"][-1]
        mine = [e for e in ours if e.deadline.deadline_id == met.deadline.deadline_id]
        assert mine[0].type == "deadline.set"
        assert mine[0].deadline.starts_at == opened and mine[0].deadline.due_at == due
        late = due <= answered
        assert met.payload["late"] is late
        assert (met.deadline.late_seconds > 0) is (late and due < answered)
        # On record: a breach stands exactly when the step came after the due date; one recorded
        # before a late-reported, timely step is withdrawn.
        breached = any(e.type == "deadline.breached" for e in mine)
        standing = breached and not met.payload.get("breach_withdrawn", False)
        assert standing is late
        assert breached is (late or due <= now)


# ----- intake: no step happens in the future --------------------------------------------------


def test_intake_refuses_occurred_at_in_the_future_naming_the_field() -> None:
    now = datetime(2026, 12, 1, 10, tzinfo=SH)
    intake = Intake(None, None, "q", {}, max_future=timedelta(minutes=5), clock=lambda: now)  # type: ignore[arg-type]
    ahead = event(
        "case_transfer", "crime_suspected", agency="rz-scjgj", occurred_at=now + timedelta(minutes=10)
    )
    with pytest.raises(EventRejected) as info:
        intake.check(body(ahead), "rz-scjgj")
    assert info.value.rejection.field == "occurred_at"
    assert "future" in info.value.rejection.reason and "300 s" in info.value.rejection.reason
    # Within the allowed clock skew, and anything in the past, is accepted.
    skewed = event(
        "case_transfer", "crime_suspected", agency="rz-scjgj", occurred_at=now + timedelta(minutes=4)
    )
    assert isinstance(intake.check(body(skewed), "rz-scjgj").envelope, Envelope)
    old = event("case_transfer", "crime_suspected", agency="rz-scjgj", occurred_at=now - timedelta(days=400))
    assert intake.check(body(old), "rz-scjgj").envelope.occurred_at == now - timedelta(days=400)
