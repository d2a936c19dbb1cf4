"""Process 4 on the time-skipping server: grant, accept, yearly reviews, returns, ten years.

Time moves with ``env.sleep``; the workflow's own timers (effective date, review date) and the
assessment-window deadline fire as they would over real years.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts.power_delegation import ItemDecision, ReviewDecisionIn, ReviewDecisionResult, ReviewOutcome
from contracts.workflow_io import CaseStatus
from services.temporal_codec import lawlink_data_converter
from tests.events import event, new_case_id
from tests.servers import binary
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case
from workflows.deadlines import SHANGHAI

pytestmark = pytest.mark.timeout(120)

PROCESS = "power_delegation"
WORKFLOW = "PowerDelegation"
TOWNSHIP = "rz-dg-shijiu"
CODES = ("ZH-0107", "ZH-0215", "SC-0032")
YEAR = timedelta(days=367)
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
        assert timedelta(days=365) <= first_review - took_effect <= timedelta(days=367)
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
        await env.sleep(timedelta(days=300))
        assert not reviews(published, case_id)
        await env.sleep(timedelta(days=67))
        started = (await eventually(lambda: reviews(published, case_id)))[0]
        assert started.occurred_at >= first_review
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
        assert timedelta(days=365) <= second_review - first_review <= timedelta(days=367)
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
        await env.sleep(YEAR)
        second = (await eventually(lambda: reviews(published, case_id)[1:]))[0]
        assert second.payload["cycle"] == 2
        assert second.occurred_at >= second_review
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

        await env.sleep(YEAR)
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

        good = decision(*keep, reviewer="rz-dg")
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

        # Only the granting government (or the city) may revoke, and only delegated items.
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(
                handle,
                event(PROCESS, "item_revoked_early", case_id=case_id, agency="rz-ju", item_codes=["SC-0032"]),
            )
        assert info.value.cause.details[0]["field"] == "source_agency"
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
        await env.sleep(YEAR)
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
        assert len(met) == 1 and met[0].payload == {"late": True}
        assert published.of_type("power_delegation.review_concluded", case_id)[0].actor == "rz-dg"


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
            await env.sleep(YEAR)
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
        await env.sleep(YEAR)
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
