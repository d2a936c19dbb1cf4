"""Intake's OpenAPI documents the envelope an agency posts, so an integrator's generated client
knows the body; every reference in it resolves."""

from __future__ import annotations

from tests.json_refs import refs


def test_the_request_body_of_v1_events_is_the_envelope() -> None:
    from services.intake.app import create_app
    from services.settings import IntakeSettings
    from tests.servers import SERVICE_TOKEN

    doc = create_app(IntakeSettings(LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN)).openapi()
    body = doc["paths"]["/v1/events"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Envelope"}
    envelope = doc["components"]["schemas"]["Envelope"]
    assert {"event_id", "type", "occurred_at", "source_agency", "case_id", "payload"} <= set(
        envelope["required"]
    )
    names = set(doc["components"]["schemas"])
    assert all(ref.removeprefix("#/components/schemas/") in names for ref in refs(doc)), refs(doc)

    assert envelope["properties"]["payload"]["type"] == "object"
    assert "256" in body["description"] or "LAWLINK_MAX_ENVELOPE_BYTES" in body["description"]
