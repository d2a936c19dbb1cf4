"""The short chaos run in ``make test``: a few faults under a small load on a real subprocess
stack, each losing, duplicating and dead-lettering nothing and converging within a bound.

Reconnect and delivery waits are shrunk so each outage takes seconds, yet every outage lasts
longer than the NATS client's old give-up (60 attempts at the longest reconnect wait) and than
intake's deliveries (max_deliver x (ack wait + back-off)): without reconnecting forever and
holding events while an engine is down, these tests fail. ``make chaos`` runs every fault at
full length (tests/chaos/README.md).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from services.connections import connect_temporal_at
from tests.chaos.faults import Fault, crashes, nats_down, temporal_paused, worker_down
from tests.chaos.run import run_fault, table
from tests.chaos.stack import ChaosStack, Timing

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

INTAKE = {
    "INTAKE_UPDATE_TIMEOUT": "1",
    "INTAKE_ACK_WAIT": "2",
    "INTAKE_MAX_DELIVER": "3",
    "INTAKE_BACKOFF": "[0.2, 0.2, 0.2]",
    "INTAKE_ENGINE_RETRY_MAX": "0.5",
}
TIMING = Timing(reconnect_wait=0.05, reconnect_max_wait=0.1, intake=INTAKE)
# Past the old give-up (6 s) and past every delivery of an event (3 x 2.2 s) by a margin.
OUTAGE = 9.0
CASES = 24  # three events each
CONVERGE_WITHIN = 45.0
RUN = uuid.uuid4().hex[:6]

assert OUTAGE > TIMING.old_give_up_seconds and OUTAGE > 3 * (2 + 0.2)

FAULTS: list[Fault] = [
    next(f for f in crashes() if f.name == "kill -9 intake"),
    nats_down(OUTAGE),
    temporal_paused(OUTAGE),
    worker_down(OUTAGE),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    chaos = ChaosStack(Path(tmp_path_factory.mktemp("chaos")), TIMING)
    try:
        chaos.start()
        yield chaos
    finally:
        chaos.stop()


@pytest.fixture(scope="module")
async def temporal(stack: ChaosStack) -> AsyncIterator[Client]:
    yield await connect_temporal_at(stack.bench.temporal_address)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_a_fault_under_load_loses_and_duplicates_nothing(
    stack: ChaosStack, temporal: Client, fault: Fault
) -> None:
    row = await run_fault(
        stack,
        temporal,
        fault,
        run=RUN,
        tag=f"s{FAULTS.index(fault)}",
        events=CASES,
        rate=12.0,
        converge_within=CONVERGE_WITHIN,
    )
    print("\n" + table([row]))
    assert row.sent == row.accepted == 3 * CASES, row
    assert row.lost == 0, row
    assert row.duplicated == 0, row
    assert row.dead_letters == 0, row
    assert row.converge_seconds is not None and row.converge_seconds <= CONVERGE_WITHIN, row
