"""The Temporal dev server as ``make run`` starts it: on a SQLite file in write-ahead-log mode.

The CLI passes ``--sqlite-pragma`` through to SQLite; a CLI upgrade that refused one of ours
would stop ``make run`` at its first step, and one that ignored them would quietly bring back
the fsync per commit that halved the server's throughput (``make bench``).
"""

from __future__ import annotations

import shlex
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from services.devstack import render_procfile, resolve_ports, temporal_sqlite_args
from tests.servers import binary


def test_make_run_starts_temporal_with_the_sqlite_pragmas(tmp_path: Path) -> None:
    procfile = render_procfile(resolve_ports({}), tmp_path)
    (line,) = [row for row in procfile.splitlines() if row.startswith("temporal:")]
    assert shlex.join(temporal_sqlite_args()) in line


async def test_the_dev_server_keeps_its_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        dev_server_extra_args=["--db-filename", str(db), *temporal_sqlite_args()],
    )
    try:
        # A write through the server: the namespace must be usable, not just the port open.
        handle = await env.client.start_workflow("NoSuchWorkflow", id=str(uuid.uuid4()), task_queue="nobody")
        await handle.terminate("test done")
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        await env.shutdown()
