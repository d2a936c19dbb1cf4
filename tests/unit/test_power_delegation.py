"""Process 4 on the time-skipping server: grant, accept, yearly reviews, returns, ten years.

Time moves with ``env.sleep``; the workflow's own timers (effective date, review date) and the
assessment-window deadline fire as they would over real years. Delegations reported late carry
their dates in the past (a National Day effective date, a review across Spring Festival): every
date the workflow derives is checked against one computed here by hand or with
``chinese_calendar`` directly, never with ``workflows.deadlines``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import chinese_calendar
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts.power_delegation import ItemDecision, ReviewDecisionIn, ReviewDecisionResult, ReviewOutcome
from contracts.validation import EventRejected, validate_event
from contracts.workflow_io import CaseStatus
from services.temporal_codec import lawlink_data_converter
from tests.events import body, event, example, new_case_id
from tests.servers import binary
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case
from workflows.deadlines import SHANGHAI

pytestmark = pytest.mark.timeout(120)

PROCESS = "power_delegation"
WORKFLOW = "PowerDelegation"
TOWNSHIP = "rz-dg-shijiu"
CODES = ("ZH-0107", "ZH-0215", "SC-0032")
YEAR = timedelta(days=367)
ASSESSMENT_RULE = "power_delegation.assessment_window"
# One review cycle takes about 55 history events; far more means state or steps pile up per run.
HISTORY_BOUND = 150


@pytest_asyncio.fixture
async def delegation_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own.

    These tests skip years; on the shared session server one workflow task left behind by any
    earlier test (a run cut off by its worker's shutdown, a test-server race after terminating
    a run) stops time skipping for everyone after it, and a year's sleep then hangs. A fresh
    server per test costs under a second and makes each test independent.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=lawlink_data_converter()
    )
    try:
        yield env
    finally:
        await env.shutdown()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment on the Shanghai wall clock (legal dates are Shanghai days)."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def is_workday(day: date) -> bool:
    """China's official calendar; Monday-Friday for a year it has no data for yet (the
    workflow's provisional fallback, DOMAIN.md)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def review_starts(anniversary: date) -> datetime:
    """When the review of a year ending on ``anniversary`` starts: the year's last day is the
    anniversary, or the next working day when that is a day off (民法典 art. 203), and the review
    starts as that day ends."""
    last = anniversary
    while not is_workday(last):
        last += timedelta(days=1)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=SHANGHAI)


async def sleep_past(
    env: WorkflowEnvironment, moment: datetime, slack: timedelta = timedelta(hours=1)
) -> None:
    """Skip time to ``slack`` after ``moment`` (just ``slack`` when it has passed already)."""
    now = await env.get_current_time()
    await env.sleep(max(moment - now, timedelta(0)) + slack)


async def until_next_review(env: WorkflowEnvironment, case_id: str) -> datetime:
    """Skip time past the delegation's next review date; returns that date."""
    data = (await status(env.client, case_id)).data["delegation"]
    review_at = datetime.fromisoformat(data["next_review_at"])
    await sleep_past(env, review_at)
    return review_at


async def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``check`` until it returns something truthy (the worker acts asynchronously)."""
    end = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


def latest(client: Client, case_id: str) -> WorkflowHandle[Any, Any]:
    """The delegation's current run (continue-as-new starts new runs under the same id)."""
    return client.get_workflow_handle(f"{PROCESS}/{case_id}")


async def status(client: Client, case_id: str) -> CaseStatus:
    return await latest(client, case_id).query("status", result_type=CaseStatus)


async def item_states(client: Client, case_id: str) -> dict[str, str]:
    data = (await status(client, case_id)).data["delegation"]
    return {code: item["state"] for code, item in data["items"].items()}


async def granted_and_accepted(
    env: WorkflowEnvironment, task_queue: str, case_id: str, *, effective_in: timedelta = timedelta(0)
) -> WorkflowHandle[Any, Any]:
    """Grant the example's three items to 石臼街道 and accept them (effective now unless told)."""
    now = (await env.get_current_time()).astimezone(SHANGHAI)
    handle = await start_case(env.client, task_queue, WORKFLOW, PROCESS, case_id)
    effective = (now + effective_in).date()
    result = await send(
        handle,
        event(
            PROCESS,
            "delegation_granted",
            case_id=case_id,
            occurred_at=now,
            effective_date=effective.isoformat(),
        ),
    )
    assert result.state == "granted"
    await send(handle, event(PROCESS, "delegation_accepted", case_id=case_id, occurred_at=now))
    return handle


async def record_case(handle: WorkflowHandle[Any, Any], case_id: str, code: str, activity: str) -> None:
    await send(
        handle,
        event(
            PROCESS,
            "item_case_recorded",
            case_id=case_id,
            item_code=code,
            activity=activity,
            case_no=f"石臼综执罚〔2027〕{uuid.uuid4().hex[:4]}号",
        ),
    )


def decision(*decisions: ItemDecision, reviewer: str = "rz-dg-sfj") -> ReviewDecisionIn:
    return ReviewDecisionIn(
        decision_id=str(uuid.uuid4()),
        reviewer=reviewer,
        document_no="东政字〔2027〕88号",
        decisions=decisions,
    )


async def decide(client: Client, case_id: str, inp: ReviewDecisionIn) -> ReviewDecisionResult:
    return await latest(client, case_id).execute_update(
        "decide_review", inp, id=inp.decision_id, result_type=ReviewDecisionResult
    )


async def run_id(client: Client, case_id: str) -> str:
    return (await latest(client, case_id).describe()).run_id


async def wait_for_new_run(client: Client, case_id: str, old: str) -> str:
    """Wait until the delegation continued as new after ``old``."""
    end = asyncio.get_running_loop().time() + 15
    while True:
        current = await run_id(client, case_id)
        if current != old:
            return current
        assert asyncio.get_running_loop().time() < end, "the workflow did not continue as new"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def delegation_worker(
    client: Client, task_queue: str, case_id: str
) -> AsyncIterator[CollectingPublisher]:
    """A worker for one test's delegation; the delegation is terminated before the worker stops.

    A delegation lives for years: left running without a worker, its next timer would leave a
    workflow task nobody takes, and the time-skipping server stops skipping for every later test.
    """
    async with run_worker(client, task_queue) as published:
        try:
            yield published
        finally:
            # Terminate only an idle run (the test server keeps time locked for a workflow task
            # cut off mid-flight), and loop: a run continuing as new hands over to a fresh one.
            for _ in range(100):
                handle = latest(client, case_id)
                try:
                    desc = await handle.describe()
                    if desc.status != WorkflowExecutionStatus.RUNNING:
                        break
                    raw = desc.raw_description
                    if raw.HasField("pending_workflow_task") or len(raw.pending_activities):
                        await asyncio.sleep(0.05)
                        continue
                    await handle.terminate(reason="test finished")
                except RPCError:
                    await asyncio.sleep(0.05)


def reviews(published: CollectingPublisher, case_id: str) -> list[Any]:
    return published.of_type("power_delegation.review_started", case_id)


async def test_year_review_keep_adjust_revoke_handover_then_second_year(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    async with delegation_worker(client, task_queue, case_id) as published:
        handle = await granted_and_accepted(env, task_queue, case_id)
        effective = published.of_type("power_delegation.items_effective", case_id)[0]
        first_review = datetime.fromisoformat(effective.payload["next_review_at"])
        took_effect = datetime.fromisoformat(effective.payload["effective_at"])
        effective_day = took_effect.astimezone(SHANGHAI).date()
        # In effect from the start of the effective date, not from when the acceptance came.
        assert took_effect == datetime.combine(effective_day, time(0), tzinfo=SHANGHAI)
        assert effective.occurred_at == took_effect
        assert first_review == review_starts(years_after(effective_day, 1))
        assert {i["state"] for i in effective.payload["items"]} == {"active"}
        assert effective.state == "active"

        for activity in ("handled", "handled", "overturned"):
            await record_case(handle, case_id, "ZH-0107", activity)
        await record_case(handle, case_id, "SC-0032", "complaint")
        counted = published.of_type("power_delegation.item_case_recorded", case_id)[-1]
        assert counted.payload["items"][0]["counters"] == {
            "handled": 0,
            "refused": 0,
            "overturned": 0,
            "complaint": 1,
        }

        # Cases of an item the township does not hold are refused, naming the field.
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await record_case(handle, case_id, "XX-9999", "handled")
        assert info.value.cause.details[0]["field"] == "payload.item_code"

        # Nothing happens before the year is out.
        await env.sleep(first_review - await env.get_current_time() - timedelta(days=1))
        assert not reviews(published, case_id)
        await sleep_past(env, first_review)
        started = (await eventually(lambda: reviews(published, case_id)))[0]
        assert started.occurred_at == first_review
        assert started.payload["cycle"] == 1
        assert started.payload["period_counters"]["ZH-0107"] == {
            "handled": 2,
            "refused": 0,
            "overturned": 1,
            "complaint": 0,
        }
        assert started.payload["assessors"] == [TOWNSHIP, "rz-dg-zhzfj", "rz-dg-scjgj"]
        window = published.of_type("deadline.set", case_id)[0].deadline
        assert window is not None and window.rule == "power_delegation.assessment_window"
        assert window.party == "rz-dg-sfj" and window.escalate_to == ("rz-dg",)

        first_run = await run_id(client, case_id)
        h = latest(client, case_id)
        ratings = [{"item_code": c, "rating": "competent"} for c in CODES]
        await send(
            h,
            event(
                PROCESS,
                "assessment_submitted",
                case_id=case_id,
                agency=TOWNSHIP,
                assessor_role="township",
                ratings=ratings,
            ),
        )
        await send(
            h,
            event(
                PROCESS, "assessment_submitted", case_id=case_id, agency="rz-dg-zhzfj", ratings=ratings[:2]
            ),
        )
        assert (await status(client, case_id)).state == "under_review"
        await send(h, event(PROCESS, "assessment_submitted", case_id=case_id))  # rz-dg-scjgj, SC-0032
        assert (await status(client, case_id)).state == "assessed"
        assert published.types(case_id).count("deadline.met") == 1

        result = await decide(
            client,
            case_id,
            decision(
                ItemDecision(item_code="ZH-0107", outcome=ReviewOutcome.KEEP),
                ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.ADJUST, new_scope="街道辖区全域"),
                ItemDecision(item_code="SC-0032", outcome=ReviewOutcome.REVOKE, reason="评估为难以承接"),
            ),
        )
        assert result.accepted and result.returned == ("SC-0032",) and result.state == "active"
        concluded = published.of_type("power_delegation.review_concluded", case_id)[0]
        second_review = datetime.fromisoformat(concluded.payload["next_review_at"])
        # Counted from the first anniversary, not from the (possibly rolled) review or the decision.
        assert second_review == review_starts(years_after(effective_day, 2))
        returned = published.of_type("power_delegation.item_returned", case_id)
        assert [(e.payload["item_code"], e.payload["to"], e.payload["early"]) for e in returned] == [
            ("SC-0032", "rz-dg-scjgj", False)
        ]

        # The review cycle ends with continue-as-new; the next run carries the live state.
        await wait_for_new_run(client, case_id, first_run)
        states = await item_states(client, case_id)
        assert states == {"ZH-0107": "active", "ZH-0215": "active", "SC-0032": "returning"}
        data = (await status(client, case_id)).data["delegation"]
        assert data["items"]["ZH-0215"]["scope"] == "街道辖区全域"
        assert data["items"]["ZH-0107"]["counters"]["handled"] == 2

        # Handover: the township hands over, only the original department acknowledges.
        h = latest(client, case_id)
        await send(h, event(PROCESS, "case_handed_over", case_id=case_id))
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(h, event(PROCESS, "handover_acknowledged", case_id=case_id, agency="rz-dg-zhzfj"))
        assert info.value.cause.details[0]["field"] == "source_agency"
        await send(h, event(PROCESS, "handover_acknowledged", case_id=case_id))
        done = published.of_type("power_delegation.handover_completed", case_id)
        assert [(e.payload["item_code"], e.payload["cases"]) for e in done] == [("SC-0032", 2)]
        assert (await item_states(client, case_id))["SC-0032"] == "returned"

        # Cases can no longer be recorded for a returned item.
        with pytest.raises(WorkflowUpdateFailedError):
            await record_case(h, case_id, "SC-0032", "handled")

        # A second year passes: only the kept and adjusted items are reviewed again.
        await sleep_past(env, second_review)
        second = (await eventually(lambda: reviews(published, case_id)[1:]))[0]
        assert second.payload["cycle"] == 2
        assert second.occurred_at == second_review
        assert sorted(i["code"] for i in second.payload["items"]) == ["ZH-0107", "ZH-0215"]
        assert second.payload["period_counters"]["ZH-0107"] == {
            "handled": 0,
            "refused": 0,
            "overturned": 0,
            "complaint": 0,
        }
        assert second.payload["assessors"] == [TOWNSHIP, "rz-dg-zhzfj"]


async def test_decisions_are_refused_unless_complete_and_item_by_item(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    keep = [ItemDecision(item_code=c, outcome=ReviewOutcome.KEEP) for c in CODES]
    async with delegation_worker(client, task_queue, case_id) as published:
        await granted_and_accepted(env, task_queue, case_id)
        with pytest.raises(WorkflowUpdateFailedError) as info:  # no review yet
            await decide(client, case_id, decision(*keep))
        assert info.value.cause.details[0]["field"] == "type"

        await until_next_review(env, case_id)
        await eventually(lambda: reviews(published, case_id))
        before = list(published.types(case_id))
        bad: list[tuple[ReviewDecisionIn, str]] = [
            (decision(*keep[:2]), "decisions"),
            (decision(*keep, keep[0]), "decisions[3].item_code"),
            (
                decision(keep[0], keep[1], ItemDecision(item_code="XX-1", outcome=ReviewOutcome.KEEP)),
                "decisions[2].item_code",
            ),
            (
                decision(keep[0], keep[1], ItemDecision(item_code="SC-0032", outcome=ReviewOutcome.ADJUST)),
                "decisions[2].new_scope",
            ),
            (
                decision(
                    keep[0],
                    keep[1],
                    ItemDecision(item_code="SC-0032", outcome=ReviewOutcome.REVOKE, reason=" "),
                ),
                "decisions[2].reason",
            ),
            (decision(*keep, reviewer=TOWNSHIP), "reviewer"),
            (decision(*keep, reviewer="rz-dg-scjgj"), "reviewer"),
            # The government grants; its justice bureau and reform office run the review.
            (decision(*keep, reviewer="rz-dg"), "reviewer"),
            # A district's delegation is reviewed at the district's level, not the city's.
            (decision(*keep, reviewer="rz-sfj"), "reviewer"),
        ]
        for inp, field in bad:
            with pytest.raises(WorkflowUpdateFailedError) as info:
                await decide(client, case_id, inp)
            assert info.value.cause.details[0]["field"] == field, inp
        assert published.types(case_id) == before  # a refused decision changes nothing

        # The same rules apply to the government's system sending the decision as an event.
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(
                latest(client, case_id),
                event(
                    PROCESS, "review_decided", case_id=case_id, decisions=[d.model_dump() for d in keep[:1]]
                ),
            )
        assert info.value.cause.details[0]["field"] == "payload.decisions"

        good = decision(*keep, reviewer="rz-dg-bianban")
        old_run = await run_id(client, case_id)
        first = await decide(client, case_id, good)
        assert first.accepted and not first.duplicate and first.returned == ()
        await wait_for_new_run(client, case_id, old_run)
        again = await decide(client, case_id, good)  # the console retrying: the new run remembers
        assert again.duplicate


async def test_early_revocation_hands_cases_back_and_ends_the_delegation(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    async with delegation_worker(client, task_queue, case_id) as published:
        handle = await granted_and_accepted(env, task_queue, case_id, effective_in=timedelta(days=10))
        assert (await status(client, case_id)).state == "accepted"
        assert published.types(case_id)[-1] == "power_delegation.effect_scheduled"

        # Revoked before taking effect: nothing to hand over, it is back at once.
        await send(handle, event(PROCESS, "item_revoked_early", case_id=case_id, item_codes=["ZH-0215"]))
        assert (await item_states(client, case_id))["ZH-0215"] == "returned"

        await env.sleep(timedelta(days=11))
        await eventually(lambda: published.of_type("power_delegation.items_effective", case_id))
        assert await item_states(client, case_id) == {
            "ZH-0107": "active",
            "ZH-0215": "returned",
            "SC-0032": "active",
        }

        # Only the township's own county government (or the city government) may revoke, and
        # only delegated items.
        for agency in ("rz-ju", "rz-12345", "rz-dg-sfj"):
            with pytest.raises(WorkflowUpdateFailedError) as info:
                await send(
                    handle,
                    event(
                        PROCESS, "item_revoked_early", case_id=case_id, agency=agency, item_codes=["SC-0032"]
                    ),
                )
            assert info.value.cause.details[0]["field"] == "source_agency", agency
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(
                handle,
                event(PROCESS, "item_revoked_early", case_id=case_id, item_codes=["SC-0032", "ZH-0215"]),
            )
        assert info.value.cause.details[0]["field"] == "payload.item_codes[1]"

        await send(handle, event(PROCESS, "item_revoked_early", case_id=case_id, item_codes=["SC-0032"]))
        returned = published.of_type("power_delegation.item_returned", case_id)[-1]
        assert returned.payload["early"] and returned.payload["handover_required"]
        with pytest.raises(WorkflowUpdateFailedError) as info:  # acknowledged before handed over
            await send(handle, event(PROCESS, "handover_acknowledged", case_id=case_id))
        assert info.value.cause.details[0]["field"] == "payload.item_code"
        await send(handle, event(PROCESS, "case_handed_over", case_id=case_id))
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(
                handle,
                event(
                    PROCESS,
                    "handover_acknowledged",
                    case_id=case_id,
                    received_case_nos=["石臼综执立〔2027〕31号"],
                ),
            )
        assert info.value.cause.details[0]["field"] == "payload.received_case_nos"
        assert "35号" in info.value.cause.message
        await send(handle, event(PROCESS, "handover_acknowledged", case_id=case_id))

        # The last item goes back too: the delegation ends and the workflow completes.
        await send(handle, event(PROCESS, "item_revoked_early", case_id=case_id, item_codes=["ZH-0107"]))
        await send(
            handle, event(PROCESS, "case_handed_over", case_id=case_id, item_code="ZH-0107", case_nos=[])
        )
        assert (await status(client, case_id)).state == "returning"
        await send(
            handle,
            event(
                PROCESS,
                "handover_acknowledged",
                case_id=case_id,
                agency="rz-dg-zhzfj",
                item_code="ZH-0107",
                received_case_nos=[],
            ),
        )
        await handle.result()
        final = await status(client, case_id)
        assert final.closed and final.state == "ended"
        assert published.types(case_id)[-1] == "case.closed"
        assert not reviews(published, case_id)


async def test_assessment_window_breach_escalates_and_the_late_decision_still_counts(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    async with delegation_worker(client, task_queue, case_id) as published:
        await granted_and_accepted(env, task_queue, case_id)
        await until_next_review(env, case_id)
        await eventually(lambda: reviews(published, case_id))
        await env.sleep(timedelta(days=45))  # 20 working days are well past
        breach = (await eventually(lambda: published.of_type("deadline.breached", case_id)))[0]
        assert breach.deadline is not None and breach.deadline.rule == "power_delegation.assessment_window"
        escalation = await eventually(lambda: published.of_type("escalation.raised", case_id))
        assert [e.payload["target"] for e in escalation] == ["rz-dg"]
        assert (await status(client, case_id)).state == "under_review"  # a deadline decides nothing

        keep = [{"item_code": c, "outcome": "keep"} for c in CODES]
        old_run = await run_id(client, case_id)
        await send(latest(client, case_id), event(PROCESS, "review_decided", case_id=case_id, decisions=keep))
        await wait_for_new_run(client, case_id, old_run)
        met = published.of_type("deadline.met", case_id)
        assert len(met) == 1 and met[0].payload["late"] is True
        assert published.of_type("power_delegation.review_concluded", case_id)[0].actor == "rz-dg-sfj"


async def test_ten_years_of_reviews_keep_each_run_small(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    keep = tuple(ItemDecision(item_code=c, outcome=ReviewOutcome.KEEP) for c in CODES)
    async with delegation_worker(client, task_queue, case_id) as published:
        handle = await granted_and_accepted(env, task_queue, case_id)
        runs = [handle.result_run_id]
        for year in range(1, 11):
            await record_case(latest(client, case_id), case_id, "ZH-0107", "handled")
            await until_next_review(env, case_id)
            started = (await eventually(lambda n=year: reviews(published, case_id)[n - 1 :]))[0]
            assert started.payload["cycle"] == year
            assert started.payload["period_counters"]["ZH-0107"]["handled"] == 1
            await decide(client, case_id, decision(*keep))
            new_run = await wait_for_new_run(client, case_id, runs[-1])
            finished = await client.get_workflow_handle(
                f"{PROCESS}/{case_id}", run_id=runs[-1]
            ).fetch_history()
            assert len(finished.events) < HISTORY_BOUND, (
                f"year {year}: {len(finished.events)} events in one cycle"
            )
            current = await latest(client, case_id).fetch_history()
            assert len(current.events) < HISTORY_BOUND
            runs.append(new_run)
        assert len(set(runs)) == 11
        final = await status(client, case_id)
        assert final.data["delegation"]["cycle"] == 10
        assert final.data["delegation"]["items"]["ZH-0107"]["counters"]["handled"] == 10
        assert len(final.history) <= 60  # carried history is trimmed, not accumulated over years


async def test_early_revocation_during_a_review_takes_the_item_out_of_it(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    async with delegation_worker(client, task_queue, case_id) as published:
        await granted_and_accepted(env, task_queue, case_id)
        await until_next_review(env, case_id)
        await eventually(lambda: reviews(published, case_id))
        await send(
            latest(client, case_id),
            event(PROCESS, "item_revoked_early", case_id=case_id, item_codes=["SC-0032"]),
        )
        assert (await status(client, case_id)).state == "under_review"

        # The revoked item is no longer under review: deciding it is refused.
        keep = [ItemDecision(item_code=c, outcome=ReviewOutcome.KEEP) for c in CODES]
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await decide(client, case_id, decision(*keep))
        assert info.value.cause.details[0]["field"] == "decisions[2].item_code"

        # Revoking the rest ends the review by itself; nothing is left to review next year.
        old = await run_id(client, case_id)
        await send(
            latest(client, case_id),
            event(PROCESS, "item_revoked_early", case_id=case_id, item_codes=["ZH-0107", "ZH-0215"]),
        )
        concluded = published.of_type("power_delegation.review_concluded", case_id)
        assert len(concluded) == 1 and concluded[0].payload["next_review_at"] is None
        assert published.of_type("deadline.cancelled", case_id)
        await wait_for_new_run(client, case_id, old)
        assert (await status(client, case_id)).state == "returning"
        assert set((await item_states(client, case_id)).values()) == {"returning"}


# ----- dates in the past: the legal start, never the moment Lawlink learns of it -----------------


def deadlines_of(published: CollectingPublisher, case_id: str, rule: str) -> list[Any]:
    """Every deadline event of ``rule`` in order."""
    return [e for e in published.events if e.case_id == case_id and e.deadline and e.deadline.rule == rule]


def working_days_after(day: date, count: int) -> list[date]:
    """The first ``count`` working days after ``day`` (``day`` itself is never counted)."""
    found: list[date] = []
    while len(found) < count:
        day += timedelta(days=1)
        if is_workday(day):
            found.append(day)
    return found


async def refused(handle: WorkflowHandle[Any, Any], data: dict[str, Any]) -> dict[str, str]:
    """Send an event that must be refused; returns the refusal's field and reason."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await send(handle, data)
    details = info.value.cause.details[0]  # type: ignore[union-attr]
    return {"field": details["field"], "reason": details["reason"]}


async def test_items_effective_on_national_day_though_accepted_months_later(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    # The whole story lies in the past: the review and its assessment window are long over.
    assert await env.get_current_time() > at(2026, 11, 6)
    # 2026 National Day: 1-7 October off, the 8th worked.
    assert not any(is_workday(date(2026, 10, d)) for d in range(1, 8)) and is_workday(date(2026, 10, 8))
    async with delegation_worker(client, task_queue, case_id) as published:
        handle = await start_case(client, task_queue, WORKFLOW, PROCESS, case_id)
        granted = event(
            PROCESS,
            "delegation_granted",
            case_id=case_id,
            occurred_at=at(2025, 9, 15, 10),
            effective_date="2025-10-01",
        )
        assert (await send(handle, granted)).state == "granted"
        accepted = event(
            PROCESS,
            "delegation_accepted",
            case_id=case_id,
            occurred_at=at(2026, 1, 20, 15, 30),
            training_completed_on="2026-01-16",
        )
        await send(handle, accepted)

        # The items took effect on the effective date, not when the acceptance came or was seen.
        effective = published.of_type("power_delegation.items_effective", case_id)[0]
        assert effective.occurred_at == at(2025, 10, 1)
        assert datetime.fromisoformat(effective.payload["effective_at"]) == at(2025, 10, 1)
        assert {datetime.fromisoformat(i["effective_at"]) for i in effective.payload["items"]} == {
            at(2025, 10, 1)
        }
        assert published.of_type("power_delegation.delegation_accepted", case_id)[0].occurred_at == at(
            2026, 1, 20, 15, 30
        )
        # One year on is 2026-10-01, a holiday: the year runs to 2026-10-08 and the review starts
        # as that day ends.
        review_at = at(2026, 10, 9)
        assert review_starts(date(2026, 10, 1)) == review_at
        assert datetime.fromisoformat(effective.payload["next_review_at"]) == review_at

        # The review fell due long ago: it starts at once, dated on its own day.
        started = (await eventually(lambda: reviews(published, case_id)))[0]
        assert started.occurred_at == review_at and started.payload["cycle"] == 1
        assert started.payload["reviewers"] == ["rz-dg-sfj", "rz-dg-bianban"]
        # The 20 working days count from the review's date: Saturday 10 October is worked, so
        # the last day is Thursday 5 November.
        window_days = working_days_after(date(2026, 10, 9), 20)
        assert window_days[0] == date(2026, 10, 10) and window_days[-1] == date(2026, 11, 5)
        window = [e for e in deadlines_of(published, case_id, ASSESSMENT_RULE) if e.type == "deadline.set"][0]
        assert window.deadline.starts_at == review_at and window.deadline.due_at == at(2026, 11, 6)
        assert window.occurred_at == review_at
        # Long run out when the workflow learnt of it: breached at once, on the true due date.
        breach = (await eventually(lambda: published.of_type("deadline.breached", case_id)))[0]
        assert breach.occurred_at == at(2026, 11, 6)
        assert [e.payload["target"] for e in published.of_type("escalation.raised", case_id)] == ["rz-dg"]
        assert not published.of_type("deadline.warning", case_id)

        h = latest(client, case_id)
        # A case under a delegated power counts from the effective date, whenever it is reported.
        for when in (at(2025, 11, 10, 9), at(2026, 2, 3, 9)):
            await send(h, event(PROCESS, "item_case_recorded", case_id=case_id, occurred_at=when))
        early = await refused(
            h, event(PROCESS, "item_case_recorded", case_id=case_id, occurred_at=at(2025, 9, 20, 9))
        )
        assert early["field"] == "occurred_at" and "2025-10-01" in early["reason"]

        # An assessment cannot predate the review it answers.
        before = await refused(
            h, event(PROCESS, "assessment_submitted", case_id=case_id, occurred_at=at(2026, 10, 5, 9))
        )
        assert before["field"] == "occurred_at"
        # Assessments made within the window and reported late: the breach is withdrawn.
        ratings = [{"item_code": c, "rating": "competent"} for c in CODES]
        for agency, role, when, rated in (
            (TOWNSHIP, "township", at(2026, 10, 20, 9), ratings),
            ("rz-dg-zhzfj", "original_department", at(2026, 10, 21, 9), ratings[:2]),
            ("rz-dg-scjgj", "original_department", at(2026, 10, 22, 9), ratings[2:]),
        ):
            await send(
                h,
                event(
                    PROCESS,
                    "assessment_submitted",
                    case_id=case_id,
                    agency=agency,
                    occurred_at=when,
                    assessor_role=role,
                    ratings=rated,
                ),
            )
        assert (await status(client, case_id)).state == "assessed"
        met = published.of_type("deadline.met", case_id)
        assert len(met) == 1
        assert met[0].payload == {"late": False, "late_seconds": 0, "breach_withdrawn": True}
        assert met[0].occurred_at == at(2026, 10, 22, 9)

        # The justice bureau's decision; the next review counts from the anniversary
        # (2026-10-01), not from the rolled review date or the decision.
        old = await run_id(client, case_id)
        keep = [{"item_code": c, "outcome": "keep"} for c in CODES]
        await send(
            h,
            event(
                PROCESS, "review_decided", case_id=case_id, occurred_at=at(2026, 11, 20, 16), decisions=keep
            ),
        )
        concluded = published.of_type("power_delegation.review_concluded", case_id)[0]
        assert concluded.occurred_at == at(2026, 11, 20, 16)
        assert datetime.fromisoformat(concluded.payload["next_review_at"]) == review_starts(date(2027, 10, 1))
        await wait_for_new_run(client, case_id, old)
        assert (await status(client, case_id)).state == "active"


async def test_acceptance_before_the_effective_date_waits_for_it(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    now = (await env.get_current_time()).astimezone(SHANGHAI)
    effective_day = (now + timedelta(days=20)).date()
    effective_at = datetime.combine(effective_day, time(0), tzinfo=SHANGHAI)
    async with delegation_worker(client, task_queue, case_id) as published:
        handle = await start_case(client, task_queue, WORKFLOW, PROCESS, case_id)
        # Granted three days ago, accepted five hours ago, both reported only now.
        await send(
            handle,
            event(
                PROCESS,
                "delegation_granted",
                case_id=case_id,
                occurred_at=now - timedelta(days=3),
                effective_date=effective_day.isoformat(),
            ),
        )
        result = await send(
            handle,
            event(PROCESS, "delegation_accepted", case_id=case_id, occurred_at=now - timedelta(hours=5)),
        )
        assert result.state == "accepted"
        scheduled = published.of_type("power_delegation.effect_scheduled", case_id)[0]
        assert datetime.fromisoformat(scheduled.payload["effective_at"]) == effective_at
        assert scheduled.occurred_at == now - timedelta(hours=5)
        assert (await item_states(client, case_id)) == dict.fromkeys(CODES, "pending_effect")
        not_yet = await refused(handle, event(PROCESS, "item_case_recorded", case_id=case_id))
        assert not_yet["field"] == "payload.item_code"

        await env.sleep(effective_at - await env.get_current_time() - timedelta(hours=1))
        assert not published.of_type("power_delegation.items_effective", case_id)
        await env.sleep(timedelta(hours=2))
        effective = (
            await eventually(lambda: published.of_type("power_delegation.items_effective", case_id))
        )[0]
        assert effective.occurred_at == effective_at
        assert datetime.fromisoformat(effective.payload["effective_at"]) == effective_at
        assert datetime.fromisoformat(effective.payload["next_review_at"]) == review_starts(
            years_after(effective_day, 1)
        )
        assert (await item_states(client, case_id)) == dict.fromkeys(CODES, "active")


async def test_assessment_window_runs_across_spring_festival(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    # Spring Festival 2026: 15-23 February off, Saturdays 14 and 28 February worked.
    assert not any(is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert is_workday(date(2026, 2, 14)) and is_workday(date(2026, 2, 28))
    async with delegation_worker(client, task_queue, case_id) as published:
        handle = await start_case(client, task_queue, WORKFLOW, PROCESS, case_id)
        await send(
            handle,
            event(
                PROCESS,
                "delegation_granted",
                case_id=case_id,
                occurred_at=at(2025, 1, 20, 10),
                effective_date="2025-02-05",
            ),
        )
        # Accepted before the effective date, but reported only now: in effect since that date.
        await send(
            handle,
            event(
                PROCESS,
                "delegation_accepted",
                case_id=case_id,
                occurred_at=at(2025, 1, 24, 16),
                training_completed_on="2025-01-23",
            ),
        )
        effective = published.of_type("power_delegation.items_effective", case_id)[0]
        assert effective.occurred_at == at(2025, 2, 5)
        # 2026-02-05 is a working Thursday: the review starts as it ends.
        review_at = at(2026, 2, 6)
        assert datetime.fromisoformat(effective.payload["next_review_at"]) == review_at
        started = (await eventually(lambda: reviews(published, case_id)))[0]
        assert started.occurred_at == review_at

        # Twenty working days after Friday 6 February: 9-13, Saturday 14, (15-23 off), 24-27,
        # Saturday 28, 2-6 and 9-12 March. Without the festival they would end on 5 March.
        expected = [
            *(date(2026, 2, d) for d in (9, 10, 11, 12, 13, 14, 24, 25, 26, 27, 28)),
            *(date(2026, 3, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12)),
        ]
        assert working_days_after(date(2026, 2, 6), 20) == expected
        window = deadlines_of(published, case_id, ASSESSMENT_RULE)
        info = window[0].deadline
        assert info.starts_at == review_at
        assert info.due_at == at(2026, 3, 13)  # the end of 12 March
        assert info.warn_at == at(2026, 3, 11)  # the working day before the last one
        assert info.party == "rz-dg-sfj" and info.escalate_to == ("rz-dg",)
        # Long over: breached at once on its true due date, escalated to the granting government.
        assert [e.type for e in window] == ["deadline.set", "deadline.breached", "escalation.raised"]
        assert window[1].occurred_at == at(2026, 3, 13)

        h = latest(client, case_id)
        # The decision comes from the reviewers of the grantor's level only.
        keep = [{"item_code": c, "outcome": "keep"} for c in CODES]
        for agency in ("rz-dg", "rz-sfj", "rz-bianban"):
            refusal = await refused(
                h,
                event(
                    PROCESS,
                    "review_decided",
                    case_id=case_id,
                    agency=agency,
                    occurred_at=at(2026, 3, 20, 10),
                    decisions=keep,
                ),
            )
            assert refusal["field"] == "source_agency", agency
        # The reform office decides a week after the window closed: met late, by how much.
        await send(
            h,
            event(
                PROCESS,
                "review_decided",
                case_id=case_id,
                agency="rz-dg-bianban",
                occurred_at=at(2026, 3, 20, 10),
                decisions=keep,
            ),
        )
        met = published.of_type("deadline.met", case_id)
        assert len(met) == 1 and met[0].payload["late"] is True
        assert met[0].payload["late_seconds"] == int((at(2026, 3, 20, 10) - at(2026, 3, 13)).total_seconds())
        assert published.of_type("power_delegation.review_concluded", case_id)[0].actor == "rz-dg-bianban"


async def test_only_the_competent_government_grants_powers_of_its_county_departments(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    client = env.client
    case_id = new_case_id("DLG")
    items = example(PROCESS, "delegation_granted")["payload"]["items"]
    async with delegation_worker(client, task_queue, case_id) as published:
        handle = await start_case(client, task_queue, WORKFLOW, PROCESS, case_id)
        # A township, a department (of the district or the city), another county's government
        # and the city's hotline are not the government competent for 石臼街道.
        for agency in (TOWNSHIP, "rz-dg-scjgj", "rz-scjgj", "rz-ls", "rz-12345"):
            refusal = await refused(
                handle, event(PROCESS, "delegation_granted", case_id=case_id, agency=agency)
            )
            assert refusal["field"] == "source_agency", agency
        # The original department must be of the township's own county...
        other_county = [*items[:2], {**items[2], "original_department": "rz-ls-scjgj"}]
        refusal = await refused(
            handle, event(PROCESS, "delegation_granted", case_id=case_id, items=other_county)
        )
        assert refusal["field"] == "payload.items[2].original_department"
        assert "rz-ls" in refusal["reason"]
        # ... and a county-level one: a city department's power is not the county's to hand down.
        city = [*items[:2], {**items[2], "original_department": "rz-scjgj"}]
        refusal = await refused(handle, event(PROCESS, "delegation_granted", case_id=case_id, items=city))
        assert "original_department" in refusal["reason"] and "county-level" in refusal["reason"]
        assert not published.types(case_id)

        # The city government may grant; the city's justice bureau and reform office review.
        await send(
            handle,
            event(
                PROCESS,
                "delegation_granted",
                case_id=case_id,
                agency="rz-gov",
                occurred_at=at(2024, 5, 20, 10),
                effective_date="2024-06-03",
            ),
        )
        await send(
            handle, event(PROCESS, "delegation_accepted", case_id=case_id, occurred_at=at(2024, 5, 28, 10))
        )
        started = (await eventually(lambda: reviews(published, case_id)))[0]
        assert started.occurred_at == review_starts(date(2025, 6, 3))
        assert started.payload["reviewers"] == ["rz-sfj", "rz-bianban"]
        window = deadlines_of(published, case_id, ASSESSMENT_RULE)[0].deadline
        assert window.party == "rz-sfj" and window.escalate_to == ("rz-gov",)

        h = latest(client, case_id)
        # The township's own county government may revoke the city's grant; its hotline may not.
        refusal = await refused(
            h,
            event(PROCESS, "item_revoked_early", case_id=case_id, agency="rz-12345", item_codes=["SC-0032"]),
        )
        assert refusal["field"] == "source_agency"
        await send(
            h, event(PROCESS, "item_revoked_early", case_id=case_id, agency="rz-dg", item_codes=["SC-0032"])
        )

        rest = [ItemDecision(item_code=c, outcome=ReviewOutcome.KEEP) for c in CODES[:2]]
        with pytest.raises(WorkflowUpdateFailedError) as info:  # the district's bureau: wrong level
            await decide(client, case_id, decision(*rest))
        assert info.value.cause.details[0]["field"] == "reviewer"
        result = await decide(client, case_id, decision(*rest, reviewer="rz-sfj"))
        assert result.accepted and not result.duplicate


def test_intake_refuses_grants_and_decisions_from_the_wrong_kind_of_agency() -> None:
    """What needs no case state is refused at intake, naming the field."""
    past = at(2026, 3, 2, 10)

    def rejection(data: dict[str, Any]) -> tuple[str, str]:
        with pytest.raises(EventRejected) as info:
            validate_event(body(data))
        return info.value.rejection.field, info.value.rejection.reason

    for agency in (TOWNSHIP, "rz-dg-scjgj"):
        field, _ = rejection(event(PROCESS, "delegation_granted", agency=agency, occurred_at=past))
        assert field == "source_agency", agency
    items = example(PROCESS, "delegation_granted")["payload"]["items"]
    city = [*items[:2], {**items[2], "original_department": "rz-scjgj"}]
    field, reason = rejection(event(PROCESS, "delegation_granted", occurred_at=past, items=city))
    assert field == "payload.items[2].original_department" and "county-level" in reason
    field, _ = rejection(event(PROCESS, "review_decided", agency="rz-dg", occurred_at=past))
    assert field == "source_agency"
    for agency in ("rz-dg-sfj", "rz-dg-bianban"):
        assert validate_event(body(event(PROCESS, "review_decided", agency=agency, occurred_at=past)))
