"""``make bench`` / ``python -m tests.bench [--quick]``: one run, every figure, as ratios.

Order matters: the raw ceilings of Temporal and JetStream are measured first on the same fresh
servers, so every Lawlink figure can be read as a fraction of what its engines do on this
machine at this moment. Prints a table and writes ``.lawlink/bench.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench import cluster as cluster_phase
from tests.bench import lists as lists_phase
from tests.bench import phases, readmodel
from tests.bench import statistics as statistics_phase
from tests.bench import tracing as tracing_phase
from tests.bench.noop import THREE_ACTIVITIES_WORKFLOW
from tests.bench.report import print_table
from tests.bench.stack import ROOT, BenchStack, cpu_layout
from tests.servers import postgres_schema

OUTPUT = ROOT / ".lawlink" / "bench.json"
GOAL_RATIO = 0.9
LONG_TIMERS_GOAL = 10_000
DELEGATION_WORKFLOW = "PowerDelegation"


@dataclass(frozen=True)
class Sizes:
    """How much each phase does (QUICK=1 shrinks everything to run in under a minute)."""

    raw_starts: int
    raw_concurrency: int
    shape_runs: int
    js_sync: int
    js_pipelined: int
    direct: int
    ingest: tuple[int, ...]
    latency_events: int
    latency_seconds: float
    delegations: int
    alone: int
    cases: int
    timeline_entries: int
    other_entries: int
    repeat_timeline: int
    repeat_inbox: int
    # Cases (three events each) per intake count on the 3-node cluster (tests/bench/cluster.py).
    cluster_cases: int = 300


FULL = Sizes(
    raw_starts=1000,
    raw_concurrency=64,
    shape_runs=300,
    js_sync=10_000,
    js_pipelined=100_000,
    direct=300,
    ingest=(1000, 10_000),
    latency_events=800,
    latency_seconds=20.0,
    delegations=10_000,
    alone=1000,
    cases=100_000,
    timeline_entries=10_000,
    other_entries=490_000,
    repeat_timeline=20,
    repeat_inbox=200,
)
QUICK = Sizes(
    raw_starts=100,
    raw_concurrency=32,
    shape_runs=30,
    js_sync=1000,
    js_pipelined=5000,
    direct=30,
    ingest=(40, 120),
    latency_events=30,
    latency_seconds=3.0,
    delegations=40,
    alone=120,
    cases=5000,
    timeline_entries=1000,
    other_entries=20_000,
    repeat_timeline=5,
    repeat_inbox=30,
    cluster_cases=30,
)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        # uvicorn runs intake and registry on uvloop when it is installed (a dependency on Linux).
        "services_event_loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
    }


async def judged_ingest(
    stack: BenchStack,
    events: phases.OpeningEvents,
    n: int,
    tag: str,
    sizes: Sizes,
    raw_t: dict[str, Any],
    direct: dict[str, Any],
) -> dict[str, Any]:
    """One ingest of ``n`` opening events with the yardstick measured right before and after it.

    A few seconds of no-op starts taken minutes earlier on an empty database moved by up to a
    third against one taken beside the ingest (tests/bench/README.md, "Why ratios"), so each
    ingest is judged against the mean of the two taken beside it, on the same database and at
    the same moment of the machine. Each yardstick is a burst of as many no-op starts as the
    ingest has events: the bare engine does not hold its 1,000-start rate over a 10,000-start
    burst either ("What the figures say").
    """
    timeout = max(120.0, n / max(1.0, raw_t["rate"]) * 40)
    starts = max(n, sizes.raw_starts)
    before = await phases.raw_temporal_starts(stack, starts, sizes.raw_concurrency, 0)
    run_ = await phases.ingest(stack, events, n, tag, timeout)
    after = await phases.raw_temporal_starts(stack, starts, sizes.raw_concurrency, 0)
    beside = (before["rate"] + after["rate"]) / 2
    run_["cpu_layout"] = stack.layout.describe()
    run_["raw_beside"] = {"before": before, "after": after, "mean_rate": round(beside, 1)}
    run_["ratio_to_raw_start"] = round(run_["rate"] / beside, 3)
    run_["ratio_to_first_raw_start"] = round(run_["rate"] / raw_t["rate"], 3)
    run_["ratio_to_direct"] = round(run_["rate"] / direct["rate"], 3)
    shape = raw_t["shapes"].get(THREE_ACTIVITIES_WORKFLOW)
    if shape:
        run_["ratio_to_engine_shape"] = round(run_["rate"] / shape["rate"], 3)
    return run_


def describe_ingest(run_: dict[str, Any]) -> str:
    """One progress line for a judged ingest."""
    raw = run_["raw_beside"]
    return (
        f"{run_['rate']}/s = {run_['ratio_to_raw_start']} of the raw starts beside it "
        f"({raw['before']['rate']}/s before, {raw['after']['rate']}/s after; "
        f"{run_['ratio_to_first_raw_start']} of the first); first steps {run_['first_step_rate']}/s"
    )


async def run(sizes: Sizes, quick: bool, keep: bool, split: bool = True) -> dict[str, Any]:
    """Every phase against one private stack; the stack is torn down whatever happens."""
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / ".lawlink"))
    stack = BenchStack(workdir, layout=cpu_layout(split=split))
    result: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "started_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "cpu_layout": stack.layout.describe(),
        "notes": [],
    }
    notes: list[str] = result["notes"]
    events = phases.OpeningEvents(run=uuid.uuid4().hex[:6])

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    try:
        say(f"starting the private stack in {workdir}")
        stack.start_servers()
        say("1/6 raw ceilings")
        raw_t = await phases.raw_temporal_starts(
            stack, sizes.raw_starts, sizes.raw_concurrency, sizes.shape_runs
        )
        raw_js = await phases.raw_jetstream(stack.nats_url, sizes.js_sync, sizes.js_pipelined)
        result["raw"] = {"temporal_starts": raw_t, "jetstream": raw_js}
        say(
            f"   Temporal no-op starts {raw_t['rate']}/s, JetStream sync {raw_js['sync']['rate']}/s, "
            f"pipelined {raw_js['pipelined']['rate']}/s"
        )

        stack.start_lawlink()
        direct = await phases.direct_update_with_start(stack, events, sizes.direct, concurrency=32)
        direct["ratio_to_raw_start"] = round(direct["rate"] / raw_t["rate"], 3)
        result["raw"]["direct_update_with_start"] = direct
        say(f"   real workflow via intake's code, no NATS: {direct['rate']}/s")

        say("2/6 ingest + 3/6 latency + 6/6 growth")
        growth = []
        ingest_runs = []
        max_rate = 0.0
        latency_rate = None
        for n in sizes.ingest:
            run_ = await judged_ingest(stack, events, n, f"ingest{n}", sizes, raw_t, direct)
            ingest_runs.append(run_)
            # Latency is probed at half the rate the whole path sustains (workflows that also ran
            # their first step), not half the start rate: above it the worker's backlog, not
            # Lawlink's path, would be measured.
            max_rate = max(max_rate, run_["first_step_rate"])
            say(f"   ingest {n}: {describe_ingest(run_)}")
            # The same offered rate after each size, so the p99s of the growth table compare.
            latency_rate = latency_rate or max_rate / 2
            n_probe = max(20, min(sizes.latency_events, int(latency_rate * sizes.latency_seconds)))
            probe = await phases.latency(stack, events, latency_rate, n_probe, f"lat{n}")
            say(
                f"   latency after {n}: p99 publish→out {probe['publish_to_out_ms']['p99']} ms, "
                f"→registry {probe['publish_to_registry_ms']['p99']} ms"
            )
            growth.append(
                {
                    "after_events": n,
                    "ingest_rate": run_["rate"],
                    "ingest_ratio_to_raw_start": run_["ratio_to_raw_start"],
                    "p99_publish_to_out_ms": probe["publish_to_out_ms"]["p99"],
                    "p99_publish_to_registry_ms": probe["publish_to_registry_ms"]["p99"],
                    "latency": probe,
                }
            )
        result["ingest"] = ingest_runs
        result["latency"] = growth[0]["latency"]
        result["growth"] = growth
        if stack.layout.split:
            # The same ingest with every process free to run on every CPU, judged the same way:
            # what Lawlink's CPU takes from the engine when both share one small box.
            split = stack.layout
            stack.apply_layout(split.shared())
            try:
                n = sizes.ingest[0]
                shared = await judged_ingest(stack, events, n, f"shared{n}", sizes, raw_t, direct)
            finally:
                stack.apply_layout(split)
            result["ingest_shared_cores"] = shared
            say(f"   ingest {n}, shared cores: {describe_ingest(shared)}")
        # Tracing at 100 % sampling, exported over OTLP, against off: the services restarted
        # for each half, each half judged against the raw starts beside it.
        n = sizes.ingest[0]
        cost = await tracing_phase.tracing_cost(
            stack, lambda tag: judged_ingest(stack, events, n, f"{tag}{n}", sizes, raw_t, direct)
        )
        result["tracing"] = cost
        say(
            f"   tracing on {cost['on']['rate']}/s vs off {cost['off']['rate']}/s = "
            f"{cost['rate_ratio_on_to_off']}; {cost['exported']['requests']} OTLP exports"
        )
        if not cost["exported"]["requests"]:
            notes.append("tracing: the traced ingest exported no spans")
        result["cluster"] = await measure_cluster(sizes)
        worst = min(r["ratio_to_raw_start"] for r in ingest_runs)
        if worst < GOAL_RATIO:
            notes.append(
                f"ingest reaches {worst} of the raw no-op start rate measured beside it (goal {GOAL_RATIO} "
                f"at every size); against the real workflow's own ceiling (no NATS) it reaches "
                f"{min(r['ratio_to_direct'] for r in ingest_runs)}"
            )

        # The yardstick again, next to the figure it judges (same database size, same moment),
        # then intake with the worker stopped: what intake and NATS add on top of Temporal.
        raw_again = await phases.raw_temporal_starts(stack, sizes.raw_starts, sizes.raw_concurrency, 0)
        result["raw"]["temporal_starts_again"] = raw_again
        alone = await phases.intake_alone(stack, events, sizes.alone, max(300.0, sizes.alone))
        alone["ratio_to_raw_start_again"] = round(alone["rate"] / raw_again["rate"], 3)
        result["intake_alone"] = alone
        say(
            f"   raw starts again {raw_again['rate']}/s; intake alone (worker stopped) "
            f"{alone['rate']}/s = {alone['ratio_to_raw_start_again']} of it"
        )

        say("5/6 long timers")
        opened = await phases.open_delegations(
            stack, events.run, sizes.delegations, max(300.0, sizes.delegations * 0.4)
        )
        say(
            f"   {sizes.delegations} delegations in effect after {opened['seconds_to_all_effective']} s; "
            f"review timers due in {opened['review_timer_days_from_now']} days"
        )
        timers = await phases.long_timers(stack, DELEGATION_WORKFLOW, also_open=("CaseTransfer",))
        timers["opened_by_bench"] = opened
        notes.append(
            f"long timers: {sizes.delegations} {DELEGATION_WORKFLOW} workflows granted and accepted "
            "through intake, each asleep on its one-year review timer; the CaseTransfer cases of the "
            "ingest phases stay open too, waiting for their team's report (no timer until it comes)"
        )
        if set(timers["sampled_states"]) != {"active"}:
            notes.append(f"long timers: sampled delegations not all active: {timers['sampled_states']}")
        if not quick and timers["open_workflows"] < LONG_TIMERS_GOAL:
            notes.append(
                f"long timers: only {timers['open_workflows']} delegations open (goal {LONG_TIMERS_GOAL})"
            )
        result["long_timers"] = timers
        say(f"   open workflows {timers['open_by_type']}; RSS {timers['rss_mib']}")
        for name in ("intake", "registry", "worker"):
            stack.stop_service(name)

        say("4/6 read model")
        result["read_model"] = await read_model_phase(stack, workdir, sizes, notes)
        say("4/6 statistics (server time of the statistics page's figures)")
        result["statistics"] = statistics_phase.phase(workdir, quick, notes)
        result["lists"] = lists_phase.phase(quick)
    finally:
        say("stopping the stack")
        stack.stop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


async def read_model_phase(
    stack: BenchStack, workdir: Path, sizes: Sizes, notes: list[str]
) -> dict[str, Any]:
    """Section 4 on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` names one."""
    if not readmodel.inbox_module_available():
        notes.append(
            "read model: services/disputes/inbox.py is not in this checkout, so the coordinator inbox is "
            "not measured; GET /api/cases?process=case_transfer&state=opened&limit=50 stands in"
        )
    sizes_rm = {
        "cases": sizes.cases,
        "timeline_entries": sizes.timeline_entries,
        "other_entries": sizes.other_entries,
    }
    out = {
        "sqlite": await readmodel.measure(
            stack,
            "sqlite",
            f"sqlite:///{workdir / 'readmodel.db'}",
            sizes_rm,
            sizes.repeat_timeline,
            sizes.repeat_inbox,
        )
    }
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        with postgres_schema(pg) as url:
            out["postgresql"] = await readmodel.measure(
                stack, "postgresql", url, sizes_rm, sizes.repeat_timeline, sizes.repeat_inbox
            )
    else:
        notes.append("read model: TEST_DATABASE_URL is not set, PostgreSQL not measured")
    for db, rm in out.items():
        for key in ("timeline", "timeline_page", "cases", "inbox"):
            if key in rm and not rm[key]["uses_index"]:
                notes.append(
                    f"read model: the {key} query on {db} does not use an index ({rm[key]['access']})"
                )
    return out


async def run_read_model_only(sizes: Sizes, previous: dict[str, Any]) -> dict[str, Any]:
    """Only section 4 (no engines needed), merged into an existing ``bench.json``: for working on
    the read model's indexes without waiting for the ingest phases."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / ".lawlink"))
    stack = BenchStack(workdir)
    result = dict(previous)
    notes = [n for n in result.get("notes", []) if not n.startswith(("read model:", "statistics:"))]
    try:
        result["read_model"] = await read_model_phase(stack, workdir, sizes, notes)
        result["statistics"] = statistics_phase.phase(workdir, sizes is QUICK, notes)
        result["lists"] = lists_phase.phase(sizes is QUICK)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    notes.append(f"read model: measured separately at {datetime.now(UTC).isoformat(timespec='seconds')}")
    result["notes"] = notes
    return result


async def run_tracing_only(sizes: Sizes, previous: dict[str, Any], split: bool = True) -> dict[str, Any]:
    """Only the tracing comparison (on its own stack), merged into an existing ``bench.json``."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / ".lawlink"))
    stack = BenchStack(workdir, layout=cpu_layout(split=split))
    result = dict(previous)
    events = phases.OpeningEvents(run=uuid.uuid4().hex[:6])
    try:
        stack.start_servers()
        raw_t = await phases.raw_temporal_starts(
            stack, sizes.raw_starts, sizes.raw_concurrency, sizes.shape_runs
        )
        stack.start_lawlink()
        direct = await phases.direct_update_with_start(stack, events, sizes.direct, concurrency=32)
        n = sizes.ingest[0]
        result["tracing"] = await tracing_phase.tracing_cost(
            stack, lambda tag: judged_ingest(stack, events, n, f"{tag}{n}", sizes, raw_t, direct)
        )
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    result.setdefault("notes", []).append(
        f"tracing: measured separately at {datetime.now(UTC).isoformat(timespec='seconds')}"
    )
    return result


async def measure_cluster(sizes: Sizes) -> dict[str, Any]:
    """The 3-node cluster's figures (publish cost R3 against R1, ingest with 1 and 2 intakes)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-cluster-", dir=ROOT / ".lawlink"))
    figures = await cluster_phase.cluster_figures(
        workdir, cases=sizes.cluster_cases, n_sync=sizes.js_sync // 10, n_pipelined=sizes.js_pipelined // 10
    )
    for line in cluster_phase.describe(figures):
        print(line, file=sys.stderr, flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a small run, under a minute (make bench QUICK=1)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the stack's directory (logs, databases)")
    parser.add_argument(
        "--shared-cores",
        action="store_true",
        help="let every process run on every CPU instead of giving the Temporal dev server its own "
        "(make bench SHARED_CORES=1)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"JSON file (default {OUTPUT})")
    parser.add_argument(
        "--read-model-only", action="store_true", help="only section 4, merged into the existing JSON file"
    )
    parser.add_argument(
        "--tracing-only", action="store_true", help="only tracing on against off, merged into the JSON file"
    )
    parser.add_argument(
        "--cluster-only",
        action="store_true",
        help="only the 3-node cluster's figures, merged into the JSON file",
    )
    args = parser.parse_args(argv)
    (ROOT / ".lawlink").mkdir(exist_ok=True)
    sizes = QUICK if args.quick else FULL
    if args.read_model_only:
        if not args.output.exists():
            parser.error(f"--read-model-only merges into {args.output}: run the whole bench first")
        previous = json.loads(args.output.read_text(encoding="utf-8"))
        result = asyncio.run(run_read_model_only(sizes, previous))
    elif args.tracing_only:
        if not args.output.exists():
            parser.error(f"--tracing-only merges into {args.output}: run the whole bench first")
        previous = json.loads(args.output.read_text(encoding="utf-8"))
        result = asyncio.run(run_tracing_only(sizes, previous, split=not args.shared_cores))
    elif args.cluster_only:
        previous = json.loads(args.output.read_text(encoding="utf-8")) if args.output.exists() else {}
        result = {**previous, "cluster": asyncio.run(measure_cluster(sizes))}
    else:
        result = asyncio.run(run(sizes, args.quick, args.keep, split=not args.shared_cores))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    if "raw" in result:
        print_table(result)
    print(f"figures written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
