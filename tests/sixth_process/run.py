"""Drive the plug-in process end to end on the time-skipping server, through intake's own path,
and print what happened as one JSON line (``tests/unit/test_sixth_process.py`` reads it).

Run with ``LAWLINK_PROCESS_PLUGINS=tests.sixth_process`` so every table (catalog, routing,
rules, recipients, console words) includes it from the start, as a deployed stack would.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from typing import Any

from temporalio.testing import WorkflowEnvironment

from contracts.catalog import DOMAIN_EVENT_TYPES
from services import i18n
from services.intake.routing import ROUTES
from services.notifier.recipients import notifications_for
from services.temporal_codec import lawlink_data_converter
from tests.histories.record import Scenario
from tests.servers import binary
from tests.sixth_process.definition import PROCESS
from tests.workflow_harness import run_worker

ISSUER, TOWNSHIP, OTHER_TOWNSHIP = "rz-dg-scjgj", "rz-dg-shijiu", "rz-dg-qinlou"
CASE_ID = "RN-2026-001"


def _envelope(name: str, agency: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": f"{PROCESS}.{name}",
        "occurred_at": "2026-12-01T09:00:00+08:00",
        "source_agency": agency,
        "case_id": CASE_ID,
        "schema_version": 1,
        "payload": payload,
    }


async def _play(env: WorkflowEnvironment) -> dict[str, Any]:
    report: dict[str, Any] = {"route": ROUTES[f"{PROCESS}.notice_issued"].workflow_type}
    async with run_worker(env.client, "sixth") as published:
        case = Scenario(env, "sixth", PROCESS, CASE_ID, published)
        _, opened = await case.deliver(
            _envelope("notice_issued", ISSUER, {"township": TOWNSHIP, "notice_no": "N-1"})
        )
        report["opened"] = opened.outcome.value
        await case.settled()
        _, again = await case.deliver(
            _envelope("notice_issued", ISSUER, {"township": TOWNSHIP, "notice_no": "N-2"})
        )
        await case.settled()
        report["second_notice"] = [r.reason for r in published.rejections]
        _, stranger = await case.deliver(
            _envelope("rectification_reported", OTHER_TOWNSHIP, {"report_no": "R-0"})
        )
        refused = stranger.rejection
        report["wrong_sender"] = {
            "outcome": stranger.outcome.value,
            "field": refused.field if refused else None,
            "reason": refused.reason if refused else None,
        }
        await case.past_deadline(f"{PROCESS}.rectification")
        report["published"] = published.types(CASE_ID)
        opened_event = published.of_type(f"{PROCESS}.opened", CASE_ID)[0]
        report["told"] = [
            (n.recipient, n.reason.value, n.action_zh)
            for n in notifications_for(opened_event, console_url="http://console.test")
        ]
        escalation = published.of_type("escalation.raised", CASE_ID)
        report["escalated_to"] = [e.payload.get("target") for e in escalation]
        late = _envelope("rectification_reported", TOWNSHIP, {"report_no": "R-1"})
        late["occurred_at"] = (await env.get_current_time()).isoformat()
        _, done = await case.deliver(late)
        report["reported"] = done.outcome.value
        await case.settled()
        report["final"] = published.types(CASE_ID)[-3:]
    report["labels"] = {
        "process": i18n.process_label(PROCESS, "zh"),
        "state": i18n.state_label(PROCESS, "notified", "zh"),
        "state_en": i18n.state_label(PROCESS, "notified", "en"),
        "event": DOMAIN_EVENT_TYPES[f"{PROCESS}.opened"].label_zh,
    }
    return report


async def main() -> None:
    """Start the time-skipping server offline, play the case, print the report."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=lawlink_data_converter()
    )
    try:
        print(json.dumps(await _play(env), ensure_ascii=False))
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    # The Temporal core's threads can abort the interpreter's finalisation after a clean run;
    # the report is out, so leave without it.
    os._exit(0)
