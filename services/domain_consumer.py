"""The one way a service consumes domain events: in batches, from its own durable consumer.

Both the registry (projection) and the notifier read ``lawlink.out.>`` the same way, with the
delivery rules of DESIGN.md spelled out: explicit (manual) acks, ``ack_wait``, ``max_deliver``
and ``max_ack_pending`` sized to the batch; a batch is acked only after the handler finished;
a handler failure naks the batch with a delay (redelivered, never dropped); a malformed event
(only our own workflows publish here, so it is a bug) is terminated and logged, not retried.

Several replicas of a service split the cases between them (services/partition.py): each reads
the stream from a consumer of its own and acks the other replicas' events unhandled.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts import subjects
from contracts.domain import DomainEvent
from services.partition import Partition, ensure_consumer
from services.tracing import consumer_spans

Handler = Callable[[list[DomainEvent]], Awaitable[object]]
Prepare = Callable[[JetStreamContext], Awaitable[str]]


def subscribe_domain_events(
    broker: NatsBroker,
    *,
    durable: str,
    handle: Handler,
    log: logging.Logger,
    batch: int = 200,
    ack_wait: float = 60.0,
    max_deliver: int = 20,
    retry_delay: float = 2.0,
    description: str = "",
    partition: Partition | None = None,
) -> Prepare:
    """Register a batch subscriber on ``lawlink.out.>`` that calls ``handle`` with each batch
    of this replica's cases.

    Returns the coroutine to await once connected and before the broker starts: it creates the
    replica's consumer where a new one must start (:func:`services.partition.ensure_consumer`).
    """
    partition = partition or Partition()
    name = partition.durable(durable)
    consumer = ConsumerConfig(ack_wait=ack_wait, max_deliver=max_deliver, max_ack_pending=batch * 2)

    async def prepare(js: JetStreamContext) -> str:
        config = dataclasses.replace(consumer, filter_subject=subjects.OUT_ALL)
        return await ensure_consumer(js, subjects.STREAM_OUT, partition, durable, config)

    @broker.subscriber(
        subjects.OUT_ALL,
        stream=JStream(subjects.STREAM_OUT, declare=False),
        durable=name,
        config=dataclasses.replace(consumer),
        pull_sub=PullSub(batch_size=batch, timeout=0.2, batch=True),
        ack_policy=AckPolicy.MANUAL,
        title="lawlink.out.<process>.<case_id>",
        description=description,
    )
    async def on_domain_events(msg: NatsMessage) -> None:
        raws = msg.raw_message if isinstance(msg.raw_message, list) else [msg.raw_message]
        events: list[DomainEvent] = []
        for raw in raws:
            try:
                event = DomainEvent.model_validate_json(raw.data)
            except ValidationError as exc:
                log.error("malformed domain event on %s skipped by %s: %s", raw.subject, name, exc)
                await raw.term()
                continue
            if partition.owns(event.workflow_id):
                events.append(event)
            else:
                await raw.ack()  # another replica's case
        if not events:
            return
        try:
            with consumer_spans(f"lawlink {name} handle", (raw.headers for raw in raws), consumer=name):
                await handle(events)
        except Exception:
            log.exception("%s could not handle %d domain events; they will be redelivered", name, len(events))
            for raw in raws:
                if not raw._ackd:
                    await raw.nak(delay=retry_delay)
            return
        for raw in raws:
            if not raw._ackd:
                await raw.ack()

    return prepare
