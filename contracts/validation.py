"""Turn raw bytes from an agency into a validated event, or a rejection that names the field.

Pure: the same function serves the NATS intake, the HTTP intake and ``lawlink emit`` (which
checks a file before sending it), so all three refuse the same input with the same words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.agencies import Agency, agencies
from contracts.catalog import EVENT_TYPES
from contracts.common import EventSpec, Payload
from contracts.envelope import Envelope

# Well under NATS's default max payload (1 MiB): intake republishes an HTTP body on the bus with
# headers, and a workflow republishes the payload inside a domain event with its own fields.
DEFAULT_MAX_ENVELOPE_BYTES = 256 * 1024
# An envelope nests four or five levels; parsers recurse per level (Python's json raises
# RecursionError near 1,000, pydantic's near 200), so deeper input is refused before parsing.
MAX_JSON_DEPTH = 64


class FieldError(BaseModel):
    """One problem with one field."""

    model_config = ConfigDict(frozen=True)

    field: str
    reason: str


class Rejection(BaseModel):
    """Why an inbound event was refused; published on ``lawlink.rejected.<agency>``.

    ``field`` and ``reason`` name the first problem; ``errors`` lists them all, so a sender can
    fix everything in one round.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str | None
    type: str | None
    source_agency: str | None
    case_id: str | None
    field: str
    reason: str
    errors: tuple[FieldError, ...] = ()

    @classmethod
    def single(cls, hints: Mapping[str, Any], field: str, reason: str) -> Rejection:
        """A rejection with one error, carrying whatever ids could be read from the input."""
        return cls(
            event_id=_text(hints.get("event_id")),
            type=_text(hints.get("type")),
            source_agency=_text(hints.get("source_agency")),
            case_id=_text(hints.get("case_id")),
            field=field,
            reason=reason,
            errors=(FieldError(field=field, reason=reason),),
        )


class EventRejected(Exception):
    """Raised for input Lawlink refuses; carries the rejection to send back."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(f"{rejection.field}: {rejection.reason}")
        self.rejection = rejection


@dataclass(frozen=True)
class ValidatedEvent:
    """An envelope whose payload matched its type's model and whose sender may send it."""

    envelope: Envelope
    spec: EventSpec
    payload: Payload
    agency: Agency


def validate_event(
    raw: bytes | str,
    subject_agency: str | None = None,
    max_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES,
) -> ValidatedEvent:
    """Validate an inbound message completely.

    Args:
        raw: the message body as received.
        subject_agency: the agency token of the NATS subject (or the authenticated HTTP
            sender); the envelope's ``source_agency`` must equal it. None skips that check
            (``lawlink emit`` validating a file before it knows the subject).
        max_bytes: the largest envelope accepted (``LAWLINK_MAX_ENVELOPE_BYTES``); a bigger
            one could not travel on as a domain event.

    Raises:
        EventRejected: for any problem, naming the field; never anything else.
    """
    hints = _parse_object(raw, max_bytes)
    try:
        envelope = Envelope.model_validate_json(raw)
    except ValidationError as exc:
        raise EventRejected(_from_validation(hints, exc, prefix="")) from None
    agency, spec = _authorise(envelope, hints, subject_agency)
    try:
        payload = spec.payload.model_validate(envelope.payload)
    except ValidationError as exc:
        raise EventRejected(_from_validation(hints, exc, prefix="payload")) from None
    return ValidatedEvent(envelope=envelope, spec=spec, payload=payload, agency=agency)


def _parse_object(raw: bytes | str, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, refused before the envelope model sees it.

    Size and depth are checked on the raw bytes first, so an oversized or deeply nested body
    never reaches a recursive parser; the ids a refused body seems to carry are echoed back.
    """
    data_bytes = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    size = len(data_bytes)
    if size > max_bytes:
        raise EventRejected(Rejection.single(peek_ids(data_bytes), "$", size_reason(size, max_bytes)))
    if json_depth_exceeds(data_bytes, MAX_JSON_DEPTH):
        raise EventRejected(
            Rejection.single(
                peek_ids(data_bytes),
                "$",
                f"body nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects (the limit)",
            )
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise EventRejected(Rejection.single({}, "$", f"body is not valid JSON: {exc}")) from None
    if not isinstance(data, dict):
        raise EventRejected(Rejection.single({}, "$", "body must be a JSON object (the envelope)"))
    return data


def _authorise(
    envelope: Envelope, hints: Mapping[str, Any], subject_agency: str | None
) -> tuple[Agency, EventSpec]:
    """The sending agency and the type's spec, once the sender is known and may send the type.

    Checked before the payload is validated, so an unauthorised sender learns nothing about
    what a valid payload of that type would look like.
    """
    registry = agencies()
    agency = registry.get(envelope.source_agency)
    if agency is None:
        raise EventRejected(
            Rejection.single(hints, "source_agency", f"unknown agency {envelope.source_agency!r}")
        )
    if subject_agency is not None and subject_agency != envelope.source_agency:
        raise EventRejected(
            Rejection.single(
                hints,
                "source_agency",
                f"{envelope.source_agency!r} does not match the sending agency {subject_agency!r}",
            )
        )
    spec = EVENT_TYPES.get(envelope.type)
    if spec is None:
        raise EventRejected(Rejection.single(hints, "type", f"unknown event type {envelope.type!r}"))
    if agency.kind not in spec.senders:
        allowed = ", ".join(sorted(k.value for k in spec.senders))
        raise EventRejected(
            Rejection.single(
                hints,
                "source_agency",
                f"an agency of kind {agency.kind.value!r} may not send {spec.type} (allowed: {allowed})",
            )
        )
    if envelope.schema_version > spec.schema_version:
        raise EventRejected(
            Rejection.single(
                hints,
                "schema_version",
                f"version {envelope.schema_version} of {spec.type} is not known (newest: {spec.schema_version})",
            )
        )
    return agency, spec


def size_reason(size: int | None, max_bytes: int) -> str:
    """The words of a size refusal, shared by every door; ``size`` None when only a lower
    bound is known (a body cut off while being read)."""
    told = f"{size} bytes" if size is not None else f"more than {max_bytes} bytes"
    return f"envelope is {told}; at most {max_bytes} bytes are accepted"


# A top-level id field as senders write it: a short, plain string value (no escapes).
_ID_FIELD = re.compile(rb'"(event_id|type|source_agency|case_id|trace)"\s*:\s*"([A-Za-z0-9_.-]{1,100})"')
_PEEK_BYTES = 4096


def peek_ids(raw: bytes) -> dict[str, str]:
    """The ids a body seems to carry before it is parsed: so the sender of a refused body can
    tell which event it was, and intake can continue the envelope's ``trace`` (a W3C
    traceparent) before it validates the body.

    Only the first few KiB are searched, by a pattern that cannot backtrack badly; a wrong guess
    costs nothing (the ids are echoed, never trusted).
    """
    found: dict[str, str] = {}
    for match in _ID_FIELD.finditer(raw[:_PEEK_BYTES]):
        found.setdefault(match.group(1).decode(), match.group(2).decode())
    return found


# The only bytes that change nesting: quotes and backslashes (strings) and brackets.
_STRUCTURE = re.compile(rb'["\\\[\]{}]')
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENING = frozenset(b"[{")


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether ``raw`` nests arrays/objects deeper than ``limit``, without parsing it.

    Linear in the input and never recursive, so it is safe on hostile bodies; brackets inside
    strings do not count. Invalid JSON may be judged either way: the parser refuses it next.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the common case, at C speed
        return False
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _STRUCTURE.finditer(raw):
        at = match.start()
        if at == escaped_at:
            continue
        char = raw[at]
        if in_string:
            if char == _BACKSLASH:
                escaped_at = at + 1
            elif char == _QUOTE:
                in_string = False
        elif char == _QUOTE:
            in_string = True
        elif char in _OPENING:
            depth += 1
            if depth > limit:
                return True
        elif char != _BACKSLASH:
            depth -= 1
    return False


def _from_validation(hints: Mapping[str, Any], exc: ValidationError, prefix: str) -> Rejection:
    errors = tuple(FieldError(field=_location(prefix, err["loc"]), reason=err["msg"]) for err in exc.errors())
    first = errors[0] if errors else FieldError(field=prefix or "$", reason="invalid")
    return Rejection(
        event_id=_text(hints.get("event_id")),
        type=_text(hints.get("type")),
        source_agency=_text(hints.get("source_agency")),
        case_id=_text(hints.get("case_id")),
        field=first.field,
        reason=first.reason,
        errors=errors,
    )


def _location(prefix: str, loc: tuple[int | str, ...]) -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int) and parts:
            parts[-1] = f"{parts[-1]}[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or "$"


def _text(value: Any) -> str | None:
    """Echo an id back only when it is a short string; never reflect arbitrary input."""
    return value if isinstance(value, str) and len(value) <= 200 else None
