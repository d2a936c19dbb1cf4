"""A deadline in a year without official holiday data is provisional until the schedule arrives."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.workflow_io import CaseStatus, YearScheduleIn
from tests.events import event, new_case_id
from tests.workflow_harness import run_worker, send, start_case

pytestmark = pytest.mark.timeout(60)
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_provisional_deadline_is_recomputed_when_the_year_is_loaded(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    env = time_skipping_env
    now = await env.get_current_time()
    target = datetime(
        now.year if now.month < 12 or now.day < 29 else now.year + 1, 12, 30, 10, tzinfo=SHANGHAI
    )
    if target.year < 2026:
        target = target.replace(year=2026)
    await env.sleep(target - now)
    case_id = new_case_id()
    async with run_worker(env.client, task_queue) as published:
        handle = await start_case(env.client, task_queue, "CaseTransfer", "case_transfer", case_id)
        for name in ("crime_suspected", "team_formed", "transfer_report_submitted"):
            await send(handle, event("case_transfer", name, case_id=case_id))
        first = published.of_type("deadline.set", case_id)[0].deadline
        assert first is not None
        if first.due_at.year < 2027:
            pytest.skip("the test server's clock is past the window this test needs")
        assert first.provisional, "a deadline ending in a year chinese-calendar does not know is provisional"

        # An official schedule that makes the first working days of January holidays.
        schedule = YearScheduleIn(
            year=2027,
            holidays=("2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04", "2027-01-05"),
            workdays=(),
        )
        await handle.signal("calendar_updated", schedule)
        await env.sleep(timedelta(seconds=1))
        status = await handle.query("status", result_type=CaseStatus)
        recomputed = published.of_type("deadline.recomputed", case_id)
        assert len(recomputed) == 1
        new = recomputed[0].deadline
        assert new is not None and not new.provisional
        assert new.due_at > first.due_at
        assert status.open_deadlines[0].due_at == new.due_at
