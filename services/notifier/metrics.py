"""The notifier's figures for Prometheus: webhook deliveries by status, per agency."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from services.metrics import ReadCollector, Sample, ServiceMetrics
from services.readmodel.notifications import Delivery

GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "webhook_deliveries": (
        "Webhook deliveries by status (failed: every attempt failed, awaiting replay) and agency.",
        ("status", "agency"),
    ),
}


def read_figures(engine: Engine) -> dict[str, list[Sample]]:
    """Deliveries counted by status and agency (on the status/agency index)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery.status, Delivery.agency, func.count()).group_by(Delivery.status, Delivery.agency)
        ).all()
    return {"webhook_deliveries": [({"status": s, "agency": a}, float(n)) for s, a, n in rows]}


def notifier_metrics(metrics: ServiceMetrics, engine: Callable[[], Engine]) -> None:
    """Register the notifier's gauges, read at each scrape."""
    metrics.collect_from(ReadCollector(GAUGES, lambda: read_figures(engine())))
