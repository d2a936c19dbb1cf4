"""Record the workflow histories that ``tests/unit/test_replay.py`` replays.

Each scenario below drives one representative, long path of a process on the time-skipping
test server, with the worker and recording publisher of ``tests/workflow_harness.py`` and the
committed example envelopes, and saves ``(await handle.fetch_history()).to_json()`` as
``tests/histories/<WorkflowType>.json``. The paths cross many states on purpose, with at least
one deadline timer firing (warning, breach, escalation) and a step accepted late, plus (for the
jurisdiction dispute) the coordinator's Updates: a history that exercises more code catches
more of the changes that would break a running case.

Usage::

    .venv/bin/python -m tests.histories.record                  # every scenario
    .venv/bin/python -m tests.histories.record CaseTransfer     # only the ones named

When to re-record
-----------------
Until the first release there are no running cases to protect: a change to workflow logic is
made directly and every history is re-recorded (this script, then
``python -m tests.unit.test_power_delegation_replay --record``). After the release, almost
never: these files then stand for cases already running in production, a change that makes
their replay fail would break those cases too, and the fix is to put the change behind
``workflow.patched("<patch-id>")`` (samples-python ``patching/``), not to re-record.

After the release, re-record only after an intentional, patched change, to add a history that takes the new
branch, and keep the old one so the pre-patch path goes on being replayed: first rename the
existing file (``git mv tests/histories/CaseTransfer.json
tests/histories/CaseTransfer_before_<patch-id>.json``; the replay test picks up every
``*.json``), then run this script for that workflow. Once no case started before the patch is
still running and the ``patched`` call has been replaced by ``deprecate_patch`` and then
removed, the old file can go.

The recording is deterministic where it can be: fixed case ids, event ids derived from the
scenario and step number, coordinator request ids spelled out, and the clock moved to a
Monday 09:00 (Asia/Shanghai) that starts two ordinary working weeks before anything happens.
What still changes from one recording to the next is the date itself (the test server starts
at today's time) and Temporal's own ids and timestamps in the history.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.jurisdiction_dispute import (
    ClaimInput,
    DesignateInput,
    ExtendInput,
    RequestOpinionsInput,
    UnclaimInput,
)
from services.disputes import client as dc
from tests.events import event
from tests.servers import binary
from tests.unit.test_case_transfer import to_next_monday_morning
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case

HISTORIES = Path(__file__).resolve().parent
# Namespace of the recorded event ids: uuid5(namespace, "<case_id>/<step>") is stable across
# recordings, so a re-recorded file differs from the old one only where the run did.
EVENT_ID_NAMESPACE = uuid.UUID("6c1d7a52-2f0e-4c59-9a3e-1b8f0e7c4d21")


class Scenario:
    """One recorded case: sends example events with stable ids and reads what was published."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        handle: WorkflowHandle[Any, Any],
        process: str,
        case_id: str,
        published: CollectingPublisher,
    ) -> None:
        self.env = env
        self.handle = handle
        self.process = process
        self.case_id = case_id
        self.published = published
        self._step = 0

    def envelope(self, name: str, **changes: Any) -> dict[str, Any]:
        """The example ``name`` of this process with a stable event id and ``changes``."""
        self._step += 1
        event_id = str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{self.case_id}/{self._step}"))
        return event(self.process, name, case_id=self.case_id, event_id=event_id, **changes)

    async def send(self, name: str, *, now: bool = False, agency: str | None = None, **changes: Any) -> str:
        """Deliver one event as intake does; fails loudly if the workflow refuses it. ``now``
        dates it at the server's time, for processes that compare event dates with their
        clock (the examples' own dates otherwise)."""
        if now:
            changes["occurred_at"] = (await self.env.get_current_time()).astimezone()
        data = self.envelope(name, agency=agency, **changes)
        result = await send(self.handle, data)
        if not result.accepted or result.duplicate:
            raise RuntimeError(f"{name} was not applied: {result}")
        return result.state

    async def redeliver(self, data: dict[str, Any], update_id: str) -> None:
        """Deliver an event already applied (a JetStream redelivery): a recorded duplicate."""
        result = await send(self.handle, data, update_id=update_id)
        if not result.duplicate:
            raise RuntimeError(f"{data['type']} was applied twice")

    async def past_deadline(self, rule: str) -> None:
        """Skip time to one hour after the newest deadline of ``rule`` falls due, so its
        warning and due timers fire (a duty's escalations go out, a window lapses)."""
        found = [
            e.deadline
            for e in self.published.of_type("deadline.set", self.case_id)
            if e.deadline is not None and e.deadline.rule == rule
        ]
        if not found:
            raise RuntimeError(f"no deadline.set for {rule}; published {self.published.types(self.case_id)}")
        now = await self.env.get_current_time()
        await self.env.sleep(found[-1].due_at - now + timedelta(hours=1))
        fell_due = [
            e
            for e in self.published.events
            if e.case_id == self.case_id
            and e.type in ("deadline.breached", "deadline.lapsed", "deadline.reminder")
            and e.deadline is not None
            and e.deadline.deadline_id == found[-1].deadline_id
        ]
        if not fell_due:
            raise RuntimeError(f"{rule} did not fall due; published {self.published.types(self.case_id)}")

    async def history_json(self) -> str:
        """Wait for the case to close, then its whole history as JSON."""
        await self.handle.result()
        return (await self.handle.fetch_history()).to_json()


Recorder = Callable[[WorkflowEnvironment, str], Awaitable[str]]


async def _case(
    env: WorkflowEnvironment,
    queue: str,
    workflow_type: str,
    process: str,
    case_id: str,
    play: Callable[[Scenario], Awaitable[None]],
) -> str:
    await to_next_monday_morning(env)
    async with run_worker(env.client, queue) as published:
        handle = await start_case(env.client, queue, workflow_type, process, case_id)
        scenario = Scenario(env, handle, process, case_id, published)
        await play(scenario)
        return await scenario.history_json()


async def case_transfer(env: WorkflowEnvironment, queue: str) -> str:
    """Forward path, longest way round: the head decides late (breach, escalation to the justice
    bureau, discipline proposal), the police refuse, reconsideration upholds, the procuratorate
    supervises, asks the police to explain and orders filing, materials handed over, criminal
    outcome reported."""

    async def play(c: Scenario) -> None:
        await c.send("crime_suspected")
        await c.send("team_formed")
        await c.send("transfer_report_submitted")
        await c.past_deadline("case_transfer.head_decision")
        await c.send("head_decided")
        await c.send("transferred")
        received = c.envelope("police_received")
        await send(c.handle, received)
        await c.redeliver(received, update_id="redelivered-police_received")
        await c.send(
            "police_decided",
            decision="refuse",
            reasons="现有证据不能证明当事人明知产品不合格，不予立案。",
            file_returned=True,
        )
        await c.send("reconsideration_requested")
        await c.send(
            "reconsideration_decided", outcome="uphold", reasons="复议认为原不予立案决定正确，予以维持。"
        )
        await c.send("supervision_requested")
        served = (await env.get_current_time()).astimezone()
        await c.send("explanation_requested", served_at=served.isoformat())
        await c.send("police_explained")
        await c.send("filing_ordered")
        await c.send("police_decided")
        await c.send("materials_handed_over")
        state = await c.send("criminal_outcome_reported")
        assert state == "concluded", state

    return await _case(env, queue, "CaseTransfer", "case_transfer", "REPLAY-CT-1", play)


async def reverse_transfer(env: WorkflowEnvironment, queue: str) -> str:
    """Reverse path from the procuratorate: handover, review extended once, paused and resumed,
    opinion served, the agency's 2-month reply breached (escalations), then replied late."""

    async def play(c: Scenario) -> None:
        await c.send("non_prosecution_decided")
        await c.send("handed_over")
        await env.sleep(timedelta(days=3))
        await c.send("review_extended")
        await env.sleep(timedelta(days=1))
        await c.send("review_paused")
        await env.sleep(timedelta(days=10))
        await c.send("review_resumed")
        served = (await env.get_current_time()).astimezone()
        await c.send("opinion_issued", served_at=served.isoformat(), occurred_at=served)
        await c.past_deadline("reverse_transfer.agency_reply")
        state = await c.send("agency_replied")
        assert state == "replied", state

    return await _case(env, queue, "ReverseTransfer", "reverse_transfer", "REPLAY-RT-1", play)


def _coordinator(user: str, request_id: str, **extra: Any) -> dict[str, Any]:
    names = {"u-coord-1": "张明", "u-coord-2": "李华"}
    return {
        "coordinator": user,
        "coordinator_name": names[user],
        "coordinator_agency": "rz-sfj",
        "request_id": request_id,
        **extra,
    }


async def jurisdiction_dispute(env: WorkflowEnvironment, queue: str) -> str:
    """A positive dispute: negotiation lapsed into coordination, accepted, then the
    coordinator's Updates (claim, extend, request opinions, release, claim by a colleague,
    designate), the acknowledgement breached and finally given."""
    case_id = "REPLAY-JD-1"
    party_a, party_b = "rz-hyfzj", "rz-scjgj"  # the parties of the committed examples

    async def play(c: Scenario) -> None:
        client: Client = env.client
        raised = c.envelope("dispute_raised")
        await send(c.handle, raised)
        await c.redeliver(raised, update_id="redelivered-dispute_raised")
        # The negotiation window lapses and the dispute goes to coordination by itself.
        await c.past_deadline("jurisdiction_dispute.negotiation")
        await c.send("coordination_accepted")
        await dc.claim(client, case_id, ClaimInput(**_coordinator("u-coord-1", "rec-claim-1")))
        await dc.extend(
            client,
            case_id,
            ExtendInput(**_coordinator("u-coord-1", "rec-extend-1"), working_days=5, reason="需等待鉴定结论"),
        )
        await dc.request_opinions(
            client,
            case_id,
            RequestOpinionsInput(
                **_coordinator("u-coord-1", "rec-opinions-1"),
                agencies=[party_a, party_b],
                note="请于期限内提交书面意见",
            ),
        )
        await c.send("opinion_submitted", agency=party_a)
        await c.send("opinion_submitted", agency=party_b)
        await dc.unclaim(
            client, case_id, UnclaimInput(**_coordinator("u-coord-1", "rec-unclaim-1"), reason="休假")
        )
        await dc.claim(client, case_id, ClaimInput(**_coordinator("u-coord-2", "rec-claim-2")))
        await dc.designate(
            client,
            case_id,
            DesignateInput(
                **_coordinator("u-coord-2", "rec-designate-1"),
                agency=party_a,
                reason="最先立案，且属渔业管理事项",
            ),
        )
        await c.past_deadline("jurisdiction_dispute.acknowledgement")
        state = await c.send("designation_acknowledged")
        assert state == "resolved", state

    return await _case(env, queue, "JurisdictionDispute", "jurisdiction_dispute", case_id, play)


async def discipline_referral(env: WorkflowEnvironment, queue: str) -> str:
    """A referral approved late by the head (breach, escalation), received by the wrong
    commission and forwarded, held for later, then verified, outcome and rectification."""

    async def play(c: Scenario) -> None:
        await c.send("clue_identified", now=True)
        await c.past_deadline("discipline_referral.head_approval")
        await c.send("referral_approved", now=True)
        await c.send("referred", now=True)
        await c.send(
            "referral_received", now=True, within_jurisdiction=False, reasons="按干部管理权限应由东港区办理"
        )
        await c.send("referral_forwarded", now=True)
        await c.send("referral_received", now=True, agency="rz-dg-jwjw")
        await c.send("disposition_decided", now=True, agency="rz-dg-jwjw", disposition="held_for_later")
        await c.send(
            "disposition_decided", now=True, agency="rz-dg-jwjw", disposition="preliminary_verification"
        )
        await c.send("outcome_reported", now=True, agency="rz-dg-jwjw")
        state = await c.send("rectified", now=True)
        assert state == "rectified", state

    return await _case(env, queue, "DisciplineReferral", "discipline_referral", "REPLAY-DR-1", play)


SCENARIOS: dict[str, Recorder] = {
    "CaseTransfer": case_transfer,
    "ReverseTransfer": reverse_transfer,
    "JurisdictionDispute": jurisdiction_dispute,
    "DisciplineReferral": discipline_referral,
}


async def record(names: list[str]) -> None:
    """Record the named scenarios (all when ``names`` is empty), each on a fresh test server so
    one scenario's skipped months never move another's clock."""
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown workflow type(s) {unknown}; choose from {sorted(SCENARIOS)}")
    for name in names or list(SCENARIOS):
        # Plain converter on purpose: a history sealed by the codec with this run's key could never
        # be replayed later; the example content recorded here is fictional (services/temporal_codec.py).
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
        )
        try:
            history = await SCENARIOS[name](env, f"record-{name}")
        finally:
            await env.shutdown()
        path = HISTORIES / f"{name}.json"
        path.write_text(history + "\n", encoding="utf-8")
        print(f"recorded {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
