"""The Temporal payload codec (services/temporal_codec.py): referral content is sealed before it
reaches Temporal's history, everything else passes byte for byte, and tampering is caught."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from contracts.catalog import CONFIDENTIAL_PROCESSES
from contracts.domain import DomainEvent, EntryKind
from contracts.envelope import Envelope
from contracts.workflow_io import CaseStart, ReceiveResult
from services.discipline.crypto import KEY_ENV, ContentDecryptError, ContentKeyError, generate_key
from services.temporal_codec import (
    ENCRYPTED_ENCODING,
    KEY_ID_METADATA,
    ConfidentialPayloadCodec,
    carries_confidential_content,
    is_confidential_type,
    lawlink_data_converter,
)
from tests.events import EXAMPLES, envelope, event

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
CONFIDENTIAL_EXAMPLES = sorted(
    [p for p in (EXAMPLES / "discipline_referral").glob("*.json")]
    + [p for p in (EXAMPLES / "hotline").glob("*.json")]
)
ORDINARY_EXAMPLES = sorted(
    p for p in EXAMPLES.glob("*/*.json") if p.parent.name not in {"discipline_referral", "hotline"}
)


def _strings(value: Any) -> list[str]:
    """Every string leaf of a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _content_strings(path: Path) -> list[str]:
    """The example's payload content: every string of at least 4 characters (shorter ones, such
    as enum codes, could occur in any random ciphertext by chance)."""
    payload = json.loads(path.read_text(encoding="utf-8"))["payload"]
    return sorted({s for s in _strings(payload) if len(s) >= 4})


def _env(path: Path) -> Envelope:
    return envelope(event(path.parent.name, path.stem))


def _converter(key: str | None = None) -> DataConverter:
    return lawlink_data_converter({KEY_ENV: key or generate_key()})


def _wire(payloads: list[Payload]) -> bytes:
    return b"".join(p.SerializeToString(deterministic=True) for p in payloads)


def test_the_examples_cover_both_kinds() -> None:
    assert len(CONFIDENTIAL_EXAMPLES) >= 12 and ORDINARY_EXAMPLES
    assert {"discipline_referral", "hotline"} <= CONFIDENTIAL_PROCESSES
    assert is_confidential_type("hotline.complaint_received")
    assert is_confidential_type("discipline_referral.not_yet_in_the_catalog")
    assert not is_confidential_type("case_transfer.crime_suspected")


@pytest.mark.parametrize("path", CONFIDENTIAL_EXAMPLES, ids=lambda p: f"{p.parent.name}.{p.stem}")
async def test_confidential_envelope_is_sealed_and_round_trips(path: Path) -> None:
    converter = _converter()
    env = _env(path)
    [sealed] = await converter.encode([env])
    assert sealed.metadata["encoding"] == ENCRYPTED_ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == converter.payload_codec.key_id.encode()  # type: ignore[union-attr]
    wire = sealed.SerializeToString()
    secrets = _content_strings(path)
    assert secrets, f"{path.name} has no content to look for"
    leaked = [s for s in secrets if s.encode() in wire or json.dumps(s).encode() in wire]
    assert not leaked, f"content of {path.name} readable in the sealed payload: {leaked}"
    assert str(env.event_id).encode() not in wire  # nothing of the envelope shows, not even ids
    [back] = await converter.decode([sealed], [Envelope])
    assert back == env


async def test_confidential_envelope_inside_a_list_or_dict_is_sealed() -> None:
    converter = _converter()
    env = _env(EXAMPLES / "hotline" / "complaint_received.json")
    ordinary = _env(ORDINARY_EXAMPLES[0])
    values: list[Any] = [[ordinary, env], {"pending": {"events": [env.model_dump(mode="json")]}}]
    sealed = await converter.encode(values)
    assert all(p.metadata["encoding"] == ENCRYPTED_ENCODING for p in sealed)
    for p in sealed:
        assert env.payload["summary"].encode() not in p.SerializeToString()
    back = await converter.decode(sealed, [list[Envelope], dict])
    assert back[0] == [ordinary, env]
    assert back[1] == values[1]


async def test_a_case_start_is_sealed_exactly_when_its_opening_event_is_confidential() -> None:
    """Intake starts a case with its opening event in the input: a referral's start input is
    sealed whole, an ordinary case's stays readable in the Temporal UI, byte for byte."""
    converter = _converter()
    secret = _env(EXAMPLES / "hotline" / "complaint_received.json")
    ordinary = _env(ORDINARY_EXAMPLES[0])
    referral = CaseStart(process="discipline_referral", case_id=secret.case_id, opening=secret)
    case = CaseStart(process="case_transfer", case_id=ordinary.case_id, opening=ordinary)
    sealed, plain = await converter.encode([referral, case])
    assert sealed.metadata["encoding"] == ENCRYPTED_ENCODING
    assert secret.payload["summary"].encode() not in sealed.SerializeToString()
    assert (await converter.decode([sealed], [CaseStart])) == [referral]
    assert _wire([plain]) == _wire(await pydantic_data_converter.encode([case]))


async def test_confidential_envelope_in_any_json_spacing_is_sealed() -> None:
    """The codec sees a payload another serializer wrote (spaces, unicode kept) just the same."""
    codec = ConfidentialPayloadCodec(base64.b64decode(generate_key()))
    data = json.dumps(event("discipline_referral", "clue_identified"), ensure_ascii=False, indent=2).encode()
    raw = Payload(metadata={"encoding": b"json/plain"}, data=data)
    assert carries_confidential_content(raw)
    [sealed] = await codec.encode([raw])
    assert sealed.metadata["encoding"] == ENCRYPTED_ENCODING
    assert (await codec.decode([sealed])) == [raw]


@pytest.mark.parametrize("path", ORDINARY_EXAMPLES, ids=lambda p: f"{p.parent.name}.{p.stem}")
async def test_ordinary_envelope_is_unchanged_byte_for_byte(path: Path) -> None:
    env = _env(path)
    plain = await pydantic_data_converter.encode([env])
    coded = await _converter().encode([env])
    assert _wire(coded) == _wire(plain)


async def test_other_values_are_unchanged_byte_for_byte() -> None:
    """Workflow inputs, results and the (already public) domain events of a referral stay readable
    for operators in the Temporal UI."""
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    values: list[Any] = [
        CaseStart(process="discipline_referral", case_id="HOT-1"),
        ReceiveResult(accepted=True, duplicate=False, state="referred"),
        DomainEvent(
            event_id="e1",
            type="discipline_referral.referred",
            occurred_at=now,
            process="discipline_referral",
            case_id="HOT-1",
            workflow_id="discipline_referral/HOT-1",
            seq=3,
            kind=EntryKind.STEP,
            state="referred",
            payload={"commission": "rz-dg-jwjw"},
        ),
        "discipline_referral.referred",
        {"event_id": "x", "type": "discipline_referral.referred"},  # not an envelope: fields missing
        None,
        b"\x00binary",
    ]
    plain = await pydantic_data_converter.encode(values)
    coded = await _converter().encode(values)
    assert _wire(coded) == _wire(plain)


async def test_recorded_plaintext_history_decodes_unchanged() -> None:
    """Histories written before the codec (tests/histories/) hold plaintext envelopes of a
    referral: the codec must hand them back untouched, or running cases could not replay."""
    data = json.loads((ROOT / "tests" / "histories" / "DisciplineReferral.json").read_text(encoding="utf-8"))
    history = WorkflowHistory.from_json("discipline_referral/recorded", data)
    payloads = [
        p
        for e in history.events
        for p in e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads
    ]
    assert payloads, "the recorded history has no Update inputs"
    assert any(b'"discipline_referral.' in p.data for p in payloads), "expected plaintext referral events"
    decoded = await _converter().payload_codec.decode(payloads)  # type: ignore[union-attr]
    assert _wire(decoded) == _wire(payloads)


async def test_tampered_payload_is_refused() -> None:
    converter = _converter()
    [sealed] = await converter.encode([_env(EXAMPLES / "discipline_referral" / "clue_identified.json")])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:20] + bytes([sealed.data[20] ^ 1]) + sealed.data[21:]
    with pytest.raises(ContentDecryptError, match="does not decrypt"):
        await converter.decode([flipped], [Envelope])
    truncated = Payload()
    truncated.CopyFrom(sealed)
    truncated.data = sealed.data[:-1]
    with pytest.raises(ContentDecryptError):
        await converter.decode([truncated], [Envelope])


async def test_payload_of_another_key_is_refused_naming_the_keys() -> None:
    ours, theirs = _converter(), _converter()
    [sealed] = await theirs.encode([_env(EXAMPLES / "hotline" / "complaint_received.json")])
    with pytest.raises(ContentKeyError, match=KEY_ENV):
        await ours.decode([sealed], [Envelope])
    # Relabelling the ciphertext with our key id does not get it past authentication either.
    forged = Payload()
    forged.CopyFrom(sealed)
    forged.metadata[KEY_ID_METADATA] = ours.payload_codec.key_id.encode()  # type: ignore[union-attr]
    with pytest.raises(ContentDecryptError):
        await ours.decode([forged], [Envelope])


def test_missing_or_bad_key_is_refused() -> None:
    with pytest.raises(ContentKeyError, match=f"{KEY_ENV} is not set"):
        lawlink_data_converter({}, allow_ephemeral=False)
    with pytest.raises(ContentKeyError, match="32 bytes"):
        lawlink_data_converter({KEY_ENV: base64.b64encode(b"short").decode()})
    with pytest.raises(ContentKeyError, match="32 bytes"):
        ConfidentialPayloadCodec(b"short")


def test_a_service_without_the_key_does_not_start() -> None:
    """Outside pytest (a real service process) the converter refuses to exist without the key."""
    env = {k: v for k, v in os.environ.items() if k not in {KEY_ENV, "PYTEST_CURRENT_TEST"}}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.temporal_codec import lawlink_data_converter; lawlink_data_converter()",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "ContentKeyError" in proc.stderr and f"{KEY_ENV} is not set" in proc.stderr
