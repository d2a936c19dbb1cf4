"""Write JSON Schema for every event type to ``contracts/schemas/`` (``python -m contracts.export``).

Integrators in other languages validate against these files; a unit test regenerates them in
memory and fails when the committed copies are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from contracts.catalog import EVENT_TYPES
from contracts.domain import DomainEvent
from contracts.envelope import Envelope

SCHEMAS = Path(__file__).parent / "schemas"


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def build_schemas() -> dict[str, str]:
    """File name → JSON text, for the envelope, the domain event and each event type.

    Each event type's schema is the envelope with ``type`` fixed and ``payload`` replaced by
    that type's payload model, so one file validates a whole message.
    """
    files: dict[str, str] = {
        "envelope.schema.json": _dump(Envelope.model_json_schema()),
        "domain_event.schema.json": _dump(DomainEvent.model_json_schema()),
    }
    index: dict[str, Any] = {}
    for event_type, spec in sorted(EVENT_TYPES.items()):
        schema = Envelope.model_json_schema()
        payload = spec.payload.model_json_schema()
        defs = {**schema.pop("$defs", {}), **payload.pop("$defs", {})}
        schema["properties"]["type"] = {"const": event_type, "title": "Type", "type": "string"}
        schema["properties"]["payload"] = payload
        schema["properties"]["schema_version"] = {
            "type": "integer",
            "minimum": 1,
            "maximum": spec.schema_version,
        }
        if defs:
            schema["$defs"] = defs
        schema["title"] = f"{event_type} ({spec.label_zh} / {spec.label_en})"
        schema["description"] = (
            f"Publish on lawlink.in.<agency>.{event_type} or POST /v1/events. "
            f"Allowed senders: {', '.join(sorted(k.value for k in spec.senders))}."
        )
        name = f"{event_type}.schema.json"
        files[name] = _dump(schema)
        index[event_type] = {
            "schema": name,
            "label_zh": spec.label_zh,
            "label_en": spec.label_en,
            "senders": sorted(k.value for k in spec.senders),
            "opens_process": spec.opens,
            "process": spec.process,
        }
    files["index.json"] = _dump(index)
    return files


def main() -> int:
    """Rewrite ``contracts/schemas/`` from the models."""
    SCHEMAS.mkdir(exist_ok=True)
    files = build_schemas()
    for stale in SCHEMAS.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (SCHEMAS / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} schemas to {SCHEMAS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
