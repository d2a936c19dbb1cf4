"""The measured phases of ``make bench``: raw ceilings, ingest, latency, long timers.

Every phase returns plain dicts (the JSON of ``.lawlink/bench.json``); the table is printed from
them by ``tests.bench.report``. Rates are events per second of wall time; latencies are
milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.js.api import StorageType, StreamConfig
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from tqdm import tqdm

from contracts import subjects
from services.connections import connect_temporal_at
from services.intake.core import CachedSchedules, Intake, Outcome
from services.temporal_codec import lawlink_data_converter
from tests.bench.noop import NOOP_QUEUE_ENV, NOOP_WORKFLOW, THREE_ACTIVITIES_WORKFLOW, THREE_LOCAL_WORKFLOW
from tests.bench.stack import BenchStack
from tests.events import body, event
from workflows.deadlines import SHANGHAI

OPENING_PROCESS = "case_transfer"
OPENING_STEP = "crime_suspected"


def per_event(
    before: dict[str, float], after: dict[str, float], events: int, scale: float = 1.0
) -> dict[str, float]:
    """How much each counter of two readings grew per event (times ``scale``)."""
    return {name: round((after[name] - before[name]) * scale / events, 2) for name in after if name in before}


def counters_per_event(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, float]:
    """Like :func:`per_event` for a server's counters, which first appear when first counted: a
    counter missing from ``before`` started at zero. Counters that grew by under 0.01 per event
    are left out."""
    grown = per_event({name: before.get(name, 0.0) for name in after}, after, events)
    return {name: value for name, value in sorted(grown.items()) if value >= 0.01}


def cpu_per_event(
    before: dict[str, float], after: dict[str, float], events: int, driver: tuple[float, float] | None = None
) -> dict[str, float]:
    """CPU milliseconds per event of each process between two ``BenchStack.cpu()`` readings:
    where the time goes (the process with the most is the one to profile)."""
    out = per_event(before, after, events, scale=1000)
    if driver is not None:
        out["bench-driver"] = round((driver[1] - driver[0]) * 1000 / events, 2)
    return out


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """p50/p95/p99/max of ``values`` (nearest rank), and how many there were."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        index = max(0, min(len(ordered) - 1, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
        return round(ordered[index], 2)

    return {
        "n": len(ordered),
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": round(ordered[-1], 2),
    }


async def run_concurrently(
    n: int, concurrency: int, job: Callable[[int], Awaitable[None]], desc: str | None = None
) -> float:
    """Run ``job(i)`` for i < n with at most ``concurrency`` in flight; returns wall seconds."""
    next_index = 0
    bar = tqdm(total=n, desc=desc, unit="ev", leave=False, disable=True if desc is None else None)

    async def lane() -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            await job(i)
            bar.update(1)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(concurrency, n))))
    elapsed = time.perf_counter() - started
    bar.close()
    return elapsed


# ----- 1. raw ceilings ----------------------------------------------------------------------------


async def raw_temporal_starts(stack: BenchStack, n: int, concurrency: int, shape_runs: int) -> dict[str, Any]:
    """Starts/s of a no-op workflow with a bare client (default converter), a bare worker running
    them; the worker is stopped once the timed starts are over so it costs nothing later.

    The runs it has not completed by then stay open on their own task queue, which nothing
    polls again: finishing them took the bare worker 80 s after a 10,000-start burst, and the
    next phase would share the server with those completions. Only the first yardstick, which
    goes on to the shapes below on the same queue, finishes its runs first.

    Then the same engine with the shape of Lawlink's opening step and no Lawlink code:
    update-with-start of a workflow whose update runs three activities (or local activities).
    """
    queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    stack.extra_env[NOOP_QUEUE_ENV] = queue
    stack.spawn_python("noop-worker", "tests.bench.noop")
    client = await connect_temporal_at(stack.temporal_address)
    prefix = uuid.uuid4().hex[:8]
    # Warm the connection and the worker's pollers outside the timed part.
    await client.execute_workflow(NOOP_WORKFLOW, id=f"noop-warm-{prefix}", task_queue=queue)

    async def start(i: int) -> None:
        await client.start_workflow(NOOP_WORKFLOW, id=f"noop-{prefix}-{i}", task_queue=queue)

    db_before = stack.temporal_persistence_requests()
    cpu_before, driver_before = stack.cpu(), time.process_time()
    elapsed = await run_concurrently(n, concurrency, start, "raw Temporal starts")
    cpu = cpu_per_event(cpu_before, stack.cpu(), n, (driver_before, time.process_time()))
    db = counters_per_event(db_before, stack.temporal_persistence_requests(), n)
    shapes = {}
    tail = None
    if shape_runs:
        drained_at = time.perf_counter()
        # The last run's result first: visibility records lag the starts, so an early count
        # could read none still running.
        await client.get_workflow_handle(f"noop-{prefix}-{n - 1}").result()
        while await _count(client, f"TaskQueue='{queue}' AND ExecutionStatus='Running'") > 0:
            await asyncio.sleep(0.2)
        tail = round(time.perf_counter() - drained_at, 3)
        for workflow_type in (THREE_ACTIVITIES_WORKFLOW, THREE_LOCAL_WORKFLOW):
            shapes[workflow_type] = await _completed_rate(stack, client, workflow_type, queue, shape_runs, 32)
    stack.stop_service("noop-worker")
    return {
        "workflow": NOOP_WORKFLOW,
        "starts": n,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "rate": round(n / elapsed, 1),
        "completion_tail_seconds": tail,
        "cpu_ms_per_event": cpu,
        "db_operations_per_start": db,
        "shapes": shapes,
    }


async def _completed_rate(
    stack: BenchStack, client: Client, workflow_type: str, queue: str, n: int, concurrency: int
) -> dict[str, Any]:
    """Events/s of ``workflow_type`` opened by update-with-start whose update runs the three
    steps, ``concurrency`` at a time: intake's call, on a bare engine."""
    prefix = uuid.uuid4().hex[:8]

    async def execute(i: int) -> None:
        start = WithStartWorkflowOperation(
            workflow_type,
            id=f"{workflow_type}-{prefix}-{i}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await client.execute_update_with_start_workflow("receive", f"e-{i}", start_workflow_operation=start)

    cpu_before, driver_before = stack.cpu(), time.process_time()
    elapsed = await run_concurrently(n, concurrency, execute, workflow_type)
    cpu = cpu_per_event(cpu_before, stack.cpu(), n, (driver_before, time.process_time()))
    return {"runs": n, "concurrency": concurrency, "rate": round(n / elapsed, 1), "cpu_ms_per_event": cpu}


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def raw_jetstream(
    nats_url: str, n_sync: int, n_pipelined: int, window: int = 4000, replicas: int = 1
) -> dict[str, Any]:
    """Publishes/s to a file-backed stream of ``replicas`` copies on the servers of ``nats_url``
    (comma-separated for a cluster): one at a time (each awaits its PubAck) and pipelined
    (``publish_async`` with up to ``window`` acks outstanding)."""
    nc = await nats.connect(nats_url.split(","))
    js = nc.jetstream(publish_async_max_pending=window)
    stream = f"BENCH_RAW_R{replicas}"
    await js.add_stream(
        StreamConfig(
            name=stream,
            subjects=[f"bench.raw{replicas}.>"],
            storage=StorageType.FILE,
            duplicate_window=subjects.DUPLICATE_WINDOW_SECONDS,
            num_replicas=replicas,
        )
    )
    data = body(event(OPENING_PROCESS, OPENING_STEP))  # the real event's size
    prefix = uuid.uuid4().hex[:8]
    try:
        started = time.perf_counter()
        for i in tqdm(range(n_sync), desc="raw JetStream sync", unit="msg", leave=False, disable=None):
            await js.publish(
                f"bench.raw{replicas}.sync", data, stream=stream, headers={"Nats-Msg-Id": f"s-{prefix}-{i}"}
            )
        sync_s = time.perf_counter() - started

        started = time.perf_counter()
        futures = []
        for i in tqdm(
            range(n_pipelined), desc="raw JetStream pipelined", unit="msg", leave=False, disable=None
        ):
            futures.append(
                await js.publish_async(
                    f"bench.raw{replicas}.async",
                    data,
                    stream=stream,
                    headers={"Nats-Msg-Id": f"a-{prefix}-{i}"},
                )
            )
        acks = await asyncio.gather(*futures)
        pipelined_s = time.perf_counter() - started
        assert all(not a.duplicate for a in acks), "a pipelined publish was taken as a duplicate"
        await js.delete_stream(stream)
    finally:
        await nc.close()
    return {
        "message_bytes": len(data),
        "sync": {"messages": n_sync, "seconds": round(sync_s, 3), "rate": round(n_sync / sync_s, 1)},
        "pipelined": {
            "messages": n_pipelined,
            "window": window,
            "seconds": round(pipelined_s, 3),
            "rate": round(n_pipelined / pipelined_s, 1),
        },
    }


# ----- the real opening event ------------------------------------------------------------------


@dataclass
class OpeningEvents:
    """Fresh opening events, with what the driver needs to publish and to recognise them."""

    run: str
    process: str = OPENING_PROCESS
    step: str = OPENING_STEP
    counter: int = 0

    def make(self, n: int, tag: str) -> list[tuple[str, str, bytes, str]]:
        """``n`` events as (case_id, event_id, body, subject)."""
        out = []
        for _ in range(n):
            self.counter += 1
            case_id = f"B{self.run}-{tag}-{self.counter}"
            data = event(self.process, self.step, case_id=case_id)
            out.append(
                (case_id, data["event_id"], body(data), subjects.inbound(data["source_agency"], data["type"]))
            )
        return out


async def direct_update_with_start(
    stack: BenchStack, events: OpeningEvents, n: int, concurrency: int
) -> dict[str, Any]:
    """Intake's own code path (validate, start the real workflow with the opening event in its
    input) called from the driver with no NATS in between: the ceiling of intake's starts on this
    Temporal, against which the raw no-op start rate is a different yardstick."""
    client = await connect_temporal_at(stack.temporal_address, data_converter=lawlink_data_converter())
    nc = await nats.connect(stack.nats_url)
    # The same loaded schedules the intake subprocess hands every new workflow.
    calendar_dir = stack.workdir / "calendar"
    intake = Intake(
        client, nc.jetstream(), stack.task_queue, {}, calendar=CachedSchedules(directory=lambda: calendar_dir)
    )
    batch = events.make(n, "direct")
    outcomes: list[Outcome] = []

    async def submit(i: int) -> None:
        _, _, data, subject = batch[i]
        agency, subject_type = subjects.parse_inbound(subject)
        outcomes.append((await intake.submit(data, agency, subject_type)).outcome)

    cpu_before, driver_before = stack.cpu(), time.process_time()
    try:
        elapsed = await run_concurrently(n, concurrency, submit, "direct start")
        cpu = cpu_per_event(cpu_before, stack.cpu(), n, (driver_before, time.process_time()))
    finally:
        await nc.close()
    accepted = sum(o == Outcome.ACCEPTED for o in outcomes)
    if accepted != n:
        raise RuntimeError(f"direct start: only {accepted} of {n} accepted: {set(outcomes)}")
    return {
        "events": n,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "rate": round(n / elapsed, 1),
        "cpu_ms_per_event": cpu,
    }


class OutWatcher:
    """Times the first domain event of each case on ``lawlink.out`` (core subscription: it sees
    each message as JetStream stores it, without a consumer of its own)."""

    def __init__(self, process: str = OPENING_PROCESS, event_type: str | None = None) -> None:
        self.process = process
        self.event_type = event_type
        self.first_seen: dict[str, float] = {}
        self.payloads: dict[str, dict[str, Any]] = {}
        self.messages = 0
        self._sub: Any = None

    async def start(self, nc: Any) -> None:
        prefix = f"lawlink.out.{self.process}."

        async def on_msg(msg: Any) -> None:
            self.messages += 1
            case_id = msg.subject[len(prefix) :]
            if self.event_type is not None:
                data = json.loads(msg.data)
                if data.get("type") != self.event_type:
                    return
                self.payloads.setdefault(case_id, data.get("payload", {}))
            self.first_seen.setdefault(case_id, time.perf_counter())

        self._sub = await nc.subscribe(
            f"{prefix}*", cb=on_msg, pending_msgs_limit=1_000_000, pending_bytes_limit=1 << 30
        )

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()


async def _intake_backlog(js: Any) -> tuple[int, int]:
    info = await js.consumer_info(subjects.STREAM_IN, "intake")
    return info.num_pending, info.num_ack_pending


async def ingest(
    stack: BenchStack, events: OpeningEvents, n: int, tag: str, timeout: float
) -> dict[str, Any]:
    """Publish ``n`` opening events as fast as JetStream takes them and time how long until every
    case's workflow started and ran its first step (its first domain event) and intake acked all.

    The rate is ``n`` over the seconds from the first publish to the last case's first domain
    event: the backlog is drained at the speed of intake + Temporal + worker, whatever the driver.
    """
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream(publish_async_max_pending=4000)
    watcher = OutWatcher(events.process)
    await watcher.start(nc)
    batch = events.make(n, tag)
    published: dict[str, float] = {}
    profilers = start_profilers(stack, tag)
    evicted_before = stack.temporal_cache_evictions()
    db_before = stack.temporal_persistence_requests()
    cpu_before, driver_before = stack.cpu(), time.process_time()
    try:
        started = time.perf_counter()
        published.update(await _publish_all(js, batch))
        publish_s = time.perf_counter() - started
        bar = tqdm(total=n, desc=f"ingest {tag}", unit="ev", leave=False, disable=None)
        deadline = started + timeout
        seen = 0
        all_acked: float | None = None
        cpu_starting: dict[str, float] = {}
        db_starting: dict[str, float] = {}
        while True:
            # Started = intake acked the message after Temporal took the start (the workflow exists).
            if all_acked is None:
                pending, ack_pending = await _intake_backlog(js)
                if pending == 0 and ack_pending == 0:
                    all_acked = time.perf_counter()
                    cpu_starting = cpu_per_event(
                        cpu_before, stack.cpu(), n, (driver_before, time.process_time())
                    )
                    db_starting = counters_per_event(db_before, stack.temporal_persistence_requests(), n)
            done = sum(1 for c in published if c in watcher.first_seen)
            bar.update(done - seen)
            seen = done
            if done >= n and all_acked is not None:
                break
            if time.perf_counter() > deadline:
                raise TimeoutError(
                    f"ingest {tag}: {done} of {n} workflows ran their first step within {timeout}s"
                )
            stack.check_alive()
            await asyncio.sleep(0.05)
        bar.close()
        last_step = max(watcher.first_seen[c] for c in published)
        cpu = cpu_per_event(cpu_before, stack.cpu(), n, (driver_before, time.process_time()))
        evicted_after = stack.temporal_cache_evictions()  # a counter appears at its first eviction
        evicted = counters_per_event(evicted_before, evicted_after, n)
    finally:
        stop_profilers(profilers)
        await watcher.stop()
        await nc.close()
    elapsed = all_acked - started
    backlog_ms = [(watcher.first_seen[c] - published[c]) * 1000 for c in published]
    # How many cases also ran their first step while the starts went on: the first steps share
    # the cores and the server with the starts, so this says whether they held the starts back.
    stepped_while_starting = sum(1 for c in published if watcher.first_seen[c] <= all_acked)
    return {
        "events": n,
        "publish_seconds": round(publish_s, 3),
        "seconds_to_all_acked": round(elapsed, 3),
        "seconds_to_last_first_step": round(last_step - started, 3),
        # Workflows started per second: intake acks each event once Temporal took its start.
        "rate": round(n / elapsed, 1),
        # Cases per second that also ran their first step (worker published their first event).
        "first_step_rate": round(n / (last_step - started), 1),
        "first_steps_while_starting": stepped_while_starting,
        "backlog_latency_ms": percentiles(backlog_ms),
        "cpu_ms_per_event": cpu,
        # The same, counted only until intake acked the last event: what the starts shared the
        # cores with (the worker's and registry's share is the first steps run meanwhile).
        "cpu_ms_per_event_while_starting": cpu_starting,
        # The dev server's database operations per event over the same span: the same per start
        # at every size means a rise in its CPU per start is the same work costing more.
        "temporal_db_operations_per_event_while_starting": db_starting,
        # The dev server's history-cache evictions per event over the whole phase (none during
        # the yardstick's starts; see tests/bench/README.md, "What the figures say").
        "temporal_cache_evictions_per_event": evicted,
    }


async def intake_alone(stack: BenchStack, events: OpeningEvents, n: int, timeout: float) -> dict[str, Any]:
    """Intake's own start path, with the worker stopped: ``n`` opening events published at once,
    rate = ``n`` over the seconds until intake acked them all (every workflow started).

    In the ingest phases the worker runs the first steps of the cases already started on the
    same cores while the starts go on; here nothing else runs, so the figure next to the raw
    start rate is what intake and NATS add on top of Temporal. The worker is started again
    afterwards and the phase ends when every case ran its first step, leaving no backlog.
    """
    stack.stop_service("worker")
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream(publish_async_max_pending=4000)
    watcher = OutWatcher(events.process)
    await watcher.start(nc)
    batch = events.make(n, "alone")
    cpu_before, driver_before = stack.cpu(), time.process_time()
    try:
        started = time.perf_counter()
        deadline = started + timeout
        await _publish_all(js, batch)
        while (backlog := sum(await _intake_backlog(js))) > 0:
            _check_deadline(deadline, f"intake alone: {backlog} of {n} not started")
            stack.check_alive()
            await asyncio.sleep(0.05)
        acked = time.perf_counter()
        cpu = cpu_per_event(cpu_before, stack.cpu(), n, (driver_before, time.process_time()))
        stack.spawn_python("worker", "services.worker")
        while (done := sum(1 for c, *_ in batch if c in watcher.first_seen)) < n:
            _check_deadline(deadline, f"intake alone: {done} of {n} ran their first step afterwards")
            stack.check_alive()
            await asyncio.sleep(0.2)
        drained = time.perf_counter()
    finally:
        await watcher.stop()
        await nc.close()
    return {
        "events": n,
        "seconds_to_all_acked": round(acked - started, 3),
        "rate": round(n / (acked - started), 1),
        "seconds_to_first_steps_after": round(drained - acked, 3),
        "cpu_ms_per_event": cpu,
    }


DELEGATION_PROCESS = "power_delegation"
ITEMS_EFFECTIVE = "power_delegation.items_effective"


def delegation_events(run: str, n: int) -> list[tuple[str, str, bytes, str]]:
    """``n`` delegations as (case_id, event_id, body, subject), each case's two events in a row:
    the county's grant, effective today, then the township's acceptance, which starts the
    one-year review clock."""
    today = datetime.now(SHANGHAI).date().isoformat()
    events = []
    for i in range(1, n + 1):
        case_id = f"B{run}-delegation-{i}"
        for data in (
            event(DELEGATION_PROCESS, "delegation_granted", case_id=case_id, effective_date=today),
            event(DELEGATION_PROCESS, "delegation_accepted", case_id=case_id),
        ):
            events.append(
                (case_id, data["event_id"], body(data), subjects.inbound(data["source_agency"], data["type"]))
            )
    return events


async def _publish_all(js: Any, batch: list[tuple[str, str, bytes, str]]) -> dict[str, float]:
    """Publish pipelined and wait for every PubAck; returns when each case's message went out."""
    published: dict[str, float] = {}
    futures = []
    for case_id, event_id, data, subject in batch:
        published[case_id] = time.perf_counter()
        futures.append(
            await js.publish_async(
                subject, data, stream=subjects.STREAM_IN, headers={"Nats-Msg-Id": event_id}
            )
        )
    await asyncio.gather(*futures)
    return published


async def open_delegations(stack: BenchStack, run: str, n: int, timeout: float) -> dict[str, Any]:
    """Open ``n`` one-year delegations through intake and wait until each holds its review timer.

    A grant alone sets no timer (the clock starts when the township accepts and the items take
    effect), so every delegation gets both events, its acceptance right behind its grant: intake
    hands a case's events to Temporal in order, and the acceptance usually reaches the new
    workflow in its first task or while it is still in the worker's cache. (Sending all grants
    first made most acceptances replay a workflow the cache of 1,000 had evicted.) Done when each
    case's ``power_delegation.items_effective`` is on ``lawlink.out``; its ``next_review_at`` is
    the timer the workflow now sleeps on, reported as days from now.
    """
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream(publish_async_max_pending=4000)
    watcher = OutWatcher(DELEGATION_PROCESS, ITEMS_EFFECTIVE)
    await watcher.start(nc)
    events = delegation_events(run, n)
    cases = {case_id for case_id, *_ in events}
    cpu_before = stack.cpu()
    try:
        started = time.perf_counter()
        deadline = started + timeout
        await _publish_all(js, events)
        bar = tqdm(total=n, desc="delegations in effect", unit="case", leave=False, disable=None)
        while (done := sum(1 for c in cases if c in watcher.first_seen)) < n:
            bar.n = done
            bar.refresh()
            _check_deadline(deadline, f"delegations: {done} of {n} took effect")
            stack.check_alive()
            await asyncio.sleep(0.2)
        bar.close()
        finished = time.perf_counter()
        cpu = cpu_per_event(cpu_before, stack.cpu(), 2 * n)
    finally:
        await watcher.stop()
        await nc.close()
    now = datetime.now(UTC)
    days = [
        (datetime.fromisoformat(p["next_review_at"]) - now).total_seconds() / 86400
        for p in watcher.payloads.values()
    ]
    return {
        "delegations": n,
        "events": 2 * n,
        "seconds_to_all_effective": round(finished - started, 3),
        "effective_per_second": round(n / (finished - started), 1),
        "review_timer_days_from_now": {"min": round(min(days), 1), "max": round(max(days), 1)},
        "cpu_ms_per_event": cpu,
    }


def _check_deadline(deadline: float, what: str) -> None:
    if time.perf_counter() > deadline:
        raise TimeoutError(f"{what} in time")


PROFILE_ENV = "BENCH_PROFILE"


def start_profilers(stack: BenchStack, tag: str) -> list[subprocess.Popen[bytes]]:
    """With ``BENCH_PROFILE=<dir>``, sample the worker, intake and registry with py-spy during
    an ingest phase (collapsed stacks in ``<dir>/<tag>-<service>.txt``). py-spy is not a
    dependency: install it into the venv for an investigation."""
    target = os.environ.get(PROFILE_ENV)
    if not target:
        return []
    Path(target).mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    procs = []
    for name in ("worker", "intake", "registry"):
        if name in stack.services:
            procs.append(
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(stack.services[name].pid),
                        "--rate",
                        "100",
                        "--format",
                        "raw",
                        "--nonblocking",
                        "-o",
                        str(Path(target) / f"{tag}-{name}.txt"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    return procs


def stop_profilers(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop py-spy (SIGINT makes it write its file)."""
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


class RegistryWatcher:
    """Times when each case's first timeline row appears in the registry's SQLite file (WAL mode:
    reading never blocks the registry's writes)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.first_seen: dict[str, float] = {}
        self._last_rowid = 0
        self._conn: sqlite3.Connection | None = None

    def poll(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
            row = self._conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM timeline_entry").fetchone()
            self._last_rowid = row[0]
            return
        now = time.perf_counter()
        for rowid, case_id in self._conn.execute(
            "SELECT rowid, case_id FROM timeline_entry WHERE rowid > ? ORDER BY rowid", (self._last_rowid,)
        ):
            self._last_rowid = rowid
            self.first_seen.setdefault(case_id, now)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


async def latency(
    stack: BenchStack, events: OpeningEvents, rate: float, n: int, tag: str, timeout: float = 120.0
) -> dict[str, Any]:
    """Publish ``n`` opening events at ``rate``/s on a fixed schedule (open loop: a slow answer
    does not slow the sender) and time publish → first domain event on ``lawlink.out`` and
    publish → first row of the case in the registry's timeline table."""
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream()
    watcher = OutWatcher(events.process)
    await watcher.start(nc)
    registry = RegistryWatcher(stack.registry_db)
    registry.poll()
    batch = events.make(n, tag)
    published: dict[str, float] = {}
    stop = asyncio.Event()

    async def poll_registry() -> None:
        while not stop.is_set():
            registry.poll()
            await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll_registry())
    try:
        futures = []
        started = time.perf_counter()
        for i, (case_id, event_id, data, subject) in enumerate(
            tqdm(batch, desc=f"latency {tag}", unit="ev", leave=False, disable=None)
        ):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            published[case_id] = time.perf_counter()
            futures.append(
                await js.publish_async(
                    subject, data, stream=subjects.STREAM_IN, headers={"Nats-Msg-Id": event_id}
                )
            )
        await asyncio.gather(*futures)
        offered = n / (time.perf_counter() - started)
        deadline = time.perf_counter() + timeout
        while not all(c in watcher.first_seen and c in registry.first_seen for c in published):
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await poller
        registry.close()
        await watcher.stop()
        await nc.close()
    to_out = [(watcher.first_seen[c] - t) * 1000 for c, t in published.items() if c in watcher.first_seen]
    to_registry = [
        (registry.first_seen[c] - t) * 1000 for c, t in published.items() if c in registry.first_seen
    ]
    return {
        "events": n,
        "target_rate": round(rate, 1),
        "offered_rate": round(offered, 1),
        "publish_to_out_ms": percentiles(to_out),
        "publish_to_registry_ms": percentiles(to_registry),
        "lost": n - min(len(to_out), len(to_registry)),
    }


# ----- 5. long timers ------------------------------------------------------------------------------


async def long_timers(
    stack: BenchStack, workflow_type: str, also_open: tuple[str, ...] = (), sample: int = 50
) -> dict[str, Any]:
    """How many workflows of ``workflow_type`` (and of the ``also_open`` types) are open, each
    waiting on its deadline timers; the resident memory of the worker and of the Temporal server
    holding them; and whether a sample still answers a status query (the worker caches a bounded
    number of workflows, so an evicted one is replayed from its history to answer)."""
    client = await connect_temporal_at(stack.temporal_address, data_converter=lawlink_data_converter())
    query = f"WorkflowType='{workflow_type}' AND ExecutionStatus='Running'"
    open_count = await _count(client, query)
    open_by_type = {workflow_type: open_count}
    for other in also_open:
        open_by_type[other] = await _count(client, f"WorkflowType='{other}' AND ExecutionStatus='Running'")
    ids = []
    async for wf in client.list_workflows(query, limit=sample):
        ids.append(wf.id)
    timings: list[float] = []
    states: dict[str, int] = {}
    for wid in ids:
        t0 = time.perf_counter()
        status = await client.get_workflow_handle(wid).query("status")
        timings.append((time.perf_counter() - t0) * 1000)
        state = status.get("state") if isinstance(status, dict) else getattr(status, "state", "?")
        states[state] = states.get(state, 0) + 1
    rss = stack.rss()
    return {
        "workflow_type": workflow_type,
        "open_workflows": open_count,
        "open_by_type": open_by_type,
        "open_total": sum(open_by_type.values()),
        "rss_mib": {k: (round(v, 1) if v is not None else None) for k, v in rss.items()},
        "status_query_ms": percentiles(timings),
        "sampled_states": states,
    }
