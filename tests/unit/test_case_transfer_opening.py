"""The first step of process 1 on the time-skipping server: opened, deadline, warning, breach."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from contracts.workflow_io import CaseStatus
from tests.events import event, new_case_id
from tests.workflow_harness import run_worker, send, start_case

pytestmark = pytest.mark.timeout(60)


async def test_crime_suspected_opens_case_and_sets_head_deadline(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id()
    async with run_worker(client, task_queue) as published:
        handle = await start_case(client, task_queue, "CaseTransfer", "case_transfer", case_id)
        data = event("case_transfer", "crime_suspected", case_id=case_id)
        result = await send(handle, data)
        assert result.accepted and not result.duplicate and result.state == "opened"
        assert published.types(case_id) == [
            "case_transfer.crime_suspected",
            "case_transfer.opened",
            "deadline.set",
        ]
        deadline = published.of_type("deadline.set", case_id)[0].deadline
        assert deadline is not None and deadline.rule == "case_transfer.head_decision"
        assert deadline.party == "rz-scjgj" and deadline.escalate_to == ("rz-sfj",)

        again = await send(handle, data)  # Temporal answers a repeated Update id from its record
        assert not again.duplicate and again.state == "opened"
        later = await send(handle, data, update_id="redelivered-later")  # the workflow's own guard
        assert later.duplicate
        assert published.types(case_id).count("case_transfer.opened") == 1

        await time_skipping_env.sleep(timedelta(days=10))
        types = published.types(case_id)
        assert "deadline.warning" in types and "deadline.breached" in types
        assert types.index("deadline.warning") < types.index("deadline.breached")
        escalation = published.of_type("escalation.raised", case_id)
        assert [e.payload["target"] for e in escalation] == ["rz-sfj"]


async def test_second_opening_event_is_refused_and_changes_nothing(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id()
    async with run_worker(client, task_queue) as published:
        handle = await start_case(client, task_queue, "CaseTransfer", "case_transfer", case_id)
        await send(handle, event("case_transfer", "crime_suspected", case_id=case_id))
        before = list(published.types(case_id))
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(handle, event("case_transfer", "crime_suspected", case_id=case_id))
        assert "already open" in str(info.value.cause)
        assert published.types(case_id) == before


async def test_opening_event_by_signal_with_start_is_taken_once_and_a_refusal_is_answered(
    time_skipping_env,
    task_queue,  # noqa: ANN001
) -> None:
    """The path intake uses for opening events: signal-with-start, the workflow answers refusals."""
    from contracts.workflow_io import CaseStart
    from tests.events import envelope

    client = time_skipping_env.client
    case_id = new_case_id()
    first = event("case_transfer", "crime_suspected", case_id=case_id)
    second = event("case_transfer", "crime_suspected", case_id=case_id)
    async with run_worker(client, task_queue) as published:
        for data in (first, first, second):  # the first twice: a redelivery
            handle = await client.start_workflow(
                "CaseTransfer",
                CaseStart(process="case_transfer", case_id=case_id),
                id=f"case_transfer/{case_id}",
                task_queue=task_queue,
                start_signal="submit",
                start_signal_args=[envelope(data)],
            )
        for _ in range(100):  # signals are asynchronous: wait for the refusal to be answered
            if published.rejections:
                break
            await asyncio.sleep(0.05)
        status = await handle.query("status", result_type=CaseStatus)
        assert status.state == "opened"
        assert published.types(case_id).count("case_transfer.opened") == 1
        assert [(r.event_id, r.field) for r in published.rejections] == [(second["event_id"], "type")]
        assert "already open" in published.rejections[0].reason
        assert published.rejections[0].source_agency == "rz-scjgj"
