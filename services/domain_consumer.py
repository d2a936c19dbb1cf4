"""The one way a service consumes domain events: in batches, from its own durable consumer.

Both the registry (projection) and the notifier read ``lawlink.out.>`` the same way, with the
delivery rules of DESIGN.md spelled out: explicit (manual) acks, ``ack_wait``, ``max_deliver``
and ``max_ack_pending`` sized to the batch; a batch is acked only after the handler finished;
a handler failure naks the batch with a delay (redelivered, never dropped); a malformed event
(only our own workflows publish here, so it is a bug) is terminated and logged, not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from pydantic import ValidationError

from contracts import subjects
from contracts.domain import DomainEvent
from services.tracing import consumer_spans

Handler = Callable[[list[DomainEvent]], Awaitable[object]]


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
) -> None:
    """Register a batch subscriber on ``lawlink.out.>`` that calls ``handle`` with each batch."""

    @broker.subscriber(
        subjects.OUT_ALL,
        stream=JStream(subjects.STREAM_OUT, declare=False),
        durable=durable,
        config=ConsumerConfig(ack_wait=ack_wait, max_deliver=max_deliver, max_ack_pending=batch * 2),
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
                events.append(DomainEvent.model_validate_json(raw.data))
            except ValidationError as exc:
                log.error("malformed domain event on %s skipped by %s: %s", raw.subject, durable, exc)
                await raw.term()
        try:
            with consumer_spans(f"lawlink {durable} handle", (raw.headers for raw in raws), consumer=durable):
                await handle(events)
        except Exception:
            log.exception(
                "%s could not handle %d domain events; they will be redelivered", durable, len(events)
            )
            for raw in raws:
                if not raw._ackd:
                    await raw.nak(delay=retry_delay)
            return
        for raw in raws:
            if not raw._ackd:
                await raw.ack()
