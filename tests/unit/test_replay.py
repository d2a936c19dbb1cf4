"""Replay every recorded history under ``tests/histories/`` against today's workflow code
(sdk-python ``tests/worker/test_replayer.py``).

A recorded history stands for a case already running: if a workflow change issues different
commands for the same events (a step emitted more or less, a timer moved, an activity
reordered), the replay raises a nondeterminism error here, in ``make test``, instead of wedging
running cases in production. Every file is written by ``python -m tests.histories.record``, one
per scenario, through intake's own path; until the first release the current code is the
baseline and a deliberate change re-records them all (the recorder's docstring says what
changes after the release).

The negative test replays the ``CaseTransfer`` history against a deliberately altered copy of
the workflow, to prove the replay check fails when it should.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from contracts.common import Payload
from contracts.envelope import Envelope
from contracts.workflow_io import CaseStart, CaseStatus, workflow_id
from services.temporal_codec import lawlink_data_converter
from services.worker import workflow_runner
from tests.histories.record import SCENARIOS
from workflows.case_transfer import CaseTransferWorkflow
from workflows.registry import WORKFLOWS

pytestmark = pytest.mark.timeout(120)

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
FILES = sorted(HISTORIES.glob("*.json"))
CLOSING = {"EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"}


def start_input(path: Path) -> CaseStart:
    """The :class:`CaseStart` the recorded run was started with."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    probe = WorkflowHistory.from_json("unknown", data)
    start = probe.events[0].workflow_execution_started_event_attributes
    if not start.input.payloads:
        raise ValueError(f"{path.name}: the first event carries no workflow input")
    return pydantic_data_converter.payload_converter.from_payload(start.input.payloads[0], CaseStart)


def load(path: Path) -> WorkflowHistory:
    """A recorded history (``WorkflowHistory.to_json()``) with the workflow id it ran under,
    ``<process>/<case_id>`` from its start input, as intake names workflows."""
    case = start_input(path)
    history = WorkflowHistory.from_json("unknown", json.loads(path.read_text(encoding="utf-8")))
    return dataclasses.replace(history, workflow_id=workflow_id(case.process, case.case_id))


def workflow_type(history: WorkflowHistory) -> str:
    """The workflow type that ran the history (its ``@workflow.defn`` name)."""
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def event_types(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [e["eventType"] for e in data["events"]]


def replayer(*workflows: type, guarded: bool = False) -> Replayer:
    """A Replayer configured as the worker is (same runner and data converter, codec included:
    plaintext histories recorded before it decode unchanged); ``guarded`` as the tests' workers
    are (workflow modules re-imported per run, the sandbox's determinism checks on)."""
    return Replayer(
        workflows=list(workflows or WORKFLOWS),
        workflow_runner=workflow_runner(guarded=guarded),
        data_converter=lawlink_data_converter(),
    )


def test_every_registered_workflow_has_a_recorded_history() -> None:
    recorded = {workflow_type(load(p)) for p in FILES}
    # The SDK keeps a class's @workflow.defn on it; its name is the type histories record.
    registered = {workflow._Definition.must_from_class(wf).name for wf in WORKFLOWS}
    missing = sorted(registered - recorded)
    assert not missing, (
        f"no history under tests/histories/ for {missing}: run python -m tests.histories.record"
    )


def test_every_scenario_of_the_recorder_has_its_history() -> None:
    missing = sorted(set(SCENARIOS) - {p.stem for p in FILES})
    assert not missing, f"not recorded: {missing}: run python -m tests.histories.record {' '.join(missing)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_history_is_a_whole_path_started_as_intake_starts_a_case(path: Path) -> None:
    """Guard against recording a trivial history, or one no production case has: the case was
    opened by the event in its start input (intake's start), a deadline timer fired, an Update
    was taken, and the run ended (completed or continued as new), so the whole path is replayed."""
    case = start_input(path)
    assert case.opening is not None and case.carry is None, "the case was not opened by its start input"
    assert case.opening.case_id == case.case_id
    types = event_types(path)
    assert types[0] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert "EVENT_TYPE_TIMER_FIRED" in types, "no timer fired in this history"
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED" in types, "no Update in this history"
    assert types[-1] in CLOSING, f"history ends with {types[-1]}, not with the run closing"


@pytest.mark.parametrize("guarded", [False, True], ids=["worker-runner", "guarded-sandbox"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path, guarded: bool) -> None:
    history = load(path)
    result = await replayer(guarded=guarded).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure!r}"


# ----- the check can fail ---------------------------------------------------------------------------


@workflow.defn(name="CaseTransfer")
class UnalteredCaseTransferWorkflow(CaseTransferWorkflow):
    """The control: the same subclassing and runner as the altered class, no change."""

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        return await self.run_case(start)


@workflow.defn(name="CaseTransfer")
class AlteredCaseTransferWorkflow(CaseTransferWorkflow):
    """CaseTransfer with one unpatched change: an extra pause (a timer) when the team is formed.

    (An extra domain event inside a step would not change the commands: a step's events are
    published together by one local activity.)

    Only for the negative test below; never registered with a worker.
    """

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        return await self.run_case(start)

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        await super().on_event(env, payload)
        if env.type == "case_transfer.team_formed":
            await workflow.sleep(1)


async def test_an_unpatched_change_fails_the_replay() -> None:
    history = load(HISTORIES / "CaseTransfer.json")
    types = event_types(HISTORIES / "CaseTransfer.json")
    assert types.count("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED") > 2  # team_formed is in it
    # The control replays, so what fails below is the change and not the test's setup.
    control = await replayer(UnalteredCaseTransferWorkflow).replay_workflow(history)
    assert control.replay_failure is None
    with pytest.raises(NondeterminismError) as info:
        await replayer(AlteredCaseTransferWorkflow).replay_workflow(history)
    # The extra timer comes where the history has the team_formed Update completing.
    assert "Nondeterminism error" in str(info.value), info.value
