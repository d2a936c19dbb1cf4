"""The Temporal dev server as ``make run`` starts it: on a SQLite file in write-ahead-log mode,
with one partition per task queue.

The CLI passes ``--sqlite-pragma`` through to SQLite and ``--dynamic-config-value`` to the
server; a CLI upgrade that refused one of ours would stop ``make run`` at its first step, and one
that ignored them would quietly bring back the fsync per commit that halved the server's
throughput, or the partitions that slowed the cases' first steps (``make bench``).
"""

from __future__ import annotations

import asyncio
import shlex
import sqlite3
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import ListTaskQueuePartitionsRequest
from temporalio.testing import WorkflowEnvironment

from services.connections import connect_temporal_at
from services.devstack import render_procfile, resolve_ports, temporal_dev_server_args
from tests.servers import binary, free_port


def test_make_run_starts_temporal_with_the_sqlite_pragmas_and_one_partition(tmp_path: Path) -> None:
    procfile = render_procfile(resolve_ports({}), tmp_path)
    (line,) = [row for row in procfile.splitlines() if row.startswith("temporal:")]
    assert shlex.join(temporal_dev_server_args()) in line


async def test_the_dev_server_keeps_its_sqlite_file_in_wal_mode_and_one_partition(tmp_path: Path) -> None:
    db = tmp_path / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        dev_server_extra_args=["--db-filename", str(db), *temporal_dev_server_args()],
    )
    try:
        # A write through the server: the namespace must be usable, not just the port open.
        handle = await env.client.start_workflow("NoSuchWorkflow", id=str(uuid.uuid4()), task_queue="nobody")
        await handle.terminate("test done")
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        partitions = await env.client.workflow_service.list_task_queue_partitions(
            ListTaskQueuePartitionsRequest(namespace="default", task_queue=TaskQueue(name="nobody"))
        )
        assert len(partitions.workflow_task_queue_partitions) == 1  # the server's default is 4
        assert len(partitions.activity_task_queue_partitions) == 1
    finally:
        await env.shutdown()


async def test_a_service_started_beside_the_server_waits_until_it_serves(tmp_path: Path) -> None:
    """``make run`` starts the worker and intake as soon as Temporal's port opens, and its
    frontend answers "not healthy yet" for a moment after: they must wait, not die."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        binary("temporal"),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--headless",
        "--db-filename",
        str(tmp_path / "t.db"),
        "--log-level",
        "error",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        # Connect at once: nothing listens yet, so a single attempt would be refused.
        client = await connect_temporal_at(f"127.0.0.1:{port}", timeout=60)
        handle = await client.start_workflow("NoSuchWorkflow", id=str(uuid.uuid4()), task_queue="nobody")
        await handle.terminate("test done")
    finally:
        server.terminate()
        await server.wait()


async def test_connecting_to_no_server_gives_up_after_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="Failed client connect"):
        await connect_temporal_at(f"127.0.0.1:{free_port()}", timeout=1.0)
    assert time.monotonic() - started < 10
