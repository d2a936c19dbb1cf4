"""Process 3 on the time-skipping server: every path of a discipline referral, its deadlines and
reminders, the hotline and case-transfer entry points, and that no clue content is published."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts.common import AttachmentKind
from contracts.discipline_referral import PUBLIC_FIELDS
from contracts.validation import EventRejected, validate_event
from contracts.workflow_io import CaseStatus
from tests.events import body, event, example, new_case_id
from tests.workflow_harness import CollectingPublisher, dumps, run_worker, send, start_case

pytestmark = pytest.mark.timeout(120)

P = "discipline_referral"
WF = "DisciplineReferral"


def content_strings() -> set[str]:
    """Every piece of clue content in the committed examples: the leaf strings of payload fields
    that are not public (ids, kinds, dates). None of them may ever appear on the bus."""
    found: set[str] = set()
    kinds = {k.value for k in AttachmentKind}

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if len(value) >= 4 and not value.startswith("rz-") and value not in kinds:
                found.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for process, names in ((P, PUBLIC_FIELDS), ("hotline", PUBLIC_FIELDS)):
        for event_type, public in names.items():
            if not event_type.startswith(process + "."):
                continue
            data = example(process, event_type.split(".", 1)[1])
            for key, value in data["payload"].items():
                if key not in public:
                    walk(value)
    return found


CONTENT = content_strings()


def assert_no_content(published: CollectingPublisher) -> None:
    text = dumps(published.events)
    leaked = sorted(s for s in CONTENT if s in text)
    assert not leaked, f"clue content on the bus: {leaked}"


class Referral:
    """Drives one referral workflow with example events at the test server's current time."""

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], case_id: str) -> None:
        self.env, self.handle, self.case_id = env, handle, case_id

    async def send(self, name: str, process: str = P, **changes: Any) -> str:
        now = await self.env.get_current_time()
        data = event(process, name, case_id=self.case_id, occurred_at=now.astimezone(), **changes)
        result = await send(self.handle, data)
        assert result.accepted and not result.duplicate
        return result.state

    async def refused(self, name: str, *, field: str, process: str = P, **changes: Any) -> str:
        now = await self.env.get_current_time()
        data = event(process, name, case_id=self.case_id, occurred_at=now.astimezone(), **changes)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(self.handle, data)
        cause = info.value.cause
        assert cause.details and cause.details[0]["field"] == field, cause
        return str(cause.message)

    async def status(self) -> Any:
        return await self.handle.query("status", result_type=CaseStatus)


_STARTED: list[WorkflowHandle[Any, Any]] = []


@pytest_asyncio.fixture(autouse=True)
async def _terminate_leftovers() -> AsyncIterator[None]:
    """Terminate what a test left running: skipped time is global to the test server, and the
    timers of a workflow whose worker is gone would stall the next test's sleep."""
    yield
    while _STARTED:
        handle = _STARTED.pop()
        try:
            await handle.terminate("test finished")
        except RPCError:
            pass  # already closed


async def open_referral(env: WorkflowEnvironment, task_queue: str) -> Referral:
    case_id = new_case_id("DR")
    handle = await start_case(env.client, task_queue, WF, P, case_id)
    _STARTED.append(handle)
    return Referral(env, handle, case_id)


def rules(published: CollectingPublisher, event_type: str, case_id: str) -> list[str]:
    return [e.deadline.rule for e in published.of_type(event_type, case_id) if e.deadline is not None]


async def _to_commission(r: Referral) -> None:
    assert await r.send("clue_identified") == "identified"
    assert await r.send("referral_approved") == "approved"
    assert await r.send("referred") == "referred"
    assert await r.send("referral_received") == "received"


@pytest.mark.parametrize(
    ("disposition", "state"),
    [
        ("talk_or_letter_inquiry", "inquiry"),
        ("preliminary_verification", "verification"),
        ("held_for_later", "held"),
        ("closed", "closed_by_commission"),
    ],
)
async def test_full_path_for_each_disposition(time_skipping_env, task_queue, disposition, state) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await _to_commission(r)
        assert await r.send("disposition_decided", disposition=disposition) == state
        if disposition == "held_for_later":
            # A clue held for later may be taken up again with another disposition.
            assert (
                await r.send("disposition_decided", disposition="preliminary_verification") == "verification"
            )
        assert await r.send("outcome_reported") == "rectifying"
        assert await r.send("rectified") == "rectified"

        status = await r.status()
        assert status.closed and status.state == "rectified"
        types = published.types(r.case_id)
        assert types[-1] == "case.closed"
        for step in (
            "opened",
            "approved",
            "sent",
            "accepted",
            "disposed",
            "outcome_received",
            "rectification_recorded",
        ):
            assert f"{P}.{step}" in types
        disposed = published.of_type(f"{P}.disposed", r.case_id)
        assert disposed[0].payload == {"disposition": disposition}
        set_rules = rules(published, "deadline.set", r.case_id)
        assert f"{P}.head_approval" in set_rules and f"{P}.disposition_expectation" in set_rules
        met = rules(published, "deadline.met", r.case_id)
        assert f"{P}.head_approval" in met and f"{P}.disposition_expectation" in met
        if disposition == "talk_or_letter_inquiry":
            assert f"{P}.inquiry_close" in set_rules and f"{P}.inquiry_close" in met
        else:
            assert f"{P}.inquiry_close" not in set_rules
        assert set(published.of_type("deadline.set", r.case_id)[0].parties) >= {"rz-scjgj"}
        assert_no_content(published)


async def test_outcome_without_rectification_concludes(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await _to_commission(r)
        await r.send("disposition_decided", disposition="closed")
        state = await r.send("outcome_reported", rectification_required=False, rectification_items=[])
        assert state == "concluded"
        assert (await r.status()).closed
        outcome = published.of_type(f"{P}.outcome_reported", r.case_id)[0]
        assert outcome.payload == {"rectification_required": False}
        assert_no_content(published)


async def test_head_declines(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified")
        assert await r.send("referral_declined") == "declined"
        status = await r.status()
        assert status.closed and status.state == "declined"
        assert rules(published, "deadline.met", r.case_id) == [f"{P}.head_approval"]
        declined = published.of_type(f"{P}.referral_declined", r.case_id)[0]
        assert declined.kind == "received" and declined.payload == {}
        assert_no_content(published)


async def test_late_head_is_warned_and_escalated_but_still_decides(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified")
        await time_skipping_env.sleep(timedelta(days=20))
        types = published.types(r.case_id)
        assert types.index("deadline.warning") < types.index("deadline.breached")
        escalations = published.of_type("escalation.raised", r.case_id)
        assert [e.payload["target"] for e in escalations] == ["rz-sfj"]
        assert (await r.status()).state == "identified"  # a deadline never decides
        assert await r.send("referral_approved") == "approved"
        late = published.of_type("deadline.met", r.case_id)[-1]
        assert late.payload == {"late": True}


async def test_forwarded_to_another_commission(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified")
        await r.send("referral_approved")
        await r.send("referred")
        state = await r.send(
            "referral_received", within_jurisdiction=False, reasons="按干部管理权限应由东港区办理"
        )
        assert state == "forward_pending"
        forward = [
            e for e in published.of_type("deadline.set", r.case_id) if e.deadline.rule == f"{P}.forward"
        ]
        assert (
            forward
            and forward[0].deadline.party == "rz-jwjw"
            and forward[0].deadline.counting == "working_days"
        )
        assert await r.send("referral_forwarded") == "forwarded"
        # The old commission no longer holds the clue; the new one signs for it.
        msg = await r.refused("referral_received", field="source_agency")
        assert "rz-dg-jwjw" in msg
        assert await r.send("referral_received", agency="rz-dg-jwjw") == "received"
        assert await r.send(
            "disposition_decided", agency="rz-dg-jwjw", disposition="preliminary_verification"
        )
        assert rules(published, "deadline.met", r.case_id).count(f"{P}.forward") == 1
        expectations = [
            e.deadline
            for e in published.of_type("deadline.set", r.case_id)
            if e.deadline.rule == f"{P}.disposition_expectation"
        ]
        assert [d.party for d in expectations] == ["rz-jwjw", "rz-dg-jwjw"]
        cancelled = rules(published, "deadline.cancelled", r.case_id)
        assert cancelled == [f"{P}.disposition_expectation"]
        status = await r.status()
        assert "rz-dg-jwjw" in status.data["commissions"] and status.data["commission"] == "rz-dg-jwjw"
        assert_no_content(published)


async def test_late_forward_escalates_to_city_commission(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send(
            "clue_identified",
            agency="rz-dg-scjgj",
            officials=[{"name": "某某", "position": "队员", "agency": "rz-dg-scjgj"}],
        )
        await r.send("referral_approved", agency="rz-dg-scjgj")
        await r.send("referred", agency="rz-dg-scjgj", commission="rz-dg-jwjw", managing_level="district")
        await r.send(
            "referral_received", agency="rz-dg-jwjw", within_jurisdiction=False, reasons="非本级管理"
        )
        await time_skipping_env.sleep(timedelta(days=12))
        escalations = [
            e
            for e in published.of_type("escalation.raised", r.case_id)
            if e.payload["rule"] == f"{P}.forward"
        ]
        assert [e.payload["target"] for e in escalations] == ["rz-jwjw"]


async def test_returned_closes_the_referral(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await _to_commission(r)
        assert await r.send("referral_returned") == "returned"
        status = await r.status()
        assert status.closed and status.state == "returned"
        assert "deadline.cancelled" in published.types(r.case_id)
        assert_no_content(published)


async def test_silent_commission_is_reminded_never_decided(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await _to_commission(r)
        await time_skipping_env.sleep(timedelta(days=65))
        reminders = published.of_type(f"{P}.reminder_sent", r.case_id)
        assert [m.payload for m in reminders] == [
            {"target": "rz-jwjw", "reminder": 1},
            {"target": "rz-jwjw", "reminder": 2},
        ]
        assert all(m.kind == "request" for m in reminders)
        assert published.types(r.case_id).count("deadline.warning") >= 2
        assert "escalation.raised" not in published.types(r.case_id)  # a reminder, never an escalation
        assert (await r.status()).state == "received"
        assert await r.send("disposition_decided") == "verification"
        assert (await r.status()).state == "verification"
        last_met = published.of_type("deadline.met", r.case_id)[-1].deadline
        assert last_met.rule == f"{P}.disposition_expectation" and last_met.deadline_id.endswith("#2")


async def test_refusals_name_the_field_and_reveal_no_content(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.refused("referral_approved", field="type")  # nothing identified yet
        await r.send("clue_identified")
        before = list(published.types(r.case_id))
        messages = [
            await r.refused("referral_approved", field="source_agency", agency="rz-sthjj"),
            await r.refused("clue_identified", field="type"),
        ]
        await r.send("referral_approved")
        messages.append(
            await r.refused(
                "referred", field="payload.commission", commission="rz-ls-jwjw", managing_level="district"
            )
        )
        assert "rz-ls-jwjw" in messages[-1]
        assert published.types(r.case_id) == [
            *before,
            f"{P}.referral_approved",
            "deadline.met",
            f"{P}.approved",
        ]
        for message in messages:
            assert not [s for s in CONTENT if s in message]


async def test_hotline_complaint_proposes_and_justice_bureau_confirms(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        assert await r.send("complaint_received", process="hotline") == "proposed"
        proposal = published.of_type(f"{P}.clue_proposed", r.case_id)[0]
        # The complaint is about a Donggang district agency: Donggang's justice bureau decides.
        assert proposal.payload == {
            "proposal_id": r.case_id,
            "source": "hotline_complaint",
            "justice_bureau": "rz-dg-sfj",
        }
        received = published.of_type("hotline.complaint_received", r.case_id)[0]
        assert received.payload == {} and received.actor == "rz-12345"
        await r.refused(
            "clue_identified",
            field="source_agency",
            agency="rz-sfj",
            source="hotline_complaint",
            proposal_id=r.case_id,
        )
        await r.refused(
            "clue_identified",
            field="payload.proposal_id",
            agency="rz-dg-sfj",
            source="hotline_complaint",
            proposal_id="OTHER-1",
        )
        state = await r.send(
            "clue_identified",
            agency="rz-dg-sfj",
            source="hotline_complaint",
            proposal_id=r.case_id,
            officials=[{"name": "吴某", "position": "执法队员", "agency": "rz-dg-zhzfj"}],
        )
        assert state == "identified"
        head = [e.deadline for e in published.of_type("deadline.set", r.case_id)][0]
        # A justice bureau that is itself late answers to its government.
        assert head.party == "rz-dg-sfj" and head.escalate_to == ("rz-dg",)
        assert_no_content(published)


async def test_hotline_proposal_dismissed(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("complaint_received", process="hotline")
        assert await r.send("proposal_dismissed", agency="rz-dg-sfj", proposal_id=r.case_id) == "dismissed"
        assert (await r.status()).closed
        assert published.of_type(f"{P}.proposal_dismissed", r.case_id)[0].payload == {
            "proposal_id": r.case_id
        }
        assert_no_content(published)


def test_complaint_outside_enforcement_misconduct_is_refused_with_reason() -> None:
    data = event("hotline", "complaint_received", category="consultation")
    with pytest.raises(EventRejected) as info:
        validate_event(body(data), "rz-12345")
    rejection = info.value.rejection
    assert rejection.field == "payload.category"
    assert "not point to enforcement misconduct" in rejection.reason
    assert validate_event(body(event("hotline", "complaint_received")), "rz-12345").envelope.type


def test_escalation_clue_needs_its_proposal() -> None:
    data = event(P, "clue_identified", agency="rz-sfj", source="case_transfer_escalation")
    with pytest.raises(EventRejected) as info:
        validate_event(body(data), "rz-sfj")
    rejection = info.value.rejection
    assert rejection.field == "payload" and rejection.reason.endswith(
        "proposal_id: required when source is case_transfer_escalation"
    )


async def test_late_case_transfer_proposes_a_clue_the_justice_bureau_confirms(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    ct_case = new_case_id("CT")
    async with run_worker(client, task_queue) as published:
        ct = await start_case(client, task_queue, "CaseTransfer", "case_transfer", ct_case)
        _STARTED.append(ct)
        now = await time_skipping_env.get_current_time()
        await send(
            ct, event("case_transfer", "crime_suspected", case_id=ct_case, occurred_at=now.astimezone())
        )
        await send(ct, event("case_transfer", "team_formed", case_id=ct_case, occurred_at=now.astimezone()))
        await send(
            ct,
            event(
                "case_transfer", "transfer_report_submitted", case_id=ct_case, occurred_at=now.astimezone()
            ),
        )
        await time_skipping_env.sleep(timedelta(days=10))
        breached = [
            e
            for e in published.of_type("deadline.breached", ct_case)
            if e.deadline.rule == "case_transfer.head_decision"
        ]
        assert breached, "the head's decision deadline was not breached"
        proposals = published.of_type(f"{P}.clue_proposed", ct_case)
        assert proposals, "the late case transfer emitted no discipline_referral.clue_proposed"
        proposal = proposals[0].payload
        assert proposal["agency"] == "rz-scjgj" and proposal["rule"] == "case_transfer.head_decision"
        assert ct_case in (proposal.get("case_transfer_case_id"), proposal.get("case_id"))
        justice = proposal.get("justice_bureau") or proposal.get("confirm_by")
        assert justice == "rz-sfj"

        r = await open_referral(time_skipping_env, task_queue)
        state = await r.send(
            "clue_identified",
            agency=justice,
            source="case_transfer_escalation",
            proposal_id=proposal["proposal_id"],
            related_process="case_transfer",
            related_case_id=ct_case,
        )
        assert state == "identified"
        opened = published.of_type(f"{P}.opened", r.case_id)[0]
        assert (
            opened.payload["proposal_id"] == proposal["proposal_id"]
            and opened.payload["related_case_id"] == ct_case
        )
