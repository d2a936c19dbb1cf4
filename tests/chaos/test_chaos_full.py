"""The full-length outages in ``make test``: NATS down 150 s, Temporal frozen 180 s and the
worker gone 180 s, each under a load on its own subprocess stack with production delivery
settings, all three at once (the outages are mostly waiting).

Marked ``long``: ``make test`` runs them in a second pytest process beside the rest of the
suite (tests/suite.py), so they add their four minutes to the wall time only once.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from services.connections import connect_temporal_at
from tests.chaos.faults import Fault, nats_down, temporal_paused, worker_down
from tests.chaos.lengths import FULL_TIMING, NATS_OUTAGE, TEMPORAL_PAUSE, WORKER_OUTAGE
from tests.chaos.run import Row, run_fault, table
from tests.chaos.stack import ChaosStack

pytestmark = [pytest.mark.integration, pytest.mark.long, pytest.mark.timeout(900)]

CASES = 60  # three events each
RATE = 4.0  # cases a second: the load outlasts the moment of the fault
CONVERGE_WITHIN = 120.0
FAULTS: list[Fault] = [nats_down(NATS_OUTAGE), temporal_paused(TEMPORAL_PAUSE), worker_down(WORKER_OUTAGE)]


async def test_full_length_outages_lose_duplicate_and_dead_letter_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run = uuid.uuid4().hex[:6]
    stacks = [ChaosStack(Path(tmp_path_factory.mktemp(f"full{i}")), FULL_TIMING) for i in range(len(FAULTS))]
    try:
        for stack in stacks:  # one after the other: each picks its free ports
            await asyncio.to_thread(stack.start)
        clients = [await connect_temporal_at(s.bench.temporal_address) for s in stacks]
        rows: list[Row] = await asyncio.gather(
            *(
                run_fault(
                    stack,
                    client,
                    fault,
                    run=run,
                    tag=f"L{i}",
                    events=CASES,
                    rate=RATE,
                    converge_within=CONVERGE_WITHIN,
                )
                for i, (stack, client, fault) in enumerate(zip(stacks, clients, FAULTS, strict=True))
            )
        )
    finally:
        for stack in stacks:
            await asyncio.to_thread(stack.stop)
    print("\n" + table(rows))
    for row in rows:
        assert row.sent == row.accepted == 3 * CASES, row
        assert (row.lost, row.duplicated, row.dead_letters) == (0, 0, 0), row
        assert row.converge_seconds is not None and row.converge_seconds <= CONVERGE_WITHIN, row
