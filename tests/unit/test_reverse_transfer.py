"""The reverse path of process 1 on the time-skipping server: the procuratorate's review with its
pause, resumption and one extension, the agency's 2-month reply, the police's return, every
deadline breached once, events dated in the past (reported late), refusals and duplicates.

Due dates are worked out by hand from China's official calendar (``chinese_calendar``), never by
the code under test: 2025-10-01..08 are National Day holidays with 2025-09-28 and 2025-10-11
worked; 2026-02-15..23 are the Spring Festival with 2026-02-14 and 2026-02-28 worked.
"""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import chinese_calendar
import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from contracts.deadline_models import DeadlineInfo
from contracts.domain import DomainEvent
from contracts.workflow_io import CaseStatus
from tests.events import event, new_case_id
from tests.unit.test_case_transfer import to_next_monday_morning
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case
from workflows import deadlines as dl

pytestmark = pytest.mark.timeout(90)

PROCURATORATE, AGENCY, POLICE, JUSTICE = "rz-dg-jcy", "rz-dg-scjgj", "rz-dg-gaj", "rz-dg-sfj"
P = "reverse_transfer."


@dataclass
class Case:
    env: WorkflowEnvironment
    handle: WorkflowHandle[Any, Any]
    case_id: str
    published: CollectingPublisher

    async def send(self, name: str, agency: str | None = None, **changes: Any) -> str:
        result = await send(
            self.handle, event("reverse_transfer", name, case_id=self.case_id, agency=agency, **changes)
        )
        assert result.accepted and not result.duplicate
        return result.state

    async def refused(self, name: str, agency: str | None = None, **changes: Any) -> dict[str, str]:
        before = list(self.types())
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(
                self.handle, event("reverse_transfer", name, case_id=self.case_id, agency=agency, **changes)
            )
        assert self.types() == before, "a refused event must publish nothing"
        return dict(info.value.cause.details[0])  # type: ignore[union-attr]

    def types(self) -> list[str]:
        return self.published.types(self.case_id)

    def statuses(self, rule: str) -> list[str]:
        """Every ``deadline.*`` event of ``rule``, as 'type:status' strings in order."""
        return [
            f"{e.type}:{e.deadline.status}"
            for e in self.published.events
            if e.case_id == self.case_id
            and e.type.startswith("deadline.")
            and e.deadline
            and e.deadline.rule == rule
        ]

    def escalations(self, deadline_id: str) -> list[DomainEvent]:
        return [
            e for e in self.of("escalation.raised") if e.deadline and e.deadline.deadline_id == deadline_id
        ]

    def of(self, event_type: str) -> list[DomainEvent]:
        return self.published.of_type(event_type, self.case_id)

    def sets(self, rule: str) -> list[DeadlineInfo]:
        return [e.deadline for e in self.of("deadline.set") if e.deadline and e.deadline.rule == rule]  # type: ignore[misc]

    def events_of(self, deadline_id: str) -> list[DomainEvent]:
        return [
            e
            for e in self.published.events
            if e.case_id == self.case_id
            and e.type.startswith("deadline.")
            and e.deadline
            and e.deadline.deadline_id == deadline_id
        ]

    async def status(self) -> CaseStatus:
        return await self.handle.query("status", result_type=CaseStatus)

    async def now(self) -> datetime:
        return (await self.env.get_current_time()).astimezone(dl.SHANGHAI)


@asynccontextmanager
async def case(
    env: WorkflowEnvironment, task_queue: str, rule_settings: dict[str, str] | None = None
) -> AsyncIterator[Case]:
    case_id = new_case_id("RT")
    async with run_worker(env.client, task_queue) as published:
        handle = await start_case(
            env.client, task_queue, "ReverseTransfer", "reverse_transfer", case_id, rule_settings
        )
        try:
            yield Case(env, handle, case_id, published)
        finally:
            if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


def end_of(last_day: date) -> datetime:
    """``due_at`` of a period whose last day is ``last_day``: 00:00 Shanghai of the next day."""
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=dl.SHANGHAI)


def at(text: str) -> datetime:
    """A Shanghai wall-clock time, e.g. ``at("2025-09-25T10:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=dl.SHANGHAI)


def working(day: date) -> bool:
    """China's official calendar; Monday-Friday for a year it does not publish yet (DOMAIN.md)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def working_days_after(day: date, n: int) -> date:
    """The n-th working day after ``day`` (``day`` itself never counts)."""
    while n:
        day += timedelta(days=1)
        n -= working(day)
    return day


def working_days_in(first_excluded: date, last_included: date) -> int:
    return sum(
        working(first_excluded + timedelta(days=i))
        for i in range(1, (last_included - first_excluded).days + 1)
    )


def months_after(day: date, n: int) -> date:
    """The corresponding day ``n`` months later (or earlier), the month's last day if it has none."""
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def rolled(day: date) -> date:
    """A last day that is a day off moves to the next working day (民法典 art. 203)."""
    while not working(day):
        day += timedelta(days=1)
    return day


async def test_review_pauses_resumes_and_agency_replies_late(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    env: WorkflowEnvironment = time_skipping_env
    await to_next_monday_morning(env)
    async with case(env, task_queue) as c:
        assert await c.send("non_prosecution_decided") == "handover_pending"
        handover = c.sets("reverse_transfer.internal_handover")[0]
        assert (
            handover.party == PROCURATORATE and handover.counting == "working_days" and handover.length == 3
        )
        assert await c.send("handed_over") == "under_review"
        start_day = (await c.now()).date()
        review = c.sets("reverse_transfer.review")[0]
        assert review.due_at == end_of(working_days_after(start_day, 10))

        await env.sleep(timedelta(days=2))
        pause_day = (await c.now()).date()
        assert await c.send("review_paused") == "paused"
        used = working_days_in(start_day, pause_day - timedelta(days=1))  # the pause day is not used
        paused = c.of("reverse_transfer.clock_paused")[0]
        assert paused.payload["used_working_days"] == used
        assert paused.payload["remaining_working_days"] == 10 - used
        assert paused.payload["reason"] == "party_appeal"
        assert [e.type for e in c.events_of(review.deadline_id)] == ["deadline.set", "deadline.cancelled"]
        assert (await c.status()).open_deadlines == ()  # no review clock runs while paused

        # A long pause: nothing falls due while it lasts.
        await env.sleep(timedelta(days=20))
        assert "deadline.breached" not in c.types()
        refusal = await c.refused(
            "opinion_issued", served_at=(await c.now()).isoformat(), occurred_at=await c.now()
        )
        assert "paused" in refusal["reason"]

        resume_day = (await c.now()).date()
        assert await c.send("review_resumed") == "under_review"
        resumed = c.sets("reverse_transfer.review")[-1]
        assert resumed.deadline_id != review.deadline_id and resumed.status == "open"
        assert resumed.due_at == end_of(working_days_after(resume_day, 10 - used))
        clock = c.of("reverse_transfer.clock_resumed")[0].payload
        assert clock["remaining_working_days"] == 10 - used
        assert datetime.fromisoformat(clock["due_at"]) == resumed.due_at

        served = await c.now()
        assert (
            await c.send("opinion_issued", served_at=served.isoformat(), occurred_at=served)
            == "awaiting_reply"
        )
        assert [e.type for e in c.events_of(resumed.deadline_id)][-1] == "deadline.met"
        reply = c.sets("reverse_transfer.agency_reply")[0]
        assert reply.party == AGENCY and reply.counting == "months"
        assert reply.escalate_to == (PROCURATORATE, JUSTICE)
        assert reply.due_at == end_of(rolled(months_after(served.date(), 2)))

        await env.sleep(reply.due_at - await c.now() + timedelta(hours=1))
        kinds = [e.type for e in c.events_of(reply.deadline_id)]
        assert kinds == ["deadline.set", "deadline.warning", "deadline.breached"]
        targets = [e.payload["target"] for e in c.of("escalation.raised")]
        assert targets == [PROCURATORATE, JUSTICE]
        assert (await c.status()).state == "awaiting_reply"  # the breach decides nothing

        refusal = await c.refused("agency_replied", agency="rz-dg-zhzfj")
        assert refusal["field"] == "source_agency"
        assert await c.send("agency_replied", occurred_at=reply.due_at + timedelta(hours=1)) == "replied"
        assert c.of("deadline.met")[-1].payload == {"late": True, "late_seconds": 3600}
        status = await c.status()
        assert status.closed and status.open_deadlines == ()
        assert c.types()[-1] == "case.closed"


async def test_review_extended_once_then_ended(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    env: WorkflowEnvironment = time_skipping_env
    await to_next_monday_morning(env)
    async with case(env, task_queue) as c:
        await c.send("non_prosecution_decided")
        await c.send("handed_over")
        review = c.sets("reverse_transfer.review")[0]
        await env.sleep(timedelta(days=3))
        assert await c.send("review_extended") == "under_review"
        extension = c.sets("reverse_transfer.review_extension")[0]
        original_last = (review.due_at - timedelta(days=1)).date()
        assert extension.due_at == end_of(working_days_after(original_last, 10))
        assert [e.type for e in c.events_of(review.deadline_id)] == ["deadline.set", "deadline.cancelled"]
        assert c.of("reverse_transfer.clock_extended")[0].payload["budget_working_days"] == 20

        refusal = await c.refused("review_extended")
        assert "already extended" in refusal["reason"]

        # A pause during the extension keeps the larger budget on resumption.
        pause_day = (await c.now()).date()
        await c.send("review_paused")
        used = c.of("reverse_transfer.clock_paused")[0].payload["used_working_days"]
        assert used == working_days_in(
            review.starts_at.astimezone(dl.SHANGHAI).date(), pause_day - timedelta(days=1)
        )
        await env.sleep(timedelta(days=1))
        resume_day = (await c.now()).date()
        await c.send("review_resumed")
        resumed = c.sets("reverse_transfer.review_extension")[-1]
        assert resumed.due_at == end_of(working_days_after(resume_day, 20 - used))

        assert await c.send("review_ended") == "review_ended"
        assert (await c.status()).closed


async def test_police_return_the_case_late_then_agency_accepts(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    env: WorkflowEnvironment = time_skipping_env
    await to_next_monday_morning(env)
    async with case(env, task_queue) as c:
        assert await c.send("police_no_crime_found") == "return_pending"
        ret = c.sets("reverse_transfer.police_return")[0]
        assert ret.party == POLICE and ret.escalate_to == (PROCURATORATE,) and ret.length == 3
        await env.sleep(ret.due_at - await c.now() + timedelta(hours=1))
        assert [e.type for e in c.events_of(ret.deadline_id)] == [
            "deadline.set",
            "deadline.warning",
            "deadline.breached",
        ]
        assert [e.payload["target"] for e in c.of("escalation.raised")] == [PROCURATORATE]
        refusal = await c.refused("agency_accepted")
        assert refusal["field"] == "type"
        assert await c.send("police_returned") == "awaiting_acceptance"
        assert await c.send("agency_accepted") == "accepted"
        assert (await c.status()).closed


@pytest.mark.parametrize("rule", ["internal_handover", "review"])
async def test_procuratorate_deadlines_breached_once(time_skipping_env, task_queue, rule: str) -> None:  # noqa: ANN001
    env: WorkflowEnvironment = time_skipping_env
    await to_next_monday_morning(env)
    async with case(env, task_queue) as c:
        await c.send("non_prosecution_decided")
        if rule == "review":
            await c.send("handed_over")
        info = c.sets(f"reverse_transfer.{rule}")[0]
        await env.sleep(info.due_at - await c.now() + timedelta(hours=1))
        events = c.events_of(info.deadline_id)
        assert [e.type for e in events] == ["deadline.set", "deadline.warning", "deadline.breached"]
        warn_day = info.warn_at.astimezone(dl.SHANGHAI).date()  # type: ignore[union-attr]
        last_day = (info.due_at - timedelta(days=1)).astimezone(dl.SHANGHAI).date()
        assert working(warn_day) and warn_day < last_day
        assert working_days_in(warn_day, last_day) == 1  # one working day before the last day
        assert [e.payload["target"] for e in c.of("escalation.raised")] == [PROCURATORATE]
        if rule == "review":
            # Paused after the budget ran out: the breach stands, nothing new starts on resumption.
            await c.send("review_paused")
            assert c.of("reverse_transfer.clock_paused")[0].payload["remaining_working_days"] == 0
            await c.send("review_resumed")
            assert c.of("reverse_transfer.clock_resumed")[0].payload["remaining_working_days"] == 0
            assert len(c.sets("reverse_transfer.review")) == 1
            assert (await c.refused("review_extended"))["reason"].startswith(
                "the review period has already run out"
            )


async def test_out_of_order_refused_and_duplicate_ignored(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        opening = event("reverse_transfer", "non_prosecution_decided", case_id=c.case_id)
        assert (await send(c.handle, opening)).state == "handover_pending"
        refusal = await c.refused("agency_replied")
        assert refusal["field"] == "type" and "not valid in state handover_pending" in refusal["reason"]
        refusal = await c.refused("police_no_crime_found")
        assert "already open" in refusal["reason"]
        refusal = await c.refused("handed_over", agency="rz-jcy")
        assert refusal["field"] == "source_agency"
        before = list(c.types())
        again = await send(c.handle, opening, update_id="redelivered")
        assert again.duplicate and c.types() == before
        assert (await c.status()).state == "handover_pending"


# ----- events dated in the past (reported late) -------------------------------------------------


async def test_review_paused_and_resumed_across_national_day_reported_late(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """Every step dated in autumn 2025 and reported a year later: each period counts from its own
    event's date, the pause's working days from the pause day, not from when Lawlink took it."""
    async with case(time_skipping_env, task_queue) as c:
        assert (
            await c.send("non_prosecution_decided", occurred_at=at("2025-09-25T10:00")) == "handover_pending"
        )
        handover = c.sets(P + "internal_handover")[0]
        # 3 working days after Thu 25 Sep: Fri 26, Sun 28 (worked), Mon 29.
        assert handover.starts_at == at("2025-09-25T10:00")
        assert handover.due_at == at("2025-09-30T00:00")
        # Already run out when reported: breached at once, dated at the due date, no warning.
        assert c.statuses(P + "internal_handover") == ["deadline.set:open", "deadline.breached:breached"]
        assert c.of("deadline.breached")[0].occurred_at == handover.due_at
        escalations = c.escalations(handover.deadline_id)
        assert [e.payload["target"] for e in escalations] == [PROCURATORATE]
        assert escalations[0].occurred_at == handover.due_at

        # Handed over in time (Fri 26 Sep), reported late: met, not late, the breach withdrawn.
        assert await c.send("handed_over", occurred_at=at("2025-09-26T10:00")) == "under_review"
        met = [e for e in c.events_of(handover.deadline_id) if e.type == "deadline.met"]
        assert met[0].payload == {"late": False, "late_seconds": 0, "breach_withdrawn": True}
        assert met[0].occurred_at == at("2025-09-26T10:00")

        review = c.sets(P + "review")[0]
        # 10 working days after Fri 26 Sep: Sun 28 (worked), 29, 30 Sep, National Day off
        # (1-8 Oct), then 9, 10, Sat 11 (worked), 13, 14, 15, 16 Oct.
        assert review.starts_at == at("2025-09-26T10:00")
        assert review.due_at == at("2025-10-17T00:00")

        # Paused on Tue 30 Sep: Sun 28 and Mon 29 used (the pause day is not), 8 left.
        assert await c.send("review_paused", occurred_at=at("2025-09-30T10:00")) == "paused"
        paused = c.of(P + "clock_paused")[0]
        assert paused.payload["used_working_days"] == 2 and paused.payload["remaining_working_days"] == 8
        assert paused.occurred_at == at("2025-09-30T10:00")
        # The review's at-once breach was wrong: its clock stopped before the due date.
        events = c.events_of(review.deadline_id)
        assert [e.type for e in events] == ["deadline.set", "deadline.breached", "deadline.cancelled"]
        assert events[-1].payload == {"breach_withdrawn": True}
        assert events[-1].occurred_at == at("2025-09-30T10:00")
        assert (await c.status()).open_deadlines == ()

        # Resumed on Sat 11 Oct (a worked day, not counted as the start): 8 working days are
        # 13, 14, 15, 16, 17, 20, 21, 22 Oct.
        assert await c.send("review_resumed", occurred_at=at("2025-10-11T09:00")) == "under_review"
        resumed = c.sets(P + "review")[-1]
        assert resumed.deadline_id != review.deadline_id
        assert resumed.due_at == at("2025-10-23T00:00")
        clock = c.of(P + "clock_resumed")[0]
        assert clock.occurred_at == at("2025-10-11T09:00")
        assert clock.payload["used_working_days"] == 2 and clock.payload["remaining_working_days"] == 8
        assert datetime.fromisoformat(clock.payload["due_at"]) == resumed.due_at

        # The opinion on Mon 20 Oct was in time: the resumed clock's at-once breach is withdrawn.
        await c.send(
            "opinion_issued", occurred_at=at("2025-10-20T15:00"), served_at="2025-10-20T14:30:00+08:00"
        )
        assert c.statuses(P + "review")[-3:] == [
            "deadline.set:open",
            "deadline.breached:breached",
            "deadline.met:met",
        ]
        assert c.events_of(resumed.deadline_id)[-1].payload == {
            "late": False,
            "late_seconds": 0,
            "breach_withdrawn": True,
        }


async def test_opinion_served_months_ago_breached_on_arrival_reply_in_time_reported_late(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """An opinion served 3 months ago: the 2 months ran out a month ago, so the reply deadline is
    breached on arrival (dated at its due date, escalated, no warning); the agency's reply, made in
    time but reported now, withdraws the breach."""
    async with case(time_skipping_env, task_queue) as c:
        now = await c.now()
        served = datetime.combine(months_after(now.date(), -3), time(10), tzinfo=dl.SHANGHAI)
        await c.send("non_prosecution_decided", occurred_at=served - timedelta(days=7))
        await c.send("handed_over", occurred_at=served - timedelta(days=5))
        assert (
            await c.send(
                "opinion_issued", occurred_at=served + timedelta(hours=2), served_at=served.isoformat()
            )
            == "awaiting_reply"
        )
        # The review ended in time (5 days for 10 working days): its at-once breach is withdrawn.
        assert c.statuses(P + "review")[-1] == "deadline.met:met"

        reply = c.sets(P + "agency_reply")[0]
        assert reply.starts_at == served and reply.anchor == "served_at"
        due = end_of(rolled(months_after(served.date(), 2)))
        assert reply.due_at == due < now
        assert c.statuses(P + "agency_reply") == ["deadline.set:open", "deadline.breached:breached"]
        breach = [e for e in c.events_of(reply.deadline_id) if e.type == "deadline.breached"][0]
        assert breach.occurred_at == due
        escalations = c.escalations(reply.deadline_id)
        assert [e.payload["target"] for e in escalations] == [PROCURATORATE, JUSTICE]
        assert all(e.occurred_at == due for e in escalations)
        assert (await c.status()).state == "awaiting_reply"  # the breach decides nothing

        replied = served + timedelta(days=30)
        assert await c.send("agency_replied", occurred_at=replied) == "replied"
        met = c.events_of(reply.deadline_id)[-1]
        assert met.type == "deadline.met" and met.occurred_at == replied
        assert met.payload == {"late": False, "late_seconds": 0, "breach_withdrawn": True}
        assert met.deadline.met_at == replied and met.deadline.late_seconds == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("month_limits", "due", "late_seconds"),
    [
        # The corresponding day, Sun 15 Feb 2026, is in the Spring Festival (15-23 Feb off):
        # the period ends on Tue 24 Feb, and a reply on 20 Feb is in time.
        (None, at("2026-02-25T00:00"), 0),
        # Fixed: it ends on 15 Feb whatever that day is; the reply is 4 days 10 hours late.
        ("fixed", at("2026-02-16T00:00"), (4 * 24 + 10) * 3600),
    ],
    ids=["rolling", "fixed"],
)
async def test_reply_deadline_rolls_off_the_spring_festival(
    time_skipping_env, task_queue, month_limits: str | None, due: datetime, late_seconds: int
) -> None:  # noqa: ANN001
    settings = {"LAWLINK_MONTH_LIMITS": month_limits} if month_limits else None
    async with case(time_skipping_env, task_queue, settings) as c:
        await c.send("non_prosecution_decided", occurred_at=at("2025-12-01T10:00"))
        await c.send("handed_over", occurred_at=at("2025-12-02T10:00"))
        await c.send(
            "opinion_issued", occurred_at=at("2025-12-15T16:00"), served_at="2025-12-15T15:00:00+08:00"
        )
        reply = c.sets(P + "agency_reply")[0]
        assert reply.starts_at == at("2025-12-15T15:00") and reply.counting == "months"
        assert reply.due_at == due
        await c.send("agency_replied", occurred_at=at("2026-02-20T10:00"))
        met = c.events_of(reply.deadline_id)[-1].payload
        assert met["late"] is (late_seconds > 0) and met["late_seconds"] == late_seconds


async def test_extension_granted_in_time_but_reported_after_the_breach(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """Whether the review had run out is judged on the extension's date, not on its arrival."""
    env: WorkflowEnvironment = time_skipping_env
    await to_next_monday_morning(env)
    async with case(env, task_queue) as c:
        await c.send("non_prosecution_decided")
        await c.send("handed_over")
        review = c.sets(P + "review")[0]
        await env.sleep(review.due_at - await c.now() + timedelta(hours=1))
        assert c.statuses(P + "review") == [
            "deadline.set:open",
            "deadline.warning:open",
            "deadline.breached:breached",
        ]
        refusal = await c.refused("review_extended", occurred_at=review.due_at + timedelta(minutes=30))
        assert refusal["reason"].startswith("the review period has already run out")

        last_day = (review.due_at - timedelta(days=1)).date()
        granted = datetime.combine(last_day, time(16), tzinfo=dl.SHANGHAI)
        assert await c.send("review_extended", occurred_at=granted) == "under_review"
        events = c.events_of(review.deadline_id)
        assert events[-1].type == "deadline.cancelled" and events[-1].payload == {"breach_withdrawn": True}
        extension = c.sets(P + "review_extension")[0]
        assert extension.due_at == end_of(working_days_after(last_day, 10))
        assert extension.status == "open"


async def test_police_return_counts_from_the_finding_across_the_spring_festival(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        await c.send("police_no_crime_found", occurred_at=at("2026-02-13T10:00"))
        ret = c.sets(P + "police_return")[0]
        # 3 days after Fri 13 Feb is Mon 16 Feb, in the Spring Festival (15-23 Feb): Tue 24 Feb.
        assert ret.starts_at == at("2026-02-13T10:00") and ret.due_at == at("2026-02-25T00:00")
        assert c.statuses(P + "police_return") == ["deadline.set:open", "deadline.breached:breached"]
        assert [e.payload["target"] for e in c.escalations(ret.deadline_id)] == [PROCURATORATE]
        assert await c.send("police_returned", occurred_at=at("2026-02-24T09:00")) == "awaiting_acceptance"
        assert c.events_of(ret.deadline_id)[-1].payload == {
            "late": False,
            "late_seconds": 0,
            "breach_withdrawn": True,
        }


async def test_events_dated_before_what_they_answer_are_refused(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with case(time_skipping_env, task_queue) as c:
        await c.send("non_prosecution_decided", occurred_at=at("2025-09-25T10:00"))
        refusal = await c.refused("handed_over", occurred_at=at("2025-09-24T16:00"))
        assert refusal["field"] == "occurred_at"
        assert "2025-09-24T16:00+08:00" in refusal["reason"] and "2025-09-25T10:00+08:00" in refusal["reason"]
        assert (await c.status()).state == "handover_pending"

        await c.send("handed_over", occurred_at=at("2025-09-26T10:00"))
        # A document cannot be served after the event that reports it...
        refusal = await c.refused(
            "opinion_issued", occurred_at=at("2025-10-09T10:00"), served_at="2025-10-09T11:00:00+08:00"
        )
        assert refusal["field"] == "payload.served_at"
        assert "2025-10-09T11:00+08:00" in refusal["reason"] and "2025-10-09T10:00+08:00" in refusal["reason"]
        # ...nor before the review it concludes began.
        refusal = await c.refused(
            "opinion_issued", occurred_at=at("2025-10-09T10:00"), served_at="2025-09-25T11:00:00+08:00"
        )
        assert refusal["field"] == "payload.served_at"
        assert "2025-09-26T10:00+08:00" in refusal["reason"]

        # An extension on record: a pause cannot predate it.
        await c.send("review_extended", occurred_at=at("2025-10-09T10:00"))
        refusal = await c.refused("review_paused", occurred_at=at("2025-09-30T10:00"))
        assert refusal["field"] == "occurred_at" and "2025-10-09T10:00+08:00" in refusal["reason"]
        assert (await c.status()).state == "under_review"
