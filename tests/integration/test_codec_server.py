"""The Temporal UI's codec server, called as the UI calls it (``POST /decode`` with protobuf JSON
and the console's session cookie): a discipline officer entitled to the referral reads it, an
operator and a caller without a session get the ciphertext, ordinary payloads pass unchanged,
and every decision is audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from google.protobuf.json_format import MessageToDict, ParseDict
from sqlmodel import Session, select
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts.envelope import Envelope
from services.codec_server import AUDIT_ACTION, create_app
from services.console.auth import Sessions, create_user
from services.console.settings import ConsoleSettings
from services.discipline.crypto import KEY_ENV, generate_key
from services.readmodel.accounts import AuditEntry
from services.readmodel.db import make_engine
from services.readmodel.models import Case
from services.temporal_codec import ENCRYPTED_ENCODING, ConfidentialPayloadCodec
from tests.events import envelope, event
from tests.servers import migrated

CONSOLE = "http://127.0.0.1:8380"
SECRET = "codec-test-session-secret-0123456789"


@dataclass
class Env:
    client: TestClient
    sessions: Sessions
    users: dict[str, int]
    engine: object
    codec: ConfidentialPayloadCodec


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    key = generate_key()
    monkeypatch.setenv(KEY_ENV, key)
    url = migrated(f"sqlite:///{tmp_path / 'console.db'}")
    engine = make_engine(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        users = {
            name: create_user(
                session, username=name, password="a-long-password-1", role=role, agency=agency
            ).id
            for name, role, agency in (
                ("jw-city", "discipline_officer", "rz-jwjw"),  # the city commission: every referral
                ("ops", "operator", None),
            )
        }
        session.add(
            Case(
                workflow_id="discipline_referral/RZJW-CODEC-1",
                process="discipline_referral",
                case_id="RZJW-CODEC-1",
                state="clue_identified",
                agency="rz-scjgj",
                confidential=True,
                parties=["rz-scjgj"],
                opened_at=now,
                updated_at=now,
            )
        )
        session.commit()
    settings = ConsoleSettings(
        DATABASE_URL=url, LAWLINK_SESSION_SECRET=SECRET, LAWLINK_ENV="test", LAWLINK_CODEC_ORIGINS=CONSOLE
    )
    from services.discipline.crypto import load_key

    codec = ConfidentialPayloadCodec(load_key())
    with TestClient(create_app(settings)) as client:
        yield Env(client, Sessions(engine, SECRET, 1.0), users, engine, codec)
    engine.dispose()


async def _sealed_and_plain(codec: ConfidentialPayloadCodec) -> tuple[Payload, Payload, Envelope]:
    referral = envelope(
        event("discipline_referral", "clue_identified", case_id="RZJW-CODEC-1", misconduct="favouritism")
    )
    ordinary = event("case_transfer", "crime_suspected")
    payloads = pydantic_data_converter.payload_converter.to_payloads([referral, ordinary])
    sealed, plain = await codec.encode(payloads)
    assert sealed.metadata["encoding"] == ENCRYPTED_ENCODING and plain.metadata["encoding"] == b"json/plain"
    return sealed, plain, referral


def _decode(env: Env, payloads: list[Payload], user: str | None) -> list[Payload]:
    env.client.cookies.clear()
    if user is not None:
        cookie, _ = env.sessions.start(env.users[user], "127.0.0.1")
        env.client.cookies.set(Sessions.COOKIE, cookie)
    resp = env.client.post(
        "/decode",
        content=json.dumps(MessageToDict(Payloads(payloads=payloads))),
        headers={"Content-Type": "application/json", "X-Namespace": "default", "Origin": CONSOLE},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["access-control-allow-origin"] == CONSOLE
    return list(ParseDict(resp.json(), Payloads()).payloads)


async def test_an_entitled_discipline_officer_reads_the_referral_others_get_ciphertext(env: Env) -> None:
    sealed, plain, referral = await _sealed_and_plain(env.codec)

    opened, passed = _decode(env, [sealed, plain], "jw-city")
    assert opened.metadata["encoding"] == b"json/plain"
    assert Envelope.model_validate_json(opened.data).case_id == referral.case_id
    assert "favouritism" in opened.data.decode()
    assert passed == plain

    for who in ("ops", None):
        still, passed = _decode(env, [sealed, plain], who)
        assert still == sealed, who  # the ciphertext, byte for byte
        assert passed == plain

    with Session(env.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == AUDIT_ACTION)).all()
    assert [(r.username, r.outcome, r.target) for r in rows] == [
        ("jw-city", "allowed", "discipline_referral/RZJW-CODEC-1"),
        ("ops", "refused", "discipline_referral/RZJW-CODEC-1"),
        ("(no session)", "refused", "discipline_referral/RZJW-CODEC-1"),
    ]


def test_the_ui_s_preflight_is_answered_for_the_console_origin_only(env: Env) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    ok = env.client.options("/decode", headers={"Origin": CONSOLE, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == CONSOLE
    assert ok.headers["access-control-allow-credentials"] == "true"
    other = env.client.options("/decode", headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers


def test_a_body_that_is_not_payloads_is_a_400_naming_payloads(env: Env) -> None:
    resp = env.client.post(
        "/decode", content=b'{"payloads": [{"data": 5}]}', headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400 and resp.json()["field"] == "payloads"
    anonymous = env.client.post("/encode", json={"payloads": []})
    assert anonymous.status_code == 401 and anonymous.json()["field"] == Sessions.COOKIE
