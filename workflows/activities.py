"""The only side effects of the workflows: publishing domain events to JetStream."""

from __future__ import annotations

from nats.js import JetStreamContext
from temporalio import activity

from contracts import subjects
from contracts.domain import DomainEvent, DomainEventBatch
from contracts.validation import Rejection
from workflows.case_base import PUBLISH_ACTIVITY, PUBLISH_BATCH_ACTIVITY, REJECT_ACTIVITY


class PublishActivities:
    """Activities bound to a JetStream context (built once by the worker; a fake in tests)."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    @activity.defn(name=PUBLISH_ACTIVITY)
    async def publish_domain_event(self, event: DomainEvent) -> None:
        """Publish ``event`` on ``lawlink.out.<process>.<case_id>``, once.

        The ``Nats-Msg-Id`` is ``<workflow_id>:<seq>``, derived from the workflow's own
        sequence, so a retried activity (or a replayed workflow task) publishes nothing twice
        within the stream's duplicate window; the registry upserts by ``event_id`` beyond it.
        """
        await self._js.publish(
            subjects.outbound(event.process, event.case_id),
            event.model_dump_json().encode(),
            stream=subjects.STREAM_OUT,
            headers={"Nats-Msg-Id": event.msg_id()},
        )

    @activity.defn(name=PUBLISH_BATCH_ACTIVITY)
    async def publish_domain_events(self, batch: DomainEventBatch) -> None:
        """Publish the events of one workflow step, in order.

        Each keeps its own ``Nats-Msg-Id``, so a retry after a partial batch republishes only
        duplicates that JetStream drops.
        """
        for event in batch.events:
            await self.publish_domain_event(event)

    @activity.defn(name=REJECT_ACTIVITY)
    async def publish_rejection(self, rejection: Rejection) -> None:
        """Answer a refused opening event on ``lawlink.rejected.<agency>``, once per event."""
        agency = rejection.source_agency or ""
        await self._js.publish(
            subjects.rejected(agency),
            rejection.model_dump_json().encode(),
            stream="LAWLINK_REJECTED",
            headers={"Nats-Msg-Id": f"rejected:{agency}:{rejection.event_id}"},
        )
