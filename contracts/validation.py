"""Turn raw bytes from an agency into a validated event, or a rejection that names the field.

Pure: the same function serves the NATS intake, the HTTP intake and ``lawlink emit`` (which
checks a file before sending it), so all three refuse the same input with the same words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.agencies import Agency, agencies
from contracts.catalog import EVENT_TYPES
from contracts.common import EventSpec, Payload
from contracts.envelope import Envelope


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


def validate_event(raw: bytes | str, subject_agency: str | None = None) -> ValidatedEvent:
    """Validate an inbound message completely.

    Args:
        raw: the message body as received.
        subject_agency: the agency token of the NATS subject (or the authenticated HTTP
            sender); the envelope's ``source_agency`` must equal it. None skips that check
            (``lawlink emit`` validating a file before it knows the subject).

    Raises:
        EventRejected: for any problem, naming the field; never anything else.
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventRejected(Rejection.single({}, "$", f"body is not valid JSON: {exc}")) from None
    if not isinstance(data, dict):
        raise EventRejected(Rejection.single({}, "$", "body must be a JSON object (the envelope)"))
    hints = data

    try:
        envelope = Envelope.model_validate_json(raw)
    except ValidationError as exc:
        raise EventRejected(_from_validation(hints, exc, prefix="")) from None

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
    try:
        payload = spec.payload.model_validate(envelope.payload)
    except ValidationError as exc:
        raise EventRejected(_from_validation(hints, exc, prefix="payload")) from None
    return ValidatedEvent(envelope=envelope, spec=spec, payload=payload, agency=agency)


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
