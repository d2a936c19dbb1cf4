"""Process 2, jurisdiction dispute coordination, on the time-skipping server.

Agency steps go through the ``receive`` Update as intake sends them; coordinator steps go through
``services.disputes.client``, the same functions the console calls, so the refusal mapping is
tested with the validators.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

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
from services.disputes.client import DisputeActionRefused
from tests.events import event, example, new_case_id
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case

pytestmark = pytest.mark.timeout(90)

PROCESS = "jurisdiction_dispute"
WF = "JurisdictionDispute"
A, B = "rz-hyfzj", "rz-scjgj"  # the parties of the committed examples
OFFICE, GOV = "rz-sfj", "rz-gov"


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
    with pytest.raises(DisputeActionRefused) as info:
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
        assert negotiation.escalate_to == (OFFICE,)

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
        kinds, targets = breach_sequence(published, case_id, "jurisdiction_dispute.negotiation")
        assert kinds == ["deadline.set", "deadline.warning", "deadline.breached"] and targets == [OFFICE]
        assert (await status(handle)).state == "negotiating"

        await send(handle, ev("coordination_requested", case_id))
        await time_skipping_env.sleep(timedelta(days=8))
        kinds, targets = breach_sequence(published, case_id, "jurisdiction_dispute.coordination_acceptance")
        assert kinds == ["deadline.set", "deadline.warning", "deadline.breached"] and targets == [GOV]
        assert (await status(handle)).state == "coordination_requested"

        await send(handle, ev("coordination_accepted", case_id))  # late: the breach stays on record
        met = [
            e for e in published.of_type("deadline.met", case_id) if e.deadline.rule.endswith("acceptance")
        ]  # type: ignore[union-attr]
        assert met[0].payload == {"late": True}
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
        with pytest.raises(DisputeActionRefused) as info:
            await dc.claim(client, new_case_id("NONE"), ClaimInput(**coord()))
        assert info.value.field == "case_id"
        with pytest.raises(DisputeActionRefused) as info:
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
        with pytest.raises(DisputeActionRefused) as info:
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
