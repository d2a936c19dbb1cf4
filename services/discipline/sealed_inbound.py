"""Confidential inbound events leave the bus's plaintext stream as soon as intake has them.

An agency publishes a clue on ``lawlink.in.<agency>.discipline_referral.<event>`` in clear (it
has no key), and ``LAWLINK_IN`` keeps messages for 90 days. So intake, for every message of a
confidential process, publishes a sealed copy (AES-GCM with the content key, bound to the
subject and event id) on ``lawlink.sealed.<agency>.<process>.<event>`` before it hands the event
to the workflow, and afterwards erases the plaintext message from ``LAWLINK_IN`` with
JetStream's secure delete (the server overwrites the record in its block file). The registry
stores referral content from the sealed copies; dead letters of these processes are sealed and
erased from the stream the same way (services/registry/dead_letters.py).

Erasing comes before the ack: if intake stops in between, the message is delivered again,
taken again (a duplicate, which the workflow ignores) and erased then.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts import subjects
from contracts.catalog import CONFIDENTIAL_PROCESSES
from services.discipline.crypto import ContentCipher

log = logging.getLogger("lawlink.discipline")


# Inbound processes whose content is sealed at rest: the need-to-know ones and the hotline,
# whose complaints (complainant, phone, allegation) feed discipline referrals.
SEALED_PROCESSES: frozenset[str] = frozenset(CONFIDENTIAL_PROCESSES) | {"hotline"}


def is_confidential_subject(subject: str) -> bool:
    """Whether ``lawlink.in.<agency>.<process>.<event>`` belongs to a sealed process."""
    parts = subject.split(".")
    return len(parts) == 5 and parts[:2] == ["lawlink", "in"] and parts[3] in SEALED_PROCESSES


def _context(inbound_subject: str, event_id: str) -> str:
    return f"inbound:{inbound_subject}:{event_id}"


def seal_inbound(cipher: ContentCipher, raw: bytes, inbound_subject: str, event_id: str) -> bytes:
    """The sealed copy of one inbound message (raw bytes of a valid envelope, so UTF-8)."""
    return cipher.seal_text(raw.decode("utf-8"), context=_context(inbound_subject, event_id)).encode()


def open_inbound(cipher: ContentCipher, data: bytes, sealed_subject: str, event_id: str) -> tuple[bytes, str]:
    """The original message and its inbound subject, from a sealed copy.

    Raises:
        ContentDecryptError: the copy does not open for this subject and event id.
        InvalidSubject: ``sealed_subject`` is not a sealed copy's subject.
    """
    inbound_subject = subjects.inbound_of_sealed(sealed_subject)
    text = cipher.open_text(data.decode("ascii", "replace"), context=_context(inbound_subject, event_id))
    return text.encode("utf-8"), inbound_subject


async def publish_sealed(
    js: JetStreamContext, cipher: ContentCipher, raw: bytes, inbound_subject: str, event_id: str
) -> None:
    """Put the sealed copy on ``LAWLINK_SEALED`` (de-duplicated by event id)."""
    await js.publish(
        subjects.sealed(inbound_subject),
        seal_inbound(cipher, raw, inbound_subject, event_id),
        stream=subjects.STREAM_SEALED,
        headers={"Nats-Msg-Id": event_id},
    )


async def erase_inbound(js: JetStreamContext, stream_seq: int) -> None:
    """Securely delete one message from ``LAWLINK_IN`` (already gone counts as erased)."""
    try:
        await js.delete_msg(subjects.STREAM_IN, stream_seq)
    except NotFoundError:
        log.debug("stream seq %s was already erased", stream_seq)
