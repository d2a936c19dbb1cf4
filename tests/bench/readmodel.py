"""Read-model phase: seed a big read model, time the API's heavy queries, show their plans.

The tables are created by the registry's own Alembic migrations (so the indexes measured are
the ones production has), filled in bulk, then served by a read-only registry subprocess. The
SQL the query functions really send is captured and explained, so a plan that scans a whole
table shows up here rather than in production.
"""

from __future__ import annotations

import importlib.util
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from tqdm import tqdm

from contracts.agencies import agencies as all_agencies
from services.readmodel import queries
from services.readmodel.db import make_engine, migrate
from services.readmodel.models import Case, TimelineEntry
from tests.bench.phases import percentiles
from tests.bench.stack import BenchStack
from tests.events import example
from tests.servers import SERVICE_TOKEN, api_headers

TIMELINE_CASE = "BENCH-TIMELINE-10K"
INBOX_PROCESS = "case_transfer"
INBOX_STATE = "opened"
PROCESSES = ("case_transfer", "jurisdiction_dispute", "discipline_referral", "power_delegation")
STATES = ("opened", "transferred", "accepted", "under_review", "decided", "closed")
CHUNK = 5000


def inbox_module_available() -> bool:
    """Whether the coordinator inbox (services/disputes/inbox.py) exists in this checkout."""
    try:
        return importlib.util.find_spec("services.disputes.inbox") is not None
    except ModuleNotFoundError:
        return False


def settle(engine: Engine) -> None:
    """Bring a freshly bulk-loaded database to the state it runs in: statistics gathered and, on
    PostgreSQL, the visibility map set as autovacuum keeps it (an index-only scan of a table
    nobody has vacuumed still reads every row's page from the heap)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        return
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def seed(engine: Engine, cases: int, timeline_entries: int, other_entries: int) -> dict[str, Any]:
    """``cases`` cases over four processes and six states, one case with ``timeline_entries``
    entries, and ``other_entries`` entries spread over other cases (so the index has to pick)."""
    rng = random.Random(7)
    agencies = sorted(all_agencies())
    payload = example("case_transfer", "crime_suspected")["payload"]
    now = datetime.now(UTC)
    started = time.perf_counter()
    case_table, entry_table = Case.__table__, TimelineEntry.__table__

    def entries_of(i: int) -> int:
        """How many of the other entries go to case ``SEED-i`` (they are dealt round-robin)."""
        return other_entries // cases + (1 if i < other_entries % cases else 0)

    def case_row(i: int, case_id: str, process: str, state: str, events: int) -> dict[str, Any]:
        updated = now - timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
        agency = rng.choice(agencies)
        return {
            "workflow_id": f"{process}/{case_id}",
            "process": process,
            "case_id": case_id,
            "state": state,
            "closed": state == "closed",
            "agency": agency,
            "title": f"基准案件 {i}",
            "confidential": False,
            "parties": [agency],
            "opened_at": updated - timedelta(days=3),
            "updated_at": updated,
            "last_seq": 3,
            # As the projection counts them: the case's timeline entries.
            "events": events,
        }

    def entry_row(case_id: str, process: str, seq: int, at: datetime) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "workflow_id": f"{process}/{case_id}",
            "process": process,
            "case_id": case_id,
            "seq": seq,
            "type": "case_transfer.crime_suspected",
            "kind": "received",
            "actor": "rz-scjgj",
            "state": "opened",
            "causation_id": None,
            "occurred_at": at,
            "payload": payload,
        }

    with engine.begin() as conn:
        rows: list[dict[str, Any]] = []
        for i in tqdm(range(cases), desc="seed cases", unit="row", leave=False, disable=None):
            rows.append(
                case_row(i, f"SEED-{i}", PROCESSES[i % len(PROCESSES)], rng.choice(STATES), entries_of(i))
            )
            if len(rows) >= CHUNK:
                conn.execute(case_table.insert(), rows)
                rows = []
        rows.append(case_row(cases, TIMELINE_CASE, "case_transfer", "opened", timeline_entries))
        conn.execute(case_table.insert(), rows)
        rows = []
        start = now - timedelta(days=400)
        targets = [(TIMELINE_CASE, seq) for seq in range(1, timeline_entries + 1)]
        targets += [(f"SEED-{i % cases}", 100 + i // cases) for i in range(other_entries)]
        for case_id, seq in tqdm(targets, desc="seed timeline", unit="row", leave=False, disable=None):
            process = (
                "case_transfer" if case_id == TIMELINE_CASE else PROCESSES[int(case_id[5:]) % len(PROCESSES)]
            )
            rows.append(entry_row(case_id, process, seq, start + timedelta(seconds=seq * 60)))
            if len(rows) >= CHUNK:
                conn.execute(entry_table.insert(), rows)
                rows = []
        if rows:
            conn.execute(entry_table.insert(), rows)
    settle(engine)
    return {
        "cases": cases + 1,
        "timeline_case_entries": timeline_entries,
        "other_entries": other_entries,
        "seed_seconds": round(time.perf_counter() - started, 2),
    }


def seed_inbox(engine: Engine, tasks: int) -> dict[str, Any]:
    """``tasks`` jurisdiction-dispute inbox rows (services/disputes/inbox.py): the five justice
    bureaus coordinate them, a tenth is referred to a government, two thirds are open."""
    from contracts.jurisdiction_dispute import CLOSED_STATES, OPEN_STATES
    from services.disputes.inbox import DisputeTask

    rng = random.Random(11)
    ids = sorted(all_agencies())
    offices = sorted(a for a in ids if all_agencies()[a].kind.value == "justice")
    governments = sorted(a for a in ids if all_agencies()[a].kind.value == "government")
    states = sorted(OPEN_STATES) * 2 + sorted(CLOSED_STATES) * 2
    now = datetime.now(UTC)
    started = time.perf_counter()
    table = DisputeTask.__table__
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for i in tqdm(range(tasks), desc="seed inbox", unit="row", leave=False, disable=None):
            state = rng.choice(states)
            opened = now - timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
            rows.append(
                {
                    "workflow_id": f"jurisdiction_dispute/SEED-D-{i}",
                    "case_id": f"SEED-D-{i}",
                    "state": state,
                    "closed": state in CLOSED_STATES,
                    "kind": rng.choice(("positive", "negative")),
                    "title": f"管辖争议 {i}",
                    "coordinator_office": rng.choice(offices),
                    "referred_to": rng.choice(governments) if rng.random() < 0.1 else None,
                    "claimed_by": None,
                    "parties": rng.sample(ids, 2),
                    "filing_dates": {},
                    "due_at": None
                    if state in CLOSED_STATES
                    else opened + timedelta(days=rng.randrange(1, 60)),
                    "opened_at": opened,
                    "updated_at": opened,
                    "updated_seq": 3,
                    "claim_seq": 0,
                    "interim_seq": 0,
                }
            )
            if len(rows) >= CHUNK:
                conn.execute(table.insert(), rows)
                rows = []
        if rows:
            conn.execute(table.insert(), rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return {
        "dispute_tasks": tasks,
        "office": offices[0],
        "seed_seconds": round(time.perf_counter() - started, 2),
    }


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (with its parameters) the engine sends inside the block."""
    seen: list[tuple[str, Any]] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        seen.append((statement, parameters))

    sa_event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa_event.remove(engine, "before_cursor_execute", before)


def access_path(plan: list[str]) -> str:
    """How the plan reaches the rows: ``seek`` (the index condition selects them), ``index walk``
    (rows read in index order and filtered until the LIMIT is met) or ``full scan``."""
    text = "\n".join(plan)
    if "SEARCH " in text or "Index Cond" in text:
        return "seek"
    if ("SCAN " in text and "USING" in text) or "Index Scan" in text or "Index Only Scan" in text:
        return "index walk"
    return "full scan"


def explain(engine: Engine, statement: str, parameters: Any) -> tuple[list[str], bool]:
    """The plan of one captured statement and whether it reads through an index (no full scan
    of the filtered table)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            lines = [str(r[-1]) for r in rows]
            uses_index = any("USING" in line and "INDEX" in line for line in lines) and not any(
                line.startswith("SCAN ") and "USING" not in line for line in lines
            )
        else:
            rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
            lines = [str(r[0]) for r in rows]
            uses_index = any("Index" in line for line in lines) and not any(
                "Seq Scan" in line for line in lines
            )
    return lines, uses_index


def time_sql(
    engine: Engine, fn: Callable[[Session], Any], repeat: int
) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """p50/p99 of calling a query function directly (no HTTP), and the SQL it sent."""
    with Session(engine) as session:
        fn(session)  # warm the statement cache
    with captured_sql(engine) as sql:
        with Session(engine) as session:
            fn(session)
    timings = []
    for _ in range(repeat):
        with Session(engine) as session:
            t0 = time.perf_counter()
            fn(session)
            timings.append((time.perf_counter() - t0) * 1000)
    return percentiles(timings), list(sql)


async def time_http(
    base_url: str, path: str, params: dict[str, Any], repeat: int
) -> tuple[dict[str, Any], int]:
    """p50/p99 of one GET, sequentially (the latency one console user sees), and the item count."""
    headers = api_headers(token=os.environ.get("LAWLINK_SERVICE_TOKEN") or SERVICE_TOKEN)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as http:
        first = await http.get(path, params=params)
        first.raise_for_status()
        items = len(first.json())
        timings = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            resp = await http.get(path, params=params)
            timings.append((time.perf_counter() - t0) * 1000)
            resp.raise_for_status()
    return percentiles(timings), items


async def measure(
    stack: BenchStack, label: str, url: str, sizes: dict[str, int], repeat_timeline: int, repeat_inbox: int
) -> dict[str, Any]:
    """Seed the database at ``url``, then time timeline and inbox on it through SQL and HTTP."""
    migrate(url)
    engine = make_engine(url)
    try:
        seeded = seed(engine, sizes["cases"], sizes["timeline_entries"], sizes["other_entries"])
        results: dict[str, Any] = {"database": engine.dialect.name, "seeded": seeded}

        # What the registry's timeline endpoint runs: the whole case, then a page from its middle.
        whole = sizes["timeline_entries"]
        timeline_fn = lambda s: queries.timeline_page_json(s, case_id=TIMELINE_CASE, limit=whole)  # noqa: E731
        middle = sizes["timeline_entries"] // 2
        page_fn = lambda s: queries.timeline_page_json(s, case_id=TIMELINE_CASE, offset=middle, limit=100)  # noqa: E731
        cases_fn = lambda s: queries.list_cases(s, process=INBOX_PROCESS, state=INBOX_STATE, limit=50)  # noqa: E731
        stack.extra_env["DATABASE_URL"] = url
        name = f"readmodel-{label}"
        try:
            stack.spawn_asgi(name, "tests.bench.apps:read_only_registry", factory=True)
        finally:
            stack.extra_env.pop("DATABASE_URL")
        try:
            stack.wait_healthy(name)
            base = stack.url(name)
            measured: list[tuple[str, Callable[[Session], Any], str | None, dict[str, Any], int]] = [
                ("timeline", timeline_fn, f"/api/cases/{TIMELINE_CASE}/timeline", {}, repeat_timeline),
                (
                    "timeline_page",
                    page_fn,
                    f"/api/cases/{TIMELINE_CASE}/timeline",
                    {"offset": middle, "limit": 100},
                    # Its goal is a p99: of 100 timings that is the slowest single one.
                    repeat_timeline * 25,
                ),
                (
                    "cases",
                    cases_fn,
                    "/api/cases",
                    {"process": INBOX_PROCESS, "state": INBOX_STATE, "limit": 50},
                    repeat_inbox,
                ),
            ]
            if inbox_module_available():
                from services.disputes.inbox import list_inbox

                results["seeded"]["inbox"] = seed_inbox(engine, sizes["cases"])
                office = results["seeded"]["inbox"]["office"]
                inbox_fn = lambda s: list_inbox(s, agency=office, limit=100)  # noqa: E731
                # The console serves it at /api/inbox behind a login; the query function is timed.
                measured.append(("inbox", inbox_fn, None, {"agency": office, "limit": 100}, repeat_inbox))
            for key, fn, path, params, repeat in measured:
                sql_ms, statements = time_sql(engine, fn, repeat)
                if path is not None:
                    http_ms, items = await time_http(base, path, params, repeat)
                else:
                    http_ms = None
                    with Session(engine) as session:
                        items = len(fn(session))
                main_sql, main_params = max(statements, key=lambda s: len(s[0]))
                plan, uses_index = explain(engine, main_sql, main_params)
                results[key] = {
                    "endpoint": path or "services.disputes.inbox.list_inbox (console /api/inbox)",
                    "params": params,
                    "items": items,
                    "sql_ms": sql_ms,
                    "http_ms": http_ms,
                    "sql": " ".join(main_sql.split()),
                    "plan": plan,
                    "uses_index": uses_index,
                    "access": access_path(plan),
                }
        finally:
            stack.stop_service(name)
        return results
    finally:
        engine.dispose()
