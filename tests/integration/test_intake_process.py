"""Intake as ``make run`` starts it: its own process, under uvicorn, on uvloop.

The other integration tests run intake inside pytest's asyncio loop. A deployment runs
``uvicorn services.intake.app:app``, which picks uvloop when it is installed (a dependency
since the bench measured a tenth less CPU per event on it, tests/bench/README.md item 21).
Nothing else would notice if that process stopped starting cases or answering bad events.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from temporalio.testing import WorkflowEnvironment

from services.discipline.crypto import generate_key
from tests.bench.stack import Service
from tests.events import event, eventually, new_case_id, publish
from tests.servers import SERVICE_TOKEN, NatsServer, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/maps"),
]

ROOT = Path(__file__).resolve().parents[2]


def _mapped_files(pid: int) -> str:
    """The shared objects a process has loaded (its memory map)."""
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.fixture
def intake_process(temporal_dev: WorkflowEnvironment, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A private nats-server and ``python -m uvicorn services.intake.app:app`` against it and the
    session's Temporal dev server; yields (NATS URL, intake's pid)."""
    server = NatsServer(tmp_path / "nats").start()
    port = free_port()
    env = {
        **os.environ,
        "NATS_URL": server.url,
        "TEMPORAL_ADDRESS": temporal_dev.client.service_client.config.target_host,
        "LAWLINK_TASK_QUEUE": f"intake-process-{uuid.uuid4()}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "LAWLINK_CALENDAR_DIR": str(tmp_path / "calendar"),
        "LAWLINK_CONTENT_KEY": generate_key(),
        "LAWLINK_SERVICE_TOKEN": SERVICE_TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "intake.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "services.intake.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    intake = Service("intake", proc, log, port)
    try:
        intake.wait_healthy(timeout=60)
        yield server.url, proc.pid
    finally:
        intake.stop()
        server.stop()


async def test_intake_under_uvicorn_runs_on_uvloop_starts_cases_and_answers_bad_events(
    intake_process: tuple[str, int], temporal_dev: WorkflowEnvironment
) -> None:
    nats_url, pid = intake_process
    assert "uvloop" in _mapped_files(pid), "intake's process did not load uvloop"

    case_id = new_case_id("PROC")
    good = event("case_transfer", "crime_suspected", case_id=case_id)
    bad = event("case_transfer", "crime_suspected", case_id=new_case_id("PROC"))
    bad["occurred_at"] = "last Tuesday"
    nc = await nats.connect(nats_url)
    try:
        rejected = await nc.subscribe(f"lawlink.rejected.{bad['source_agency']}")
        await publish(nc, good)
        await publish(nc, bad)

        handle = temporal_dev.client.get_workflow_handle(f"case_transfer/{case_id}")

        async def started() -> str | None:
            try:
                return (await handle.describe()).workflow_type
            except Exception:  # noqa: BLE001 - not started yet
                return None

        assert await eventually(started, lambda t: t is not None) == "CaseTransfer"

        rejection = json.loads((await rejected.next_msg(timeout=20)).data)
        assert rejection["event_id"] == bad["event_id"]
        assert rejection["field"] == "occurred_at"
    finally:
        await nc.close()
