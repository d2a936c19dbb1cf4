"""The read model's figures for Prometheus: open cases, deadlines due today and in breach, dead
letters awaiting an operator, and how far the read model trails the workflows.

Confidential cases are counted under the state ``confidential``: a scrape is read by whoever
runs the monitoring, and which step a discipline referral has reached is need-to-know.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from contracts.domain import DomainEvent
from services.metrics import ReadCollector, Sample, ServiceMetrics
from services.readmodel.models import Case, DeadLetter, Deadline
from workflows.deadlines import SHANGHAI

# Deadlines whose clock still runs (a breached one stays live until the step comes).
LIVE = ("open", "reminded", "breached")
CONFIDENTIAL_STATE = "confidential"

GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "open_cases": ("Cases not closed, by process and state.", ("process", "state")),
    "deadlines_due_today": ("Live deadlines falling due today (Asia/Shanghai), by process.", ("process",)),
    "deadlines_breached": ("Deadlines in breach whose step has not come yet, by process.", ("process",)),
    "dead_letters_waiting": ("Dead letters never replayed: inbound events an operator must look at.", ()),
}


def read_figures(
    engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> dict[str, list[Sample]]:
    """The gauges' current values, each from one grouped query on indexed columns."""
    today = now().astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    with Session(engine) as session:
        cases = session.exec(
            select(Case.process, Case.state, Case.confidential, func.count())
            .where(Case.closed == False)  # noqa: E712 - SQL, not Python truth
            .group_by(Case.process, Case.state, Case.confidential)
        ).all()
        due = session.exec(
            select(Deadline.process, func.count())
            .where(col(Deadline.status).in_(LIVE))
            .where(Deadline.due_at >= today, Deadline.due_at < today + timedelta(days=1))
            .group_by(Deadline.process)
        ).all()
        breached = session.exec(
            select(Deadline.process, func.count())
            .where(Deadline.status == "breached")
            .group_by(Deadline.process)
        ).all()
        waiting = session.exec(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.replay_count == 0)
        ).one()
    open_cases: dict[tuple[str, str], float] = {}
    for process, state, confidential, count in cases:
        key = (process, CONFIDENTIAL_STATE if confidential else state)
        open_cases[key] = open_cases.get(key, 0) + count
    return {
        "open_cases": [({"process": p, "state": s}, n) for (p, s), n in sorted(open_cases.items())],
        "deadlines_due_today": [({"process": p}, n) for p, n in due],
        "deadlines_breached": [({"process": p}, n) for p, n in breached],
        "dead_letters_waiting": [({}, float(waiting))],
    }


class ReadModelMetrics:
    """The registry's business figures and its lag behind the workflows."""

    def __init__(self, metrics: ServiceMetrics, engine: Callable[[], Engine]) -> None:
        metrics.collect_from(ReadCollector(GAUGES, lambda: read_figures(engine())))
        self._lag = Gauge(
            "lawlink_read_model_lag_seconds",
            "Seconds from a workflow recording a step to its row in the read model (last batch, worst event).",
            registry=metrics.registry,
        )
        self._projected = metrics.counter("read_model_events", "Domain events projected into the read model.")

    def projected(self, events: Sequence[DomainEvent], at: datetime | None = None) -> None:
        """Note a batch just written: its size and its worst lag."""
        if not events:
            return
        at = at or datetime.now(UTC)
        self._projected.inc(len(events))
        # occurred_at is no measure: an agency may report a step days after it happened.
        lags = [(at - e.recorded_at).total_seconds() for e in events if e.recorded_at is not None]
        if lags:
            self._lag.set(max(lags))
