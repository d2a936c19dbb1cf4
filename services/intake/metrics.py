"""Intake's figures: events taken off the bus by outcome, and refusals by the field they name."""

from __future__ import annotations

import re

from contracts.validation import Rejection
from services.intake.core import IntakeResult
from services.metrics import ServiceMetrics

# List positions ("officers.1.name", "attachments[3]") would make a series per index.
_INDEX = re.compile(r"\[\d+\]|(?<=\.)\d+(?=\.|$)")
MAX_FIELD_LABEL = 80


def field_label(field: str) -> str:
    """The refusal's field as a bounded label: indices folded to ``*``."""
    return _INDEX.sub("*", field)[:MAX_FIELD_LABEL]


class IntakeMetrics:
    """Counts what intake decided, at the bus door and at the HTTP door."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._events = metrics.counter(
            "intake_events", "Inbound events intake finished with, by door and outcome.", ("door", "outcome")
        )
        self._refusals = metrics.counter(
            "intake_rejections",
            "Inbound events refused, by door and the field the refusal names.",
            ("door", "field"),
        )

    def taken(self, result: IntakeResult) -> None:
        """An event from the stream was accepted, found a duplicate, or refused."""
        self._events.labels("nats", result.outcome.value).inc()
        if result.rejection is not None:
            self.refused("nats", result.rejection)

    def queued(self, duplicate: bool) -> None:
        """An HTTP event went onto the bus (where :meth:`taken` counts it again, as ``nats``)."""
        self._events.labels("http", "duplicate" if duplicate else "queued").inc()

    def refused(self, door: str, rejection: Rejection) -> None:
        """A refusal, counted by the field it names."""
        if door != "nats":
            self._events.labels(door, "rejected").inc()
        self._refusals.labels(door, field_label(rejection.field)).inc()
