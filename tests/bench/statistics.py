"""Statistics phase: the supervision statistics' server time on a big read model.

The tables come from the registry's own Alembic migrations (so the indexes measured are the
ones production has) and are filled in bulk with a read model shaped like two years of a city's
cases: case transfers (most of them), disputes, reverse transfers and referrals, each with the
timeline entries and deadline rows their workflows write, a few percent of deadlines met late or
still breached; the statistics' monthly counts are then recounted from those rows
(:func:`services.statistics.aggregate.rebuild`, as the migration that adds them does).
:func:`services.statistics.figures.compute` (everything the statistics page and the export
show) is timed for the last whole month, for everyone, one agency and one district, and each
SQL statement it sends is explained.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from tqdm import tqdm

from contracts.agencies import AgencyKind, agencies
from services.delegations.read_model import DelegatedItem
from services.readmodel.db import make_engine, migrate
from services.readmodel.models import Case, Deadline, TimelineEntry
from services.statistics.aggregate import rebuild
from services.statistics.figures import compute
from services.statistics.model import Period
from tests.bench.readmodel import access_path, explain, settle, time_sql
from tests.servers import postgres_schema
from workflows.deadlines import SHANGHAI

CHUNK = 5000
GOAL_MS = 500.0
DAYS = 730


def _pick(kind: AgencyKind) -> list[str]:
    return sorted(a.id for a in agencies().values() if a.kind is kind)


def seed(engine: Engine, cases: int, entries_per_case: int, now: datetime) -> dict[str, Any]:
    """``cases`` cases spread over the two years before ``now`` with ``entries_per_case``
    timeline entries each, their deadlines, and the delegated items of 30 townships."""
    rng = random.Random(20)
    admin = _pick(AgencyKind.ADMINISTRATIVE)
    police = _pick(AgencyKind.POLICE)
    townships = _pick(AgencyKind.TOWNSHIP)[:30]
    started = time.perf_counter()
    case_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    deadline_rows: list[dict[str, Any]] = []
    counts = {"cases": 0, "timeline_entries": 0, "deadlines": 0}

    def flush(conn: Any, force: bool = False) -> None:
        for table, rows in (
            (Case.__table__, case_rows),
            (TimelineEntry.__table__, entry_rows),
            (Deadline.__table__, deadline_rows),
        ):
            if rows and (force or len(rows) >= CHUNK):
                conn.execute(table.insert(), rows)
                rows.clear()

    def entry(
        wid: str, process: str, case_id: str, seq: int, kind: str, at: datetime, payload: dict[str, Any]
    ) -> None:
        entry_rows.append(
            {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "workflow_id": wid,
                "process": process,
                "case_id": case_id,
                "seq": seq,
                "type": kind,
                "kind": "received" if seq == 1 else "step",
                "actor": None,
                "state": "s",
                "causation_id": None,
                "occurred_at": at,
                "recorded_at": at,
                "payload": payload,
            }
        )
        counts["timeline_entries"] += 1

    def deadline(
        wid: str, process: str, case_id: str, rule: str, party: str, start: datetime, hours: int
    ) -> None:
        due = start + timedelta(hours=hours)
        roll = rng.random()
        status, late, met = "met", False, start + timedelta(hours=hours * rng.random() * 0.9)
        if roll < 0.07:
            late, met = True, due + timedelta(hours=rng.randrange(1, 200))
        elif roll < 0.10:
            status, late, met = "breached", True, None
        deadline_rows.append(
            {
                "id": f"{wid}|{rule}",
                "workflow_id": wid,
                "process": process,
                "case_id": case_id,
                "deadline_id": rule,
                "rule": rule,
                "label_zh": rule,
                "label_en": rule,
                "source": "bench",
                "party": party,
                "counting": "hours",
                "length": hours,
                "provisional": False,
                "status": status,
                "warned": False,
                "nature": "duty",
                "anchor": "occurred_at",
                "late_seconds": int((met - due).total_seconds()) if (met and late) else (0 if met else None),
                "ever_breached": late,
                "breach_withdrawn": False,
                "starts_at": start,
                "due_at": due,
                "warn_at": None,
                "met_at": met,
                "breached_at": due if late else None,
                "cancelled_at": None,
                "escalate_to": [],
                "updated_seq": 5,
            }
        )
        counts["deadlines"] += 1

    with engine.begin() as conn:
        for i in tqdm(range(cases), desc="seed statistics", unit="case", leave=False, disable=None):
            kind = i % 20
            process = (
                "case_transfer"
                if kind < 17
                else ("jurisdiction_dispute", "reverse_transfer", "discipline_referral")[kind - 17]
            )
            case_id = f"ST-{i}"
            wid = f"{process}/{case_id}"
            agency = rng.choice(admin)
            t0 = now - timedelta(minutes=rng.randrange(0, DAYS * 24 * 60))
            case_rows.append(
                {
                    "workflow_id": wid,
                    "process": process,
                    "case_id": case_id,
                    "state": "closed",
                    "closed": True,
                    "agency": agency,
                    "title": None,
                    "confidential": process == "discipline_referral",
                    "parties": [agency],
                    "opened_at": t0,
                    "updated_at": t0,
                    "last_seq": entries_per_case,
                    "events": entries_per_case,
                }
            )
            counts["cases"] += 1
            steps: list[tuple[str, dict[str, Any]]]
            if process == "case_transfer":
                filed = rng.random() < 0.7
                steps = [
                    ("case_transfer.crime_suspected", {}),
                    ("case_transfer.opened", {}),
                    ("case_transfer.transfer_approved", {}),
                    ("case_transfer.transferred", {}),
                    ("case_transfer.case_filed" if filed else "case_transfer.filing_refused", {}),
                ]
                if not filed and rng.random() < 0.5:
                    steps.append(("case_transfer.reconsideration_requested", {}))
                    steps.append(
                        ("case_transfer.reconsideration_decided", {"outcome": rng.choice(["file", "uphold"])})
                    )
                p = rng.choice(police)
                deadline(wid, process, case_id, "case_transfer.head_decision", agency, t0, 72)
                deadline(
                    wid,
                    process,
                    case_id,
                    "case_transfer.transfer_after_approval",
                    agency,
                    t0 + timedelta(hours=30),
                    24,
                )
                deadline(
                    wid, process, case_id, "case_transfer.police_decision", p, t0 + timedelta(hours=60), 72
                )
            elif process == "jurisdiction_dispute":
                steps = [
                    ("jurisdiction_dispute.dispute_raised", {}),
                    ("jurisdiction_dispute.opened", {"kind": rng.choice(["positive", "negative"])}),
                    ("case.closed", {"by": rng.choice(["agreement", "coordinator", "government"])}),
                ]
                deadline(wid, process, case_id, "jurisdiction_dispute.designation", "rz-sfj", t0, 24 * 21)
            elif process == "reverse_transfer":
                steps = [("reverse_transfer.non_prosecution_decided", {}), ("reverse_transfer.opened", {})]
                deadline(wid, process, case_id, "reverse_transfer.agency_reply", agency, t0, 24 * 60)
            else:
                steps = [
                    ("discipline_referral.clue_identified", {}),
                    (
                        "discipline_referral.opened",
                        {"source": rng.choice(["hotline_complaint", "case_file_review"])},
                    ),
                ]
            # The rest of a case's entries: deadline and escalation bookkeeping, as workflows write.
            fill = ("deadline.set", "deadline.met", "deadline.warning", "escalation.raised")
            while len(steps) < entries_per_case:
                steps.append((fill[len(steps) % len(fill)], {}))
            for seq, (kind_, payload) in enumerate(steps[:entries_per_case], start=1):
                entry(wid, process, case_id, seq, kind_, t0 + timedelta(hours=seq * 6), payload)
            flush(conn)
        flush(conn, force=True)
        items = []
        for n, township in enumerate(townships):
            for k in range(10):
                items.append(
                    {
                        "id": f"power_delegation/D-{n}|ZH-{k:04d}",
                        "township": township,
                        "case_id": f"D-{n}",
                        "workflow_id": f"power_delegation/D-{n}",
                        "code": f"ZH-{k:04d}",
                        "name_zh": f"赋权事项{k}",
                        "name_en": None,
                        "original_department": "rz-dg-zhzfj",
                        "scope": None,
                        "state": "active" if k < 8 else "returned",
                        "effective_at": now - timedelta(days=400),
                        "next_review_at": now + timedelta(days=30),
                        "counters": {"handled": k, "refused": 0, "overturned": 0, "complaint": 0},
                        "updated_seq": 3,
                        "updated_at": now,
                    }
                )
        conn.execute(DelegatedItem.__table__.insert(), items)
        # The rows went in without the registry's projection: the monthly counts are recounted
        # by the function the migration uses on a filled read model.
        recount_started = time.perf_counter()
        monthly = rebuild(conn)
        recount_seconds = round(time.perf_counter() - recount_started, 1)
    settle(engine)
    return {
        **counts,
        "delegated_items": len(items),
        "monthly_count_rows": monthly,
        "recount_seconds": recount_seconds,
        "seed_seconds": round(time.perf_counter() - started, 1),
    }


def last_whole_month(now: datetime) -> Period:
    """The month before the one ``now`` falls in (Shanghai): what a monthly report covers."""
    first = now.astimezone(SHANGHAI).date().replace(day=1)
    prev = first - timedelta(days=1)
    return Period.month(prev.year, prev.month)


def time_compute(
    engine: Engine, fn: Callable[[Session], Any], repeat: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Percentiles of ``fn`` (one whole report) and the plan of every statement it sent."""
    timings, sql = time_sql(engine, fn, repeat)
    plans = []
    for statement, parameters in sql:
        plan, uses_index = explain(engine, statement, parameters)
        plans.append(
            {
                "sql": " ".join(statement.split())[:300],
                "uses_index": uses_index,
                "access": access_path(plan),
                "plan": plan,
            }
        )
    return timings, plans


def measure(url: str, cases: int, entries_per_case: int, repeat: int) -> dict[str, Any]:
    """Seed the database at ``url`` and time the report on it."""
    migrate(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        seeded = seed(engine, cases, entries_per_case, now)
        month = last_whole_month(now)
        agency = sorted(a.id for a in agencies().values() if a.kind is AgencyKind.ADMINISTRATIVE)[0]
        variants: dict[str, Callable[[Session], Any]] = {
            "month": lambda s: compute(s, month, include_referrals=True, now=now),
            "month_one_agency": lambda s: compute(s, month, agency=agency, now=now),
            "month_one_district": lambda s: compute(s, month, district="rz-dg", now=now),
            "year": lambda s: compute(s, Period.year(month.start.year), include_referrals=True, now=now),
        }
        out: dict[str, Any] = {"database": engine.dialect.name, "seeded": seeded, "period": month.key}
        for key, fn in variants.items():
            ms, plans = time_compute(engine, fn, repeat)
            out[key] = {
                "ms": ms,
                "statements": len(plans),
                "full_scans": [p for p in plans if not p["uses_index"]],
                "plans": plans,
                "goal_met": ms["p95"] is not None and ms["p95"] < GOAL_MS,
                "period": str(month.start.year) if key == "year" else month.key,
            }
        return out
    finally:
        engine.dispose()


FULL_CASES, QUICK_CASES = 100_000, 5_000
ENTRIES_PER_CASE = 10
REPEAT_FULL, REPEAT_QUICK = 20, 5


def phase(workdir: Path, quick: bool, notes: list[str]) -> dict[str, Any]:
    """The statistics phase on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` names one:
    100,000 cases and 1,000,000 timeline entries (5,000 and 50,000 with ``quick``)."""
    cases = QUICK_CASES if quick else FULL_CASES
    repeat = REPEAT_QUICK if quick else REPEAT_FULL
    out = {"sqlite": measure(f"sqlite:///{workdir / 'statistics.db'}", cases, ENTRIES_PER_CASE, repeat)}
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        with postgres_schema(pg) as url:
            out["postgresql"] = measure(url, cases, ENTRIES_PER_CASE, repeat)
    else:
        notes.append("statistics: TEST_DATABASE_URL is not set, PostgreSQL not measured")
    for db, found in out.items():
        for key in VARIANTS:
            if not found[key]["goal_met"]:
                notes.append(
                    f"statistics: {key} on {db} p95 {found[key]['ms']['p95']} ms, goal {GOAL_MS:.0f} ms"
                )
            for scan in found[key]["full_scans"]:
                notes.append(f"statistics: {key} on {db} reads without an index: {scan['sql'][:120]}")
    return out


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The bench table's lines for this phase."""
    out = []
    for db, found in result.get("statistics", {}).items():
        seeded = found["seeded"]
        for key in VARIANTS:
            ms = found[key]["ms"]
            out.append(
                (
                    f"4 statistics {db}",
                    f"compute() {key} {found[key]['period']}, {seeded['cases']} cases / "
                    f"{seeded['timeline_entries']} entries",
                    f"p50 {ms['p50']} / p95 {ms['p95']} ms ({found[key]['statements']} queries)",
                    f"goal < {GOAL_MS:.0f} ms {'✓' if found[key]['goal_met'] else '✗'}",
                )
            )
    return out


VARIANTS = ("month", "month_one_agency", "month_one_district", "year")
