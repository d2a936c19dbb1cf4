"""What every HTTP service of Lawlink exposes to its operators, set up in one way: ``/metrics``
(services/metrics.py), request metrics, and traces of its requests (services/tracing.py)."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from services import tracing
from services.log_lines import configure_service_logging
from services.metrics import ServiceMetrics
from services.service_auth import ServiceAuth

# Polled by probes and scrapers, or static: no span each time.
UNTRACED_PATHS = "healthz,metrics,static"


def observe(app: FastAPI, metrics: ServiceMetrics, auth: ServiceAuth) -> None:
    """Serve ``metrics`` at ``/metrics`` to ``auth``'s callers, trace ``app``'s requests and
    write the service's log lines with their time and level."""
    configure_service_logging()
    tracing.configure(metrics.service)
    metrics.mount(app, auth)
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_PATHS)
