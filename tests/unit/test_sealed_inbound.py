"""The sealed copy of a confidential inbound event opens only as the event it was made from."""

from __future__ import annotations

import pytest

from contracts.subjects import InvalidSubject
from services.discipline.crypto import ContentCipher, ContentDecryptError, generate_key, parse_key
from services.discipline.sealed_inbound import is_confidential_subject, open_inbound, seal_inbound

CLUE = "lawlink.in.rz-dg-sfj.discipline_referral.clue_identified"
EVENT_ID = "6f1c2d8e-0b5a-4f3e-9c1d-2a7b8e9f0a1b"


@pytest.fixture
def cipher() -> ContentCipher:
    return ContentCipher(parse_key(generate_key()))


def test_referrals_and_hotline_complaints_are_sealed_other_processes_are_not() -> None:
    assert is_confidential_subject(CLUE)
    assert is_confidential_subject("lawlink.in.rz-12345.hotline.complaint_received")
    assert not is_confidential_subject("lawlink.in.rz-scjgj.case_transfer.crime_suspected")
    assert not is_confidential_subject("lawlink.in.rz-dg-sfj.discipline_referral")  # not an event subject


def test_a_sealed_copy_opens_to_the_original_message_and_subject(cipher: ContentCipher) -> None:
    raw = '{"payload": {"allegation": "收受红包"}}'.encode()
    sealed = seal_inbound(cipher, raw, CLUE, EVENT_ID)
    assert "收受红包".encode() not in sealed and b"allegation" not in sealed
    sealed_subject = "lawlink.sealed.rz-dg-sfj.discipline_referral.clue_identified"
    assert open_inbound(cipher, sealed, sealed_subject, EVENT_ID) == (raw, CLUE)


def test_a_sealed_copy_does_not_open_as_another_event_or_agency(cipher: ContentCipher) -> None:
    sealed = seal_inbound(cipher, b"{}", CLUE, EVENT_ID)
    with pytest.raises(ContentDecryptError):
        open_inbound(cipher, sealed, "lawlink.sealed.rz-dg-sfj.discipline_referral.clue_identified", "other")
    with pytest.raises(ContentDecryptError):
        open_inbound(cipher, sealed, "lawlink.sealed.rz-scjgj.discipline_referral.clue_identified", EVENT_ID)
    with pytest.raises(InvalidSubject):
        open_inbound(cipher, sealed, "lawlink.in.rz-dg-sfj.discipline_referral.clue_identified", EVENT_ID)
