"""The first step of process 1 on the time-skipping server: opened, deadline, warning, breach."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from contracts.workflow_io import CaseStatus
from services.intake.core import Intake, Outcome, Patience, WaitsForEarlier
from tests.events import body, event, new_case_id
from tests.unit.test_case_transfer import to_next_monday_morning
from tests.unit.test_power_delegation import eventually
from tests.workflow_harness import run_worker, send, start_case

pytestmark = pytest.mark.timeout(60)


async def test_crime_suspected_opens_case_and_the_report_sets_head_deadline(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id()
    # A report on a Friday has its head's 3 days end on Monday and no working day left before
    # it to warn on: the case runs from a Monday morning, whatever day the suite runs.
    await to_next_monday_morning(time_skipping_env)
    async with run_worker(client, task_queue) as published:
        handle = await start_case(client, task_queue, "CaseTransfer", "case_transfer", case_id)
        data = event("case_transfer", "crime_suspected", case_id=case_id)
        result = await send(handle, data)
        assert result.accepted and not result.duplicate and result.state == "opened"
        # The head's clock waits for the team's report (art. 5).
        assert published.types(case_id) == ["case_transfer.crime_suspected", "case_transfer.opened"]

        again = await send(handle, data)  # Temporal answers a repeated Update id from its record
        assert not again.duplicate and again.state == "opened"
        later = await send(handle, data, update_id="redelivered-later")  # the workflow's own guard
        assert later.duplicate
        assert published.types(case_id).count("case_transfer.opened") == 1

        for name in ("team_formed", "transfer_report_submitted"):
            await send(handle, event("case_transfer", name, case_id=case_id))
        deadline = published.of_type("deadline.set", case_id)[0].deadline
        assert deadline is not None and deadline.rule == "case_transfer.head_decision"
        assert deadline.party == "rz-scjgj" and deadline.escalate_to == ("rz-sfj",)
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


class _Rejections:
    """Intake's JetStream, for the rejections intake itself answers."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    async def publish(self, _subject: str, payload: bytes, **_: Any) -> None:
        self.published.append(json.loads(payload))


async def test_intake_opens_a_case_by_start_and_signals_its_run_for_a_repeat(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """Intake's path for opening events: a new case starts with the event in its input; a
    redelivery and a second opening event go to the running case as signals, and the workflow
    takes the first once and answers the refusal of the second."""
    client = time_skipping_env.client
    intake = Intake(client, _Rejections(), task_queue, {})  # type: ignore[arg-type]
    case_id = new_case_id()
    first = event("case_transfer", "crime_suspected", case_id=case_id)
    second = event("case_transfer", "crime_suspected", case_id=case_id)
    async with run_worker(client, task_queue) as published:
        for data in (first, first, second):  # the first twice: a redelivery
            result = await intake.submit(body(data), "rz-scjgj")
            assert result.outcome is Outcome.ACCEPTED
        for _ in range(100):  # signals are asynchronous: wait for the refusal to be answered
            if published.rejections:
                break
            await asyncio.sleep(0.05)
        handle = client.get_workflow_handle(f"case_transfer/{case_id}")
        status = await handle.query("status", result_type=CaseStatus)
        history = await handle.fetch_history()
    assert status.state == "opened"
    assert published.types(case_id).count("case_transfer.opened") == 1
    assert [(r.event_id, r.field) for r in published.rejections] == [(second["event_id"], "type")]
    assert "already open" in published.rejections[0].reason
    assert published.rejections[0].source_agency == "rz-scjgj"
    kinds = [e.WhichOneof("attributes") for e in history.events]
    assert kinds.count("workflow_execution_signaled_event_attributes") == 2  # the repeat and the second
    started = history.events[0].workflow_execution_started_event_attributes
    assert first["event_id"] in started.input.payloads[0].data.decode()  # the opening, in the input


async def test_an_opening_event_for_a_closed_case_is_refused_naming_case_id(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    rejections = _Rejections()
    intake = Intake(client, rejections, task_queue, {})  # type: ignore[arg-type]
    case_id = new_case_id()
    async with run_worker(client, task_queue):
        await intake.submit(body(event("case_transfer", "crime_suspected", case_id=case_id)), "rz-scjgj")
        await client.get_workflow_handle(f"case_transfer/{case_id}").terminate("closed for the test")
        result = await intake.submit(
            body(event("case_transfer", "crime_suspected", case_id=case_id)), "rz-scjgj"
        )
    assert result.outcome is Outcome.REJECTED and result.rejection is not None
    assert result.rejection.field == "case_id" and "already closed" in result.rejection.reason
    assert [r["field"] for r in rejections.published] == ["case_id"]


async def test_a_second_event_in_the_runs_first_workflow_task_waits_for_the_opening(
    time_skipping_env,  # noqa: ANN001
    task_queue,  # noqa: ANN001
) -> None:
    """The opening event is in the start input and taken by the run, but an Update's task runs
    before the run's when both reach the worker in the same workflow task (a backlog of new
    cases): the second event must still be checked against the opened case, not refused."""
    client = time_skipping_env.client
    intake = Intake(client, _Rejections(), task_queue, {})  # type: ignore[arg-type]
    case_id = new_case_id()
    await intake.submit(body(event("case_transfer", "crime_suspected", case_id=case_id)), "rz-scjgj")
    # No worker yet: the Update waits in Temporal with the run's first workflow task.
    second = asyncio.create_task(
        intake.submit(body(event("case_transfer", "team_formed", case_id=case_id)), "rz-scjgj")
    )
    await asyncio.sleep(1.0)
    async with run_worker(client, task_queue) as published:
        result = await second
        history = await client.get_workflow_handle(f"case_transfer/{case_id}").fetch_history()
    assert result.outcome is Outcome.ACCEPTED, result.rejection
    assert result.state == "team_formed"
    assert published.types(case_id)[:3] == [
        "case_transfer.crime_suspected",
        "case_transfer.opened",
        "case_transfer.team_formed",
    ]
    kinds = [e.WhichOneof("attributes") for e in history.events]
    first_task_done = kinds.index("workflow_task_completed_event_attributes")
    assert kinds.index("workflow_execution_update_accepted_event_attributes") == first_task_done + 1


async def test_a_step_refused_in_the_runs_first_task_is_taken_once_the_step_before_it_came(
    time_skipping_env,  # noqa: ANN001
    task_queue,  # noqa: ANN001
) -> None:
    """A case's third step reaches the run's first workflow task with the opening (its second
    step is still out with an intake that died): the handler refuses it, and Temporal keeps that
    refusal under the Update's id. Once the second step is taken, the third, sent again as intake
    sends it, is taken too; sent once more, it is a duplicate."""
    client = time_skipping_env.client
    intake = Intake(client, _Rejections(), task_queue, {})  # type: ignore[arg-type]
    case_id = new_case_id()
    opening = body(event("case_transfer", "crime_suspected", case_id=case_id))
    second = body(event("case_transfer", "team_formed", case_id=case_id))
    third = body(event("case_transfer", "transfer_report_submitted", case_id=case_id))
    await intake.submit(opening, "rz-scjgj")

    async def pending() -> bool:
        return True

    early = asyncio.create_task(
        intake.submit(third, "rz-scjgj", patience=Patience(final=False, earlier_pending=pending))
    )
    await asyncio.sleep(1.0)  # no worker yet: the Update waits with the run's first task
    async with run_worker(client, task_queue) as published:
        with pytest.raises(WaitsForEarlier):
            await early
        assert (await intake.submit(second, "rz-scjgj")).state == "team_formed"
        taken = await intake.submit(third, "rz-scjgj")
        repeated = await intake.submit(third, "rz-scjgj")
    assert taken.outcome is Outcome.ACCEPTED and taken.state == "reported", taken.rejection
    assert repeated.outcome is Outcome.DUPLICATE
    assert published.types(case_id).count("case_transfer.transfer_report_submitted") == 1


async def test_a_step_publishes_from_one_local_activity_and_records_no_patch_marker(
    time_skipping_env,  # noqa: ANN001
    task_queue,  # noqa: ANN001
) -> None:
    """A case started as intake starts it publishes its opening step's domain events together,
    from one local activity, and asks no ``workflow.patched()``: no marker and no
    TemporalChangeVersion upsert on every new case."""
    from contracts.envelope import Envelope
    from contracts.workflow_io import CaseStart

    client = time_skipping_env.client
    case_id = new_case_id()
    opening = Envelope.model_validate_json(body(event("case_transfer", "crime_suspected", case_id=case_id)))
    async with run_worker(client, task_queue) as published:
        handle = await client.start_workflow(
            "CaseTransfer",
            CaseStart(process="case_transfer", case_id=case_id, opening=opening),
            id=f"case_transfer/{case_id}",
            task_queue=task_queue,
        )
        await eventually(lambda: "case_transfer.opened" in published.types(case_id))
        for _ in range(100):  # the task that ran the local activity completes after it published
            history = await handle.fetch_history()
            kinds = [e.WhichOneof("attributes") for e in history.events]
            if "workflow_task_completed_event_attributes" in kinds:
                break
            await asyncio.sleep(0.05)
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert published.types(case_id) == ["case_transfer.crime_suspected", "case_transfer.opened"]
    assert "activity_task_scheduled_event_attributes" not in kinds  # one local activity published them
    assert markers == ["core_local_activity"]
    assert "upsert_workflow_search_attributes_event_attributes" not in kinds


async def test_a_case_opened_by_its_start_input_warns_once(
    time_skipping_env,  # noqa: ANN001
    task_queue,  # noqa: ANN001
) -> None:
    """Intake's path: the opening event in the start input sets a deadline (a reverse transfer's
    non-prosecution decision starts the 3-working-day internal handover). It is watched once:
    one timer, one warning, one breach, one escalation."""
    from contracts.envelope import Envelope
    from contracts.workflow_io import CaseStart

    client = time_skipping_env.client
    case_id = new_case_id()
    opening = Envelope.model_validate_json(
        body(event("reverse_transfer", "non_prosecution_decided", case_id=case_id))
    )
    async with run_worker(client, task_queue) as published:
        handle = await client.start_workflow(
            "ReverseTransfer",
            CaseStart(process="reverse_transfer", case_id=case_id, opening=opening),
            id=f"reverse_transfer/{case_id}",
            task_queue=task_queue,
        )
        await eventually(lambda: "deadline.set" in published.types(case_id))
        deadline = published.of_type("deadline.set", case_id)[0].deadline
        assert deadline is not None and deadline.warn_at is not None
        now = await time_skipping_env.get_current_time()
        await time_skipping_env.sleep(deadline.warn_at - now + timedelta(hours=1))
        await eventually(lambda: "deadline.warning" in published.types(case_id))
        await time_skipping_env.sleep(deadline.due_at - deadline.warn_at + timedelta(hours=1))
        await eventually(lambda: "escalation.raised" in published.types(case_id))
        history = await handle.fetch_history()
    types = published.types(case_id)
    assert types[0] == "reverse_transfer.non_prosecution_decided" and "deadline.set" in types[:3]
    assert types.count("deadline.warning") == 1, types
    assert types.count("deadline.breached") == 1, types
    assert types.count("escalation.raised") == 1, types
    first_task: list[str | None] = []
    for e in history.events[1:]:
        kind = e.WhichOneof("attributes")
        if kind == "workflow_task_scheduled_event_attributes" and first_task:
            break
        first_task.append(kind)
    assert first_task.count("timer_started_event_attributes") == 1, first_task
