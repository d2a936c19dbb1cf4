"""How an agency system signs an HTTP request to Lawlink's intake (``POST /v1/events``).

Pure, standard library only, so intake verifies and every client signs by this one rule: an
agency's own Python code, Lawlink's tests and demos. Integrators in other languages follow the
README ("Sending events over HTTP"), which spells out the same string.

The string signed is five lines joined by ``\\n`` (no trailing newline)::

    Lawlink-HMAC-SHA256
    <METHOD, upper case>
    <path, e.g. /v1/events>
    <timestamp: Unix time in whole seconds, as sent in X-Lawlink-Timestamp>
    <lower-case hex SHA-256 of the body bytes exactly as sent>

and ``X-Lawlink-Signature`` is the lower-case hex HMAC-SHA256 of it under the key's secret
(the secret's UTF-8 bytes are the HMAC key). The body's digest binds the signature to the exact
bytes, the timestamp bounds how long it can be used, and intake refuses a signature it has
already seen, so a captured request cannot be sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SCHEME = "Lawlink-HMAC-SHA256"
KEY_ID_HEADER = "X-Lawlink-Key-Id"
TIMESTAMP_HEADER = "X-Lawlink-Timestamp"
SIGNATURE_HEADER = "X-Lawlink-Signature"
SIGNED_HEADERS = (KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
EVENTS_PATH = "/v1/events"


def string_to_sign(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    """The exact bytes whose HMAC is the signature (see the module docstring)."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((SCHEME, method.upper(), path, timestamp, digest)).encode()


def signature(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    """The lower-case hex HMAC-SHA256 of :func:`string_to_sign` under ``secret``."""
    return hmac.new(
        secret.encode(), string_to_sign(method, path, timestamp, body), hashlib.sha256
    ).hexdigest()


def signed_headers(
    key_id: str,
    secret: str,
    body: bytes,
    *,
    method: str = "POST",
    path: str = EVENTS_PATH,
    now: float | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request; sign each request just before sending it.

    Args:
        key_id: the key's id as ``lawlink agencies issue-key`` printed it.
        secret: that key's secret.
        body: the body exactly as it will be sent (re-serialising it changes the digest).
        method: the HTTP method.
        path: the request path as intake receives it.
        now: Unix time to sign with (defaults to the clock; intake allows a bounded skew).
    """
    timestamp = str(int(time.time() if now is None else now))
    return {
        KEY_ID_HEADER: key_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, method, path, timestamp, body),
        "Content-Type": "application/json",
    }
