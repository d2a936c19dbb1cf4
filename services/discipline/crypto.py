"""AES-256-GCM for referral content at rest.

The key comes from ``LAWLINK_CONTENT_KEY`` (base64 of 32 random bytes; ``make run`` generates one
for development). Outside tests a missing or malformed key stops the service at start: running
without it would either store plaintext or lose content that can never be decrypted.

Each record is encrypted with a fresh 96-bit nonce and bound (as associated data) to its
workflow id and event id, so a ciphertext copied onto another referral's row fails to decrypt
instead of showing one case's clue under another case.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ENV = "LAWLINK_CONTENT_KEY"
NONCE_BYTES = 12

log = logging.getLogger("lawlink.discipline")


class ContentKeyError(RuntimeError):
    """The content key is missing or malformed (the message names the variable)."""


class ContentDecryptError(RuntimeError):
    """A stored record does not decrypt with this key for this referral (tampered, or another key)."""


def parse_key(value: str, variable: str = KEY_ENV) -> bytes:
    """Decode a base64 key and insist on 32 bytes (AES-256).

    Raises:
        ContentKeyError: naming ``variable`` (``LAWLINK_CONTENT_KEY`` by default) and what is
            wrong with it.
    """
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ContentKeyError(f"{variable}: not valid base64") from None
    if len(key) != 32:
        raise ContentKeyError(f"{variable}: must decode to 32 bytes (AES-256), got {len(key)}")
    return key


def generate_key() -> str:
    """A new random key, base64-encoded as ``LAWLINK_CONTENT_KEY`` expects (``make run`` uses it)."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def under_tests() -> bool:
    """True in a pytest run (and in the services it starts): the only place a key may be ephemeral."""
    return "pytest" in sys.modules or "PYTEST_CURRENT_TEST" in os.environ


def load_key(env: Mapping[str, str] | None = None, *, allow_ephemeral: bool | None = None) -> bytes:
    """The content key from the environment.

    Args:
        env: where to read ``LAWLINK_CONTENT_KEY`` (defaults to ``os.environ``).
        allow_ephemeral: when the variable is absent, use one random key for this process
            instead of failing. Defaults to True only under pytest, so tests of other features
            that start the registry need no key, and never in a running service.

    Raises:
        ContentKeyError: the key is absent (outside tests) or malformed.
    """
    env = os.environ if env is None else env
    value = env.get(KEY_ENV)
    if value:
        return parse_key(value)
    if allow_ephemeral is None:
        allow_ephemeral = under_tests()
    if not allow_ephemeral:
        raise ContentKeyError(
            f"{KEY_ENV} is not set: confidential data (referral content, webhook secrets) cannot be "
            "stored or read. Set it to base64 of "
            "32 random bytes (python -c 'from services.discipline.crypto import generate_key; print(generate_key())')"
        )
    return _ephemeral_key()


@cache
def _ephemeral_key() -> bytes:
    log.warning("%s not set: using a random per-process key (tests only)", KEY_ENV)
    return AESGCM.generate_key(bit_length=256)


@dataclass(frozen=True)
class Sealed:
    """One encrypted record."""

    nonce: bytes
    ciphertext: bytes


class ContentCipher:
    """Encrypts and decrypts what Lawlink keeps confidential at rest with one key: referral
    content (:meth:`seal`/:meth:`open`) and short secrets such as webhook signing secrets
    (:meth:`seal_text`/:meth:`open_text`)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ContentKeyError(f"{KEY_ENV}: must be 32 bytes (AES-256), got {len(key)}")
        self._aead = AESGCM(key)

    @staticmethod
    def _aad(workflow_id: str, event_id: str) -> bytes:
        return f"lawlink-referral-content:v1:{workflow_id}:{event_id}".encode()

    def seal(self, plaintext: bytes, *, workflow_id: str, event_id: str) -> Sealed:
        """Encrypt ``plaintext`` for one event of one referral, with a fresh nonce."""
        nonce = os.urandom(NONCE_BYTES)
        return Sealed(nonce, self._aead.encrypt(nonce, plaintext, self._aad(workflow_id, event_id)))

    def open(self, sealed: Sealed, *, workflow_id: str, event_id: str) -> bytes:
        """Decrypt a record of ``workflow_id``/``event_id``.

        Raises:
            ContentDecryptError: wrong key, tampered data or a record of another referral.
        """
        try:
            return self._aead.decrypt(sealed.nonce, sealed.ciphertext, self._aad(workflow_id, event_id))
        except InvalidTag:
            raise ContentDecryptError(
                f"content of event {event_id} does not decrypt for {workflow_id}"
            ) from None

    def seal_text(self, plaintext: str, *, context: str) -> str:
        """A short secret as ``v1:<base64 nonce+ciphertext>``, bound to ``context`` (e.g. whose it is)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _text_aad(context))
        return TEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open_text(self, token: str, *, context: str) -> str:
        """The secret :meth:`seal_text` sealed for ``context``.

        Raises:
            ContentDecryptError: not a sealed value, wrong key, tampered, or sealed for another context.
        """
        if not token.startswith(TEXT_PREFIX):
            raise ContentDecryptError(f"the stored secret of {context} is not sealed")
        try:
            raw = base64.urlsafe_b64decode(token[len(TEXT_PREFIX) :])
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _text_aad(context)).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise ContentDecryptError(
                f"the stored secret of {context} does not decrypt with this key"
            ) from None


TEXT_PREFIX = "v1:"


def _text_aad(context: str) -> bytes:
    return f"lawlink-secret:v1:{context}".encode()


def cipher_from_env(env: Mapping[str, str] | None = None) -> ContentCipher:
    """The cipher a service uses (see :func:`load_key` for when an absent key is refused)."""
    return ContentCipher(load_key(env))
