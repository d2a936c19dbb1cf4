"""Keeps discipline-referral content out of Temporal's workflow history (DESIGN.md, Security).

Intake hands every event to its workflow in an argument: the opening event in the start input
(``CaseStart.opening``), a later one as the ``receive`` Update (an opening repeated to a running
case as the ``submit`` signal), and Temporal stores that argument in the history: in the dev
server's ``.lawlink/temporal.db``, in the production cluster's PostgreSQL, and on screen in the
Temporal Web UI for anyone who can open it. The bus and the read model already hold no clue
content in the clear; this codec closes the last copy.

:class:`ConfidentialPayloadCodec` encrypts with AES-256-GCM exactly the payloads that carry a
confidential event: those whose JSON is an :class:`~contracts.envelope.Envelope` (or a list or
dict holding one) of a type whose process is need-to-know
(:data:`contracts.catalog.CONFIDENTIAL_PROCESSES`, or an ``EventSpec`` routed to such a process,
as ``hotline.complaint_received`` is routed to ``discipline_referral``). Every other payload passes
unchanged, byte for byte, so operators still read ordinary cases in the Temporal UI, and
histories recorded before the codec (``tests/histories/``) replay as they are.

An encrypted payload is the whole original ``Payload`` message (metadata included) sealed as
``nonce || ciphertext``, marked ``encoding: binary/encrypted`` plus the key's id, as in
samples-python ``encryption/codec.py``. Only payloads so marked are decrypted.

The key is ``LAWLINK_CONTENT_KEY``, loaded by :func:`services.discipline.crypto.load_key`: the
same rule as the read model's content store, so a service without the key refuses to start
instead of writing plaintext (or ciphertext nobody can read) into a history kept for years.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from contracts.catalog import CONFIDENTIAL_PROCESSES, EVENT_TYPES
from contracts.envelope import Envelope
from services.discipline.crypto import KEY_ENV, NONCE_BYTES, ContentDecryptError, ContentKeyError, load_key

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
CIPHER_METADATA = "encryption-cipher"
CIPHER = b"AES-256-GCM"
_JSON_ENCODING = b"json/plain"
# Binds every ciphertext to this use of the key: the same key also seals the read model's
# content rows (with their own label), and neither kind of ciphertext opens as the other.
_AAD_PREFIX = b"lawlink-temporal-payload:v1:"

# Fields an envelope always has (no default): a dict with all of them is treated as one. The
# domain events and rejections the workflows publish lack ``schema_version``/``source_agency``
# or ``payload``, so their (already public) payloads stay readable.
_ENVELOPE_KEYS: frozenset[str] = frozenset(
    name for name, field in Envelope.model_fields.items() if field.is_required()
)


def _confidential_types() -> frozenset[str]:
    """Known types routed to a need-to-know process although their prefix may not say so."""
    return frozenset(t for t, spec in EVENT_TYPES.items() if spec.process in CONFIDENTIAL_PROCESSES)


CONFIDENTIAL_TYPES: frozenset[str] = _confidential_types()


def is_confidential_type(event_type: str) -> bool:
    """True for an event type whose content is need-to-know.

    A type counts when its prefix is a confidential process (known or not yet known to the
    catalog: an unknown ``discipline_referral.*`` is still encrypted, erring on the safe side) or
    when the catalog routes it to one (``hotline.complaint_received``).
    """
    prefix = event_type.partition(".")[0]
    return prefix in CONFIDENTIAL_PROCESSES or event_type in CONFIDENTIAL_TYPES


# Byte patterns one of which any confidential envelope's JSON must contain (a type never needs
# JSON escaping: EVENT_TYPE_PATTERN is lowercase ASCII). A payload with none of them is passed
# without parsing, so ordinary cases pay a few substring scans, not a JSON parse.
_NEEDLES: tuple[bytes, ...] = tuple(
    sorted(
        {f'"{p}.'.encode() for p in CONFIDENTIAL_PROCESSES}
        | {f'"{t}"'.encode() for t in CONFIDENTIAL_TYPES if t.partition(".")[0] not in CONFIDENTIAL_PROCESSES}
    )
)


def _holds_confidential_envelope(value: Any) -> bool:
    """Walk decoded JSON for an envelope of a confidential type."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind = item.get("type")
            if _ENVELOPE_KEYS <= item.keys() and isinstance(kind, str) and is_confidential_type(kind):
                return True
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return False


def carries_confidential_content(payload: Payload) -> bool:
    """Whether a (not yet encoded) payload must be encrypted before it reaches Temporal."""
    if payload.metadata.get("encoding") != _JSON_ENCODING:
        return False
    data = payload.data
    if b'"event_id"' not in data or not any(needle in data for needle in _NEEDLES):
        return False
    try:
        decoded = json.loads(data)
    except ValueError:
        return False
    return _holds_confidential_envelope(decoded)


def key_id(key: bytes) -> str:
    """A short, public fingerprint of a key, stored with each ciphertext.

    It says which key sealed a payload, so a worker started with another key fails with a clear
    message instead of a bare authentication error. A hash of a 256-bit random key reveals
    nothing usable about the key.
    """
    return hashlib.sha256(b"lawlink-temporal-key-id:" + key).hexdigest()[:16]


class ConfidentialPayloadCodec(PayloadCodec):
    """Encrypts confidential-event payloads with AES-256-GCM; leaves every other payload as is."""

    def __init__(self, key: bytes) -> None:
        """Args:
            key: the 32-byte content key (see :func:`services.discipline.crypto.load_key`).

        Raises:
            ContentKeyError: the key is not 32 bytes.
        """
        if len(key) != 32:
            raise ContentKeyError(f"{KEY_ENV}: must be 32 bytes (AES-256), got {len(key)}")
        self._aead = AESGCM(key)
        self.key_id = key_id(key)
        self._aad = _AAD_PREFIX + self.key_id.encode()

    def seal(self, payload: Payload) -> Payload:
        """The encrypted form of one payload (a fresh nonce each time)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, payload.SerializeToString(), self._aad)
        return Payload(
            metadata={
                "encoding": ENCRYPTED_ENCODING,
                KEY_ID_METADATA: self.key_id.encode(),
                CIPHER_METADATA: CIPHER,
            },
            data=nonce + sealed,
        )

    def open(self, payload: Payload) -> Payload:
        """The original payload of one encrypted payload.

        Raises:
            ContentKeyError: the payload was sealed with another key (its id is named).
            ContentDecryptError: the ciphertext or its metadata was altered.
        """
        sealed_with = payload.metadata.get(KEY_ID_METADATA, b"").decode("ascii", "replace")
        if sealed_with != self.key_id:
            raise ContentKeyError(
                f"{KEY_ENV}: this payload was encrypted with key {sealed_with or '(none)'}, "
                f"the process has key {self.key_id}"
            )
        data = payload.data
        try:
            plain = self._aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], self._aad)
        except InvalidTag:
            raise ContentDecryptError(
                f"encrypted Temporal payload (key {self.key_id}) does not decrypt: altered or corrupt"
            ) from None
        return Payload.FromString(plain)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt the payloads that carry confidential content; pass the others unchanged."""
        return [self.seal(p) if carries_confidential_content(p) else p for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt payloads marked ``binary/encrypted``; pass the others (plaintext) unchanged."""
        return [self.open(p) if p.metadata.get("encoding") == ENCRYPTED_ENCODING else p for p in payloads]


def lawlink_data_converter(
    env: Mapping[str, str] | None = None, *, allow_ephemeral: bool | None = None
) -> DataConverter:
    """The data converter of every Lawlink Temporal client, worker and replayer.

    The SDK's pydantic converter (the contracts are pydantic models with datetimes) plus
    :class:`ConfidentialPayloadCodec` with the key from ``LAWLINK_CONTENT_KEY``. Under pytest,
    without the variable, every converter of the process shares one random key (the one the
    read model's content store uses too), so in-process clients and workers understand each other.

    Args:
        env: where to read the key (defaults to ``os.environ``).
        allow_ephemeral: as :func:`services.discipline.crypto.load_key` (default: only under tests).

    Raises:
        ContentKeyError: the key is absent outside tests, or malformed.
    """
    key = load_key(env, allow_ephemeral=allow_ephemeral)
    return replace(pydantic_data_converter, payload_codec=ConfidentialPayloadCodec(key))
