"""Intake tells from its consumer whether an earlier message may still change an event's answer.

An event refused (no open case, or out of state) while an earlier message of the stream is
still out waits for it instead of being refused for good; once nothing earlier is pending it is
refused at once. Checked against a real nats-server: its ack floor stays behind a message that
ran out of deliveries (a dead letter) until the next ack, which must not hold every later
refusal for all its deliveries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import nats
import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig

from services.intake.app import earlier_unhandled
from tests.servers import NatsServer

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    yield nc.jetstream()
    await nc.close()


async def _stream(js: JetStreamContext) -> tuple[str, str]:
    """A stream of its own whose consumer takes all of it, as intake's takes the inbound one
    (the session's server is shared with other tests publishing on ``LAWLINK_IN``)."""
    name = f"FLOOR_{uuid.uuid4().hex[:8]}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
    return name, f"{name.lower()}.event"


async def test_an_earlier_message_out_holds_and_a_dead_letter_does_not(js: JetStreamContext) -> None:
    stream, subject = await _stream(js)
    durable = "intake"
    seqs = [(await js.publish(subject, f"{n}".encode())).seq for n in range(3)]
    sub = await js.pull_subscribe(
        subject, durable=durable, stream=stream, config=ConsumerConfig(max_deliver=2, ack_wait=30)
    )
    first, second, third = await sub.fetch(3, timeout=5)
    assert [m.metadata.sequence.stream for m in (first, second, third)] == seqs

    # Nothing before the first message: its refusal is final at once.
    assert not await earlier_unhandled(js, stream, durable, seqs[0], timeout=5)
    await second.ack()
    # The first is still out: the third's "no open case" may be its doing.
    assert await earlier_unhandled(js, stream, durable, seqs[2], timeout=5)

    # The first runs out of deliveries (a dead letter); the floor stays behind it, but only the
    # third is out now, so nothing earlier can come any more.
    await first.nak()
    (again,) = await sub.fetch(1, timeout=5)
    assert again.metadata.sequence.stream == seqs[0] and again.metadata.num_delivered == 2
    await again.nak()
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=1)
    info = await js.consumer_info(stream, durable)
    assert info.num_ack_pending == 1 and (info.ack_floor.stream_seq or 0) < seqs[2] - 1
    assert not await earlier_unhandled(js, stream, durable, seqs[2], timeout=5)
    await third.ack()


async def test_nats_not_answering_counts_as_pending(js: JetStreamContext) -> None:
    """No consumer info (NATS down, the consumer gone): the event waits rather than being
    refused for good on a guess."""
    stream, _ = await _stream(js)
    assert await earlier_unhandled(js, stream, "no-such-consumer", 10, timeout=2)
