"""The reverse path of process 1 on the time-skipping server: the procuratorate's review with its
pause, resumption and one extension, the agency's 2-month reply, the police's return, every
deadline breached once, refusals and duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

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
CAL = dl.WorkCalendar()


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
async def case(env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Case]:
    case_id = new_case_id("RT")
    async with run_worker(env.client, task_queue) as published:
        handle = await start_case(env.client, task_queue, "ReverseTransfer", "reverse_transfer", case_id)
        try:
            yield Case(env, handle, case_id, published)
        finally:
            if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


def end_of(last_day: date) -> datetime:
    """``due_at`` of a period whose last day is ``last_day``: 00:00 Shanghai of the next day."""
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=dl.SHANGHAI)


def working_days_after(day: date, n: int) -> date:
    return dl.add_working_days(day, n, CAL)[0]


def working_days_in(first_excluded: date, last_included: date) -> int:
    return sum(
        CAL.is_working_day(first_excluded + timedelta(days=i))[0]
        for i in range(1, (last_included - first_excluded).days + 1)
    )


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
        assert reply.due_at == end_of(dl._add_months(served.date(), 2))

        await env.sleep(reply.due_at - await c.now() + timedelta(hours=1))
        kinds = [e.type for e in c.events_of(reply.deadline_id)]
        assert kinds == ["deadline.set", "deadline.warning", "deadline.breached"]
        targets = [e.payload["target"] for e in c.of("escalation.raised")]
        assert targets == [PROCURATORATE, JUSTICE]
        assert (await c.status()).state == "awaiting_reply"  # the breach decides nothing

        refusal = await c.refused("agency_replied", agency="rz-dg-zhzfj")
        assert refusal["field"] == "source_agency"
        assert await c.send("agency_replied") == "replied"
        assert c.of("deadline.met")[-1].payload == {"late": True}
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
        assert CAL.is_working_day(warn_day)[0] and warn_day < last_day
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
