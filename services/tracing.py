"""One trace per agency event, across intake, Temporal, the bus and the read model.

A W3C ``traceparent`` in the NATS header or the HTTP header (or, failing both, in the envelope's
``trace`` field) starts or continues the trace. It then follows the event:

- intake: FastStream's telemetry middleware continues the NATS header's trace; FastAPI's
  instrumentation the HTTP header's, and intake writes it into the NATS headers of what it puts on
  the bus (:func:`inject`);
- Temporal: :data:`temporal_interceptors` on intake's client and on the worker carry the context
  in Temporal's headers, into the workflow and its publishing activity, which writes it into the
  domain event's NATS headers;
- registry and notifier: a span per domain event, continuing the headers' trace
  (:func:`consumer_spans`).

Export is the OpenTelemetry SDK's, configured by the standard ``OTEL_*`` variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_TRACES_EXPORTER``, ``OTEL_TRACES_SAMPLER``...): with none
of them set, as in development, no provider is installed and every span is a no-op. Log lines
carry the trace id whenever a span is current (:func:`configure`), so an operator can go from a
log line to the trace.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind

TRACER_NAME = "lawlink"
# Variables any of which means "export traces" (the SDK's own defaults apply to the rest).
EXPORT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
)
TRACEPARENT = "traceparent"

_configured: set[str] = set()


def tracer() -> trace.Tracer:
    """Lawlink's tracer (a proxy until a provider is installed, so it may be taken early)."""
    return trace.get_tracer(TRACER_NAME)


def export_requested(env: Mapping[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces to be exported."""
    env = os.environ if env is None else env
    exporter = env.get("OTEL_TRACES_EXPORTER", "")
    if exporter.strip().lower() == "none":
        return False
    return any(env.get(name) for name in EXPORT_VARIABLES)


def configure(service: str) -> None:
    """Install the OTLP exporter when the environment asks for it, and the trace id in logs.

    Idempotent per process (several services share one process in the tests).
    """
    if service in _configured:
        return
    _configured.add(service)
    _log_trace_ids()
    if not export_requested() or isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # off, or already installed (by another service of this process, or a test)
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", f"lawlink-{service}")})
    provider = TracerProvider(resource=resource)  # sampler: OTEL_TRACES_SAMPLER, read by the SDK
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def _log_trace_ids() -> None:
    """Every log record made while a span is current ends with ``trace=<trace id>``."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_lawlink_trace", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else ""
        if span.is_valid and isinstance(record.msg, str):
            record.msg = f"{record.msg} [trace={record.trace_id}]"
        return record

    factory._lawlink_trace = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write the current trace context into outgoing (NATS) headers; returns them."""
    propagate.inject(headers)
    return headers


def extract(headers: Mapping[str, str] | None, fallback: str | None = None) -> otel_context.Context:
    """The trace context of incoming headers, else of ``fallback`` (an envelope's traceparent)."""
    carrier = dict(headers or {})
    if TRACEPARENT not in carrier and fallback:
        carrier = {TRACEPARENT: fallback}
    return propagate.extract(carrier)


@contextlib.contextmanager
def continued(name: str, headers: Mapping[str, str] | None, fallback: str | None = None) -> Iterator[Span]:
    """A current span in the trace of ``headers``, else of the envelope's ``fallback``, else of
    whatever span is current (the HTTP request's, for an event posted to intake)."""
    given = headers is not None and TRACEPARENT in headers
    ctx = extract(headers, fallback) if given or fallback else otel_context.get_current()
    with tracer().start_as_current_span(name, context=ctx, kind=SpanKind.CONSUMER) as span:
        yield span


@contextlib.contextmanager
def consumer_spans(
    name: str, headers: Iterable[Mapping[str, str] | None], **attributes: str
) -> Iterator[list[Span]]:
    """One span per message of a batch, each in its own message's trace, open while the batch
    is handled (a batch mixes events of many traces: one span could sit in only one of them)."""
    spans = [
        tracer().start_span(name, context=extract(h), kind=SpanKind.CONSUMER, attributes=attributes)
        for h in headers
    ]
    try:
        yield spans
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
        raise
    finally:
        for span in spans:
            span.end()


def temporal_interceptors() -> list[Any]:
    """Temporal's tracing interceptor, for clients and workers (no-op without a provider)."""
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer())]
