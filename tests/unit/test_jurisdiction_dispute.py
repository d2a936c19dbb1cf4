"""Process 2, jurisdiction dispute coordination, on the time-skipping server.

Agency steps go through the ``receive`` Update as intake sends them; coordinator steps go through
``services.disputes.client``, the same functions the console calls, so the refusal mapping is
tested with the validators.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import chinese_calendar
import pytest
from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from contracts.domain import DomainEvent
from contracts.jurisdiction_dispute import (
    ClaimInput,
    DesignateInput,
    DisputeKind,
    DisputeRaised,
    ExtendInput,
    InterimAgencyInput,
    PartyClaim,
    Position,
    ReferInput,
    RequestOpinionsInput,
    UnclaimInput,
    coordinating_office,
    first_to_file,
    government_of,
)
from contracts.workflow_io import CaseStatus
from services.disputes import client as dc
from services.update_refusals import ActionRefused
from tests.events import event, example, new_case_id
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case

pytestmark = pytest.mark.timeout(90)

PROCESS = "jurisdiction_dispute"
WF = "JurisdictionDispute"
A, B = "rz-hyfzj", "rz-scjgj"  # the parties of the committed examples
OFFICE, GOV = "rz-sfj", "rz-gov"
SH = timezone(timedelta(hours=8))
NEGOTIATION = "jurisdiction_dispute.negotiation"
ACCEPTANCE = "jurisdiction_dispute.coordination_acceptance"
DESIGNATION = "jurisdiction_dispute.designation"
ACKNOWLEDGEMENT = "jurisdiction_dispute.acknowledgement"


def ev(name: str, case_id: str, **changes: Any) -> dict[str, Any]:
    return event(PROCESS, name, case_id=case_id, **changes)


def coord(user: str = "u-coord-1", agency: str = OFFICE, **extra: Any) -> dict[str, Any]:
    return {
        "coordinator": user,
        "coordinator_name": "张明" if user == "u-coord-1" else "李华",
        "coordinator_agency": agency,
        **extra,
    }


async def status(handle: WorkflowHandle[Any, Any]) -> CaseStatus:
    return await handle.query("status", result_type=CaseStatus)


async def raised(client: Client, task_queue: str, case_id: str, **changes: Any) -> WorkflowHandle[Any, Any]:
    handle = await start_case(client, task_queue, WF, PROCESS, case_id)
    await send(handle, ev("dispute_raised", case_id, **changes))
    return handle


async def accepted(client: Client, task_queue: str, case_id: str) -> WorkflowHandle[Any, Any]:
    handle = await raised(client, task_queue, case_id)
    await send(handle, ev("coordination_requested", case_id))
    await send(handle, ev("coordination_accepted", case_id))
    return handle


async def refused(
    published: CollectingPublisher,
    case_id: str,
    handle: WorkflowHandle[Any, Any],
    call: Any,
    field: str,
    words: str,
) -> None:
    """The action is refused with ``field`` and a reason containing ``words``; nothing changes."""
    before_events = list(published.types(case_id))
    before = await status(handle)
    with pytest.raises(ActionRefused) as info:
        await call
    assert info.value.field == field, info.value
    assert words in info.value.reason, info.value.reason
    after = await status(handle)
    assert published.types(case_id) == before_events
    assert (after.state, after.data, len(after.history)) == (before.state, before.data, len(before.history))


async def finished(handle: WorkflowHandle[Any, Any]) -> CaseStatus:
    """Wait for the workflow to end and read its result."""
    result = await handle.result()
    return result if isinstance(result, CaseStatus) else CaseStatus.model_validate(result)


def breach_sequence(published: CollectingPublisher, case_id: str, rule: str) -> tuple[list[str], list[str]]:
    """Deadline event types of one rule in order, and the escalation targets of its breach."""
    kinds = [
        e.type
        for e in published.events
        if e.case_id == case_id
        and e.deadline is not None
        and e.deadline.rule == rule
        and e.type.startswith("deadline.")
    ]
    targets = [
        e.payload["target"]
        for e in published.of_type("escalation.raised", case_id)
        if e.payload["rule"] == rule
    ]
    return kinds, targets


def sh(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment on the Shanghai wall clock."""
    return datetime(y, m, d, hour, minute, tzinfo=SH)


def working_day_after(day: date, n: int) -> date:
    """The n-th working day after ``day`` on China's official calendar (``day`` not counted)."""
    while n:
        day += timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


def working_day_before(day: date, n: int) -> date:
    """The n-th working day before ``day`` (``day`` not counted)."""
    while n:
        day -= timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


def end_of(last_day: date) -> datetime:
    """The due instant of a period whose last day is ``last_day``: 00:00 of the next day."""
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=SH)


def of_rule(published: CollectingPublisher, case_id: str, event_type: str, rule: str) -> list[DomainEvent]:
    return [e for e in published.of_type(event_type, case_id) if e.deadline and e.deadline.rule == rule]


def deadline_trail(published: CollectingPublisher, case_id: str, rule: str) -> list[str]:
    """Every deadline event of ``rule`` as 'type:status', in order."""
    return [
        f"{e.type}:{e.deadline.status}"
        for e in published.events
        if e.case_id == case_id and e.deadline and e.deadline.rule == rule and e.type.startswith("deadline.")
    ]


def refusal_of(info: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> dict[str, str]:
    details = info.value.cause.details[0]  # type: ignore[union-attr]
    return {"field": details["field"], "reason": details["reason"]}


# Filing dates before the dates the time tests raise their disputes on.
def claims_filed(first: str, second: str) -> list[dict[str, Any]]:
    good = example(PROCESS, "dispute_raised")["payload"]["claims"]
    return [{**good[0], "filed_on": first}, {**good[1], "filed_on": second}]


NEGATIVE_CLAIMS = [
    {"agency": "rz-dg-scjgj", "position": "declines", "legal_basis": "《食品安全法》", "filed_on": None},
    {"agency": "rz-dg-zhzfj", "position": "declines", "legal_basis": "《山东省综合行政执法条例》"},
]


# ----- the paths of DOMAIN.md process 2 --------------------------------------------------------------


async def test_agreement_signed_by_every_party_within_the_window(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await raised(client, task_queue, case_id)
        opened = published.of_type("jurisdiction_dispute.opened", case_id)[0]
        assert opened.state == "negotiating" and opened.actor == B
        assert opened.payload["coordinator_office"] == OFFICE and opened.payload["parties"] == [A, B]
        assert opened.payload["suggestion"]["agency"] == A
        assert opened.payload["suggestion"]["filing_dates"] == {A: "2026-10-08", B: "2026-10-15"}
        negotiation = published.of_type("deadline.set", case_id)[0].deadline
        assert negotiation is not None and negotiation.rule == "jurisdiction_dispute.negotiation"
        assert negotiation.counting == "working_days" and negotiation.length == 5
        # A window of every party: letting it lapse escalates nobody.
        assert negotiation.nature == "window" and negotiation.party is None
        assert negotiation.escalate_to == ()

        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(handle, ev("agreement_reached", case_id, signatories=[B]))
        assert "missing: rz-hyfzj" in str(info.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(handle, ev("agreement_reached", case_id, agreed_agency="rz-gaj"))
        assert "not a party" in str(info.value.cause)

        result = await send(handle, ev("agreement_reached", case_id))
        assert result.state == "agreed"
        final = await finished(handle)
        assert final.closed and final.state == "agreed"
        closed = published.of_type("case.closed", case_id)[0]
        assert closed.payload == {"state": "agreed", "agency": A, "by": "agreement"}
        assert [e.deadline.status for e in published.of_type("deadline.met", case_id)] == ["met"]  # type: ignore[union-attr]
        assert "deadline.breached" not in published.types(case_id)


async def test_no_agreement_coordination_opinions_designation_acknowledged(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await raised(client, task_queue, case_id)
        result = await send(handle, ev("coordination_requested", case_id))
        assert result.state == "coordination_requested"
        acceptance = [e.deadline for e in published.of_type("deadline.set", case_id)][-1]
        assert acceptance is not None and acceptance.party == OFFICE and acceptance.escalate_to == (GOV,)
        assert (
            published.of_type("deadline.cancelled", case_id)[0].deadline.rule
            == "jurisdiction_dispute.negotiation"
        )  # type: ignore[union-attr]

        assert (await send(handle, ev("coordination_accepted", case_id))).state == "coordinating"
        designation = [e.deadline for e in published.of_type("deadline.set", case_id)][-1]
        assert designation is not None and designation.rule == "jurisdiction_dispute.designation"
        assert designation.length == 15

        claimed = await dc.claim(client, case_id, ClaimInput(**coord()))
        assert claimed.claimed_by == "u-coord-1" and claimed.state == "coordinating" and not claimed.duplicate
        again = await dc.claim(client, case_id, ClaimInput(**coord()))
        assert again.duplicate and published.types(case_id).count("jurisdiction_dispute.claimed") == 1

        asked = await dc.request_opinions(
            client, case_id, RequestOpinionsInput(**coord(), agencies=[A, B], note="请于期限内提交书面意见")
        )
        assert asked.state == "opinions_requested"
        request = published.of_type("jurisdiction_dispute.opinion_requested", case_id)[0]
        assert (
            request.actor == "u-coord-1"
            and request.kind == "request"
            and request.payload["agencies"] == [A, B]
        )
        opinion_deadlines = [
            e.deadline
            for e in published.of_type("deadline.set", case_id)
            if e.deadline.rule.endswith(".opinion")
        ]  # type: ignore[union-attr]
        assert sorted(d.party for d in opinion_deadlines) == [A, B]  # type: ignore[union-attr]

        assert (await send(handle, ev("opinion_submitted", case_id, agency=A))).state == "opinions_requested"
        with pytest.raises(WorkflowUpdateFailedError):  # nobody asked rz-gaj
            await send(handle, ev("opinion_submitted", case_id, agency="rz-gaj"))
        assert (await send(handle, ev("opinion_submitted", case_id, agency=B))).state == "coordinating"

        designated = await dc.designate(
            client, case_id, DesignateInput(**coord(), agency=A, reason="最先立案，且属渔业管理事项")
        )
        assert designated.state == "designated" and designated.designated_agency == A
        decision = published.of_type("jurisdiction_dispute.jurisdiction_designated", case_id)[0]
        assert decision.actor == "u-coord-1" and decision.payload["follows_suggestion"] is True
        assert decision.payload["coordinator_agency"] == OFFICE
        ack = [e.deadline for e in published.of_type("deadline.set", case_id)][-1]
        assert ack is not None and ack.rule == "jurisdiction_dispute.acknowledgement" and ack.party == A

        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(handle, ev("designation_acknowledged", case_id, agency=B))
        assert "was not designated" in str(info.value.cause)
        assert (await send(handle, ev("designation_acknowledged", case_id))).state == "resolved"
        final = await finished(handle)
        assert final.closed and final.open_deadlines == ()
        assert "deadline.breached" not in published.types(case_id)


async def test_coordination_rejected_ends_the_dispute(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await raised(client, task_queue, case_id)
        with pytest.raises(WorkflowUpdateFailedError):  # nothing to reject before a request
            await send(handle, ev("coordination_rejected", case_id))
        await send(handle, ev("coordination_requested", case_id))
        with pytest.raises(WorkflowUpdateFailedError) as info:  # only the coordinating office decides
            await send(handle, ev("coordination_rejected", case_id, agency="rz-dg-sfj"))
        assert "only the coordinating office rz-sfj" in str(info.value.cause)
        result = await send(handle, ev("coordination_rejected", case_id))
        assert result.state == "coordination_rejected"
        final = await finished(handle)
        assert final.closed
        assert published.of_type("case.closed", case_id)[0].payload["reason"].startswith("该事项已由人民法院")


async def test_breaches_at_every_stage_warn_and_escalate_without_deciding(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await raised(client, task_queue, case_id)
        await time_skipping_env.sleep(timedelta(days=12))
        kinds, targets = breach_sequence(published, case_id, NEGOTIATION)
        assert kinds == ["deadline.set", "deadline.warning", "deadline.lapsed"] and targets == []
        assert (await status(handle)).state == "coordination_requested"  # moved on by the lapse

        # A party asking now changes nothing: the office's clock runs from the lapse.
        assert (await send(handle, ev("coordination_requested", case_id))).state == "coordination_requested"
        await time_skipping_env.sleep(timedelta(days=8))
        kinds, targets = breach_sequence(published, case_id, ACCEPTANCE)
        assert kinds == ["deadline.set", "deadline.warning", "deadline.breached"] and targets == [GOV]
        assert (await status(handle)).state == "coordination_requested"

        await send(handle, ev("coordination_accepted", case_id))  # late: the breach stays on record
        met = [e for e in published.of_type("deadline.met", case_id) if e.deadline.rule == ACCEPTANCE]  # type: ignore[union-attr]
        accepted_at = published.of_type("jurisdiction_dispute.coordination_accepted", case_id)[0].occurred_at
        late = int((accepted_at - met[0].deadline.due_at).total_seconds())  # type: ignore[union-attr]
        assert late > 0 and met[0].payload == {"late": True, "late_seconds": late}
        await dc.claim(client, case_id, ClaimInput(**coord()))
        await dc.request_opinions(client, case_id, RequestOpinionsInput(**coord(), agencies=[B]))
        await time_skipping_env.sleep(timedelta(days=13))
        kinds, targets = breach_sequence(published, case_id, "jurisdiction_dispute.opinion")
        assert kinds == ["deadline.set", "deadline.warning", "deadline.breached"] and targets == [OFFICE]
        assert (await status(handle)).state == "opinions_requested"

        await time_skipping_env.sleep(timedelta(days=20))
        kinds, targets = breach_sequence(published, case_id, "jurisdiction_dispute.designation")
        assert kinds == ["deadline.set", "deadline.warning", "deadline.breached"] and targets == [GOV]
        await refused(
            published,
            case_id,
            handle,
            dc.extend(client, case_id, ExtendInput(**coord(), working_days=5, reason="需补充调查")),
            "working_days",
            "already passed",
        )

        await dc.designate(client, case_id, DesignateInput(**coord(), agency=B, reason="产品进入流通环节"))
        cancelled = [e.deadline.rule for e in published.of_type("deadline.cancelled", case_id)]  # type: ignore[union-attr]
        assert "jurisdiction_dispute.opinion" in cancelled  # the overdue opinion no longer applies
        assert [d.rule for d in (await status(handle)).open_deadlines] == [
            "jurisdiction_dispute.acknowledgement"
        ]
        await time_skipping_env.sleep(timedelta(days=6))
        kinds, targets = breach_sequence(published, case_id, "jurisdiction_dispute.acknowledgement")
        assert kinds == ["deadline.set", "deadline.warning", "deadline.breached"] and targets == [OFFICE]
        assert (await status(handle)).state == "designated"
        assert (await send(handle, ev("designation_acknowledged", case_id, agency=B))).state == "resolved"
        await handle.result()


async def test_extension_once_with_reason_and_never_twice(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await accepted(client, task_queue, case_id)
        await dc.claim(client, case_id, ClaimInput(**coord()))
        await refused(
            published,
            case_id,
            handle,
            dc.extend(client, case_id, ExtendInput(**coord(), working_days=5, reason="  ")),
            "reason",
            "needs written reasons",
        )
        designation = published.of_type("deadline.set", case_id)[-1].deadline
        assert designation is not None
        result = await dc.extend(
            client, case_id, ExtendInput(**coord(), working_days=5, reason="需等待鉴定结论")
        )
        extension = published.of_type("deadline.set", case_id)[-1].deadline
        assert extension is not None and extension.rule == "jurisdiction_dispute.extension"
        assert extension.length == 5 and extension.escalate_to == (GOV,)
        assert extension.due_at > designation.due_at
        assert (extension.due_at - designation.due_at) >= timedelta(days=5)
        assert result.due_at == extension.due_at.isoformat()
        assert (
            published.of_type("deadline.cancelled", case_id)[-1].deadline.rule
            == "jurisdiction_dispute.designation"
        )  # type: ignore[union-attr]
        assert published.of_type("jurisdiction_dispute.extended", case_id)[0].actor == "u-coord-1"

        await refused(
            published,
            case_id,
            handle,
            dc.extend(client, case_id, ExtendInput(**coord(), working_days=2, reason="再次延长")),
            "working_days",
            "already extended once",
        )
        await dc.designate(client, case_id, DesignateInput(**coord(), agency=A, reason="最先立案"))
        assert (
            published.of_type("deadline.met", case_id)[-1].deadline.rule == "jurisdiction_dispute.extension"
        )  # type: ignore[union-attr]
        await send(handle, ev("designation_acknowledged", case_id))
        await handle.result()


async def test_referral_to_the_government_which_designates(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await accepted(client, task_queue, case_id)
        await dc.claim(client, case_id, ClaimInput(**coord()))
        await dc.request_opinions(client, case_id, RequestOpinionsInput(**coord(), agencies=[A]))
        await refused(
            published,
            case_id,
            handle,
            dc.refer_to_government(client, case_id, ReferInput(**coord(), reason="")),
            "reason",
            "needs written reasons",
        )
        result = await dc.refer_to_government(
            client, case_id, ReferInput(**coord(), reason="双方分歧较大，协调不成")
        )
        assert result.state == "referred_to_government" and result.claimed_by is None
        referral = published.of_type("jurisdiction_dispute.referred_to_government", case_id)[0]
        assert referral.payload["government"] == GOV and referral.actor == "u-coord-1"
        cancelled = {e.deadline.rule for e in published.of_type("deadline.cancelled", case_id)}  # type: ignore[union-attr]
        assert {"jurisdiction_dispute.opinion", "jurisdiction_dispute.designation"} <= cancelled

        await refused(
            published,
            case_id,
            handle,
            dc.claim(client, case_id, ClaimInput(**coord())),
            "coordinator_agency",
            "rz-gov does",
        )
        await dc.claim(client, case_id, ClaimInput(**coord("u-gov-1", GOV)))
        designated = await dc.designate(
            client, case_id, DesignateInput(**coord("u-gov-1", GOV), agency=B, reason="市政府决定")
        )
        assert designated.state == "designated"
        decision = published.of_type("jurisdiction_dispute.jurisdiction_designated", case_id)[0]
        assert decision.payload["by"] == "government" and decision.payload["follows_suggestion"] is False
        await send(handle, ev("designation_acknowledged", case_id, agency=B))
        final = await finished(handle)
        assert published.of_type("case.closed", case_id)[0].payload["by"] == "government" and final.closed


async def test_every_validator_refusal_changes_nothing(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await raised(client, task_queue, case_id)
        await refused(
            published,
            case_id,
            handle,
            dc.claim(client, case_id, ClaimInput(**coord())),
            "state",
            "state negotiating",
        )
        await send(handle, ev("coordination_requested", case_id))
        await send(handle, ev("coordination_accepted", case_id))

        await refused(
            published,
            case_id,
            handle,
            dc.designate(client, case_id, DesignateInput(**coord(), agency=A, reason="理由")),
            "coordinator",
            "claim the dispute before",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.claim(client, case_id, ClaimInput(**coord(agency="rz-dg-sfj"))),
            "coordinator_agency",
            "does not decide this dispute",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.unclaim(client, case_id, UnclaimInput(**coord())),
            "coordinator",
            "claim the dispute before",
        )
        await dc.claim(client, case_id, ClaimInput(**coord(), request_id="form-1"))
        repeat = await dc.claim(client, case_id, ClaimInput(**coord("u-coord-2"), request_id="form-1"))
        assert repeat.claimed_by == "u-coord-1"  # the same form twice claims once, for its first sender
        assert published.types(case_id).count("jurisdiction_dispute.claimed") == 1
        await refused(
            published,
            case_id,
            handle,
            dc.claim(client, case_id, ClaimInput(**coord("u-coord-2"))),
            "coordinator",
            "claimed by 张明 (u-coord-1)",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.designate(client, case_id, DesignateInput(**coord("u-coord-2"), agency=A, reason="理由")),
            "coordinator",
            "claimed by",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.unclaim(client, case_id, UnclaimInput(**coord("u-coord-2"))),
            "coordinator",
            "claimed by",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.designate(client, case_id, DesignateInput(**coord(), agency="rz-gaj", reason="理由")),
            "agency",
            "rz-gaj is not a party",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.designate(client, case_id, DesignateInput(**coord(), agency=A, reason="")),
            "reason",
            "a designation needs written reasons",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.request_opinions(client, case_id, RequestOpinionsInput(**coord(), agencies=["rz-slj"])),
            "agencies",
            "rz-slj is not a party",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.request_opinions(
                client, case_id, RequestOpinionsInput(**coord(), agencies=[A], due_date=date(2020, 1, 6))
            ),
            "due_date",
            "not after today",
        )
        await refused(
            published,
            case_id,
            handle,
            dc.name_interim_agency(
                client, case_id, InterimAgencyInput(**coord(), agency=A, measures="证据保全", reason="紧急")
            ),
            "agency",
            "only in a negative dispute",
        )
        with pytest.raises(ActionRefused) as info:
            await dc.claim(client, new_case_id("NONE"), ClaimInput(**coord()))
        assert info.value.field == "case_id"
        with pytest.raises(ActionRefused) as info:
            await dc.claim(client, "bad id/with slash", ClaimInput(**coord()))
        assert info.value.field == "case_id"
        with pytest.raises(ValidationError):  # the model itself bounds an extension
            ExtendInput(**coord(), working_days=11, reason="太长")

        released = await dc.unclaim(client, case_id, UnclaimInput(**coord(), reason="休假"))
        assert released.claimed_by is None
        await dc.claim(client, case_id, ClaimInput(**coord("u-coord-2")))
        await dc.designate(client, case_id, DesignateInput(**coord("u-coord-2"), agency=A, reason="最先立案"))
        await refused(
            published,
            case_id,
            handle,
            dc.designate(client, case_id, DesignateInput(**coord("u-coord-2"), agency=B, reason="改变主意")),
            "state",
            "state designated",
        )
        await send(handle, ev("designation_acknowledged", case_id))
        await handle.result()
        with pytest.raises(ActionRefused) as info:
            await dc.claim(client, case_id, ClaimInput(**coord()))
        assert info.value.field == "case_id"


async def test_duplicate_events_are_ignored(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await start_case(client, task_queue, WF, PROCESS, case_id)
        first = ev("dispute_raised", case_id)
        await send(handle, first)
        assert (await send(handle, first, update_id="redelivered")).duplicate
        await send(handle, ev("coordination_requested", case_id))
        await send(handle, ev("coordination_accepted", case_id))
        await dc.claim(client, case_id, ClaimInput(**coord()))
        await dc.request_opinions(client, case_id, RequestOpinionsInput(**coord(), agencies=[A, B]))
        opinion = ev("opinion_submitted", case_id)
        await send(handle, opinion)
        assert (await send(handle, opinion, update_id="again")).duplicate
        assert (await status(handle)).data["opinions_pending"] == [B]
        for t in (
            "jurisdiction_dispute.dispute_raised",
            "jurisdiction_dispute.opened",
            "jurisdiction_dispute.opinion_submitted",
        ):
            assert published.types(case_id).count(t) == 1, t
        with pytest.raises(WorkflowUpdateFailedError) as info:  # a second, different raise is refused
            await send(handle, ev("dispute_raised", case_id))
        assert "already open" in str(info.value.cause)
        await dc.designate(client, case_id, DesignateInput(**coord(), agency=A, reason="最先立案"))
        await send(handle, ev("designation_acknowledged", case_id))
        await handle.result()


async def test_negative_dispute_interim_agency_and_no_suggestion(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    claims = [
        {"agency": "rz-dg-scjgj", "position": "declines", "legal_basis": "《食品安全法》", "filed_on": None},
        {"agency": "rz-dg-zhzfj", "position": "declines", "legal_basis": "《山东省综合行政执法条例》"},
    ]
    async with run_worker(client, task_queue) as published:
        handle = await raised(
            client, task_queue, case_id, kind="negative", claims=claims, agency="rz-dg-scjgj"
        )
        opened = published.of_type("jurisdiction_dispute.opened", case_id)[0]
        assert opened.payload["coordinator_office"] == "rz-dg-sfj" and opened.payload["government"] == "rz-dg"
        assert opened.payload["suggestion"]["agency"] is None
        await refused(
            published,
            case_id,
            handle,
            dc.name_interim_agency(
                client,
                case_id,
                InterimAgencyInput(
                    **coord(agency="rz-dg-sfj"), agency="rz-dg-shijiu", measures="", reason="防止证据灭失"
                ),
            ),
            "measures",
            "urgent measures",
        )
        result = await dc.name_interim_agency(
            client,
            case_id,
            InterimAgencyInput(
                **coord(agency="rz-dg-sfj"),
                agency="rz-dg-shijiu",
                measures="先行登记保存证据",
                reason="防止证据灭失",
            ),
        )
        assert result.state == "negotiating"
        named = published.of_type("jurisdiction_dispute.interim_agency_named", case_id)[0]
        assert named.actor == "u-coord-1" and named.payload["agency"] == "rz-dg-shijiu"
        assert (await status(handle)).data["interim_agency"] == "rz-dg-shijiu"
        await send(
            handle,
            ev(
                "agreement_reached",
                case_id,
                agency="rz-dg-scjgj",
                agreed_agency="rz-dg-zhzfj",
                signatories=["rz-dg-scjgj", "rz-dg-zhzfj"],
            ),
        )
        await handle.result()


# ----- negotiation lapses: the dispute goes to coordination by itself (art. 25) ------------------------


async def test_positive_dispute_goes_to_coordination_when_negotiation_lapses(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """The lapse is nobody's breach; the dispute is before the office at the lapse, and the
    parties' agreement, late, still ends it before the office has accepted."""
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await raised(client, task_queue, case_id)
        raised_on = published.of_type("jurisdiction_dispute.opened", case_id)[0].occurred_at.astimezone(SH)
        last_day = working_day_after(raised_on.date(), 5)
        due = end_of(last_day)
        await time_skipping_env.sleep(due - await time_skipping_env.get_current_time() + timedelta(hours=2))

        assert deadline_trail(published, case_id, NEGOTIATION)[-1] == "deadline.lapsed:lapsed"
        assert "deadline.breached" not in published.types(case_id)
        assert published.of_type("escalation.raised", case_id) == []
        moved = published.of_type("jurisdiction_dispute.taken_into_coordination", case_id)
        assert len(moved) == 1 and moved[0].occurred_at == due and moved[0].actor is None
        assert moved[0].state == "coordination_requested"
        assert moved[0].payload["kind"] == "positive" and moved[0].payload["coordinator_office"] == OFFICE
        acceptance = of_rule(published, case_id, "deadline.set", ACCEPTANCE)[0].deadline
        assert acceptance is not None and acceptance.party == OFFICE and acceptance.escalate_to == (GOV,)
        # Runs on from the negotiation's last day: three working days after it.
        assert acceptance.starts_at == datetime.combine(last_day, time(0), tzinfo=SH)
        assert acceptance.due_at == end_of(working_day_after(last_day, 3))
        assert (await status(handle)).state == "coordination_requested"

        # The parties sign after all, before the office took the dispute on: it ends, marked late.
        agreed = await send(handle, ev("agreement_reached", case_id))
        assert agreed.state == "agreed"
        met = of_rule(published, case_id, "deadline.met", NEGOTIATION)
        signed_at = published.of_type("jurisdiction_dispute.agreement_reached", case_id)[0].occurred_at
        assert met[0].payload == {"late": True, "late_seconds": int((signed_at - due).total_seconds())}
        assert deadline_trail(published, case_id, ACCEPTANCE)[-1] == "deadline.cancelled:cancelled"
        await handle.result()


async def test_negative_dispute_goes_to_coordination_and_the_office_cannot_ignore_it(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """Nobody will ask for coordination when every party declines the case: the lapse moves it,
    and an office that does not decide is escalated to its government."""
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await raised(
            client, task_queue, case_id, kind="negative", claims=NEGATIVE_CLAIMS, agency="rz-dg-scjgj"
        )
        raised_on = published.of_type("jurisdiction_dispute.opened", case_id)[0].occurred_at.astimezone(SH)
        last_day = working_day_after(raised_on.date(), 5)
        acceptance_due = end_of(working_day_after(last_day, 3))
        await time_skipping_env.sleep(
            acceptance_due - await time_skipping_env.get_current_time() + timedelta(hours=2)
        )

        moved = published.of_type("jurisdiction_dispute.taken_into_coordination", case_id)
        assert len(moved) == 1 and moved[0].occurred_at == end_of(last_day)
        assert (
            moved[0].payload["kind"] == "negative" and moved[0].payload["coordinator_office"] == "rz-dg-sfj"
        )
        breached = of_rule(published, case_id, "deadline.breached", ACCEPTANCE)
        assert len(breached) == 1 and breached[0].occurred_at == acceptance_due
        escalations = [e for e in published.of_type("escalation.raised", case_id)]
        assert [(e.payload["rule"], e.payload["target"]) for e in escalations] == [(ACCEPTANCE, "rz-dg")]
        assert (await status(handle)).state == "coordination_requested"

        result = await send(handle, ev("coordination_accepted", case_id, agency="rz-dg-sfj"))
        assert result.state == "coordinating"
        with pytest.raises(WorkflowUpdateFailedError) as info:  # too late now: the office decides
            await send(
                handle,
                ev(
                    "agreement_reached",
                    case_id,
                    agency="rz-dg-scjgj",
                    agreed_agency="rz-dg-zhzfj",
                    signatories=["rz-dg-scjgj", "rz-dg-zhzfj"],
                ),
            )
        assert "state coordinating" in refusal_of(info)["reason"]


async def test_dispute_reported_ten_working_days_late_is_in_coordination_at_once(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """Raised 10 working days ago: the negotiation and the office's 3 days both ran out before
    Lawlink heard of it. Each falls due at once, dated at its true due date, without a warning."""
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    today = (await time_skipping_env.get_current_time()).astimezone(SH).date()
    raised_on = working_day_before(today, 10)
    negotiation_last = working_day_after(raised_on, 5)
    acceptance_last = working_day_after(negotiation_last, 3)
    async with run_worker(client, task_queue) as published:
        handle = await start_case(client, task_queue, WF, PROCESS, case_id)
        occurred = datetime.combine(raised_on, time(10), tzinfo=SH)
        result = await send(handle, ev("dispute_raised", case_id, occurred_at=occurred))
        assert result.state == "coordination_requested"

        assert deadline_trail(published, case_id, NEGOTIATION) == [
            "deadline.set:open",
            "deadline.lapsed:lapsed",
        ]
        negotiation = of_rule(published, case_id, "deadline.set", NEGOTIATION)[0].deadline
        assert negotiation is not None and negotiation.starts_at == occurred
        assert negotiation.due_at == end_of(negotiation_last)
        assert of_rule(published, case_id, "deadline.lapsed", NEGOTIATION)[0].occurred_at == end_of(
            negotiation_last
        )
        moved = published.of_type("jurisdiction_dispute.taken_into_coordination", case_id)
        assert moved[0].occurred_at == end_of(negotiation_last)

        assert deadline_trail(published, case_id, ACCEPTANCE) == [
            "deadline.set:open",
            "deadline.breached:breached",
        ]
        breach = of_rule(published, case_id, "deadline.breached", ACCEPTANCE)[0]
        assert breach.deadline is not None and breach.deadline.due_at == end_of(acceptance_last)
        assert breach.occurred_at == end_of(acceptance_last)
        escalation = published.of_type("escalation.raised", case_id)
        assert [(e.payload["target"], e.occurred_at) for e in escalation] == [(GOV, end_of(acceptance_last))]
        assert "deadline.warning" not in published.types(case_id)
        current = await status(handle)
        assert current.data["negotiation_lapsed_at"] == end_of(negotiation_last).isoformat()
        await handle.terminate("test finished")


async def test_national_day_2025_negotiation_and_an_agreement_signed_in_time(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """Raised Monday 2025-09-29. 2025-10-01..08 are off, Saturday 10-11 is worked: the five
    working days are 09-30, 10-09, 10-10, 10-11 and 10-13, so negotiation lapses at 10-14 00:00;
    the office's three are 10-14, 10-15 and 10-16. An agreement signed on 10-10 and reported
    a year later was in time: the lapse turns into a negotiation met on time."""
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await start_case(client, task_queue, WF, PROCESS, case_id)
        raised_at = sh(2025, 9, 29, 10)
        claims = claims_filed("2025-09-18", "2025-09-24")
        await send(handle, ev("dispute_raised", case_id, occurred_at=raised_at, claims=claims))

        negotiation = of_rule(published, case_id, "deadline.set", NEGOTIATION)[0].deadline
        assert negotiation is not None and negotiation.due_at == sh(2025, 10, 14)
        moved = published.of_type("jurisdiction_dispute.taken_into_coordination", case_id)
        assert moved[0].occurred_at == sh(2025, 10, 14)
        acceptance = of_rule(published, case_id, "deadline.set", ACCEPTANCE)[0].deadline
        assert acceptance is not None and acceptance.starts_at == sh(2025, 10, 13)
        assert acceptance.due_at == sh(2025, 10, 17)
        assert of_rule(published, case_id, "deadline.breached", ACCEPTANCE)[0].occurred_at == sh(2025, 10, 17)

        with pytest.raises(WorkflowUpdateFailedError) as info:  # before the dispute was raised
            await send(handle, ev("agreement_reached", case_id, occurred_at=sh(2025, 9, 28, 16)))
        refusal = refusal_of(info)
        assert refusal["field"] == "occurred_at" and "2025-09-29T10:00+08:00" in refusal["reason"]

        signed = sh(2025, 10, 10, 15, 30)
        assert (await send(handle, ev("agreement_reached", case_id, occurred_at=signed))).state == "agreed"
        met = of_rule(published, case_id, "deadline.met", NEGOTIATION)[0]
        assert met.payload == {"late": False, "late_seconds": 0} and met.occurred_at == signed
        assert met.deadline is not None and met.deadline.met_at == signed
        closed = published.of_type("case.closed", case_id)[0]
        assert closed.payload == {"state": "agreed", "agency": A, "by": "agreement"}
        assert closed.occurred_at == signed
        await handle.result()


async def test_spring_festival_2026_request_made_in_time_and_reported_late(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """Raised Tuesday 2026-02-10; 2026-02-15..23 are off, Saturdays 02-14 and 02-28 are worked.
    Negotiation: 02-11, 02-12, 02-13, 02-14, 02-24 -> lapses at 02-25 00:00; the office's clock
    from the lapse: 02-25, 02-26, 02-27. Then a party's request made on 02-12 arrives: the office's
    three days count from it (02-13, 02-14, 02-24 -> due 02-25 00:00). The office accepted on
    02-13, so the 15 days of designation run from that day: 02-14, 02-24..27, 02-28, 03-02..06,
    03-09..12 -> due 03-13 00:00."""
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await start_case(client, task_queue, WF, PROCESS, case_id)
        claims = claims_filed("2026-02-02", "2026-02-05")
        await send(handle, ev("dispute_raised", case_id, occurred_at=sh(2026, 2, 10, 9), claims=claims))
        negotiation = of_rule(published, case_id, "deadline.set", NEGOTIATION)[0].deadline
        assert negotiation is not None and negotiation.due_at == sh(2026, 2, 25)
        first = of_rule(published, case_id, "deadline.set", ACCEPTANCE)[0].deadline
        assert first is not None and first.starts_at == sh(2026, 2, 24) and first.due_at == sh(2026, 2, 28)

        requested = sh(2026, 2, 12, 15)
        result = await send(handle, ev("coordination_requested", case_id, agency=A, occurred_at=requested))
        assert result.state == "coordination_requested"
        # The negotiation ended with the request, in time: its lapse and the clock it started go.
        assert deadline_trail(published, case_id, NEGOTIATION) == [
            "deadline.set:open",
            "deadline.lapsed:lapsed",
            "deadline.cancelled:cancelled",
        ]
        acceptances = [e.deadline for e in of_rule(published, case_id, "deadline.set", ACCEPTANCE)]
        assert len(acceptances) == 2
        second = acceptances[1]
        assert second is not None and second.starts_at == requested and second.due_at == sh(2026, 2, 25)
        assert deadline_trail(published, case_id, ACCEPTANCE) == [
            "deadline.set:open",
            "deadline.breached:breached",
            "deadline.cancelled:cancelled",
            "deadline.set:open",
            "deadline.breached:breached",
        ]
        assert (await status(handle)).data["coordination_requested_by"] == A

        with pytest.raises(WorkflowUpdateFailedError) as info:  # before the request it answers
            await send(handle, ev("coordination_accepted", case_id, occurred_at=sh(2026, 2, 12, 14)))
        refusal = refusal_of(info)
        assert refusal["field"] == "occurred_at" and "2026-02-12T15:00+08:00" in refusal["reason"]

        accepted_at = sh(2026, 2, 13, 10)
        result = await send(handle, ev("coordination_accepted", case_id, occurred_at=accepted_at))
        assert result.state == "coordinating"
        met = of_rule(published, case_id, "deadline.met", ACCEPTANCE)[-1]
        assert met.payload == {"late": False, "late_seconds": 0, "breach_withdrawn": True}
        withdrawn = published.of_type("escalation.withdrawn", case_id)
        assert [(e.payload["target"], e.occurred_at) for e in withdrawn] == [(GOV, accepted_at)]
        designation = of_rule(published, case_id, "deadline.set", DESIGNATION)[0].deadline
        assert designation is not None and designation.starts_at == accepted_at
        assert designation.due_at == sh(2026, 3, 13)
        assert (await status(handle)).data["accepted_at"] == accepted_at.isoformat()
        await handle.terminate("test finished")


async def test_coordination_request_dated_days_back_counts_from_its_occurred_at(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """Steps reported days after they happened: each clock counts from when its step happened,
    not from when Lawlink heard of it."""
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    now = (await time_skipping_env.get_current_time()).astimezone(SH)
    raised_at, requested_at, accepted_at = (now - timedelta(days=d) for d in (3, 2, 1))
    async with run_worker(client, task_queue) as published:
        handle = await start_case(client, task_queue, WF, PROCESS, case_id)
        await send(handle, ev("dispute_raised", case_id, occurred_at=raised_at))
        await send(handle, ev("coordination_requested", case_id, occurred_at=requested_at))
        acceptance = of_rule(published, case_id, "deadline.set", ACCEPTANCE)[0].deadline
        assert acceptance is not None and acceptance.starts_at == requested_at
        assert acceptance.due_at == end_of(working_day_after(requested_at.date(), 3))

        await send(handle, ev("coordination_accepted", case_id, occurred_at=accepted_at))
        designation = of_rule(published, case_id, "deadline.set", DESIGNATION)[0].deadline
        assert designation is not None and designation.starts_at == accepted_at
        assert designation.due_at == end_of(working_day_after(accepted_at.date(), 15))
        current = await status(handle)
        assert current.data["accepted_at"] == accepted_at.isoformat()
        assert current.data["coordination_requested_at"] == requested_at.isoformat()
        assert [e.deadline.status for e in of_rule(published, case_id, "deadline.met", ACCEPTANCE)] == ["met"]  # type: ignore[union-attr]
        await handle.terminate("test finished")


async def test_acknowledgement_dated_before_the_designation_is_refused(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await accepted(client, task_queue, case_id)
        await dc.claim(client, case_id, ClaimInput(**coord()))
        await dc.designate(client, case_id, DesignateInput(**coord(), agency=A, reason="最先立案"))
        decision = published.of_type("jurisdiction_dispute.jurisdiction_designated", case_id)[0]
        designated_at = decision.occurred_at.astimezone(SH)  # when the Update ran
        ack = of_rule(published, case_id, "deadline.set", ACKNOWLEDGEMENT)[0].deadline
        assert ack is not None and ack.starts_at == designated_at
        assert ack.due_at == end_of(working_day_after(designated_at.date(), 2))

        before = designated_at - timedelta(hours=3)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(handle, ev("designation_acknowledged", case_id, occurred_at=before))
        refusal = refusal_of(info)
        assert refusal["field"] == "occurred_at"
        assert before.isoformat(timespec="minutes") in refusal["reason"]
        assert "before the step it answers" in refusal["reason"]
        assert (await status(handle)).state == "designated"

        later = designated_at + timedelta(minutes=30)
        await time_skipping_env.sleep(timedelta(hours=1))
        assert (
            await send(handle, ev("designation_acknowledged", case_id, occurred_at=later))
        ).state == "resolved"
        met = of_rule(published, case_id, "deadline.met", ACKNOWLEDGEMENT)[0]
        assert met.occurred_at == later and met.payload == {"late": False, "late_seconds": 0}
        await handle.result()


async def test_an_opinion_answers_its_own_request_not_a_later_one(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """A's opinion, written after A was asked but before B was, is not dated before its step."""
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await accepted(client, task_queue, case_id)
        await dc.claim(client, case_id, ClaimInput(**coord()))
        await dc.request_opinions(client, case_id, RequestOpinionsInput(**coord(), agencies=[A]))
        asked_a = published.of_type("jurisdiction_dispute.opinion_requested", case_id)[0].occurred_at
        await time_skipping_env.sleep(timedelta(days=1))
        await dc.request_opinions(client, case_id, RequestOpinionsInput(**coord(), agencies=[B]))
        asked_b = published.of_type("jurisdiction_dispute.opinion_requested", case_id)[1].occurred_at
        opinion_b = of_rule(published, case_id, "deadline.set", "jurisdiction_dispute.opinion")[-1].deadline
        assert opinion_b is not None and opinion_b.party == B and opinion_b.starts_at == asked_b

        written = asked_a + timedelta(hours=2)
        assert written < asked_b
        await send(handle, ev("opinion_submitted", case_id, agency=A, occurred_at=written))
        with pytest.raises(WorkflowUpdateFailedError) as info:  # B's cannot predate B's request
            await send(handle, ev("opinion_submitted", case_id, agency=B, occurred_at=written))
        assert refusal_of(info)["field"] == "occurred_at"
        assert (await status(handle)).data["opinions_pending"] == [B]
        await handle.terminate("test finished")


# ----- designation by the common superior (art. 25) --------------------------------------------------


async def test_government_designates_an_agency_that_is_not_a_party(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    other = "rz-slj"  # an administrative enforcement agency outside the dispute
    async with run_worker(client, task_queue) as published:
        handle = await accepted(client, task_queue, case_id)
        await dc.claim(client, case_id, ClaimInput(**coord()))
        await refused(
            published,
            case_id,
            handle,
            dc.designate(client, case_id, DesignateInput(**coord(), agency=other, reason="属水务管理事项")),
            "agency",
            "only the common superior government may designate another agency",
        )
        await dc.refer_to_government(client, case_id, ReferInput(**coord(), reason="双方均有依据，协调不成"))
        gov = coord("u-gov-1", GOV)
        await dc.claim(client, case_id, ClaimInput(**gov))
        for agency, words in (
            ("rz-gaj", "rz-gaj is a police agency, not an administrative enforcement agency"),
            ("rz-jcy", "rz-jcy is a procuratorate agency"),
            ("rz-nope", "unknown agency 'rz-nope'"),
        ):
            await refused(
                published,
                case_id,
                handle,
                dc.designate(client, case_id, DesignateInput(**gov, agency=agency, reason="理由")),
                "agency",
                words,
            )
        await refused(
            published,
            case_id,
            handle,
            dc.designate(client, case_id, DesignateInput(**gov, agency=other, reason=" ")),
            "reason",
            "a designation needs written reasons",
        )

        result = await dc.designate(
            client,
            case_id,
            DesignateInput(**gov, agency=other, reason="违法行为涉及取水许可，属水行政主管部门职责"),
        )
        assert result.state == "designated" and result.designated_agency == other
        decision = published.of_type("jurisdiction_dispute.jurisdiction_designated", case_id)[0]
        assert decision.payload["by"] == "government" and decision.payload["was_party"] is False
        assert decision.payload["reason"].startswith("违法行为涉及取水许可")
        assert other in decision.parties  # the designated agency is told
        current = await status(handle)
        assert current.data["parties"] == [A, B, other]
        ack = of_rule(published, case_id, "deadline.set", ACKNOWLEDGEMENT)[0].deadline
        assert ack is not None and ack.party == other and ack.escalate_to == (OFFICE,)

        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(handle, ev("designation_acknowledged", case_id, agency=A))
        assert "was not designated" in refusal_of(info)["reason"]
        assert (await send(handle, ev("designation_acknowledged", case_id, agency=other))).state == "resolved"
        closed = published.of_type("case.closed", case_id)[0]
        assert closed.payload["agency"] == other and closed.payload["by"] == "government"
        await handle.result()


async def test_a_government_coordinating_itself_designates_a_township_directly(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """The district government as coordinating office is the parties' common superior."""
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    township = "rz-dg-shijiu"
    async with run_worker(client, task_queue) as published:
        handle = await raised(
            client,
            task_queue,
            case_id,
            kind="negative",
            claims=NEGATIVE_CLAIMS,
            agency="rz-dg-scjgj",
            coordinator_office="rz-dg",
        )
        await send(handle, ev("coordination_requested", case_id, agency="rz-dg-scjgj"))
        await send(handle, ev("coordination_accepted", case_id, agency="rz-dg"))
        gov = coord("u-dg-1", "rz-dg")
        await dc.claim(client, case_id, ClaimInput(**gov))
        await dc.designate(
            client,
            case_id,
            DesignateInput(**gov, agency=township, reason="违法行为发生在石臼街道辖区，已赋权街道"),
        )
        decision = published.of_type("jurisdiction_dispute.jurisdiction_designated", case_id)[0]
        assert decision.payload["by"] == "government" and decision.payload["was_party"] is False
        assert (
            await send(handle, ev("designation_acknowledged", case_id, agency=township))
        ).state == "resolved"
        await handle.result()


# ----- pure contract rules ----------------------------------------------------------------------------


def _claim(agency: str, position: str = "claims", filed: str | None = None) -> PartyClaim:
    return PartyClaim(agency=agency, position=Position(position), legal_basis="依据", filed_on=filed)


def test_first_to_file_suggests_only_when_the_dates_decide() -> None:
    winner = first_to_file(
        DisputeKind.POSITIVE, [_claim(A, filed="2026-10-08"), _claim(B, filed="2026-10-15")]
    )
    assert winner.agency == A and "2026-10-08" in winner.reason_zh and "2026-10-15" in winner.reason_zh
    tie = first_to_file(DisputeKind.POSITIVE, [_claim(A, filed="2026-10-08"), _claim(B, filed="2026-10-08")])
    assert tie.agency is None and "同日立案" in tie.reason_zh
    unknown = first_to_file(DisputeKind.POSITIVE, [_claim(A, filed="2026-10-08"), _claim(B)])
    assert unknown.agency is None and unknown.filing_dates == {A: date(2026, 10, 8), B: None}
    declined = first_to_file(
        DisputeKind.POSITIVE,
        [_claim(A), _claim(B, filed="2026-10-01"), _claim("rz-gaj", "declines", "2026-09-01")],
    )
    assert declined.agency is None  # the decliner's earlier date does not count in a positive dispute
    negative = first_to_file(
        DisputeKind.NEGATIVE, [_claim(A, "declines", "2026-09-01"), _claim(B, "declines", "2026-09-03")]
    )
    assert negative.agency == A


def test_dispute_payload_rules_name_the_field() -> None:
    good = example(PROCESS, "dispute_raised")["payload"]
    DisputeRaised.model_validate(good)
    for change, words in (
        ({"claims": good["claims"][:1]}, "at least 2"),
        ({"claims": [good["claims"][0], good["claims"][0]]}, "appears twice"),
        (
            {"claims": [good["claims"][0], {**good["claims"][1], "position": "declines"}]},
            "at least two parties that claim",
        ),
        ({"kind": "negative"}, "every party declines"),
        ({"claims": [good["claims"][0], {**good["claims"][1], "agency": "rz-nope"}]}, "unknown agency"),
        ({"claims": [good["claims"][0], {**good["claims"][1], "agency": "rz-jcy"}]}, "procuratorate agency"),
        ({"coordinator_office": "rz-scjgj"}, "cannot be the coordinating office"),
    ):
        with pytest.raises(ValidationError) as info:
            DisputeRaised.model_validate({**good, **change})
        assert words in str(info.value), (change, str(info.value))


def test_coordinating_office_and_government() -> None:
    assert coordinating_office(["rz-dg-scjgj", "rz-dg-shijiu"]) == "rz-dg-sfj"
    assert coordinating_office(["rz-dg-scjgj", "rz-ls-scjgj"]) == "rz-sfj"
    assert coordinating_office([A, "rz-dg-zhzfj"]) == "rz-sfj"
    assert government_of("rz-sfj") == GOV and government_of("rz-dg-sfj") == "rz-dg"
