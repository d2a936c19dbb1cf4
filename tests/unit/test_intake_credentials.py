"""Agency keys for HTTP intake: issuing, sealing, and verifying signed requests.

The KV buckets are an in-memory fake with the semantics intake relies on (create-if-absent,
compare-and-set update); the real buckets are exercised in tests/integration/test_http_identity.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError

from contracts.http_signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    signed_headers,
    string_to_sign,
)
from services.discipline.crypto import ContentCipher, ContentKeyError, generate_key, parse_key
from services.intake.credentials import (
    KEK_VAR,
    AuthFailure,
    CredentialKeyError,
    KeyRecord,
    Problem,
    UnknownAgency,
    UnknownKey,
    Verifier,
    credential_cipher,
    issue_key,
    list_keys,
    revoke_key,
)
from services.settings import IntakeSettings

NOW = 1_790_000_000.0
BODY = b'{"event_id": "5b0c3f47-8a43-4a0f-9e51-0d7c1b7a9f10", "source_agency": "rz-scjgj"}'


@dataclass
class _Entry:
    value: bytes
    revision: int


class FakeKV:
    """The part of nats-py's KeyValue that credentials.py uses, with the same errors."""

    def __init__(self) -> None:
        self.data: dict[str, _Entry] = {}
        self.ttls: dict[str, float | None] = {}
        self._revision = 0

    async def get(self, key: str) -> _Entry:
        if key not in self.data:
            raise KeyNotFoundError
        return self.data[key]

    async def create(self, key: str, value: bytes, msg_ttl: float | None = None) -> int:
        if key in self.data:
            raise KeyWrongLastSequenceError("wrong last sequence")
        self.ttls[key] = msg_ttl
        return self._put(key, value)

    async def update(self, key: str, value: bytes, last: int | None = None) -> int:
        if key not in self.data or self.data[key].revision != last:
            raise KeyWrongLastSequenceError("wrong last sequence")
        return self._put(key, value)

    async def keys(self) -> list[str]:
        if not self.data:
            raise NoKeysError
        return list(self.data)

    async def status(self) -> SimpleNamespace:
        """The bucket's status as far as its count of stored entries."""
        return SimpleNamespace(values=len(self.data))

    def _put(self, key: str, value: bytes) -> int:
        self._revision += 1
        self.data[key] = _Entry(value, self._revision)
        return self._revision


class Clocks:
    """Wall clock (signatures) and monotonic clock (the key cache), moved by the test."""

    def __init__(self) -> None:
        self.wall = NOW
        self.mono = 0.0


@pytest.fixture
def cipher() -> ContentCipher:
    return ContentCipher(parse_key(generate_key()))


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def keys() -> FakeKV:
    return FakeKV()


@pytest.fixture
def seen() -> FakeKV:
    return FakeKV()


@pytest.fixture
def verifier(keys: FakeKV, seen: FakeKV, cipher: ContentCipher, clocks: Clocks) -> Verifier:
    return _verifier(keys, seen, cipher, clocks)


def _verifier(
    keys: FakeKV, seen: FakeKV, cipher: ContentCipher, clocks: Clocks, cache: float = 5.0
) -> Verifier:
    return Verifier(
        keys,  # type: ignore[arg-type]
        seen,  # type: ignore[arg-type]
        cipher,
        skew_seconds=300,
        cache_seconds=cache,
        clock=lambda: clocks.wall,
        monotonic=lambda: clocks.mono,
    )


async def _refused(
    verifier: Verifier, headers: dict[str, str], body: bytes = BODY, path: str = "/v1/events"
) -> AuthFailure:
    with pytest.raises(AuthFailure) as caught:
        await verifier.verify("POST", path, headers, body)
    return caught.value


async def test_a_signed_request_names_the_agency_its_key_was_issued_to(keys, verifier, cipher) -> None:  # noqa: ANN001
    issued = await issue_key(keys, cipher, "rz-scjgj")
    identity = await verifier.verify(
        "POST", "/v1/events", signed_headers(issued.key_id, issued.secret, BODY, now=NOW), BODY
    )
    assert (identity.agency, identity.key_id) == ("rz-scjgj", issued.key_id)


def test_the_string_to_sign_is_the_documented_five_lines() -> None:
    # SHA-256 of the empty body is a known value, so the rule is pinned to the README, not to itself.
    assert string_to_sign("post", "/v1/events", "1790000000", b"") == (
        b"Lawlink-HMAC-SHA256\nPOST\n/v1/events\n1790000000\n"
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


async def test_a_wrong_secret_is_a_bad_signature(keys, verifier, cipher) -> None:  # noqa: ANN001
    issued = await issue_key(keys, cipher, "rz-scjgj")
    failure = await _refused(verifier, signed_headers(issued.key_id, "lls_not-the-secret", BODY, now=NOW))
    assert failure.problem is Problem.BAD_SIGNATURE and failure.field == SIGNATURE_HEADER
    assert failure.agency == "rz-scjgj" and "Lawlink-HMAC-SHA256" in failure.reason


async def test_a_signature_of_another_body_or_path_does_not_verify(keys, verifier, cipher) -> None:  # noqa: ANN001
    issued = await issue_key(keys, cipher, "rz-scjgj")
    headers = signed_headers(issued.key_id, issued.secret, BODY, now=NOW)
    changed = BODY.replace(b"rz-scjgj", b"rz-gaj")
    assert (await _refused(verifier, headers, changed)).problem is Problem.BAD_SIGNATURE
    assert (await _refused(verifier, headers, BODY, path="/v1/other")).problem is Problem.BAD_SIGNATURE


async def test_a_timestamp_beyond_the_skew_is_refused_either_way(keys, verifier, cipher, clocks) -> None:  # noqa: ANN001
    issued = await issue_key(keys, cipher, "rz-scjgj")
    for offset in (-301, 301):
        failure = await _refused(
            verifier, signed_headers(issued.key_id, issued.secret, BODY, now=NOW + offset)
        )
        assert failure.problem is Problem.STALE_TIMESTAMP and failure.field == TIMESTAMP_HEADER
        assert "300 s" in failure.reason and str(int(NOW)) in failure.reason
    for offset in (-300, 300):  # the bound itself is allowed
        await verifier.verify(
            "POST", "/v1/events", signed_headers(issued.key_id, issued.secret, BODY, now=NOW + offset), BODY
        )


async def test_a_timestamp_that_is_not_unix_seconds_is_refused(keys, verifier, cipher) -> None:  # noqa: ANN001
    issued = await issue_key(keys, cipher, "rz-scjgj")
    headers = signed_headers(issued.key_id, issued.secret, BODY, now=NOW)
    headers[TIMESTAMP_HEADER] = "2026-12-02T13:00:00Z"
    failure = await _refused(verifier, headers)
    assert failure.problem is Problem.BAD_TIMESTAMP and "Unix time" in failure.reason


async def test_a_signature_is_accepted_once_even_by_another_replica(
    keys, seen, verifier, cipher, clocks
) -> None:  # noqa: ANN001
    issued = await issue_key(keys, cipher, "rz-scjgj")
    headers = signed_headers(issued.key_id, issued.secret, BODY, now=NOW)
    await verifier.verify("POST", "/v1/events", headers, BODY)
    failure = await _refused(verifier, headers)
    assert failure.problem is Problem.REPLAYED and failure.field == SIGNATURE_HEADER
    replica = _verifier(keys, seen, cipher, clocks)
    assert (await _refused(replica, headers)).problem is Problem.REPLAYED
    # Remembered for as long as the timestamp could still pass the skew check.
    assert list(seen.ttls.values()) == [601]
    # Upper-case hex is the same signature, not a new one.
    shouted = {**headers, SIGNATURE_HEADER: headers[SIGNATURE_HEADER].upper()}
    assert (await _refused(verifier, shouted)).problem is Problem.REPLAYED


async def test_a_bad_signature_spends_nothing(keys, seen, verifier, cipher) -> None:  # noqa: ANN001
    issued = await issue_key(keys, cipher, "rz-scjgj")
    await _refused(verifier, signed_headers(issued.key_id, "lls_wrong", BODY, now=NOW))
    assert seen.data == {}


async def test_a_revoked_key_stops_working_once_the_cache_expires(keys, verifier, cipher, clocks) -> None:  # noqa: ANN001
    issued = await issue_key(keys, cipher, "rz-scjgj")
    await verifier.verify(
        "POST", "/v1/events", signed_headers(issued.key_id, issued.secret, BODY, now=NOW), BODY
    )
    await revoke_key(keys, issued.key_id)
    clocks.mono += 5.1
    clocks.wall += 1
    failure = await _refused(verifier, signed_headers(issued.key_id, issued.secret, BODY, now=clocks.wall))
    assert failure.problem is Problem.REVOKED_KEY and issued.key_id in failure.reason


async def test_an_uncached_verifier_refuses_a_revoked_key_at_once(keys, seen, cipher, clocks) -> None:  # noqa: ANN001
    verifier = _verifier(keys, seen, cipher, clocks, cache=0)
    issued = await issue_key(keys, cipher, "rz-scjgj")
    await revoke_key(keys, issued.key_id)
    failure = await _refused(verifier, signed_headers(issued.key_id, issued.secret, BODY, now=NOW))
    assert failure.problem is Problem.REVOKED_KEY


async def test_an_unknown_or_malformed_key_id_is_refused(verifier) -> None:  # noqa: ANN001
    failure = await _refused(verifier, signed_headers("lk_0123456789abcdef", "lls_x", BODY, now=NOW))
    assert failure.problem is Problem.UNKNOWN_KEY and "lk_0123456789abcdef" in failure.reason
    failure = await _refused(verifier, signed_headers("../../etc", "lls_x", BODY, now=NOW))
    assert failure.problem is Problem.UNKNOWN_KEY and failure.field == KEY_ID_HEADER


async def test_missing_headers_are_named(verifier) -> None:  # noqa: ANN001
    failure = await _refused(verifier, {})
    assert failure.problem is Problem.MISSING and failure.field == KEY_ID_HEADER
    assert all(h in failure.reason for h in (KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    failure = await _refused(verifier, {KEY_ID_HEADER: "lk_0123456789abcdef", TIMESTAMP_HEADER: "1"})
    assert failure.field == SIGNATURE_HEADER and KEY_ID_HEADER not in failure.reason.split(":")[0]


async def test_two_keys_of_an_agency_are_valid_together_until_one_is_revoked(
    keys, seen, cipher, clocks
) -> None:  # noqa: ANN001
    verifier = _verifier(keys, seen, cipher, clocks, cache=0)
    old = await issue_key(keys, cipher, "rz-scjgj")
    new = await issue_key(keys, cipher, "rz-scjgj")
    assert old.key_id != new.key_id and old.secret != new.secret
    for key in (old, new):
        await verifier.verify(
            "POST", "/v1/events", signed_headers(key.key_id, key.secret, BODY, now=NOW), BODY
        )
    await revoke_key(keys, old.key_id)
    clocks.wall += 1
    assert (
        await _refused(verifier, signed_headers(old.key_id, old.secret, BODY, now=clocks.wall))
    ).problem is Problem.REVOKED_KEY
    await verifier.verify(
        "POST", "/v1/events", signed_headers(new.key_id, new.secret, BODY, now=clocks.wall), BODY
    )


async def test_the_secret_is_stored_sealed_and_bound_to_its_agency(keys, seen, cipher, clocks) -> None:  # noqa: ANN001
    mine = await issue_key(keys, cipher, "rz-scjgj")
    theirs = await issue_key(keys, cipher, "rz-gaj")
    stored = keys.data[mine.key_id].value
    assert mine.secret.encode() not in stored
    record = KeyRecord.model_validate_json(stored)
    assert record.agency == "rz-scjgj" and record.sealed_secret.startswith("v1:")
    # Someone with write access to the bucket moves rz-gaj's sealed secret onto a record of
    # rz-scjgj: it does not open, so the forged record cannot authenticate as rz-scjgj.
    forged = record.model_copy(
        update={"sealed_secret": KeyRecord.model_validate_json(keys.data[theirs.key_id].value).sealed_secret}
    )
    keys.data[mine.key_id].value = forged.model_dump_json().encode()
    verifier = _verifier(keys, seen, cipher, clocks)
    failure = await _refused(verifier, signed_headers(mine.key_id, theirs.secret, BODY, now=NOW))
    assert failure.problem is Problem.UNUSABLE_KEY


async def test_issuing_for_an_unknown_agency_names_it(keys, cipher) -> None:  # noqa: ANN001
    with pytest.raises(UnknownAgency, match="'rz-nowhere'"):
        await issue_key(keys, cipher, "rz-nowhere")
    with pytest.raises(UnknownAgency, match="'rz-nowhere'"):
        await list_keys(keys, "rz-nowhere")
    assert keys.data == {}


async def test_revoking_an_unknown_key_names_it_and_revoking_twice_keeps_the_first_time(keys, cipher) -> None:  # noqa: ANN001
    with pytest.raises(UnknownKey, match="lk_0123456789abcdef"):
        await revoke_key(keys, "lk_0123456789abcdef")
    with pytest.raises(UnknownKey, match="not a Lawlink key id"):
        await revoke_key(keys, "nonsense")
    issued = await issue_key(keys, cipher, "rz-scjgj")
    first = await revoke_key(keys, issued.key_id, now=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    again = await revoke_key(keys, issued.key_id, now=lambda: datetime(2026, 12, 2, tzinfo=UTC))
    assert first.revoked_at == again.revoked_at == datetime(2026, 12, 1, tzinfo=UTC)


async def test_listing_keys_filters_by_agency_and_shows_no_secret(keys, cipher) -> None:  # noqa: ANN001
    assert await list_keys(keys) == []
    a = await issue_key(keys, cipher, "rz-scjgj")
    b = await issue_key(keys, cipher, "rz-gaj")
    assert [r.key_id for r in await list_keys(keys)] == [a.key_id, b.key_id]
    assert [r.key_id for r in await list_keys(keys, "rz-gaj")] == [b.key_id]
    assert b.secret not in repr(await list_keys(keys))


def test_the_key_encryption_key_is_required_and_named() -> None:
    with pytest.raises(CredentialKeyError, match=KEK_VAR):
        credential_cipher(IntakeSettings(LAWLINK_CREDENTIAL_KEK=None), allow_ephemeral=False)
    with pytest.raises(ContentKeyError, match=KEK_VAR):
        credential_cipher(IntakeSettings(LAWLINK_CREDENTIAL_KEK="c2hvcnQ="))
    key = generate_key()
    sealed = credential_cipher(IntakeSettings(LAWLINK_CREDENTIAL_KEK=key)).seal_text("s", context="c")
    assert credential_cipher(IntakeSettings(LAWLINK_CREDENTIAL_KEK=key)).open_text(sealed, context="c") == "s"


def test_signature_is_hex_hmac_sha256_of_the_string_to_sign() -> None:
    import hashlib
    import hmac

    text = string_to_sign("POST", "/v1/events", "1790000000", BODY)
    assert (
        signature("lls_s", "POST", "/v1/events", "1790000000", BODY)
        == hmac.new(b"lls_s", text, hashlib.sha256).hexdigest()
    )


def test_the_openapi_of_v1_events_requires_the_three_signed_headers_together() -> None:
    from services.intake.app import create_app
    from tests.servers import SERVICE_TOKEN

    schema = create_app(IntakeSettings(LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN)).openapi()
    schemes = schema["components"]["securitySchemes"]
    operation = schema["paths"]["/v1/events"]["post"]
    (requirement,) = operation["security"]  # one requirement: all three headers, not any one
    assert {schemes[name]["name"] for name in requirement} == {
        KEY_ID_HEADER,
        TIMESTAMP_HEADER,
        SIGNATURE_HEADER,
    }
    assert all(schemes[name]["in"] == "header" for name in requirement)
    assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Rejection"
    )


def test_make_run_generates_a_key_encryption_key_once_and_keeps_it(tmp_path) -> None:  # noqa: ANN001
    from services.devstack import load_or_create_secrets

    path = tmp_path / "secrets.env"
    path.write_text("NATS_PASSWORD=from-an-older-run\n", encoding="utf-8")  # a stack from before
    first = load_or_create_secrets(path)
    assert first["NATS_PASSWORD"] == "from-an-older-run"
    assert load_or_create_secrets(path)[KEK_VAR] == first[KEK_VAR]
    cipher = credential_cipher(IntakeSettings(LAWLINK_CREDENTIAL_KEK=first[KEK_VAR]), allow_ephemeral=False)
    assert cipher.open_text(cipher.seal_text("s", context="c"), context="c") == "s"


class RacingKV(FakeKV):
    """nats-py's ``keys()`` as it sometimes answers: its watcher ends its first pass before
    counting the entries it has already received, so a bucket with keys says it has none."""

    def __init__(self, misses: int) -> None:
        super().__init__()
        self.misses = misses

    async def keys(self) -> list[str]:
        if self.misses:
            self.misses -= 1
            raise NoKeysError
        return await super().keys()


async def test_listing_keys_is_not_fooled_by_a_watch_that_ends_too_early(cipher) -> None:  # noqa: ANN001
    keys = RacingKV(misses=0)
    issued = await issue_key(keys, cipher, "rz-gaj")
    keys.misses = 2
    assert [r.key_id for r in await list_keys(keys, "rz-gaj")] == [issued.key_id]
    keys.misses = 99
    with pytest.raises(RuntimeError, match="holds entries"):
        await list_keys(keys)
    assert await list_keys(RacingKV(misses=1)) == []  # an empty bucket is empty at once
