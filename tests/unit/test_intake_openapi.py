"""Intake's OpenAPI documents the envelope an agency posts, so an integrator's generated client
knows the body; every reference in it resolves."""

from __future__ import annotations

from typing import Any


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_request_body_of_v1_events_is_the_envelope() -> None:
    from services.intake.app import create_app

    doc = create_app().openapi()
    body = doc["paths"]["/v1/events"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Envelope"}
    envelope = doc["components"]["schemas"]["Envelope"]
    assert {"event_id", "type", "occurred_at", "source_agency", "case_id", "payload"} <= set(
        envelope["required"]
    )
    names = set(doc["components"]["schemas"])
    assert all(ref.removeprefix("#/components/schemas/") in names for ref in _refs(doc)), _refs(doc)

    assert envelope["properties"]["payload"]["type"] == "object"
    assert "256" in body["description"] or "LAWLINK_MAX_ENVELOPE_BYTES" in body["description"]
