"""The cluster figures of ``make bench``: what three copies with an fsync before every ack cost a
publish, and the ingest rate with one and with two intake replicas on the 3-node cluster.

Both are measured in the same run as the single-node figures, on the same machine, each on a
fresh cluster (tests/cluster.py); the ratios are the point, since the machine's pace moves.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from tests.bench.phases import raw_jetstream
from tests.cluster import ClusterStack, NatsCluster
from tests.cluster_run import on_fresh_stack

# Cases are sent as fast as the bus takes them (three events each, back to back).
UNTHROTTLED = 10_000.0
CONVERGE_WITHIN = 600.0


async def publish_cost(workdir: Path, n_sync: int, n_pipelined: int) -> dict[str, Any]:
    """Publishes/s to an R1 and an R3 stream of one 3-node cluster with ``sync_interval: always``.

    Each is measured twice, alternating (R3, R1, R3, R1), and its better run kept: the first
    publishes to a fresh cluster ran at a fraction of the later ones whichever stream went first.
    """
    cluster = NatsCluster(workdir / "publish").start()
    runs: dict[int, list[dict[str, Any]]] = {1: [], 3: []}
    try:
        await cluster.wait_ready()
        for replicas in (3, 1, 3, 1):
            runs[replicas].append(await raw_jetstream(cluster.url, n_sync, n_pipelined, replicas=replicas))
    finally:
        cluster.stop()
    r1, r3 = (max(runs[r], key=lambda run: run["sync"]["rate"] + run["pipelined"]["rate"]) for r in (1, 3))
    return {
        "R1": r1,
        "R3": r3,
        "sync_ratio_r3_to_r1": round(r3["sync"]["rate"] / r1["sync"]["rate"], 3),
        "pipelined_ratio_r3_to_r1": round(r3["pipelined"]["rate"] / r1["pipelined"]["rate"], 3),
    }


async def ingest_by_intake_replicas(workdir: Path, cases: int) -> dict[str, Any]:
    """The same load (``cases`` x 3 events) on a fresh cluster stack with one intake, then two;
    two workers, registries and notifiers each time."""
    out: dict[str, Any] = {}
    for intakes in (1, 2):
        row = await on_fresh_stack(
            ClusterStack(workdir / f"intake{intakes}", counts={"intake": intakes}),
            run=uuid.uuid4().hex[:6],
            cases=cases,
            rate=UNTHROTTLED,
            converge_within=CONVERGE_WITHIN,
            faults=False,
        )
        elapsed = row.elapsed_seconds
        out[f"intake_x{intakes}"] = {
            **row.as_dict(),
            "rate": None if not elapsed else round(row.accepted / elapsed, 1),
        }
    one, two = out["intake_x1"]["rate"], out["intake_x2"]["rate"]
    out["ratio_two_to_one"] = round(two / one, 3) if one and two else None
    return out


async def cluster_figures(workdir: Path, *, cases: int, n_sync: int, n_pipelined: int) -> dict[str, Any]:
    """Both figures; the clusters' directories are removed afterwards."""
    try:
        return {
            "publish": await publish_cost(workdir, n_sync, n_pipelined),
            "ingest": await ingest_by_intake_replicas(workdir, cases),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def describe(figures: dict[str, Any]) -> list[str]:
    """The lines ``make bench`` prints."""
    pub, ingest = figures["publish"], figures["ingest"]
    return [
        f"   cluster publish, one at a time: R1 {pub['R1']['sync']['rate']}/s, R3 {pub['R3']['sync']['rate']}/s "
        f"(R3/R1 {pub['sync_ratio_r3_to_r1']}); pipelined: R1 {pub['R1']['pipelined']['rate']}/s, "
        f"R3 {pub['R3']['pipelined']['rate']}/s (R3/R1 {pub['pipelined_ratio_r3_to_r1']})",
        f"   cluster ingest: 1 intake {ingest['intake_x1']['rate']}/s, 2 intakes {ingest['intake_x2']['rate']}/s "
        f"(2/1 {ingest['ratio_two_to_one']}); lost {ingest['intake_x1']['lost']}+{ingest['intake_x2']['lost']}, "
        f"out of order {ingest['intake_x1']['out_of_order']}+{ingest['intake_x2']['out_of_order']}",
    ]
