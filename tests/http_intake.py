"""Sending events to HTTP intake in tests as an agency system does: with a key, signed."""

from __future__ import annotations

import httpx
import nats

from contracts.http_signing import EVENTS_PATH, signed_headers
from services.intake.credentials import IssuedKey, credential_cipher, issue_key, open_buckets
from services.settings import IntakeSettings


async def agency_key(nats_url: str, agency: str, settings: IntakeSettings | None = None) -> IssuedKey:
    """A new key of ``agency`` in the key bucket of the NATS server at ``nats_url``.

    Sealed as the intake under test opens it: with ``settings``' key-encryption key, or (as the
    ``stack`` fixture's intake does without one) the per-process key of a test run.
    """
    nc = await nats.connect(nats_url)
    try:
        keys, _ = await open_buckets(nc.jetstream())
        return await issue_key(keys, credential_cipher(settings or IntakeSettings()), agency)
    finally:
        await nc.close()


async def post_signed(http: httpx.AsyncClient, raw: bytes, key: IssuedKey, **headers: str) -> httpx.Response:
    """POST ``raw`` to ``/v1/events`` signed with ``key`` (plus any extra ``headers``)."""
    return await http.post(
        EVENTS_PATH, content=raw, headers={**signed_headers(key.key_id, key.secret, raw), **headers}
    )
