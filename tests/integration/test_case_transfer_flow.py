"""A whole forward case through the real stack: agency events published on NATS, intake, the
Temporal dev server, domain events on lawlink.out, and the registry's timeline and deadlines."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

import httpx
import nats
import pytest

from contracts.workflow_io import CaseStatus
from tests.events import event, eventually, new_case_id, publish
from tests.servers import api_headers
from workflows.deadlines import SHANGHAI

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

T = TypeVar("T")

REFUSE = {"decision": "refuse", "reasons": "现有证据不足以证明主观明知，不予立案。", "file_returned": True}
# The forward case of the demo: refused, reconsideration granted, filed, materials, outcome.
PATH: list[tuple[str, dict[str, Any], str]] = [
    ("crime_suspected", {}, "opened"),
    ("team_formed", {}, "team_formed"),
    ("transfer_report_submitted", {}, "reported"),
    ("head_decided", {}, "approved"),
    ("transferred", {}, "transferred"),
    ("police_received", {}, "received"),
    ("police_decided", REFUSE, "police_refused"),
    ("reconsideration_requested", {}, "reconsideration"),
    ("reconsideration_decided", {}, "filed"),
    ("materials_handed_over", {}, "materials_handed_over"),
    ("criminal_outcome_reported", {}, "concluded"),
]


async def test_forward_case_from_published_events_to_registry_timeline(stack) -> None:  # noqa: ANN001
    case_id = new_case_id("FLOW")
    handle = stack.temporal.get_workflow_handle(f"case_transfer/{case_id}")

    async def status() -> CaseStatus | None:
        try:
            return await handle.query("status", result_type=CaseStatus)
        except Exception:  # noqa: BLE001 - not started yet
            return None

    nc = await nats.connect(stack.nats_url)
    rejected = await nc.subscribe("lawlink.rejected.rz-gaj")
    sent: list[dict[str, Any]] = []
    try:
        for step, changes, state in PATH:
            data = event(
                "case_transfer", step, case_id=case_id, occurred_at=datetime.now(SHANGHAI), **changes
            )
            sent.append(data)
            await publish(nc, data)
            await eventually(status, lambda s, want=state: s is not None and s.state == want, timeout=30.0)
            if step == "transferred":
                # Out of order: the police decide before signing the receipt; refused with a reason.
                early = event("case_transfer", "police_decided", case_id=case_id)
                await publish(nc, early)
                msg = await rejected.next_msg(timeout=20)
                rejection = json.loads(msg.data)
                assert rejection["event_id"] == early["event_id"]
                assert (
                    rejection["field"] == "type" and "not valid in state transferred" in rejection["reason"]
                )

        async with httpx.AsyncClient(base_url=stack.registry_url, headers=api_headers()) as http:

            async def timeline() -> list[dict[str, Any]]:
                resp = await http.get(f"/api/cases/{case_id}/timeline")
                return resp.json() if resp.status_code == 200 else []

            rows = await eventually(
                timeline, lambda r: any(e["type"] == "case.closed" for e in r), timeout=30.0
            )
            case = (await http.get(f"/api/cases/{case_id}", params={"process": "case_transfer"})).json()

        received = [r for r in rows if r["kind"] == "received"]
        assert [r["event_id"] for r in received] == [d["event_id"] for d in sent]
        assert [r["actor"] for r in received] == [d["source_agency"] for d in sent]
        types = [r["type"] for r in rows]
        for step_event in (
            "case_transfer.opened",
            "case_transfer.transfer_approved",
            "case_transfer.sent_to_police",
            "case_transfer.filing_refused",
            "case_transfer.reconsideration_pending",
            "case_transfer.case_filed",
            "case_transfer.materials_complete",
            "case.closed",
        ):
            assert step_event in types, step_event
        assert "case_transfer.police_decided" in types
        assert len(rows) == len({r["event_id"] for r in rows})

        assert case["case"]["state"] == "concluded" and case["case"]["closed"] is True
        assert {"rz-scjgj", "rz-gaj", "rz-jcy"} <= set(case["case"]["parties"])
        by_rule: dict[str, list[str]] = {}
        for d in case["deadlines"]:
            by_rule.setdefault(d["rule"], []).append(d["status"])
        assert by_rule["case_transfer.transfer_after_approval"] == ["met"]
        assert by_rule["case_transfer.police_decision"] == ["met"]
        assert by_rule["case_transfer.reconsideration_decision"] == ["met"]
        assert by_rule["case_transfer.materials_handover"] == ["met"]
        assert by_rule["case_transfer.head_decision"] == ["met"]  # from the report (art. 5)
        assert by_rule["case_transfer.police_receipt"] == ["met"]
        # Every row says when it happened and when Lawlink recorded it.
        assert all(r["recorded_at"] for r in rows)
        assert set(by_rule["case_transfer.supervision_request"]) == {"cancelled"}
        assert not [d for d in case["deadlines"] if d["status"] in ("open", "breached")]
    finally:
        await nc.close()
