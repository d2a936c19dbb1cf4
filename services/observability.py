"""What every HTTP service of Lawlink exposes to its operators, set up in one way: ``/metrics``
(services/metrics.py), request metrics, and traces of its requests (services/tracing.py)."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from services import tracing
from services.metrics import ServiceMetrics
from services.service_auth import ServiceAuth

# Polled by probes and scrapers, or static: no span each time.
UNTRACED_PATHS = "healthz,metrics,static"


def observe(app: FastAPI, metrics: ServiceMetrics, auth: ServiceAuth) -> None:
    """Serve ``metrics`` at ``/metrics`` to ``auth``'s callers and trace ``app``'s requests."""
    tracing.configure(metrics.service)
    metrics.mount(app, auth)
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_PATHS)
