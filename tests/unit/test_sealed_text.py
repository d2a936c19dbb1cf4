"""Short secrets (webhook signing secrets) sealed at rest with the content key."""

from __future__ import annotations

import pytest

from services.discipline.crypto import ContentCipher, ContentDecryptError


def test_a_sealed_secret_opens_only_for_its_context_and_key() -> None:
    cipher = ContentCipher(b"k" * 32)
    token = cipher.seal_text("s3cret-value", context="webhook:rz-scjgj")
    assert token.startswith("v1:") and "s3cret-value" not in token
    assert token != cipher.seal_text("s3cret-value", context="webhook:rz-scjgj")  # fresh nonce
    assert cipher.open_text(token, context="webhook:rz-scjgj") == "s3cret-value"
    with pytest.raises(ContentDecryptError, match="webhook:rz-gaj"):
        cipher.open_text(token, context="webhook:rz-gaj")
    with pytest.raises(ContentDecryptError, match="does not decrypt"):
        ContentCipher(b"x" * 32).open_text(token, context="webhook:rz-scjgj")
    with pytest.raises(ContentDecryptError, match="not sealed"):
        cipher.open_text("plain-old-secret", context="webhook:rz-scjgj")
    with pytest.raises(ContentDecryptError):
        cipher.open_text("v1:!!not-base64!!", context="webhook:rz-scjgj")
