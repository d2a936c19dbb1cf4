"""The only side effects of the workflows: publishing domain events to JetStream."""

from __future__ import annotations

import hashlib

from nats.aio.client import DEFAULT_MAX_PAYLOAD_SIZE
from nats.js import JetStreamContext
from opentelemetry import propagate
from temporalio import activity

from contracts import subjects
from contracts.domain import DomainEvent, DomainEventBatch
from contracts.validation import Rejection

PUBLISH_BATCH_ACTIVITY = "publish_domain_events"
REJECT_ACTIVITY = "publish_rejection"
"""The activities' names, for a stand-in publisher registered in their place (tests)."""


def _traced(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus the current trace context (the activity's span, continued from the
    workflow's), so the readers of the bus continue the event's trace."""
    propagate.inject(headers)
    return headers


# Room kept for the subject and headers (Nats-Msg-Id, Nats-Expected-Stream): the client checks
# only the body against the server's max payload, the server counts headers too, and a message
# over it makes the server close the connection every publish of every workflow shares.
HEADER_ROOM = 4096


def bounded_event(event: DomainEvent, body_bytes: int) -> DomainEvent:
    """``event`` without its payload: ids, type, state and deadline, and a note saying why.

    The full payload stays in the workflow's history; the hash lets an operator match it. A
    step must still reach the read model (its state and deadline drive the console and the
    notifier), and publishing the oversized body again would fail the same way forever.
    """
    digest = hashlib.sha256(event.model_dump_json().encode()).hexdigest()
    note = {
        "payload_omitted": True,
        "note": "the payload was too large for the bus; it is kept in the workflow history",
        "original_bytes": body_bytes,
        "sha256": digest,
    }
    return event.model_copy(update={"payload": note})


class PublishActivities:
    """Activities bound to a JetStream context (built once by the worker; a fake in tests)."""

    def __init__(self, js: JetStreamContext, max_payload: int | None = None) -> None:
        """``max_payload``: the bus's limit on a message; by default the one the NATS server
        announced to the connection."""
        self._js = js
        self._max_payload = max_payload

    def _body_limit(self) -> int:
        announced = getattr(getattr(self._js, "_nc", None), "max_payload", None)
        limit = self._max_payload or (announced if isinstance(announced, int) else DEFAULT_MAX_PAYLOAD_SIZE)
        return limit - HEADER_ROOM

    async def publish_one(self, event: DomainEvent) -> None:
        """Publish ``event`` on ``lawlink.out.<process>.<case_id>``, once.

        The ``Nats-Msg-Id`` is ``<workflow_id>:<seq>``, derived from the workflow's own
        sequence, so a retried activity (or a replayed workflow task) publishes nothing twice
        within the stream's duplicate window; the registry upserts by ``event_id`` beyond it.
        An event too big for the bus is published in its bounded form (:func:`bounded_event`).
        """
        body = event.model_dump_json().encode()
        limit = self._body_limit()
        if len(body) > limit:
            activity.logger.warning(
                "domain event %s of %s is %d bytes (bus limit %d): published without its payload",
                event.msg_id(),
                event.type,
                len(body),
                limit,
            )
            small = bounded_event(event, len(body))
            body = small.model_dump_json().encode()
            if len(body) > limit:  # only the parties list is left that could be long
                body = small.model_copy(update={"parties": ()}).model_dump_json().encode()
        await self._js.publish(
            subjects.outbound(event.process, event.case_id),
            body,
            stream=subjects.STREAM_OUT,
            headers=_traced({"Nats-Msg-Id": event.msg_id()}),
        )

    @activity.defn(name=PUBLISH_BATCH_ACTIVITY)
    async def publish_domain_events(self, batch: DomainEventBatch) -> None:
        """Publish the events of one workflow step, in order.

        Each keeps its own ``Nats-Msg-Id``, so a retry after a partial batch republishes only
        duplicates that JetStream drops.
        """
        for event in batch.events:
            await self.publish_one(event)

    @activity.defn(name=REJECT_ACTIVITY)
    async def publish_rejection(self, rejection: Rejection) -> None:
        """Answer a refused opening event on ``lawlink.rejected.<agency>``, once per event."""
        agency = rejection.source_agency or ""
        await self._js.publish(
            subjects.rejected(agency),
            rejection.model_dump_json().encode(),
            stream="LAWLINK_REJECTED",
            headers=_traced({"Nats-Msg-Id": f"rejected:{agency}:{rejection.event_id}"}),
        )
