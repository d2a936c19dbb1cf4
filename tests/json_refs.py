"""The ``$ref`` pointers of a JSON document (OpenAPI, AsyncAPI), for tests that check none dangles."""

from __future__ import annotations

from typing import Any


def refs(node: Any) -> list[str]:
    """Every ``$ref`` value in ``node``, depth first."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []
