"""A load on the cluster stack with a NATS node and one replica of every service killed during
it, and what it left behind: the figures the cluster test asserts and prints.

Each case gets its three events back to back (tests/chaos/load.py): the second is published as
soon as the bus acknowledged the first, so a case's events are in flight together and reach
different replicas' consumers at the same moment. Out of order, the second would be refused
("no open case") or the third ("form the team first").
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import asdict, dataclass
from typing import Any

import nats
import nats.errors
from sqlalchemy import text
from temporalio.client import Client

from services.connections import connect_temporal_at
from services.readmodel.db import make_engine
from tests.bench.phases import OPENING_PROCESS
from tests.chaos.load import STEPS, Load, opening_events, run_load
from tests.chaos.run import count_outcome, until_converged, until_share_accepted
from tests.cluster import REPLICATED, ClusterStack

REJECTED_STREAM = "LAWLINK_REJECTED"
NODE_DOWN = 10.0  # seconds the killed NATS node stays down
REPLICA_DOWN = 5.0  # seconds before the killed replicas are started again (a StatefulSet's restart)


@dataclass(frozen=True)
class ClusterRow:
    """``sent``/``accepted`` count events; ``lost``, ``duplicated`` and ``out_of_order`` count
    cases; ``refused`` counts refusals sent back to agencies during the run."""

    sent: int
    accepted: int
    lost: int
    duplicated: int
    out_of_order: int
    refused: int
    dead_letters: int
    resends: int
    recovery_seconds: float | None
    # From the first event sent to every case complete (None: not converged).
    elapsed_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        heads = list(self.as_dict())
        cells = ["-" if v is None else str(v) for v in self.as_dict().values()]
        return "| " + " | ".join(heads) + " |\n|" + "---:|" * len(heads) + "\n| " + " | ".join(cells) + " |"


async def refusals(nats_url: str) -> int:
    """Refusals on the bus so far (every agency's)."""
    nc = await nats.connect(nats_url.split(","), allow_reconnect=False)
    try:
        info = await nc.jetstream().stream_info(REJECTED_STREAM)
        return info.state.messages
    finally:
        await nc.close()


def out_of_order(database_url: str, prefix: str) -> set[str]:
    """Cases whose received events the workflow applied in another order than they were sent
    (the timeline's workflow sequence numbers against tests/chaos/load.py STEPS)."""
    steps = [f"{OPENING_PROCESS}.{s}" for s in STEPS]
    applied: dict[str, list[str]] = {}
    engine = make_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text(
                    "SELECT case_id, type FROM timeline_entry WHERE process = :process AND case_id LIKE :like"
                    " AND kind = 'received' ORDER BY case_id, seq"
                ),
                {"process": OPENING_PROCESS, "like": f"{prefix}%"},
            )
            for case_id, kind in rows:
                applied.setdefault(case_id, []).append(kind)
    finally:
        engine.dispose()
    wrong = set()
    for case_id, kinds in applied.items():
        sent = [k for k in kinds if k in steps]
        if sent != steps[: len(sent)]:
            wrong.add(case_id)
    return wrong


async def _faults(stack: ClusterStack, load: Load, sending: asyncio.Task[Load]) -> None:
    """A quarter in: ``kill -9`` of NATS node 2, back after :data:`NODE_DOWN`; half way: ``kill
    -9`` of the second replica of every service, each started again after :data:`REPLICA_DOWN`."""
    await until_share_accepted(load, 0.25, sending)
    await asyncio.to_thread(stack.nats.kill_node, 1)
    await asyncio.sleep(NODE_DOWN)
    await asyncio.to_thread(stack.nats.start_node, 1)
    await until_share_accepted(load, 0.5, sending)
    for service in REPLICATED:
        await asyncio.to_thread(stack.kill_replica, service, 1)
    await asyncio.sleep(REPLICA_DOWN)
    for service in REPLICATED:
        await asyncio.to_thread(stack.start_replica, service, 1)


async def on_fresh_stack(stack: ClusterStack, **load: Any) -> ClusterRow:
    """Start ``stack``, run :func:`run_cluster_load` on it with ``load``, stop it."""
    try:
        await asyncio.to_thread(stack.start)
        temporal = await connect_temporal_at(stack.bench.temporal_address)
        return await run_cluster_load(stack, temporal, **load)
    finally:
        await asyncio.to_thread(stack.stop)


async def run_cluster_load(
    stack: ClusterStack,
    temporal: Client,
    *,
    run: str,
    cases: int,
    rate: float,
    converge_within: float,
    faults: bool = True,
) -> ClusterRow:
    """Send ``cases`` x 3 events at ``rate`` cases a second (with the faults unless ``faults``
    is False), then wait up to ``converge_within`` seconds, from whichever ended last (the
    faults or the load), for every accepted case to be complete and intake's backlog empty."""
    events = opening_events(run, "C", cases)
    prefix = f"B{run}-C-"
    load = Load(cases=list(events))
    refused_before = await refusals(stack.nats.url)
    count = functools.partial(count_outcome, stack.nats.url, stack.database_url, temporal, prefix, load)
    before = await count()
    assert before is not None, "the cluster stack does not answer before the load"
    began = time.monotonic()
    deadline = began + cases / rate + NODE_DOWN + REPLICA_DOWN + converge_within
    sending = asyncio.create_task(run_load(stack.nats.url, events, rate=rate, deadline=deadline, load=load))
    if faults:
        await _faults(stack, load, sending)
    mended_at = time.monotonic()
    await sending
    since = max(mended_at, load.last_accepted_at)
    recovered, outcome = await until_converged(count, load, since, converge_within, stack.wait_healthy)
    assert outcome is not None, "the engines never answered the count"
    return ClusterRow(
        sent=load.sent,
        accepted=load.acknowledged,
        lost=len(load.accepted - outcome.complete(load.accepted)),
        duplicated=len(outcome.duplicated()),
        out_of_order=len(out_of_order(stack.database_url, prefix)),
        refused=await refusals(stack.nats.url) - refused_before,
        dead_letters=outcome.dead_letters - before.dead_letters,
        resends=load.resends,
        recovery_seconds=None if recovered is None else round(recovered, 1),
        elapsed_seconds=None if recovered is None else round(since + recovered - began, 1),
    )
