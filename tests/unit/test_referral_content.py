"""The encrypted content store, the need-to-know rule and the content API (no servers needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from contracts.domain import DomainEvent, EntryKind
from services.discipline.consumer import confidential_envelope
from services.discipline.content import (
    Referral,
    ReferralAccess,
    ReferralContent,
    can_read_content,
    can_read_entry,
    read_content,
    store_content,
)
from services.discipline.content_api import content_router
from services.discipline.crypto import (
    ContentCipher,
    ContentDecryptError,
    ContentKeyError,
    Sealed,
    generate_key,
    load_key,
    parse_key,
)
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
from tests.events import body, envelope, event, new_case_id

P = "discipline_referral"


@pytest.fixture
def cipher() -> ContentCipher:
    return ContentCipher(parse_key(generate_key()))


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'read.db'}"
    migrate(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


# ----- crypto --------------------------------------------------------------------------------


def test_key_from_environment_is_required_outside_tests() -> None:
    with pytest.raises(ContentKeyError, match="LAWLINK_CONTENT_KEY is not set"):
        load_key({}, allow_ephemeral=False)
    with pytest.raises(ContentKeyError, match="not valid base64"):
        load_key({"LAWLINK_CONTENT_KEY": "not base64!!"})
    with pytest.raises(ContentKeyError, match="32 bytes"):
        load_key({"LAWLINK_CONTENT_KEY": "c2hvcnQ="})
    key = generate_key()
    assert len(load_key({"LAWLINK_CONTENT_KEY": key})) == 32
    assert load_key({}) == load_key({})  # under pytest: one ephemeral key per process


def test_ciphertext_is_bound_to_its_referral_and_event(cipher: ContentCipher) -> None:
    text = "赵某明以罚代刑".encode()
    sealed = cipher.seal(text, workflow_id="discipline_referral/A", event_id="e1")
    assert text not in sealed.ciphertext and len(sealed.nonce) == 12
    assert cipher.open(sealed, workflow_id="discipline_referral/A", event_id="e1") == text
    with pytest.raises(ContentDecryptError):
        cipher.open(sealed, workflow_id="discipline_referral/B", event_id="e1")
    with pytest.raises(ContentDecryptError):
        ContentCipher(parse_key(generate_key())).open(
            sealed, workflow_id="discipline_referral/A", event_id="e1"
        )
    tampered = Sealed(sealed.nonce, bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:])
    with pytest.raises(ContentDecryptError):
        cipher.open(tampered, workflow_id="discipline_referral/A", event_id="e1")
    assert (
        cipher.seal(text, workflow_id="w", event_id="e").nonce
        != cipher.seal(text, workflow_id="w", event_id="e").nonce
    )


# ----- need-to-know ----------------------------------------------------------------------------

REFERRAL = Referral(referring_agency="rz-scjgj", confirming_agency="rz-sfj", commissions=("rz-dg-jwjw",))


@pytest.mark.parametrize(
    ("role", "agency", "is_head", "allowed"),
    [
        ("discipline_officer", "rz-dg-jwjw", False, True),  # the commission holding the clue
        ("discipline_officer", "rz-jwjw", False, True),  # the city commission supervises all
        ("discipline_officer", "rz-ls-jwjw", False, False),  # another district's commission
        ("discipline_officer", None, False, False),  # not bound to a commission
        ("discipline_officer", "rz-scjgj", False, False),  # a forged binding to a non-commission
        ("agency_officer", "rz-scjgj", True, True),  # the referring body's head
        ("agency_officer", "rz-sfj", True, True),  # the justice bureau asked to confirm
        ("agency_officer", "rz-scjgj", False, False),  # an officer of the referring body
        ("agency_officer", "rz-sthjj", True, False),  # another agency's head
        ("coordinator", "rz-sfj", False, False),
        ("operator", None, False, False),
        ("admin", None, False, False),
    ],
)
def test_need_to_know_rule(role: str, agency: str | None, is_head: bool, allowed: bool) -> None:
    assert can_read_content(role, agency, is_head, REFERRAL) is allowed


def test_disposition_content_is_for_discipline_officers_only() -> None:
    assert can_read_entry("discipline_officer", f"{P}.disposition_decided")
    assert not can_read_entry("agency_officer", f"{P}.disposition_decided")
    assert can_read_entry("agency_officer", f"{P}.outcome_reported")


# ----- store, access projection, API ----------------------------------------------------------


def _domain(env_data: dict, seq: int, **extra: object) -> DomainEvent:
    """The RECEIVED domain event the workflow would publish (public fields only)."""
    from contracts.catalog import spec_for
    from contracts.discipline_referral import public_part

    env = envelope(env_data)
    payload = spec_for(env.type).payload.model_validate(env.payload)
    return DomainEvent(
        event_id=str(env.event_id),
        type=env.type,
        occurred_at=env.occurred_at,
        process=P,
        case_id=env.case_id,
        workflow_id=f"{P}/{env.case_id}",
        seq=seq,
        kind=EntryKind.RECEIVED,
        state="x",
        actor=env.source_agency,
        payload=public_part(env.type, payload),
        **extra,
    )


def _referral(engine: Engine, cipher: ContentCipher, case_id: str, *, accept: bool = True) -> list[dict]:
    events = [
        event(P, "clue_identified", case_id=case_id),
        event(P, "referral_approved", case_id=case_id),
        event(P, "referred", case_id=case_id),
        event(P, "referral_received", case_id=case_id),
        event(P, "disposition_decided", case_id=case_id),
    ]
    with Session(engine) as session:
        for data in events:
            assert store_content(session, cipher, envelope(data), process=P)
            assert not store_content(session, cipher, envelope(data), process=P)  # idempotent
        if accept:
            project(session, [_domain(d, i + 1) for i, d in enumerate(events)])
        session.commit()
    return events


def test_store_keeps_only_ciphertext_and_access_follows_accepted_events(
    engine: Engine, cipher: ContentCipher
) -> None:
    case_id = new_case_id("DR")
    events = _referral(engine, cipher, case_id)
    with Session(engine) as session:
        rows = session.exec(select(ReferralContent).where(ReferralContent.case_id == case_id)).all()
        assert len(rows) == 5
        for row in rows:
            assert "赵某明".encode() not in row.ciphertext
        with engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT ciphertext FROM referral_content").fetchall()
        assert all("赵某明".encode() not in r[0] for r in raw)
        access = session.get(ReferralAccess, f"{P}/{case_id}")
        assert access.referring_agency == "rz-scjgj" and access.commissions == ["rz-jwjw"]
        as_officer = read_content(session, cipher, case_id, role="discipline_officer")
        assert [e.event_type for e in as_officer] == [e["type"] for e in events]
        assert as_officer[0].content["officials"][0]["name"] == "赵某明"
        as_head = read_content(session, cipher, case_id, role="agency_officer")
        assert f"{P}.disposition_decided" not in [e.event_type for e in as_head]


def test_content_of_events_the_workflow_did_not_accept_is_never_shown(
    engine: Engine, cipher: ContentCipher
) -> None:
    case_id = new_case_id("DR")
    _referral(engine, cipher, case_id, accept=False)
    with Session(engine) as session:
        assert read_content(session, cipher, case_id, role="discipline_officer") == []
        assert session.get(ReferralAccess, f"{P}/{case_id}") is None


def test_content_api_answers_403_outside_need_to_know_and_404_when_absent(
    engine: Engine, cipher: ContentCipher
) -> None:
    case_id = new_case_id("DR")
    _referral(engine, cipher, case_id)
    app = FastAPI()
    app.include_router(content_router(lambda: engine, cipher))
    client = TestClient(app)
    url = f"/api/referrals/{case_id}/content"

    def get(role: str | None, agency: str | None = None, head: bool = False, path: str = url):  # noqa: ANN202
        headers = {
            k: v
            for k, v in {
                "X-Lawlink-Role": role,
                "X-Lawlink-Agency": agency,
                "X-Lawlink-Head": "true" if head else "false",
            }.items()
            if v is not None
        }
        return client.get(path, headers=headers)

    for role, agency, head in [
        (None, None, False),
        ("operator", None, False),
        ("coordinator", "rz-sfj", False),
        ("admin", None, False),
        ("agency_officer", "rz-scjgj", False),
        ("agency_officer", "rz-sthjj", True),
        ("discipline_officer", "rz-ls-jwjw", False),
    ]:
        resp = get(role, agency, head)
        assert resp.status_code == 403, (role, agency, head)
        assert "赵某明" not in resp.text
    assert get("operator", path="/api/referrals/NOPE-1/content").status_code == 403
    assert get("discipline_officer", "rz-jwjw", path="/api/referrals/NOPE-1/content").status_code == 404

    officer = get("discipline_officer", "rz-jwjw")
    assert officer.status_code == 200
    entries = officer.json()["entries"]
    assert entries[0]["content"]["officials"][0]["name"] == "赵某明"
    assert entries[0]["label_zh"] == "发现问题线索"
    assert f"{P}.disposition_decided" in [e["type"] for e in entries]
    head = get("agency_officer", "rz-scjgj", head=True)
    assert head.status_code == 200
    assert f"{P}.disposition_decided" not in [e["type"] for e in head.json()["entries"]]


def test_consumer_stores_only_well_formed_confidential_events_on_their_own_subject() -> None:
    data = event(P, "clue_identified", case_id=new_case_id("DR"))
    raw = body(data)
    assert confidential_envelope(raw, "lawlink.in.rz-scjgj.discipline_referral.clue_identified") is not None
    # Spoofed subject agency, mismatched type, malformed JSON, a non-confidential process.
    assert confidential_envelope(raw, "lawlink.in.rz-sthjj.discipline_referral.clue_identified") is None
    assert confidential_envelope(raw, "lawlink.in.rz-scjgj.discipline_referral.referred") is None
    assert (
        confidential_envelope(b"{not json", "lawlink.in.rz-scjgj.discipline_referral.clue_identified") is None
    )
    ct = event("case_transfer", "crime_suspected")
    assert confidential_envelope(body(ct), "lawlink.in.rz-scjgj.case_transfer.crime_suspected") is None
    hot = event("hotline", "complaint_received")
    assert confidential_envelope(body(hot), "lawlink.in.rz-12345.hotline.complaint_received") is not None
    bad = json.loads(raw)
    bad["payload"]["officials"] = []
    assert (
        confidential_envelope(
            json.dumps(bad).encode(), "lawlink.in.rz-scjgj.discipline_referral.clue_identified"
        )
        is None
    )
