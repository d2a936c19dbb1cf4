"""Replay recorded histories of the delegation workflow (sdk-python ``tests/worker/test_replayer.py``).

Delegations run for years, so a code change must replay every history already written. The
files under ``tests/histories/power_delegation_*.json`` were recorded from this workflow on the
time-skipping server; a change to its commands (a step added, a timer moved, an activity
reordered) without ``workflow.patched()`` makes the replay fail here, before it fails a
running delegation.

Re-record (only for a deliberate, patched change, and keep the old files too):
``.venv/bin/python -m tests.unit.test_power_delegation_replay --record``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from contracts.power_delegation import ItemDecision, ReviewOutcome
from services.temporal_codec import lawlink_data_converter
from services.worker import workflow_runner
from tests.events import event, new_case_id
from tests.servers import binary
from tests.unit.test_power_delegation import (
    PROCESS,
    TOWNSHIP,
    YEAR,
    decide,
    decision,
    delegation_worker,
    eventually,
    granted_and_accepted,
    latest,
    record_case,
    reviews,
    run_id,
    wait_for_new_run,
)
from tests.workflow_harness import send
from workflows.registry import WORKFLOWS

pytestmark = pytest.mark.timeout(60)

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
FILES = sorted(HISTORIES.glob("power_delegation_*.json"))


def load(path: Path) -> WorkflowHistory:
    """A recorded history; the file keeps its workflow id next to the events."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(data["workflow_id"], data["history"])


def test_histories_are_present() -> None:
    assert {p.stem for p in FILES} >= {
        "power_delegation_first_cycle",
        "power_delegation_early_return",
        "power_delegation_window_breached",
    }


@pytest.mark.parametrize("guarded", [False, True], ids=["worker-runner", "guarded-sandbox"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path, guarded: bool) -> None:
    history = load(path)
    types = {e.WhichOneof("attributes") for e in history.events}
    # Guard against recording a trivial history: every file covers timers, updates and the
    # publishing of domain events (activities before the batched-publish patch, markers of the
    # local activity after it).
    assert {"timer_started_event_attributes", "workflow_execution_update_accepted_event_attributes"} <= types
    assert types & {"activity_task_scheduled_event_attributes", "marker_recorded_event_attributes"}
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(guarded=guarded),
        data_converter=lawlink_data_converter(),
    )
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None


# ----- recording --------------------------------------------------------------------------------


async def _first_cycle(env: WorkflowEnvironment, queue: str) -> tuple[str, str]:
    """Grant → accept → cases → a year → assessments → Update decision (keep/adjust/revoke) →
    continue-as-new; the recorded run is the first one."""
    client = env.client
    case_id = new_case_id("REC")
    async with delegation_worker(client, queue, case_id) as published:
        handle = await granted_and_accepted(env, queue, case_id)
        await record_case(handle, case_id, "ZH-0107", "handled")
        await record_case(handle, case_id, "SC-0032", "complaint")
        await env.sleep(YEAR)
        await eventually(lambda: reviews(published, case_id))
        ratings = [{"item_code": c, "rating": "competent"} for c in ("ZH-0107", "ZH-0215", "SC-0032")]
        await send(
            handle,
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
            handle,
            event(
                PROCESS, "assessment_submitted", case_id=case_id, agency="rz-dg-zhzfj", ratings=ratings[:2]
            ),
        )
        await send(handle, event(PROCESS, "assessment_submitted", case_id=case_id))
        first = handle.result_run_id
        await decide(
            client,
            case_id,
            decision(
                ItemDecision(item_code="ZH-0107", outcome=ReviewOutcome.KEEP),
                ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.ADJUST, new_scope="街道辖区全域"),
                ItemDecision(item_code="SC-0032", outcome=ReviewOutcome.REVOKE, reason="评估为难以承接"),
            ),
        )
        await wait_for_new_run(client, case_id, first)
        history = await client.get_workflow_handle(f"{PROCESS}/{case_id}", run_id=first).fetch_history()
        return f"{PROCESS}/{case_id}", history.to_json()


async def _early_return(env: WorkflowEnvironment, queue: str) -> tuple[str, str]:
    """A future effective date (timer), early revocations before and after it, handovers, end."""
    client = env.client
    case_id = new_case_id("REC")
    async with delegation_worker(client, queue, case_id) as published:
        handle = await granted_and_accepted(env, queue, case_id, effective_in=timedelta(days=5))
        await send(handle, event(PROCESS, "item_revoked_early", case_id=case_id, item_codes=["ZH-0215"]))
        await env.sleep(timedelta(days=6))
        await eventually(lambda: published.of_type("power_delegation.items_effective", case_id))
        await send(
            handle, event(PROCESS, "item_revoked_early", case_id=case_id, item_codes=["SC-0032", "ZH-0107"])
        )
        await send(handle, event(PROCESS, "case_handed_over", case_id=case_id))
        await send(handle, event(PROCESS, "handover_acknowledged", case_id=case_id))
        await send(
            handle, event(PROCESS, "case_handed_over", case_id=case_id, item_code="ZH-0107", case_nos=[])
        )
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
        return f"{PROCESS}/{case_id}", (await handle.fetch_history()).to_json()


async def _window_breached(env: WorkflowEnvironment, queue: str) -> tuple[str, str]:
    """A review whose assessment window is breached, then decided by the government's event."""
    client = env.client
    case_id = new_case_id("REC")
    async with delegation_worker(client, queue, case_id) as published:
        await granted_and_accepted(env, queue, case_id)
        await env.sleep(YEAR)
        await eventually(lambda: reviews(published, case_id))
        await env.sleep(timedelta(days=45))
        await eventually(lambda: published.of_type("escalation.raised", case_id))
        first = await run_id(client, case_id)
        keep = [{"item_code": c, "outcome": "keep"} for c in ("ZH-0107", "ZH-0215", "SC-0032")]
        await send(latest(client, case_id), event(PROCESS, "review_decided", case_id=case_id, decisions=keep))
        await wait_for_new_run(client, case_id, first)
        history = await client.get_workflow_handle(f"{PROCESS}/{case_id}", run_id=first).fetch_history()
        return f"{PROCESS}/{case_id}", history.to_json()


async def record() -> None:
    """Record the histories into ``tests/histories/`` (see the module docstring)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    try:
        HISTORIES.mkdir(exist_ok=True)
        for name, scenario in (
            ("power_delegation_first_cycle", _first_cycle),
            ("power_delegation_early_return", _early_return),
            ("power_delegation_window_breached", _window_breached),
        ):
            workflow_id, history = await scenario(env, f"rec-{uuid.uuid4()}")
            text = json.dumps(
                {"workflow_id": workflow_id, "history": json.loads(history)}, ensure_ascii=False, indent=1
            )
            (HISTORIES / f"{name}.json").write_text(text + "\n", encoding="utf-8")
            print(f"recorded {name} ({workflow_id})")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python -m tests.unit.test_power_delegation_replay --record")
    asyncio.run(record())
