"""NATS subject and stream names, in one place so no service spells them differently."""

from __future__ import annotations

import re

from contracts.envelope import AGENCY_ID_PATTERN, CASE_ID_PATTERN

STREAM_IN = "LAWLINK_IN"
STREAM_OUT = "LAWLINK_OUT"
STREAM_NOTIFY = "LAWLINK_NOTIFY"

IN_ALL = "lawlink.in.>"
OUT_ALL = "lawlink.out.>"
REJECTED_ALL = "lawlink.rejected.>"
NOTIFY_ALL = "lawlink.notify.>"

# Seconds in which JetStream drops a second publish with the same Nats-Msg-Id.
DUPLICATE_WINDOW_SECONDS = 120.0

_AGENCY = re.compile(AGENCY_ID_PATTERN)
_CASE = re.compile(CASE_ID_PATTERN)
_TYPE_TOKEN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


def inbound(agency: str, event_type: str) -> str:
    """Subject an agency publishes an event of ``event_type`` on."""
    _check(_AGENCY, agency, "agency")
    _check(_TYPE_TOKEN, event_type, "event type")
    return f"lawlink.in.{agency}.{event_type}"


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
    """Split ``lawlink.in.<agency>.<process>.<step>`` into (agency, type).

    Raises:
        ValueError: when the subject is not an inbound subject.
    """
    parts = subject.split(".")
    if len(parts) != 5 or parts[0] != "lawlink" or parts[1] != "in":
        raise ValueError(f"not an inbound subject: {subject!r}")
    return parts[2], f"{parts[3]}.{parts[4]}"


def _check(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.match(value):
        raise ValueError(f"invalid {what} for a subject token: {value!r}")
