"""No clue content in clear anywhere it rests: after a whole referral, a dead letter of one of its
events and the replay of that letter, a marker written into every free-text field is found in
none of the JetStream store files, the read model's database files, the services' logs or the
Temporal histories (``temporal workflow show``).

Agencies publish in clear; intake seals each confidential event onto ``LAWLINK_SEALED`` and
erases it from ``LAWLINK_IN`` with JetStream's secure delete (services/discipline/sealed_inbound).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from contracts import subjects
from services.connections import INTAKE_DURABLE
from tests.events import event, example, new_case_id, publish
from tests.integration.test_bus_holds import _until, _worker, bus_stack
from tests.misdeployed import broken_worker
from tests.servers import api_headers, binary
from workflows.activities import PublishActivities

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

P = "discipline_referral"
COMMISSION = "rz-dg-jwjw"
JUSTICE = "rz-dg-sfj"
TOKEN = "service-token-for-the-plaintext-test"
API_HEADERS = api_headers("pytest", token=TOKEN)  # services/service_auth.py: a credential derived from TOKEN


async def _state(registry: str, case_id: str) -> str | None:
    async with httpx.AsyncClient(timeout=5, headers=API_HEADERS) as http:
        resp = await http.get(f"{registry}/api/cases/{case_id}", params={"process": P})
        return resp.json()["case"]["state"] if resp.status_code == 200 else None


async def _reaches(registry: str, case_id: str, state: str) -> None:
    async def there() -> bool:
        return await _state(registry, case_id) == state

    await _until(there, f"referral {case_id} in state {state!r}", timeout=40)


def _files_holding(root: Path, pattern: str, marker: bytes) -> list[str]:
    return [str(p) for p in root.glob(pattern) if p.is_file() and marker in p.read_bytes()]


async def test_no_clue_content_rests_in_clear(temporal_dev, tmp_path: Path) -> None:  # noqa: ANN001
    marker = f"ZQXMARK{uuid.uuid4().hex[:12]}"
    target = temporal_dev.client.service_client.config.target_host
    log_file = tmp_path / "services.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    case_id = new_case_id("HOT")
    env = {
        "INTAKE_MAX_DELIVER": "2",
        "INTAKE_BACKOFF": "[0.2, 0.2]",
        "INTAKE_UPDATE_TIMEOUT": "1",
        "LAWLINK_SERVICE_TOKEN": TOKEN,
    }
    clue = example(P, "clue_identified")["payload"]
    steps: list[tuple[str, str, str, dict[str, Any]]] = [
        ("hotline", "complaint_received", "proposed", {"summary": f"投诉 {marker}"}),
        (
            P,
            "clue_identified",
            "identified",
            {
                "agency": JUSTICE,
                "source": "hotline_complaint",
                "proposal_id": case_id,
                "officials": [{**clue["officials"][0], "agency": "rz-dg-zhzfj"}],
                "managing_level": "district",
                "allegation": f"问题线索 {marker}",
            },
        ),
        (P, "referral_approved", "approved", {"agency": JUSTICE, "approved_by": f"局长 {marker}"}),
        (
            P,
            "referred",
            "referred",
            {"agency": JUSTICE, "commission": COMMISSION, "managing_level": "district"},
        ),
        (P, "referral_received", "received", {"agency": COMMISSION}),
        (P, "disposition_decided", "verification", {"agency": COMMISSION, "remarks": f"处置 {marker}"}),
        (P, "outcome_reported", "rectifying", {"agency": COMMISSION, "outcome_summary": f"结果 {marker}"}),
        (P, "rectified", "rectified", {"agency": JUSTICE, "measures": f"整改 {marker}"}),
    ]
    try:
        async with bus_stack(tmp_path, target, services=("intake", "registry"), env=env) as s:
            nc = await nats.connect(s["server"].url)
            js = nc.jetstream()
            try:
                async with _worker(temporal_dev.client, s["queue"]):
                    for process, name, state, changes in steps[:2]:
                        await publish(nc, event(process, name, case_id=case_id, **changes))
                        await _reaches(s["registry"], case_id, state)

                # A broken worker: the approval's update fails on every delivery while the
                # engines answer, so it is the event's own failure and becomes a dead letter.
                process, name, state, changes = steps[2]

                async def letter() -> dict[str, Any] | None:
                    async with httpx.AsyncClient(timeout=5, headers=API_HEADERS) as http:
                        rows = (await http.get(f"{s['registry']}/api/dead-letters")).json()
                    return next((r for r in rows if r["subject"].endswith(".referral_approved")), None)

                async with broken_worker(temporal_dev.client, s["queue"], PublishActivities(js)):
                    await publish(nc, event(process, name, case_id=case_id, **changes))
                    dead = await _until(letter, "the approval recorded as a dead letter", timeout=60)
                assert dead["body"].startswith("v1:") and marker not in dead["body"]

                async with _worker(temporal_dev.client, s["queue"]):
                    async with httpx.AsyncClient(timeout=10, headers=API_HEADERS) as http:
                        resp = await http.post(f"{s['registry']}/api/dead-letters/{dead['id']}/replay")
                    assert resp.status_code == 200, resp.text
                    await _reaches(s["registry"], case_id, state)
                    for process, name, state, changes in steps[3:]:
                        await publish(nc, event(process, name, case_id=case_id, **changes))
                        await _reaches(s["registry"], case_id, state)

                    # Refused (only the commission decides a disposition): erased all the same.
                    refused = event(P, "disposition_decided", case_id=case_id, agency=JUSTICE, remarks=marker)
                    await publish(nc, refused)

                async def intake_done() -> bool:
                    info = await js.consumer_info(subjects.STREAM_IN, INTAKE_DURABLE)
                    return info.num_pending == 0 and info.num_ack_pending == 0

                await _until(intake_done, "intake took every message")
                # One sealed copy per event (the replay's is the approval's, de-duplicated).
                sealed = await js.stream_info(subjects.STREAM_SEALED)
                assert sealed.state.messages == len(steps)
                inbound = await js.stream_info(subjects.STREAM_IN)
                assert inbound.state.messages == 0, "every confidential message leaves LAWLINK_IN"
            finally:
                await nc.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    needle = marker.encode()
    assert await asyncio.to_thread(_files_holding, tmp_path / "nats", "**/*", needle) == []
    assert await asyncio.to_thread(_files_holding, tmp_path, "rm.db*", needle) == []
    assert await asyncio.to_thread(_files_holding, tmp_path, log_file.name, needle) == []
    for workflow_id in (f"{P}/{case_id}",):  # the hotline's complaint opened this referral
        shown = await asyncio.to_thread(
            subprocess.run,
            [binary("temporal"), "workflow", "show", "-w", workflow_id, "--address", target, "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert len(json.loads(shown.stdout)["events"]) > 20  # the whole referral's history
        assert marker not in shown.stdout
