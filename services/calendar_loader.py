"""``lawlink calendar load FILE``: store a year's schedule and recompute running deadlines."""

from __future__ import annotations

from pathlib import Path

import httpx

from services.calendar_store import read_schedule_file, save_schedule
from services.connections import connect_temporal
from services.service_auth import service_headers
from services.settings import StackSettings
from workflows.case_base import CaseWorkflow


async def load_calendar(file: Path, settings: StackSettings) -> str:
    """Validate and store ``file``, then signal each workflow that has a provisional deadline
    in that year, so it recomputes with the official days. Returns a report for the operator.

    Raises:
        ValueError: the file is invalid (the message names the field).
    """
    schedule = read_schedule_file(file)
    stored = save_schedule(schedule)
    headers = service_headers(settings, "cli")
    async with httpx.AsyncClient(base_url=settings.registry_url, headers=headers, timeout=30) as http:
        resp = await http.get("/api/deadlines", params={"provisional": "true", "status": "open"})
        resp.raise_for_status()
        rows = resp.json()
    workflow_ids = sorted({r["workflow_id"] for r in rows if r["due_at"][:4] >= str(schedule.year)[:4]})
    client = await connect_temporal(settings)
    signalled = 0
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).signal(CaseWorkflow.calendar_updated, schedule)
            signalled += 1
        except Exception:  # noqa: BLE001 - a closed case needs no recompute
            continue
    return (
        f"loaded {schedule.year}: {len(schedule.holidays)} holidays, {len(schedule.workdays)} adjusted workdays "
        f"→ {stored}; asked {signalled} running case(s) with provisional deadlines to recompute"
    )
