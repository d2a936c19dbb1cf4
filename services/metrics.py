"""What every Lawlink service tells Prometheus at ``GET /metrics``.

Each service keeps its metrics in a registry of its own: the tests run several services in one
process, and one service's figures must not show up in another's scrape. Three kinds:

- HTTP requests by route template (never the raw path: case ids would make a series per case),
  method and status, with their latency;
- the bus, through FastStream's :class:`NatsPrometheusMiddleware` on the service's broker;
- business figures an operator watches, read from the service's own data when Prometheus
  scrapes (:class:`ReadCollector`), so they are right after a restart without replaying history.

The endpoint answers only a caller with a Lawlink service credential (Prometheus sends one,
``deploy/prometheus``): the figures are counts, but they are still the city's workload.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from fastapi import Depends, FastAPI, Response
from faststream.nats.prometheus import NatsPrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.service_auth import Caller, ServiceAuth

METRICS_PATH = "/metrics"
# A request no route matched: one series for all of them, whatever path was asked for.
UNMATCHED = "unmatched"

Sample = tuple[dict[str, str], float]


class ServiceMetrics:
    """One service's metrics registry, its HTTP instrumentation and its ``/metrics`` route."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "lawlink_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["service", "route", "method", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "lawlink_http_request_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["service", "route", "method"],
            registry=self.registry,
        )

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one answered request under its route template (not its path) and time it."""
        route = getattr(scope.get("route"), "path", UNMATCHED)
        if route == METRICS_PATH:
            return
        method = scope.get("method", "")
        self._requests.labels(self.service, route, method, str(status)).inc()
        self._latency.labels(self.service, route, method).observe(seconds)

    def counter(self, name: str, documentation: str, labels: Iterable[str] = ()) -> Counter:
        """A counter in this service's registry (``lawlink_`` is prefixed to ``name``)."""
        return Counter(f"lawlink_{name}", documentation, list(labels), registry=self.registry)

    def broker_middleware(self) -> NatsPrometheusMiddleware:
        """FastStream's bus metrics (messages received, published, processing time, errors)."""
        return NatsPrometheusMiddleware(registry=self.registry, app_name=f"lawlink-{self.service}")

    def collect_from(self, collector: Collector) -> None:
        """Add figures read at scrape time (see :class:`ReadCollector`)."""
        self.registry.register(collector)

    def mount(self, app: FastAPI, auth: ServiceAuth) -> None:
        """Count ``app``'s requests and serve the registry at ``/metrics`` to Lawlink's services."""

        app.add_middleware(_Measured, metrics=self)

        @app.get(METRICS_PATH, include_in_schema=False)
        def metrics(_: Caller = Depends(auth)) -> Response:  # noqa: B008 - FastAPI's idiom
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _Measured:
    """Counts and times every HTTP request and tells the client the server's own time
    (W3C ``Server-Timing``, to the response's start) apart from the network's.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` runs each request in a task
    group with memory streams between it and the app, a cost every request of every service paid.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the error middleware outside answers if the app raises

        async def timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                took_ms = (time.perf_counter() - started) * 1000
                MutableHeaders(scope=message).append("Server-Timing", f"app;dur={took_ms:.1f}")
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            self.metrics.observe(scope, status, time.perf_counter() - started)


class ReadCollector(Collector):
    """Gauges computed from a service's data each time Prometheus scrapes.

    ``read`` returns, per gauge name, its samples (labels, value); a gauge whose read fails
    (the database is down) is left out of that scrape rather than failing the whole answer,
    and ``lawlink_metrics_read_errors`` says so.
    """

    def __init__(
        self,
        gauges: dict[str, tuple[str, tuple[str, ...]]],
        read: Callable[[], dict[str, list[Sample]]],
    ) -> None:
        self._gauges = gauges
        self._read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The gauges' names and help, without reading (so registration needs no database)."""
        for name, (documentation, labels) in self._gauges.items():
            yield GaugeMetricFamily(f"lawlink_{name}", documentation, labels=list(labels))
        yield GaugeMetricFamily(
            "lawlink_metrics_read_errors", "1 when the last scrape could not read the figures."
        )

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the figures now and yield them as gauges."""
        error = GaugeMetricFamily(
            "lawlink_metrics_read_errors", "1 when the last scrape could not read the figures."
        )
        try:
            values = self._read()
        except Exception:  # noqa: BLE001 - a scrape must answer even when the database does not
            error.add_metric([], 1.0)
            yield error
            return
        error.add_metric([], 0.0)
        yield error
        for name, (documentation, labels) in self._gauges.items():
            family = GaugeMetricFamily(f"lawlink_{name}", documentation, labels=list(labels))
            for sample_labels, value in values.get(name, []):
                family.add_metric([sample_labels[label] for label in labels], value)
            yield family
