"""Envelope and payload validation: every bad input is a rejection naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.common import MAX_ATTACHMENTS, MAX_OFFICERS
from contracts.validation import (
    DEFAULT_MAX_ENVELOPE_BYTES,
    MAX_JSON_DEPTH,
    EventRejected,
    json_depth_exceeds,
    validate_event,
)
from tests.events import body, event

VALID = event("case_transfer", "crime_suspected")


def _reject(data: Any, sender: str | None = None) -> EventRejected:
    raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    with pytest.raises(EventRejected) as info:
        validate_event(raw, sender)
    return info.value


def test_valid_example_passes() -> None:
    validated = validate_event(body(VALID), "rz-scjgj")
    assert validated.envelope.case_id == VALID["case_id"]
    assert validated.payload.suspected_offence == "销售伪劣产品罪"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"occurred_at": "2026-11-20T09:30:00"}, "occurred_at"),  # no offset
        ({"case_id": "案件/15"}, "case_id"),  # not a subject-safe token
        ({"schema_version": "1"}, "schema_version"),  # strict: no coercion
        ({"schema_version": 9}, "schema_version"),
        ({"type": "case_transfer.no_such_step"}, "type"),
        ({"source_agency": "rz-nowhere"}, "source_agency"),
        ({"unexpected": 1}, "unexpected"),
        ({"trace": "garbage"}, "trace"),
    ],
)
def test_envelope_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    rejection = _reject({**VALID, **change}).rejection
    assert rejection.field == field
    assert rejection.reason
    assert rejection.event_id in (VALID["event_id"], change.get("event_id"))


@pytest.mark.parametrize(
    ("payload_change", "field"),
    [
        ({"officers": [{"name": "王磊", "certificate_no": "37110020260015"}]}, "payload.officers"),
        ({"amount_involved": "-1"}, "payload.amount_involved"),
        (
            {"officers": [{"name": "王磊"}, {"name": "李静", "certificate_no": "3711"}]},
            "payload.officers[0].certificate_no",
        ),
        ({"suspected_offence": ""}, "payload.suspected_offence"),
        ({"extra_field": True}, "payload.extra_field"),
    ],
)
def test_payload_errors_name_the_payload_field(payload_change: dict[str, Any], field: str) -> None:
    data = {**VALID, "payload": {**VALID["payload"], **payload_change}}
    assert _reject(data).rejection.field == field


def test_missing_payload_field_is_named() -> None:
    payload = dict(VALID["payload"])
    del payload["facts"]
    assert _reject({**VALID, "payload": payload}).rejection.field == "payload.facts"


def test_sender_must_match_subject_agency() -> None:
    rejection = _reject(VALID, sender="rz-sthjj").rejection
    assert rejection.field == "source_agency" and "rz-sthjj" in rejection.reason


def test_agency_kind_must_be_allowed_to_send_the_type() -> None:
    rejection = _reject({**VALID, "source_agency": "rz-gaj"}, sender="rz-gaj").rejection
    assert rejection.field == "source_agency"
    assert "police" in rejection.reason and "administrative" in rejection.reason


def test_all_errors_are_listed_at_once() -> None:
    rejection = _reject({**VALID, "event_id": "x", "case_id": "", "schema_version": 0}).rejection
    assert {"event_id", "case_id", "schema_version"} <= {e.field for e in rejection.errors}


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'"text"'])
def test_non_envelope_bodies_are_rejected_at_the_root(raw: bytes) -> None:
    assert _reject(raw).rejection.field == "$"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_escape_as_exceptions(raw: bytes) -> None:
    try:
        validate_event(raw, "rz-scjgj")
    except EventRejected as exc:
        assert exc.rejection.field and exc.rejection.reason


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(VALID)), json_values, max_size=8))
def test_random_envelope_fields_yield_a_named_rejection(overrides: dict[str, Any]) -> None:
    data = {**VALID, **overrides}
    try:
        validate_event(json.dumps(data).encode(), "rz-scjgj")
    except EventRejected as exc:
        assert exc.rejection.field
        assert exc.rejection.field == "$" or exc.rejection.field.split(".")[0].split("[")[0] in set(VALID) | {
            "payload"
        }


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(VALID["payload"]) + ["junk"]), json_values, max_size=6))
def test_random_payload_fields_yield_a_payload_rejection(overrides: dict[str, Any]) -> None:
    data = {**VALID, "payload": {**VALID["payload"], **overrides}}
    try:
        validate_event(json.dumps(data).encode(), "rz-scjgj")
    except EventRejected as exc:
        assert exc.rejection.field.startswith("payload")


# ----- limits: size, depth, bounded lists, distinct officers, non-nil ids ---------------------


def test_an_envelope_over_the_size_limit_is_refused_naming_size_and_limit() -> None:
    raw = body({**VALID, "payload": {**VALID["payload"], "facts": "事" * 2000}})
    with pytest.raises(EventRejected) as info:
        validate_event(raw, "rz-scjgj", max_bytes=len(raw) - 1)
    rejection = info.value.rejection
    assert rejection.field == "$"
    assert str(len(raw)) in rejection.reason and str(len(raw) - 1) in rejection.reason
    assert validate_event(raw, "rz-scjgj", max_bytes=len(raw)).envelope.case_id == VALID["case_id"]
    # Refused unparsed, yet the sender learns which of its events it was.
    assert (rejection.event_id, rejection.case_id, rejection.type) == (
        VALID["event_id"],
        VALID["case_id"],
        VALID["type"],
    )


def test_the_default_size_limit_is_well_under_the_bus_max_payload() -> None:
    raw = b'{"padding": "' + b"x" * DEFAULT_MAX_ENVELOPE_BYTES + b'"}'
    rejection = _reject(raw).rejection
    assert rejection.field == "$" and str(DEFAULT_MAX_ENVELOPE_BYTES) in rejection.reason
    assert DEFAULT_MAX_ENVELOPE_BYTES <= 1024 * 1024 // 2


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 10_000, 40_000])
def test_deep_nesting_is_a_rejection_not_a_crash(depth: int) -> None:
    for opening, closing in ((b"[", b"]"), (b'{"a":', b"}")):
        raw = b'{"payload":' + opening * depth + b"1" + closing * depth + b"}"
        if len(raw) > DEFAULT_MAX_ENVELOPE_BYTES:
            continue  # refused for its size first
        rejection = _reject(raw).rejection
        assert rejection.field == "$" and str(MAX_JSON_DEPTH) in rejection.reason
    # Unclosed, as a hostile sender would not bother to close them.
    assert _reject(b"[" * depth).rejection.field == "$"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    facts = "[[{" * 200 + '\\"[' + "]" * 10
    validated = validate_event(body({**VALID, "payload": {**VALID["payload"], "facts": facts}}), "rz-scjgj")
    assert validated.payload.facts == facts


@pytest.mark.parametrize(
    ("raw", "deeper"),
    [
        (b"[" * 64 + b"]" * 64, False),
        (b"[" * 65 + b"]" * 65, True),
        (b'["' + b"[" * 100 + b'"]', False),  # inside a string
        (b'["\\"' + b"[" * 100 + b'"]', False),  # an escaped quote does not end the string
        (b'["\\\\"' + b"[" * 100, True),  # an escaped backslash does
        (b"[" + b"[]," * 1000 + b"[]]", False),  # wide, not deep
    ],
)
def test_depth_scanner(raw: bytes, deeper: bool) -> None:
    assert json_depth_exceeds(raw, 64) is deeper


def test_two_identical_officers_are_not_two_officers() -> None:
    officer = VALID["payload"]["officers"][0]
    rejection = _reject(
        {**VALID, "payload": {**VALID["payload"], "officers": [officer, dict(officer)]}}
    ).rejection
    assert rejection.field == "payload.officers"
    assert officer["certificate_no"] in rejection.reason


def test_officers_differing_only_in_name_are_still_the_same_officer() -> None:
    officer = VALID["payload"]["officers"][0]
    twin = {**officer, "name": "另一人"}
    rejection = _reject({**VALID, "payload": {**VALID["payload"], "officers": [officer, twin]}}).rejection
    assert rejection.field == "payload.officers"


def test_distinct_officers_apply_to_every_officer_list() -> None:
    report = event("case_transfer", "transfer_report_submitted")
    officer = report["payload"]["officers"][0]
    report["payload"]["officers"] = [officer, officer]
    assert _reject(report).rejection.field == "payload.officers"
    handed = event("reverse_transfer", "handed_over")
    prosecutor = handed["payload"]["prosecutors"][0]
    handed["payload"]["prosecutors"] = [prosecutor, prosecutor]
    assert _reject(handed).rejection.field == "payload.prosecutors"


def test_lists_are_bounded() -> None:
    attachment = {"name": "证据.pdf", "kind": "evidence", "sha256": "0" * 64, "uri": "https://x.example/1"}
    too_many = [attachment] * (MAX_ATTACHMENTS + 1)
    rejection = _reject({**VALID, "payload": {**VALID["payload"], "attachments": too_many}}).rejection
    assert rejection.field == "payload.attachments"
    officers = [{"name": "王磊", "certificate_no": f"3711{i:06d}"} for i in range(MAX_OFFICERS + 1)]
    rejection = _reject({**VALID, "payload": {**VALID["payload"], "officers": officers}}).rejection
    assert rejection.field == "payload.officers"


@pytest.mark.parametrize("nil", ["00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000"])
def test_the_nil_uuid_is_not_an_event_id(nil: str) -> None:
    rejection = _reject({**VALID, "event_id": nil}).rejection
    assert rejection.field == "event_id" and "nil" in rejection.reason
