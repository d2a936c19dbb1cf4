"""``make chaos`` / ``python -m tests.chaos``: every fault in turn under a load, one table row each.

The fault lengths and settings are :mod:`tests.chaos.lengths`. Exits non-zero when any fault
lost, duplicated or dead-lettered a case, or did not converge. Writes ``.lawlink/chaos.json``
beside the printed table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from services.connections import connect_temporal_at
from tests.bench.stack import ROOT
from tests.chaos.faults import every_fault
from tests.chaos.lengths import FULL_TIMING, NATS_OUTAGE, TEMPORAL_PAUSE, WORKER_OUTAGE
from tests.chaos.run import Row, run_fault, table
from tests.chaos.stack import ChaosStack

OUTPUT = ROOT / ".lawlink" / "chaos.json"
# 334 cases of three events each: 1,002 events per fault.
CASES = 334
CASES_PER_SECOND = 8.0
CONVERGE_WITHIN = 300.0


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip()


def failures(rows: list[Row]) -> list[str]:
    """What went wrong, one line per fault that did not hold."""
    return [
        f"{r.fault}: lost {r.lost}, duplicated {r.duplicated}, dead letters {r.dead_letters}, "
        f"converged {r.converge_seconds}"
        for r in rows
        if r.lost or r.duplicated or r.dead_letters or r.converge_seconds is None
    ]


async def main(
    cases: int, nats_outage: float, temporal_pause: float, worker_outage: float, only: str | None = None
) -> int:
    """Run every fault on one stack; print the table; 1 if any fault did not hold."""
    run = uuid.uuid4().hex[:6]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lawlink-chaos-") as tmp:
        stack = ChaosStack(Path(tmp), FULL_TIMING)
        try:
            stack.start()
            temporal = await connect_temporal_at(stack.bench.temporal_address)
            for i, fault in enumerate(every_fault(nats_outage, temporal_pause, worker_outage)):
                if only is not None and only not in fault.name:
                    continue
                row = await run_fault(
                    stack,
                    temporal,
                    fault,
                    run=run,
                    tag=f"f{i}",
                    events=cases,
                    rate=CASES_PER_SECOND,
                    converge_within=CONVERGE_WITHIN,
                )
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
        finally:
            stack.stop()
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": await asyncio.to_thread(_commit),
        "cases_per_fault": cases,
        "rows": [r.as_dict() for r in rows],
    }
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nchaos run {report['date']} at {report['commit']}:\n")
    print(table(rows))
    bad = failures(rows)
    for line in bad:
        print(f"FAILED {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=CASES, help="cases per fault (3 events each)")
    parser.add_argument("--nats-outage", type=float, default=NATS_OUTAGE)
    parser.add_argument("--temporal-pause", type=float, default=TEMPORAL_PAUSE)
    parser.add_argument("--worker-outage", type=float, default=WORKER_OUTAGE)
    parser.add_argument("--only", help="run only the faults whose name contains this")
    args = parser.parse_args()
    sys.exit(
        asyncio.run(main(args.cases, args.nats_outage, args.temporal_pause, args.worker_outage, args.only))
    )
