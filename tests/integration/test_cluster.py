"""Every service twice on a 3-node JetStream cluster, with a node and one replica of each
service killed under load: every event accepted exactly once, every case's events applied in
order, no refusal, within a stated recovery time.

Marked ``long``: ``make test`` runs it in the second pytest process beside the suite
(tests/suite.py), with the full-length outages.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cluster import ClusterStack, NatsCluster
from tests.cluster_run import on_fresh_stack
from tests.servers import binary, postgres_schema

pytestmark = [pytest.mark.integration, pytest.mark.long, pytest.mark.timeout(900)]

CASES = 1000  # three events each, back to back
RATE = 20.0  # cases a second: the load outlasts both faults
# From the last fault mended (or the last event acknowledged): a killed registry's or
# notifier's unacknowledged batch comes back after its ack_wait (60 s), the longest wait here.
RECOVERY_WITHIN = 150.0


@contextmanager
def read_model_url(tmp: Path) -> Iterator[str]:
    """PostgreSQL when TEST_DATABASE_URL is set (CI), as production runs two registries on it;
    else SQLite."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp / 'registry.db'}"
        return
    with postgres_schema(base) as url:
        yield url


def test_the_node_configuration_is_valid(tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path)
    for node in cluster.nodes:
        checked = subprocess.run(
            [binary("nats-server"), "-t", "-c", str(node.config)], capture_output=True, text=True, timeout=30
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "sync_interval: always" in node.config.read_text(encoding="utf-8")


async def test_every_service_twice_with_a_node_and_a_replica_of_each_killed(tmp_path: Path) -> None:
    with read_model_url(tmp_path) as database_url:
        row = await on_fresh_stack(
            ClusterStack(tmp_path / "cluster", database_url=database_url),
            run=uuid.uuid4().hex[:6],
            cases=CASES,
            rate=RATE,
            converge_within=RECOVERY_WITHIN,
        )
    print("\n" + row.table())
    assert row.sent == row.accepted == 3 * CASES, row
    assert (row.lost, row.duplicated, row.out_of_order, row.refused, row.dead_letters) == (0, 0, 0, 0, 0), row
    assert row.recovery_seconds is not None and row.recovery_seconds <= RECOVERY_WITHIN, row
