"""Inbound subjects have exactly one shape, and every NATS identity has its own reply inbox."""

from __future__ import annotations

import pytest

from contracts import subjects
from services.connections import inbox_prefix_for, nats_connect_kwargs, stream_configs
from services.settings import StackSettings


def test_five_token_inbound_subject_is_split_into_sender_and_type() -> None:
    assert subjects.parse_inbound("lawlink.in.rz-scjgj.case_transfer.crime_suspected") == (
        "rz-scjgj",
        "case_transfer.crime_suspected",
    )
    subject = subjects.inbound("rz-dg-gaj", "reverse_transfer.police_no_crime_found")
    assert subjects.parse_inbound(subject) == ("rz-dg-gaj", "reverse_transfer.police_no_crime_found")


@pytest.mark.parametrize(
    ("subject", "agency", "reason"),
    [
        ("lawlink.in.rz-scjgj.spoof", "rz-scjgj", "4 tokens"),
        ("lawlink.in.rz-scjgj.case_transfer.crime_suspected.extra", "rz-scjgj", "6 tokens"),
        ("lawlink.in.rz-scjgj", "rz-scjgj", "3 tokens"),
        ("lawlink.in.RZ_bad.case_transfer.crime_suspected", None, "malformed agency token 'RZ_bad'"),
        ("lawlink.in.rz-scjgj.case_transfer.Crime", "rz-scjgj", "malformed type token 'Crime'"),
        ("lawlink.in.rz-scjgj..crime_suspected", "rz-scjgj", "malformed type token ''"),
        ("lawlink.out.case_transfer.C-1", None, "not an inbound subject"),
        ("lawlink", None, "not an inbound subject"),
    ],
)
def test_any_other_shape_is_refused_naming_the_subject(subject: str, agency: str | None, reason: str) -> None:
    with pytest.raises(subjects.InvalidSubject) as caught:
        subjects.parse_inbound(subject)
    assert repr(subject) in str(caught.value)
    assert reason in str(caught.value)
    assert "lawlink.in.<agency>.<process>.<event>" in str(caught.value)
    # The refusal goes to the subject's agency (its only possible publisher), never elsewhere.
    assert caught.value.agency == agency
    assert caught.value.subject == subject
    assert isinstance(caught.value, ValueError)  # callers that only skip bad input keep working


def test_inbound_stream_and_intake_filter_take_only_the_five_token_shape() -> None:
    assert subjects.IN_ALL == "lawlink.in.*.*.*"
    inbound_stream = next(c for c in stream_configs() if c.name == subjects.STREAM_IN)
    assert inbound_stream.subjects == ["lawlink.in.*.*.*"]


def test_each_identity_has_its_own_inbox_prefix() -> None:
    assert subjects.inbox_prefix("rz-scjgj") == "_INBOX_rz-scjgj"
    assert subjects.inbox_prefix("worker") == "_INBOX_worker"
    for bad in ("", "a.b", "a*", ">", "a b"):
        with pytest.raises(ValueError, match="inbox identity"):
            subjects.inbox_prefix(bad)


def test_an_agency_login_uses_the_agency_inbox_and_a_service_its_own() -> None:
    agency = StackSettings(NATS_USER="rz-scjgj", NATS_PASSWORD="pw")
    service = StackSettings(NATS_USER="lawlink", NATS_PASSWORD="pw")
    # `lawlink emit` run with an agency's credentials: replies come to that agency's inbox.
    assert inbox_prefix_for(agency, "cli") == "_INBOX_rz-scjgj"
    assert inbox_prefix_for(service, "worker") == "_INBOX_worker"
    assert inbox_prefix_for(StackSettings(), "cli") == "_INBOX_cli"
    assert nats_connect_kwargs(service, "registry")["inbox_prefix"] == "_INBOX_registry"
    assert nats_connect_kwargs(StackSettings(), "intake")["inbox_prefix"] == "_INBOX_intake"
