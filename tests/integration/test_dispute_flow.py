"""A jurisdiction dispute through the real stack: raised by event over NATS, decided through the
Updates the console calls, acknowledged by event; the coordinator inbox row follows each step."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import nats
import pytest
from sqlmodel import Session

from contracts import subjects
from contracts.jurisdiction_dispute import ClaimInput, DesignateInput, RequestOpinionsInput
from services.disputes import client as dc
from services.disputes.inbox import DisputeTaskPublic, list_inbox
from services.readmodel import queries
from services.readmodel.db import make_engine
from services.update_refusals import ActionRefused
from tests.events import body, event, eventually, new_case_id

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PROCESS = "jurisdiction_dispute"
COORD = {"coordinator": "u-coord-1", "coordinator_name": "张明", "coordinator_agency": "rz-sfj"}
T = TypeVar("T")


async def test_dispute_raised_decided_acknowledged_with_inbox_following(stack) -> None:  # noqa: ANN001
    case_id = new_case_id("JDI")
    engine = make_engine(stack.database_url)

    async def row() -> DisputeTaskPublic | None:
        def read() -> DisputeTaskPublic | None:
            with Session(engine) as session:
                rows = list_inbox(session, case_id=case_id, include_closed=True)
                return rows[0] if rows else None

        return await asyncio.to_thread(read)

    async def publish(name: str, **changes: Any) -> dict[str, Any]:
        data = event(PROCESS, name, case_id=case_id, **changes)
        await nc.jetstream().publish(
            subjects.inbound(data["source_agency"], data["type"]),
            body(data),
            stream=subjects.STREAM_IN,
            headers={"Nats-Msg-Id": data["event_id"]},
        )
        return data

    nc = await nats.connect(stack.nats_url)
    try:
        await publish("dispute_raised")
        task = await eventually(
            row, lambda r: r is not None and r.state == "negotiating" and r.due_at is not None
        )
        assert task is not None
        assert task.coordinator_office == "rz-sfj" and task.parties == ["rz-hyfzj", "rz-scjgj"]
        assert task.suggested_agency == "rz-hyfzj" and task.filing_dates["rz-scjgj"] == "2026-10-15"

        await publish("coordination_requested")
        # The office accepts what it has seen requested (intake may run two messages concurrently).
        await eventually(row, lambda r: r is not None and r.state == "coordination_requested")
        await publish("coordination_accepted")
        await eventually(row, lambda r: r is not None and r.state == "coordinating")

        claimed = await dc.claim(stack.temporal, case_id, ClaimInput(**COORD))
        assert claimed.claimed_by == "u-coord-1"
        await eventually(
            row, lambda r: r is not None and r.claimed_by == "u-coord-1" and r.claimed_by_name == "张明"
        )

        with pytest.raises(ActionRefused) as info:
            await dc.designate(
                stack.temporal, case_id, DesignateInput(**COORD, agency="rz-gaj", reason="理由")
            )
        assert info.value.field == "agency" and "not a party" in info.value.reason

        await dc.request_opinions(
            stack.temporal, case_id, RequestOpinionsInput(**COORD, agencies=["rz-hyfzj"])
        )
        await eventually(row, lambda r: r is not None and r.state == "opinions_requested")
        await publish("opinion_submitted")

        async def opinion_met() -> bool:
            with Session(engine) as session:
                return any(
                    d.rule == "jurisdiction_dispute.opinion" and d.status == "met"
                    for d in queries.deadlines(session, case_id=case_id)
                )

        # The opinion's deadline is met (its due date may be the designation's own, whatever
        # day the suite runs, so the inbox's due date alone cannot show it).
        await eventually(opinion_met, bool)
        await eventually(row, lambda r: r is not None and r.state == "coordinating")

        designated = await dc.designate(
            stack.temporal,
            case_id,
            DesignateInput(**COORD, agency="rz-hyfzj", reason="最先立案，属渔业管理事项"),
        )
        assert designated.state == "designated"
        task = await eventually(row, lambda r: r is not None and r.state == "designated")
        assert task.designated_agency == "rz-hyfzj" and task.claimed_by == "u-coord-1"

        def mine() -> list[str]:
            with Session(engine) as session:
                return [
                    r.case_id
                    for r in list_inbox(session, agency="rz-sfj", claimed_by="u-coord-1", limit=1000)
                ]

        assert case_id in await asyncio.to_thread(mine)

        await publish("designation_acknowledged")
        task = await eventually(row, lambda r: r is not None and r.state == "resolved")
        assert task.closed and task.due_at is None and not task.overdue
        assert case_id not in await asyncio.to_thread(mine)

        status = await dc.dispute_status(stack.temporal, case_id)
        assert status.closed and status.data["designated_agency"] == "rz-hyfzj"
    finally:
        await nc.close()
        engine.dispose()
