"""One real event through the whole path: NATS → intake → Temporal → lawlink.out → registry."""

from __future__ import annotations

import asyncio
import json

import httpx
import nats
import pytest

from contracts import subjects
from tests.events import body, event, eventually, new_case_id, publish
from tests.http_intake import agency_key, post_signed
from tests.servers import api_headers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def _timeline(stack, case_id: str) -> list[dict]:  # noqa: ANN001
    async with httpx.AsyncClient(base_url=stack.registry_url, headers=api_headers()) as http:
        resp = await http.get(f"/api/cases/{case_id}/timeline")
        if resp.status_code == 404:
            return []
        resp.raise_for_status()
        return resp.json()


async def test_event_starts_workflow_and_reaches_registry_timeline(stack) -> None:  # noqa: ANN001
    case_id = new_case_id("E2E")
    data = event("case_transfer", "crime_suspected", case_id=case_id)
    nc = await nats.connect(stack.nats_url)
    out = await nc.subscribe(f"lawlink.out.case_transfer.{case_id}")
    try:
        await publish(nc, data)
        types = []
        while "case_transfer.opened" not in types:
            msg = await out.next_msg(timeout=20)
            types.append(json.loads(msg.data)["type"])
        assert types[0] == "case_transfer.crime_suspected"
        # The head's clock starts with the team's report (art. 5).
        for step in ("team_formed", "transfer_report_submitted"):
            await publish(nc, event("case_transfer", step, case_id=case_id))

        entries = await eventually(
            lambda: _timeline(stack, case_id),
            lambda rows: (
                {"case_transfer.crime_suspected", "case_transfer.opened", "deadline.set"}
                <= {r["type"] for r in rows}
            ),
        )
        received = [r for r in entries if r["type"] == "case_transfer.crime_suspected"]
        assert received[0]["event_id"] == data["event_id"]
        assert received[0]["kind"] == "received"
        assert received[0]["actor"] == "rz-scjgj"

        handle = stack.temporal.get_workflow_handle(f"case_transfer/{case_id}")
        desc = await handle.describe()
        assert desc.status is not None

        async with httpx.AsyncClient(base_url=stack.registry_url, headers=api_headers()) as http:
            case = (await http.get(f"/api/cases/{case_id}")).json()
        assert case["case"]["state"] == "reported"
        assert [d["rule"] for d in case["deadlines"]] == ["case_transfer.head_decision"]
        assert case["deadlines"][0]["party"] == "rz-scjgj"
    finally:
        await nc.close()


async def test_same_event_three_times_is_one_workflow_and_one_row(stack) -> None:  # noqa: ANN001
    case_id = new_case_id("DUP")
    data = event("case_transfer", "crime_suspected", case_id=case_id)
    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()
        # Once with the dedup header, twice more as a careless sender would (no header):
        # JetStream drops the first repeat, the workflow ignores the second.
        await publish(nc, data)
        for _ in range(2):
            await js.publish(
                subjects.inbound(data["source_agency"], data["type"]), body(data), stream=subjects.STREAM_IN
            )
        entries = await eventually(
            lambda: _timeline(stack, case_id),
            lambda rows: any(r["type"] == "case_transfer.opened" for r in rows),
        )
        await asyncio.sleep(1.5)  # give the repeats time to (not) appear
        entries = await _timeline(stack, case_id)
        received = [r for r in entries if r["type"] == "case_transfer.crime_suspected"]
        opened = [r for r in entries if r["type"] == "case_transfer.opened"]
        assert len(received) == 1 and len(opened) == 1
        status = await stack.temporal.get_workflow_handle(f"case_transfer/{case_id}").query("status")
        assert [h["type"] for h in status["history"]].count("case_transfer.opened") == 1
        runs = [w async for w in stack.temporal.list_workflows(f"WorkflowId = 'case_transfer/{case_id}'")]
        assert len(runs) == 1
    finally:
        await nc.close()


async def _collect(nc, subject: str, seconds: float) -> list[dict]:  # noqa: ANN001
    got: list[dict] = []
    sub = await nc.subscribe(subject)
    end = asyncio.get_running_loop().time() + seconds
    while True:
        remaining = end - asyncio.get_running_loop().time()
        if remaining <= 0:
            break
        try:
            msg = await sub.next_msg(timeout=remaining)
        except (TimeoutError, nats.errors.TimeoutError):
            break
        got.append({"subject": msg.subject, **json.loads(msg.data)})
    await sub.unsubscribe()
    return got


async def test_invalid_event_yields_exactly_one_rejection_and_nothing_else(stack) -> None:  # noqa: ANN001
    case_id = new_case_id("BAD")
    data = event("case_transfer", "crime_suspected", case_id=case_id)
    data["payload"]["officers"] = data["payload"]["officers"][:1]  # art. 5 needs two officers
    nc = await nats.connect(stack.nats_url)
    try:
        rejected = asyncio.create_task(_collect(nc, "lawlink.rejected.rz-scjgj", 4.0))
        out = asyncio.create_task(_collect(nc, f"lawlink.out.*.{case_id}", 4.0))
        await asyncio.sleep(0.2)
        await publish(nc, data)
        got, outs = await rejected, await out
        mine = [r for r in got if r["event_id"] == data["event_id"]]
        assert len(mine) == 1
        assert mine[0]["field"] == "payload.officers"
        assert "at least 2" in mine[0]["reason"]
        assert outs == []
        assert await _timeline(stack, case_id) == []
    finally:
        await nc.close()


async def test_http_intake_accepts_and_rejects_like_nats(stack) -> None:  # noqa: ANN001
    case_id = new_case_id("HTTP")
    good = event("case_transfer", "crime_suspected", case_id=case_id)
    bad = event("case_transfer", "crime_suspected", case_id=new_case_id("HTTPBAD"))
    bad["payload"]["amount_involved"] = "-5"
    bureau = await agency_key(stack.nats_url, "rz-scjgj")
    police_key = await agency_key(stack.nats_url, "rz-gaj")
    nc = await nats.connect(stack.nats_url)
    try:
        rejected = asyncio.create_task(_collect(nc, "lawlink.rejected.rz-scjgj", 4.0))
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=stack.intake_url) as http:
            resp = await post_signed(http, body(good), bureau)
            assert resp.status_code == 202, resp.text
            resp_bad = await post_signed(http, body(bad), bureau)
            assert resp_bad.status_code == 422
            assert resp_bad.json()["field"] == "payload.amount_involved"
            police = event(
                "case_transfer", "crime_suspected", case_id=new_case_id("HTTPPOL"), agency="rz-gaj"
            )
            resp_pol = await post_signed(http, body(police), police_key)
            assert resp_pol.status_code == 403
            assert "police" in resp_pol.json()["reason"]
        got = await rejected
        assert [r["event_id"] for r in got if r["event_id"] == bad["event_id"]] == [bad["event_id"]]
        entries = await eventually(
            lambda: _timeline(stack, case_id),
            lambda rows: any(r["type"] == "case_transfer.opened" for r in rows),
        )
        assert entries
    finally:
        await nc.close()


async def test_out_of_order_event_is_refused_with_reason(stack) -> None:  # noqa: ANN001
    """A second opening event for an open case is refused by the workflow's validator."""
    case_id = new_case_id("ORD")
    first = event("case_transfer", "crime_suspected", case_id=case_id)
    again = event("case_transfer", "crime_suspected", case_id=case_id)
    nc = await nats.connect(stack.nats_url)
    try:
        await publish(nc, first)
        await eventually(lambda: _timeline(stack, case_id), lambda rows: len(rows) >= 2)
        rejected = asyncio.create_task(_collect(nc, "lawlink.rejected.rz-scjgj", 5.0))
        await asyncio.sleep(0.2)
        await publish(nc, again)
        got = [r for r in await rejected if r["event_id"] == again["event_id"]]
        assert len(got) == 1 and got[0]["field"] == "type"
        assert "already open" in got[0]["reason"]
    finally:
        await nc.close()


async def test_step_for_a_case_that_does_not_exist_is_refused_naming_case_id(stack) -> None:  # noqa: ANN001
    case_id = new_case_id("NONE")
    data = event("case_transfer", "team_formed", case_id=case_id)
    nc = await nats.connect(stack.nats_url)
    try:
        rejected = asyncio.create_task(_collect(nc, "lawlink.rejected.rz-scjgj", 5.0))
        await asyncio.sleep(0.2)
        await publish(nc, data)
        got = [r for r in await rejected if r["event_id"] == data["event_id"]]
        assert len(got) == 1 and got[0]["field"] == "case_id"
        assert case_id in got[0]["reason"]
        assert await _timeline(stack, case_id) == []
    finally:
        await nc.close()
