"""Agency credentials for HTTP intake: issuing, sealing, looking up and verifying keys.

Lawlink issues each agency system one or more keys (``lawlink agencies issue-key``): a public
key id and a secret shown once. The agency signs every ``POST /v1/events`` with the secret
(contracts/http_signing.py holds the rule); intake recomputes the HMAC, so it needs the secret
itself, not a hash: the secret is kept sealed (AES-256-GCM) under a key-encryption key,
``LAWLINK_CREDENTIAL_KEK``, and bound to its key id and agency, so a sealed secret copied onto
another record does not open.

Key records live in the NATS KV bucket ``lawlink_agency_keys``, which every intake replica and
the CLI share; intake trusts a record it read for a few seconds only, so a revoked key stops
working within that. An agency may hold several active keys at once (rotation: issue, switch,
revoke the old one). Signatures already used are remembered in ``lawlink_http_signatures`` for
twice the allowed clock skew, with a create-if-absent write, so a captured request is refused
by whichever replica it is sent to.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field

from contracts.agencies import agencies
from contracts.http_signing import (
    EVENTS_PATH,
    KEY_ID_HEADER,
    SCHEME,
    SIGNATURE_HEADER,
    SIGNED_HEADERS,
    TIMESTAMP_HEADER,
    signature,
)
from services.discipline.crypto import ContentCipher, ContentDecryptError, parse_key, under_tests
from services.settings import IntakeSettings

KEYS_BUCKET = "lawlink_agency_keys"
SIGNATURES_BUCKET = "lawlink_http_signatures"
KEK_VAR = "LAWLINK_CREDENTIAL_KEK"
# The skew setting's upper bound: the signatures bucket drops anything older than twice that
# even if a server ignored the per-entry TTL.
MAX_SKEW_SECONDS = 3600

KEY_ID_RE = re.compile(r"^lk_[0-9a-f]{16}$")
_TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE_RE = re.compile(r"^[0-9a-fA-F]{64}$")

log = logging.getLogger("lawlink.intake.credentials")


class CredentialKeyError(RuntimeError):
    """The key-encryption key is missing (the message names the variable and how to make one)."""


class UnknownAgency(ValueError):
    """A key was asked for an agency id that is not in contracts/agencies.json."""


class UnknownKey(LookupError):
    """No key with this id was ever issued."""


class Problem(StrEnum):
    """Why a request was not authenticated; also the ``error`` of the ``WWW-Authenticate`` header."""

    MISSING = "missing_credentials"
    UNKNOWN_KEY = "unknown_key"
    REVOKED_KEY = "revoked_key"
    UNUSABLE_KEY = "unusable_key"
    BAD_TIMESTAMP = "bad_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    BAD_SIGNATURE = "bad_signature"
    REPLAYED = "replayed"


class AuthFailure(Exception):
    """A request whose credentials are missing, wrong, expired, revoked or already used."""

    def __init__(
        self,
        problem: Problem,
        field: str,
        reason: str,
        *,
        key_id: str | None = None,
        agency: str | None = None,
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.problem = problem
        self.field = field
        self.reason = reason
        self.key_id = key_id
        self.agency = agency


class KeyRecord(BaseModel):
    """One issued key as stored: never the secret in clear."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    agency: str
    created_at: datetime
    revoked_at: datetime | None = None
    sealed_secret: str = Field(repr=False)


@dataclass(frozen=True)
class IssuedKey:
    """A key just issued, with its secret: the only moment the secret exists outside the seal."""

    key_id: str
    agency: str
    created_at: datetime
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Identity:
    """Who sent a request that verified: the agency its key was issued to."""

    agency: str
    key_id: str


def credential_cipher(settings: IntakeSettings, *, allow_ephemeral: bool | None = None) -> ContentCipher:
    """The cipher that seals and opens agency key secrets, from ``LAWLINK_CREDENTIAL_KEK``.

    Args:
        settings: where the key-encryption key is configured.
        allow_ephemeral: without a configured key, use one random key for this process. By
            default only under pytest, where the test issues keys in the process that verifies
            them; never for ``issue-key`` (a key sealed under a throwaway key is useless).

    Raises:
        CredentialKeyError: no key is configured and an ephemeral one is not allowed.
        ContentKeyError: the configured key is not base64 of 32 bytes (naming the variable).
    """
    if settings.credential_kek:
        return ContentCipher(parse_key(settings.credential_kek, KEK_VAR))
    if allow_ephemeral is None:
        allow_ephemeral = under_tests()
    if not allow_ephemeral:
        raise CredentialKeyError(
            f"{KEK_VAR} is not set: agency key secrets cannot be sealed or opened, so HTTP intake "
            "cannot verify any request. `make run` generates one into .lawlink/secrets.env; "
            "elsewhere set it to base64 of 32 random bytes "
            "(python -c 'from services.discipline.crypto import generate_key; print(generate_key())')"
        )
    return ContentCipher(_ephemeral_kek())


@cache
def _ephemeral_kek() -> bytes:
    log.warning("%s not set: using a random per-process key-encryption key (tests only)", KEK_VAR)
    return AESGCM.generate_key(bit_length=256)


async def open_buckets(js: JetStreamContext, replicas: int = 1) -> tuple[KeyValue, KeyValue]:
    """The key records' bucket and the used signatures' bucket, created when absent, each kept
    on ``replicas`` servers (``LAWLINK_STREAM_REPLICAS``, as the streams)."""
    keys = await js.create_key_value(KeyValueConfig(bucket=KEYS_BUCKET, history=5, replicas=replicas))
    seen = await js.create_key_value(
        KeyValueConfig(bucket=SIGNATURES_BUCKET, history=1, ttl=2 * MAX_SKEW_SECONDS + 60, replicas=replicas)
    )
    return keys, seen


def require_agency(agency: str) -> None:
    """Raises :class:`UnknownAgency`, naming ``agency``, unless it is in the registry of agencies."""
    if agency not in agencies():
        raise UnknownAgency(f"agency: unknown agency id {agency!r} (contracts/agencies.json lists them)")


def _seal_context(agency: str, key_id: str) -> str:
    return f"agency-key:{agency}:{key_id}"


def _now() -> datetime:
    return datetime.now(UTC)


async def issue_key(
    keys: KeyValue, cipher: ContentCipher, agency: str, *, now: Callable[[], datetime] = _now
) -> IssuedKey:
    """Issue a new key to ``agency``; its other keys stay valid (rotation).

    Raises:
        UnknownAgency: ``agency`` is not in the registry of agencies.
    """
    require_agency(agency)
    key_id = f"lk_{secrets.token_hex(8)}"
    secret = f"lls_{secrets.token_urlsafe(32)}"
    created = now()
    record = KeyRecord(
        key_id=key_id,
        agency=agency,
        created_at=created,
        sealed_secret=cipher.seal_text(secret, context=_seal_context(agency, key_id)),
    )
    await keys.create(key_id, record.model_dump_json().encode())  # never overwrites a record
    return IssuedKey(key_id=key_id, agency=agency, secret=secret, created_at=created)


def _check_key_id(key_id: str) -> None:
    if not KEY_ID_RE.match(key_id):
        raise UnknownKey(f"key_id: {key_id[:80]!r} is not a Lawlink key id (lk_ and 16 hex digits)")


async def revoke_key(keys: KeyValue, key_id: str, *, now: Callable[[], datetime] = _now) -> KeyRecord:
    """Revoke a key for good (its record stays, for the list); revoking twice changes nothing.

    Raises:
        UnknownKey: no such key was issued.
    """
    _check_key_id(key_id)
    try:
        entry = await keys.get(key_id)
    except KeyNotFoundError:
        raise UnknownKey(f"key_id: no key {key_id!r} was issued") from None
    record = KeyRecord.model_validate_json(entry.value)
    if record.revoked_at is not None:
        return record
    revoked = record.model_copy(update={"revoked_at": now()})
    await keys.update(key_id, revoked.model_dump_json().encode(), last=entry.revision)
    return revoked


async def _key_names(keys: KeyValue, attempts: int = 5) -> list[str]:
    """The bucket's keys. nats-py's ``keys()`` watches the bucket and can end its first pass
    before counting the entries it has already received, saying "no keys" of a bucket that
    holds some; so "no keys" is believed only from a bucket whose stream holds no entry, and
    asked again otherwise (each watch is a new one). Keys are never deleted from this bucket
    (a revoked key's record says so), so entries on record mean keys to list."""
    for _ in range(attempts):
        try:
            return list(await keys.keys())
        except NoKeysError:
            if not (await keys.status()).values:
                return []
    raise RuntimeError(
        f"the {KEYS_BUCKET} bucket holds entries, yet listing its keys found none {attempts} times"
    )


async def list_keys(keys: KeyValue, agency: str | None = None) -> list[KeyRecord]:
    """Every issued key (of ``agency`` only, when given), oldest first.

    Raises:
        UnknownAgency: ``agency`` is given and not in the registry of agencies.
    """
    if agency is not None:
        require_agency(agency)
    records: list[KeyRecord] = []
    for name in await _key_names(keys):
        try:
            records.append(KeyRecord.model_validate_json((await keys.get(name)).value))
        except KeyNotFoundError:
            continue
    return sorted(
        (r for r in records if agency is None or r.agency == agency), key=lambda r: (r.created_at, r.key_id)
    )


def _signed_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """The key id, timestamp and signature a request carries, refused when one is missing or
    malformed: checked before any bucket is read, so junk requests cost no NATS round trip."""
    sent = {name: headers.get(name) for name in SIGNED_HEADERS}
    missing = [name for name, value in sent.items() if not value]
    key_id, timestamp, given = sent.values()
    if missing:
        raise AuthFailure(
            Problem.MISSING,
            missing[0],
            f"missing {', '.join(missing)}: every event sent over HTTP must be signed with a key "
            f"Lawlink issued to the agency ({SCHEME}; headers {', '.join(SIGNED_HEADERS)}; see the "
            "README, 'Sending events over HTTP')",
            key_id=key_id,
        )
    assert key_id is not None and timestamp is not None and given is not None
    if not KEY_ID_RE.match(key_id):
        raise AuthFailure(
            Problem.UNKNOWN_KEY,
            KEY_ID_HEADER,
            "not a Lawlink key id (lk_ and 16 hex digits)",
            key_id=key_id,
        )
    if not _TIMESTAMP_RE.match(timestamp):
        raise AuthFailure(
            Problem.BAD_TIMESTAMP,
            TIMESTAMP_HEADER,
            f"{timestamp[:40]!r} is not Unix time in whole seconds",
            key_id=key_id,
        )
    return key_id, timestamp, given


@dataclass(frozen=True)
class _Known:
    record: KeyRecord
    secret: str | None  # None once revoked
    expires: float


class Verifier:
    """Authenticates a signed HTTP request; one per intake process, shared by its requests."""

    def __init__(
        self,
        keys: KeyValue,
        seen: KeyValue,
        cipher: ContentCipher,
        *,
        skew_seconds: int = 300,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < skew_seconds <= MAX_SKEW_SECONDS:
            # The signatures bucket keeps nothing longer than twice the largest skew.
            raise ValueError(f"skew_seconds: {skew_seconds} is not within 1..{MAX_SKEW_SECONDS}")
        self._keys = keys
        self._seen = seen
        self._cipher = cipher
        self.skew_seconds = skew_seconds
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._known: dict[str, _Known] = {}

    async def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Identity:
        """The agency that signed this request.

        The checks run cheapest first; the signature is remembered only once it verified, so
        nobody can spend another agency's signatures.

        Raises:
            AuthFailure: naming the header and the problem.
            Exception: the KV buckets could not be read (NATS); the caller answers 503.
        """
        key_id, timestamp, given = _signed_headers(headers)
        self._check_fresh(key_id, timestamp)
        agency, secret = await self._current_secret(key_id)
        expected = signature(secret, method, path, timestamp, body)
        # Compared even when malformed, so a refusal takes the same time whatever was sent.
        matches = hmac.compare_digest(expected.encode(), given.lower().encode())
        if not (matches and _SIGNATURE_RE.match(given)):
            raise AuthFailure(
                Problem.BAD_SIGNATURE,
                SIGNATURE_HEADER,
                f"does not match this request: it must be the hex HMAC-SHA256, under the key's secret, of "
                f"'{SCHEME}\\n{method.upper()}\\n{path}\\n{timestamp}\\n' followed by the hex SHA-256 of "
                "the body bytes exactly as sent",
                key_id=key_id,
                agency=agency,
            )
        await self._remember(expected, key_id, agency)
        return Identity(agency=agency, key_id=key_id)

    def _check_fresh(self, key_id: str, timestamp: str) -> None:
        """Refuse a timestamp outside the allowed skew: the signatures bucket remembers used
        signatures only that long, so an older request could be replayed unnoticed."""
        now = int(self._clock())
        drift = int(timestamp) - now
        if abs(drift) > self.skew_seconds:
            side = "ahead of" if drift > 0 else "behind"
            raise AuthFailure(
                Problem.STALE_TIMESTAMP,
                TIMESTAMP_HEADER,
                f"{timestamp} is {abs(drift)} s {side} intake's clock ({now}); at most {self.skew_seconds} s "
                "is allowed: sign each request when sending it, from a synchronised clock",
                key_id=key_id,
            )

    async def _current_secret(self, key_id: str) -> tuple[str, str]:
        """The agency holding ``key_id`` and the key's opened secret, refused when the key was
        never issued or is revoked (a revoked record keeps its agency, named in the refusal)."""
        known = await self._lookup(key_id)
        if known is None:
            raise AuthFailure(
                Problem.UNKNOWN_KEY, KEY_ID_HEADER, f"no key {key_id} was issued by Lawlink", key_id=key_id
            )
        agency = known.record.agency
        if known.secret is None:
            revoked = (
                known.record.revoked_at.isoformat(timespec="seconds") if known.record.revoked_at else "?"
            )
            raise AuthFailure(
                Problem.REVOKED_KEY,
                KEY_ID_HEADER,
                f"key {key_id} was revoked at {revoked}; sign with a current key of the agency",
                key_id=key_id,
                agency=agency,
            )
        return agency, known.secret

    async def _remember(self, expected: str, key_id: str, agency: str) -> None:
        """Record a verified signature, refusing one already used: a create-if-absent write in
        the shared bucket, so a captured request is refused by every intake replica."""
        try:
            await self._seen.create(expected, key_id.encode(), msg_ttl=2 * self.skew_seconds + 1)
        except KeyWrongLastSequenceError:
            raise AuthFailure(
                Problem.REPLAYED,
                SIGNATURE_HEADER,
                "this signature was already used: a request is accepted once; sign every request "
                "afresh (a new timestamp), even a retry of the same event",
                key_id=key_id,
                agency=agency,
            ) from None

    async def _lookup(self, key_id: str) -> _Known | None:
        """The key's record and opened secret, re-read once the cached copy is older than allowed."""
        now = self._monotonic()
        known = self._known.get(key_id)
        if known is not None and known.expires > now:
            return known
        try:
            entry = await self._keys.get(key_id)
        except KeyNotFoundError:
            self._known.pop(key_id, None)
            return None
        record = KeyRecord.model_validate_json(entry.value)
        secret: str | None = None
        if record.revoked_at is None:
            try:
                secret = self._cipher.open_text(
                    record.sealed_secret, context=_seal_context(record.agency, key_id)
                )
            except ContentDecryptError:
                # Another key-encryption key, or a record altered in the bucket: never usable.
                log.error(
                    "agency key %s (%s) does not open with this intake's %s", key_id, record.agency, KEK_VAR
                )
                raise AuthFailure(
                    Problem.UNUSABLE_KEY,
                    KEY_ID_HEADER,
                    f"key {key_id} cannot be verified by this intake; ask Lawlink's operators to check it",
                    key_id=key_id,
                    agency=record.agency,
                ) from None
        known = _Known(record=record, secret=secret, expires=now + self._cache_seconds)
        self._known[key_id] = known
        return known


def usage(key_id: str, intake_url: str) -> str:
    """How an agency system uses a key just issued (printed once, with the secret)."""
    return (
        f"Sign every POST {intake_url}{EVENTS_PATH} with these headers:\n"
        f"  {KEY_ID_HEADER}: {key_id}\n"
        f"  {TIMESTAMP_HEADER}: <Unix time in seconds, when sending>\n"
        f"  {SIGNATURE_HEADER}: hex HMAC-SHA256 under the secret of\n"
        f"      '{SCHEME}\\nPOST\\n{EVENTS_PATH}\\n<timestamp>\\n<hex SHA-256 of the body>'\n"
        "Python: contracts.http_signing.signed_headers(key_id, secret, body); curl: README,\n"
        "'Sending events over HTTP'. Rotate by issuing a new key, switching the agency system to it,\n"
        f"then `lawlink agencies revoke-key {key_id}`."
    )
