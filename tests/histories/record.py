"""Record the workflow histories that ``tests/unit/test_replay.py`` replays.

Each scenario drives one representative, long path of a process on the time-skipping test
server, with the worker and recording publisher of ``tests/workflow_harness.py`` and the
committed example envelopes, and saves the JSON of the case's first run as
``tests/histories/<name>.json`` (``<name>`` is the scenario's, below). The paths cross many
states on purpose, with at least one deadline timer firing (warning, breach, escalation) and a
step accepted late, plus the people's Updates (a coordinator's, a reviewer's): a history that
exercises more code catches more of the changes that would break a running case.

Agency events take intake's own path (:meth:`services.intake.core.Intake.submit`): the opening
event arrives in the start input (``CaseStart.opening``), a repeated opening event as the
``submit`` signal, every later event as the ``receive`` Update with its event id as the Update
id; the people's Updates go through the clients the console uses. A history recorded some other
way would replay commands no production case issues.

Usage::

    .venv/bin/python -m tests.histories.record                  # every scenario
    .venv/bin/python -m tests.histories.record CaseTransfer     # only the ones named

When to re-record
-----------------
Until the first release nothing runs in production: the current code is the baseline, a change
to workflow logic is made directly, and every history is re-recorded with this script. From the
first release on, almost never: the files then stand for cases already running, a change that
makes their replay fail would break those cases too, and the fix is to put the change behind
``workflow.patched("<patch-id>")`` (samples-python ``patching/``), not to re-record.

After the release, re-record only after an intentional, patched change, to add a history that
takes the new branch, and keep the old one so the pre-patch path goes on being replayed: first
rename the existing file (``git mv tests/histories/CaseTransfer.json
tests/histories/CaseTransfer_before_<patch-id>.json``; the replay test picks up every
``*.json``), then run this script for that scenario. Once no case started before the patch is
still running and the ``patched`` call has been replaced by ``deprecate_patch`` and then
removed, the old file can go.

The recording is deterministic where it can be: fixed case ids, event ids derived from the
scenario and step number, coordinator and reviewer request ids spelled out, and the clock moved
to a Monday 09:00 (Asia/Shanghai) that starts two ordinary working weeks before anything
happens. What still changes from one recording to the next is the date itself (the test server
starts at today's time) and Temporal's own ids and timestamps in the history.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.jurisdiction_dispute import (
    ClaimInput,
    DesignateInput,
    ExtendInput,
    RequestOpinionsInput,
    UnclaimInput,
)
from contracts.power_delegation import ItemDecision, ReviewDecisionIn, ReviewOutcome
from contracts.workflow_io import workflow_id
from services.delegations.client import decide_review
from services.discipline.crypto import ContentCipher
from services.disputes import client as dc
from services.intake.core import Intake, IntakeResult, Outcome
from tests.events import body, event, restamp
from tests.servers import binary
from tests.unit.test_case_transfer import to_next_monday_morning
from tests.workflow_harness import CollectingPublisher, run_worker
from workflows.deadlines import SHANGHAI

HISTORIES = Path(__file__).resolve().parent
# Namespace of the recorded event ids: uuid5(namespace, "<case_id>/<step>") is stable across
# recordings, so a re-recorded file differs from the old one only where the run did.
EVENT_ID_NAMESPACE = uuid.UUID("6c1d7a52-2f0e-4c59-9a3e-1b8f0e7c4d21")
CLOSED = (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CONTINUED_AS_NEW)
# History events after a run's last completed workflow task that mean it has more to do.
_STILL_TO_RUN = {
    "workflow_task_scheduled_event_attributes",
    "workflow_task_started_event_attributes",
    "activity_task_scheduled_event_attributes",
    "activity_task_started_event_attributes",
    "workflow_execution_signaled_event_attributes",
    "workflow_execution_update_admitted_event_attributes",
}


class _Refusals:
    """Intake's JetStream, which it needs only to answer a refusal: kept to name it."""

    def __init__(self) -> None:
        self.published: list[bytes] = []

    async def publish(self, _subject: str, payload: bytes, **_: Any) -> None:
        self.published.append(payload)


class Scenario:
    """One recorded case: sends example events through intake with stable ids and reads what
    the workflow published."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        queue: str,
        process: str,
        case_id: str,
        published: CollectingPublisher,
    ) -> None:
        self.env = env
        self.process = process
        self.case_id = case_id
        self.published = published
        self.workflow_id = workflow_id(process, case_id)
        self.first_run: str | None = None
        self._step = 0
        self._now: datetime | None = None
        # Intake checks that no event is dated in its future: its clock is the test server's,
        # which time skipping moves ahead of the wall clock.
        self.intake = Intake(
            env.client,
            _Refusals(),  # type: ignore[arg-type]
            queue,
            {},
            clock=self._clock,
            cipher=ContentCipher(os.urandom(32)),
        )

    def _clock(self) -> datetime:
        assert self._now is not None
        return self._now

    @property
    def handle(self) -> WorkflowHandle[Any, Any]:
        """The case's current run."""
        return self.env.client.get_workflow_handle(self.workflow_id)

    def envelope(self, name: str, **changes: Any) -> dict[str, Any]:
        """The example ``name`` of this process with a stable event id and ``changes``."""
        self._step += 1
        event_id = str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{self.case_id}/{self._step}"))
        return event(self.process, name, case_id=self.case_id, event_id=event_id, **changes)

    async def deliver(self, data: dict[str, Any]) -> tuple[dict[str, Any], IntakeResult]:
        """Hand ``data`` to intake as its sender would (an event the scenario did not date
        happens at the server's time); returns the envelope as sent and intake's outcome."""
        self._now = await self.env.get_current_time()
        sent = restamp(data, self._now)
        result = await self.intake.submit(body(sent), sent["source_agency"])
        if self.first_run is None and result.outcome is Outcome.ACCEPTED:
            self.first_run = (await self.handle.describe()).run_id
        return sent, result

    async def send(self, name: str, *, now: bool = False, agency: str | None = None, **changes: Any) -> str:
        """Deliver one new event; fails loudly if intake or the workflow refuses it. ``now``
        dates it at the server's time, for processes that compare event dates with their
        clock (the examples' own dates otherwise). Returns the case's state after it (an
        opening event is taken after intake's start returns: ``submitted``)."""
        if now:
            changes["occurred_at"] = (await self.env.get_current_time()).astimezone()
        _, result = await self.submit(self.envelope(name, agency=agency, **changes))
        return str(result.state)

    async def submit(self, data: dict[str, Any]) -> tuple[dict[str, Any], IntakeResult]:
        """Deliver ``data``, which must be taken as new."""
        sent, result = await self.deliver(data)
        if result.outcome is not Outcome.ACCEPTED:
            raise RuntimeError(f"{data['type']} was not applied: {result}")
        return sent, result

    async def redeliver(self, sent: dict[str, Any]) -> None:
        """Deliver an opening event already taken, byte for byte (a JetStream redelivery):
        intake finds the case running and signals it, and the workflow drops the repeat."""
        await self.settled()
        before = len(self.published.events)
        _, result = await self.deliver(sent)
        if result.outcome is not Outcome.ACCEPTED:
            raise RuntimeError(f"the redelivered {sent['type']} was refused: {result}")
        await self.settled()
        if len(self.published.events) != before:
            raise RuntimeError(f"{sent['type']} was applied twice")

    async def settled(self) -> None:
        """Wait until the workflow has taken what was sent (a start input and a signal are
        taken asynchronously): its history ends with a completed workflow task and the commands
        it issued, with nothing after them left to run."""
        end = asyncio.get_running_loop().time() + 15
        while True:
            kinds = [e.WhichOneof("attributes") for e in (await self.handle.fetch_history()).events]
            done = [i for i, kind in enumerate(kinds) if kind == "workflow_task_completed_event_attributes"]
            if done and not set(kinds[done[-1] + 1 :]) & _STILL_TO_RUN:
                return
            if asyncio.get_running_loop().time() > end:
                raise RuntimeError(f"{self.workflow_id} did not settle in 15 s: {kinds[-5:]}")
            await asyncio.sleep(0.05)

    async def past_deadline(self, rule: str) -> None:
        """Skip time to one hour after the newest deadline of ``rule`` falls due, so its
        warning and due timers fire (a duty's escalations go out, a window lapses)."""
        await self.settled()
        found = [
            e.deadline
            for e in self.published.of_type("deadline.set", self.case_id)
            if e.deadline is not None and e.deadline.rule == rule
        ]
        if not found:
            raise RuntimeError(f"no deadline.set for {rule}; published {self.published.types(self.case_id)}")
        now = await self.env.get_current_time()
        await self.env.sleep(found[-1].due_at - now + timedelta(hours=1))
        await self.until(
            lambda: [
                e
                for e in self.published.events
                if e.case_id == self.case_id
                and e.type in ("deadline.breached", "deadline.lapsed", "deadline.reminder")
                and e.deadline is not None
                and e.deadline.deadline_id == found[-1].deadline_id
            ],
            f"{rule} to fall due",
        )

    async def until(self, check: Callable[[], Any], what: str, timeout: float = 15.0) -> None:
        """Poll ``check`` until it holds (the worker publishes asynchronously), or fail."""
        end = asyncio.get_running_loop().time() + timeout
        while not check():
            if asyncio.get_running_loop().time() > end:
                raise RuntimeError(
                    f"waited {timeout}s for {what}; published {self.published.types(self.case_id)}"
                )
            await asyncio.sleep(0.05)

    async def history_json(self) -> str:
        """Wait for the case's first run to close (completed, or continued as new), then its
        whole history as JSON."""
        assert self.first_run is not None, "the scenario opened no case"
        first = self.env.client.get_workflow_handle(self.workflow_id, run_id=self.first_run)
        end = asyncio.get_running_loop().time() + 30
        while (status := (await first.describe()).status) not in CLOSED:
            if status != WorkflowExecutionStatus.RUNNING or asyncio.get_running_loop().time() > end:
                raise RuntimeError(f"{self.workflow_id} run {self.first_run} ended {status}, not closed")
            await asyncio.sleep(0.05)
        return (await first.fetch_history()).to_json()


Recorder = Callable[[WorkflowEnvironment, str], Awaitable[str]]


async def _case(
    env: WorkflowEnvironment,
    queue: str,
    process: str,
    case_id: str,
    play: Callable[[Scenario], Awaitable[None]],
) -> str:
    await to_next_monday_morning(env)
    async with run_worker(env.client, queue) as published:
        scenario = Scenario(env, queue, process, case_id, published)
        await play(scenario)
        return await scenario.history_json()


async def case_transfer(env: WorkflowEnvironment, queue: str) -> str:
    """Forward path, longest way round: the opening redelivered, the head decides late (breach,
    escalation to the justice bureau, discipline proposal), the police refuse, reconsideration
    upholds, the procuratorate supervises, asks the police to explain and orders filing,
    materials handed over, criminal outcome reported."""

    async def play(c: Scenario) -> None:
        opening, _ = await c.submit(c.envelope("crime_suspected"))
        await c.redeliver(opening)
        await c.send("team_formed")
        await c.send("transfer_report_submitted")
        await c.past_deadline("case_transfer.head_decision")
        await c.send("head_decided")
        await c.send("transferred")
        await c.send("police_received")
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

    return await _case(env, queue, "case_transfer", "REPLAY-CT-1", play)


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

    return await _case(env, queue, "reverse_transfer", "REPLAY-RT-1", play)


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
        raised, _ = await c.submit(c.envelope("dispute_raised"))
        await c.redeliver(raised)
        # A second opening event for the running case: the workflow answers the refusal itself.
        await c.deliver(c.envelope("dispute_raised"))
        await c.until(lambda: c.published.rejections, "the second dispute_raised to be refused")
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

    return await _case(env, queue, "jurisdiction_dispute", case_id, play)


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

    return await _case(env, queue, "discipline_referral", "REPLAY-DR-1", play)


DELEGATION = "power_delegation"
TOWNSHIP = "rz-dg-shijiu"
# A review comes a year after the items take effect: a year and two days is past it.
YEAR = timedelta(days=367)
ITEMS = ("ZH-0107", "ZH-0215", "SC-0032")


async def _granted_and_accepted(c: Scenario, effective_in: timedelta = timedelta(0)) -> None:
    """Grant the example's three items to 石臼街道, effective ``effective_in`` from today, and
    have the township accept them."""
    today = (await c.env.get_current_time()).astimezone(SHANGHAI).date()
    await c.send("delegation_granted", effective_date=(today + effective_in).isoformat())
    state = await c.send("delegation_accepted")
    assert state in ("accepted", "active"), state


async def _review_started(c: Scenario) -> None:
    await c.env.sleep(YEAR)
    await c.until(lambda: c.published.of_type(f"{DELEGATION}.review_started", c.case_id), "the review")


async def _new_run(c: Scenario) -> None:
    """Wait until the delegation continued as new after its first run."""
    end = asyncio.get_running_loop().time() + 15
    while (await c.handle.describe()).run_id == c.first_run:
        if asyncio.get_running_loop().time() > end:
            raise RuntimeError(f"{c.workflow_id} did not continue as new")
        await asyncio.sleep(0.05)


async def delegation_first_cycle(env: WorkflowEnvironment, queue: str) -> str:
    """Grant, accept, the township's cases, a year, the three assessments, the reviewer's
    decision from the console's Update (keep, adjust, revoke), continue-as-new into year two."""

    async def play(c: Scenario) -> None:
        await _granted_and_accepted(c)
        await c.send(
            "item_case_recorded", item_code="ZH-0107", activity="handled", case_no="石臼综执罚〔2027〕1号"
        )
        await c.send(
            "item_case_recorded", item_code="SC-0032", activity="complaint", case_no="石臼综执罚〔2027〕2号"
        )
        await _review_started(c)
        ratings = [{"item_code": code, "rating": "competent"} for code in ITEMS]
        await c.send("assessment_submitted", agency=TOWNSHIP, assessor_role="township", ratings=ratings)
        await c.send("assessment_submitted", agency="rz-dg-zhzfj", ratings=ratings[:2])
        state = await c.send("assessment_submitted")
        assert state == "assessed", state
        await decide_review(
            env.client,
            c.case_id,
            ReviewDecisionIn(
                decision_id="rec-decision-1",
                reviewer="rz-dg-sfj",
                document_no="东政字〔2027〕88号",
                decisions=(
                    ItemDecision(item_code="ZH-0107", outcome=ReviewOutcome.KEEP),
                    ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.ADJUST, new_scope="街道辖区全域"),
                    ItemDecision(item_code="SC-0032", outcome=ReviewOutcome.REVOKE, reason="评估为难以承接"),
                ),
            ),
        )
        await _new_run(c)

    return await _case(env, queue, DELEGATION, "REPLAY-PD-1", play)


async def delegation_early_return(env: WorkflowEnvironment, queue: str) -> str:
    """A future effective date (a timer), early revocations before and after it, the cases
    handed back and acknowledged, the delegation ended."""

    async def play(c: Scenario) -> None:
        await _granted_and_accepted(c, effective_in=timedelta(days=5))
        await c.send("item_revoked_early", item_codes=["ZH-0215"])
        await env.sleep(timedelta(days=6))
        await c.until(
            lambda: c.published.of_type(f"{DELEGATION}.items_effective", c.case_id),
            "the items to take effect",
        )
        await c.send("item_revoked_early", item_codes=["SC-0032", "ZH-0107"])
        await c.send("case_handed_over")
        await c.send("handover_acknowledged")
        await c.send("case_handed_over", item_code="ZH-0107", case_nos=[])
        state = await c.send(
            "handover_acknowledged", agency="rz-dg-zhzfj", item_code="ZH-0107", received_case_nos=[]
        )
        assert state == "ended", state

    return await _case(env, queue, DELEGATION, "REPLAY-PD-2", play)


async def delegation_window_breached(env: WorkflowEnvironment, queue: str) -> str:
    """A review whose assessment window is breached (escalation), then decided by the county
    government's own event; continue-as-new into year two."""

    async def play(c: Scenario) -> None:
        await _granted_and_accepted(c)
        await _review_started(c)
        await c.past_deadline(f"{DELEGATION}.assessment_window")
        await c.until(lambda: c.published.of_type("escalation.raised", c.case_id), "the escalation")
        keep = [{"item_code": code, "outcome": "keep"} for code in ITEMS]
        await c.send("review_decided", decisions=keep)
        await _new_run(c)

    return await _case(env, queue, DELEGATION, "REPLAY-PD-3", play)


SCENARIOS: dict[str, Recorder] = {
    "CaseTransfer": case_transfer,
    "ReverseTransfer": reverse_transfer,
    "JurisdictionDispute": jurisdiction_dispute,
    "DisciplineReferral": discipline_referral,
    "PowerDelegation_first_cycle": delegation_first_cycle,
    "PowerDelegation_early_return": delegation_early_return,
    "PowerDelegation_window_breached": delegation_window_breached,
}


async def record(names: list[str]) -> None:
    """Record the named scenarios (all when ``names`` is empty), each on a fresh test server so
    one scenario's skipped months never move another's clock."""
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; choose from {sorted(SCENARIOS)}")
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
