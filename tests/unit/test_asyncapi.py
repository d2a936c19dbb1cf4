"""contracts/asyncapi.json: current with the apps and the contracts, and complete enough for an
integrator (every channel with its stream and de-duplication header, every payload a model)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from contracts.catalog import EVENT_TYPES
from services.asyncapi import OUTPUT, build, render
from tests.json_refs import refs


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[unquote(part)]
    return node


def test_the_committed_asyncapi_document_is_current() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(), (
        "contracts/asyncapi.json is stale: run `make schemas`"
    )


def test_every_channel_names_its_stream_dedup_header_and_payload_model() -> None:
    doc = build()
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {"lawlink.in.*.*.*", "lawlink.out.>", "lawlink.rejected.*", "lawlink.notify.*"}
    assert set(doc["channels"]) == {
        "lawlink.in.<agency>.<process>.<step>",
        "lawlink.out.<process>.<case_id>",
        "lawlink.rejected.<agency>",
        "lawlink.notify.<agency>",
    }
    for channel in doc["channels"].values():
        assert "JetStream stream LAWLINK_" in channel["description"], channel["address"]
        assert "Nats-Msg-Id" in channel["description"], channel["address"]
        for ref in channel["messages"].values():
            message = _resolve(doc, ref["$ref"])
            payload = _resolve(doc, message["payload"]["$ref"])
            assert payload["properties"], channel["address"]
            assert message["headers"]["required"] == ["Nats-Msg-Id"]
    for ref in refs(doc):  # nothing dangles
        _resolve(doc, ref)
    envelope = doc["components"]["schemas"]["Envelope"]
    assert {"event_id", "type", "occurred_at", "source_agency", "case_id"} <= set(envelope["required"])
    assert all(field.get("description") for field in envelope["properties"].values() if "$ref" not in field)
    # The per-type schemas are where the document sends integrators.
    assert "contracts/schemas/<type>.schema.json" in doc["info"]["description"]
    assert len(EVENT_TYPES) > 40
    json.dumps(doc)
