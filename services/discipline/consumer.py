"""The consumer that puts referral content into the encrypted store.

Content never crosses ``lawlink.out``: agencies send it on their own inbound subjects, intake
seals a copy onto ``lawlink.sealed.<agency>.<process>.<event>`` (and erases the plaintext from
``LAWLINK_IN``, services/discipline/sealed_inbound.py) and hands the event to the workflow; this
consumer (mounted in the registry app, with its own durable consumers on ``LAWLINK_SEALED``)
opens the copy, encrypts the payload for its referral and stores it by ``event_id``. It stores what
the catalog calls confidential and skips the rest; the content API shows a row only once the
workflow accepted its event (the timeline holds its ``event_id``).

Delivery (DESIGN.md pitfalls): explicit manual acks, ``ack_wait``/``max_deliver``/
``max_ack_pending`` set; unreadable input is acked (redelivery cannot fix it, intake answers the
sender); a database failure naks with a delay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contracts import subjects
from contracts.catalog import CONFIDENTIAL_PROCESSES, spec_for
from contracts.envelope import Envelope
from services.discipline.content import store_content
from services.discipline.crypto import ContentCipher, ContentDecryptError, cipher_from_env
from services.discipline.sealed_inbound import open_inbound

log = logging.getLogger("lawlink.discipline")

# Sealed copies of the confidential types: the process's own and the hotline's (which feeds it).
CONTENT_SUBJECTS: dict[str, str] = {
    "registry-sealed-referral-content": "lawlink.sealed.*.discipline_referral.*",
    "registry-sealed-hotline-content": "lawlink.sealed.*.hotline.*",
}


def confidential_envelope(raw: bytes, subject: str) -> Envelope | None:
    """The envelope if it is a well-formed event of a confidential process sent on its own
    agency's subject; None for anything else (intake refuses those, nothing to store)."""
    try:
        env = Envelope.model_validate_json(raw)
        agency, event_type = subjects.parse_inbound(subject)
    except (ValidationError, ValueError):
        return None
    spec = spec_for(env.type)
    if spec is None or event_type != env.type or agency != env.source_agency:
        return None
    if spec.process not in CONFIDENTIAL_PROCESSES:
        return None
    try:
        spec.payload.model_validate(env.payload)
    except ValidationError:
        return None
    return env


def register_content_consumer(
    broker: NatsBroker, engine: Callable[[], Engine], cipher: ContentCipher | None = None
) -> None:
    """Add the content subscribers to ``broker`` (the registry's); ``engine`` returns the read
    model's engine once the app has started.

    Raises:
        ContentKeyError: outside tests, when ``LAWLINK_CONTENT_KEY`` is missing or malformed,
            so the registry refuses to start rather than lose content.
    """
    cipher = cipher or cipher_from_env()

    def write(env: Envelope, process: str) -> bool:
        with Session(engine()) as session:
            added = store_content(session, cipher, env, process=process)
            session.commit()
            return added

    async def on_content(msg: NatsMessage) -> None:
        raw = msg.raw_message
        try:
            data, subject = open_inbound(
                cipher, raw.data, raw.subject, (raw.headers or {}).get("Nats-Msg-Id", "")
            )
        except (ContentDecryptError, ValueError):
            # Only intake publishes sealed copies; one that does not open (another key) cannot
            # get better by redelivery.
            log.error("sealed copy on %s does not open with this content key; skipped", raw.subject)
            await msg.ack()
            return
        env = confidential_envelope(data, subject)
        if env is None:
            await msg.ack()
            return
        spec = spec_for(env.type)
        assert spec is not None
        try:
            await anyio.to_thread.run_sync(write, env, spec.process)
        except Exception:
            log.exception("could not store referral content of %s; it will be redelivered", env.event_id)
            await msg.nack(delay=2.0)
            return
        await msg.ack()

    for durable, subject in CONTENT_SUBJECTS.items():
        broker.subscriber(
            subject,
            stream=JStream(subjects.STREAM_SEALED, declare=False),
            durable=durable,
            config=ConsumerConfig(ack_wait=30, max_deliver=20, max_ack_pending=64),
            pull_sub=PullSub(batch_size=16, timeout=0.5),
            ack_policy=AckPolicy.MANUAL,
            include_in_schema=False,
        )(on_content)
