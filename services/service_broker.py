"""The NATS connection every service keeps, and the FastStream broker the HTTP services run on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware

from services.connections import nats_connect_kwargs
from services.metrics import ServiceMetrics
from services.resilience import ConnectionKeeper
from services.settings import StackSettings


def service_keeper(settings: StackSettings, name: str) -> ConnectionKeeper:
    """A keeper for the service's NATS client: a connection the server closed (an oversized
    publish, say) must be reopened, or every later publish and subscription would fail on it."""
    return ConnectionKeeper(
        name=name, base=settings.nats_reconnect_wait_seconds, cap=settings.nats_reconnect_max_wait_seconds
    )


@dataclass(frozen=True)
class ServiceBroker:
    """A service's broker with the keeper that reopens it and the metrics it reports."""

    broker: NatsBroker
    keeper: ConnectionKeeper
    metrics: ServiceMetrics


def service_broker(settings: StackSettings, name: str, **options: Any) -> ServiceBroker:
    """The service's broker, connected as :func:`~services.connections.connect_nats` connects
    (credentials, TLS, its own inbox prefix), kept open, measured for ``/metrics`` and traced;
    ``options`` are FastStream's own (intake turns dependency injection off)."""
    keeper = service_keeper(settings, name)
    metrics = ServiceMetrics(name)
    broker = NatsBroker(
        settings.nats_servers,
        **options,
        **nats_connect_kwargs(settings, name),  # type: ignore[arg-type]
        closed_cb=keeper.on_closed,
        middlewares=(metrics.broker_middleware(), NatsTelemetryMiddleware()),
    )
    return ServiceBroker(broker=broker, keeper=keeper, metrics=metrics)
