"""NATS subject and stream names, in one place so no service spells them differently."""

from __future__ import annotations

import re

from contracts.envelope import AGENCY_ID_PATTERN, CASE_ID_PATTERN

STREAM_IN = "LAWLINK_IN"
STREAM_OUT = "LAWLINK_OUT"
STREAM_NOTIFY = "LAWLINK_NOTIFY"
# Confidential inbound events, sealed by intake (services/discipline/sealed_inbound.py).
STREAM_SEALED = "LAWLINK_SEALED"

# Exactly lawlink.in.<agency>.<process>.<event>: the stream and intake's consumer take nothing
# else, so a subject with fewer or more tokens cannot carry an event past the sender check.
IN_ALL = "lawlink.in.*.*.*"
OUT_ALL = "lawlink.out.>"
REJECTED_ALL = "lawlink.rejected.>"
NOTIFY_ALL = "lawlink.notify.>"
SEALED_ALL = "lawlink.sealed.*.*.*"

# Seconds in which JetStream drops a second publish with the same Nats-Msg-Id.
DUPLICATE_WINDOW_SECONDS = 120.0
# Domain events are republished by the workflow's activity retries, which can come minutes after
# a publish whose ack was lost in an outage; their window outlasts any such retry run.
OUT_DUPLICATE_WINDOW_SECONDS = 24 * 3600.0

_AGENCY = re.compile(AGENCY_ID_PATTERN)
_CASE = re.compile(CASE_ID_PATTERN)
_TYPE_TOKEN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_NAME_TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")
_INBOX_IDENTITY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidSubject(ValueError):
    """An inbound subject that is not ``lawlink.in.<agency>.<process>.<event>``.

    ``agency`` is the publisher when the subject still starts ``lawlink.in.<agency>.`` with a
    well-formed agency id (only that agency's user may publish there), so the refusal can be
    answered to it; it is never read from the envelope, where a spoofed sender would hide.
    """

    def __init__(self, subject: str, reason: str, agency: str | None) -> None:
        super().__init__(f"subject {subject!r} {reason}; expected lawlink.in.<agency>.<process>.<event>")
        self.subject = subject
        self.agency = agency


def inbound(agency: str, event_type: str) -> str:
    """Subject an agency publishes an event of ``event_type`` on."""
    _check(_AGENCY, agency, "agency")
    _check(_TYPE_TOKEN, event_type, "event type")
    return f"lawlink.in.{agency}.{event_type}"


def sealed(inbound_subject: str) -> str:
    """Subject of the sealed copy of an event that arrived on ``lawlink.in.<agency>.<process>.<event>``."""
    agency, event_type = parse_inbound(inbound_subject)
    return f"lawlink.sealed.{agency}.{event_type}"


def inbound_of_sealed(sealed_subject: str) -> str:
    """The inbound subject a sealed copy on ``lawlink.sealed.<agency>.<process>.<event>`` came from.

    Raises:
        InvalidSubject: when the subject is not a sealed copy's.
    """
    parts = sealed_subject.split(".")
    if len(parts) != 5 or parts[:2] != ["lawlink", "sealed"]:
        raise InvalidSubject(sealed_subject, "is not a sealed copy's subject", None)
    original = ".".join(["lawlink", "in", *parts[2:]])
    parse_inbound(original)
    return original


def outbound(process: str, case_id: str) -> str:
    """Subject a workflow's domain events for one case are published on."""
    _check(_CASE, case_id, "case_id")
    return f"lawlink.out.{process}.{case_id}"


def rejected(agency: str) -> str:
    """Subject that tells an agency why one of its events was refused."""
    _check(_AGENCY, agency, "agency")
    return f"lawlink.rejected.{agency}"


def notify(agency: str) -> str:
    """Subject on which an agency hears what it must do next."""
    _check(_AGENCY, agency, "agency")
    return f"lawlink.notify.{agency}"


def parse_inbound(subject: str) -> tuple[str, str]:
    """Split ``lawlink.in.<agency>.<process>.<event>`` into (agency, type).

    Only that exact five-token shape is accepted: the agency token is who sent the event, and a
    subject of four or six tokens would otherwise leave the caller with no sender to check the
    envelope against.

    Raises:
        InvalidSubject: naming the subject, when it has another shape or a malformed token.
    """
    parts = subject.split(".")
    if len(parts) < 3 or parts[0] != "lawlink" or parts[1] != "in":
        raise InvalidSubject(subject, "is not an inbound subject", None)
    agency = parts[2] if _AGENCY.match(parts[2]) else None
    if len(parts) != 5:
        raise InvalidSubject(subject, f"has {len(parts)} tokens, not 5", agency)
    if agency is None:
        raise InvalidSubject(subject, f"has a malformed agency token {parts[2]!r}", None)
    for token in parts[3:]:
        if not _NAME_TOKEN.match(token):
            raise InvalidSubject(subject, f"has a malformed type token {token!r}", agency)
    return agency, f"{parts[3]}.{parts[4]}"


def inbox_prefix(identity: str) -> str:
    """The reply-inbox prefix of one NATS identity (an agency id or a service name).

    Replies to requests, JetStream publish acks and pull-consumer deliveries go to the
    requester's inbox; with one prefix per identity, an agency is allowed ``_INBOX_<own>.>``
    only and cannot subscribe to anyone else's replies.
    """
    _check(_INBOX_IDENTITY, identity, "inbox identity")
    return f"_INBOX_{identity}"


def _check(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.match(value):
        raise ValueError(f"invalid {what} for a subject token: {value!r}")
