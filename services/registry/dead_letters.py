"""What a dead letter keeps of the message it records, whatever that message is.

A dead letter is often a message that failed *because* of its body: deeply nested JSON, bytes
that are not UTF-8, something huge. Recording it must not fail on the same body, or the dead
letter is never recorded and its advisory is redelivered forever. So nothing here parses the
body as a whole: the event id is found with a bounded scan, the body is cut to a size the
table and the console can hold, and a confidential process's body is sealed as referral
content is (DESIGN.md, security: confidential content is sealed wherever it rests).
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.validation import peek_ids
from services.discipline.crypto import TEXT_PREFIX, ContentCipher
from services.discipline.sealed_inbound import SEALED_PROCESSES

# Bodies longer than this keep their head only; the whole message stays in LAWLINK_IN, where
# the replay reads it by stream sequence.
MAX_BODY_CHARS = 64 * 1024
TRUNCATED_MARK = "\n…[truncated: {size} bytes in all; the message stays in the stream]"


@dataclass(frozen=True)
class RecordedBody:
    """The body as stored and the event id found in it, if any."""

    body: str
    event_id: str | None
    truncated: bool
    sealed: bool


def dead_letter_context(stream_seq: int) -> str:
    """What a sealed dead-letter body is bound to: a copy on another row does not open."""
    return f"dead-letter:{stream_seq}"


def is_sealed(body: str) -> bool:
    """Whether a stored body is sealed (open it with :func:`open_body`)."""
    return body.startswith(TEXT_PREFIX)


def process_of(subject: str) -> str | None:
    """The process token of ``lawlink.in.<agency>.<process>.<event>``, None for other shapes."""
    parts = subject.split(".")
    if len(parts) >= 4 and parts[0] == "lawlink" and parts[1] == "in":
        return parts[3]
    return None


def record_body(
    data: bytes | None,
    subject: str,
    stream_seq: int,
    cipher: ContentCipher,
    *,
    limit: int = MAX_BODY_CHARS,
) -> RecordedBody:
    """The storable form of a dead message's body; never raises on the body's content.

    Invalid UTF-8 becomes replacement characters, a body over ``limit`` characters keeps its
    head and a note of its size, and a body on a confidential process's subject is sealed.
    """
    raw = data or b""
    event_id = peek_ids(raw).get("event_id")
    sealed = process_of(subject) in SEALED_PROCESSES
    if sealed:
        # Kept whole: the stream's copy is erased once this row holds it, so a replay has only
        # this one (a message on the bus is at most its max payload).
        limit = max(limit, len(raw))
    text = raw[: limit * 4].decode("utf-8", "replace")
    truncated = len(raw) > limit * 4 or len(text) > limit
    if truncated:
        text = text[:limit] + TRUNCATED_MARK.format(size=len(raw))
    if sealed:
        text = cipher.seal_text(text, context=dead_letter_context(stream_seq))
    return RecordedBody(text, event_id, truncated, sealed)


def open_body(body: str, stream_seq: int, cipher: ContentCipher) -> str:
    """The plain text of a stored body (sealed or not)."""
    if not is_sealed(body):
        return body
    return cipher.open_text(body, context=dead_letter_context(stream_seq))
