"""The contract itself: committed schemas are current, every example is valid, every type routed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from contracts.catalog import DOMAIN_EVENT_TYPES, EVENT_TYPES
from contracts.export import SCHEMAS, build_schemas
from contracts.validation import validate_event
from services.intake.routing import ROUTES, Mode

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
EXAMPLE_FILES = sorted(p for p in EXAMPLES.glob("*/*.json"))


def test_committed_schemas_are_current() -> None:
    expected = build_schemas()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    stale = sorted(n for n in expected if committed.get(n) != expected[n])
    extra = sorted(set(committed) - set(expected))
    assert not stale and not extra, (
        f"contracts/schemas is stale (run `make schemas`): changed {stale}, no longer generated {extra}"
    )


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_envelope_is_valid(path: Path) -> None:
    event = validate_event(path.read_bytes())
    assert event.envelope.type.startswith(path.parent.name + ".") or event.spec.process == path.parent.name
    assert path.stem == event.envelope.type.split(".", 1)[1], "example files are named after their step"


def test_every_event_type_has_an_example() -> None:
    covered = {json.loads(p.read_text(encoding="utf-8"))["type"] for p in EXAMPLE_FILES}
    missing = sorted(set(EVENT_TYPES) - covered)
    assert not missing, f"event types without an example under contracts/examples/: {missing}"


def test_every_event_type_is_routed_to_its_workflow() -> None:
    assert set(ROUTES) == set(EVENT_TYPES)
    for event_type, route in ROUTES.items():
        spec = EVENT_TYPES[event_type]
        assert route.process == spec.process
        assert route.mode is (Mode.START if spec.opens else Mode.UPDATE)
    for process in {s.process for s in EVENT_TYPES.values()}:
        assert any(EVENT_TYPES[t].opens for t in EVENT_TYPES if EVENT_TYPES[t].process == process), (
            f"process {process} has no event that opens it"
        )


def test_every_type_has_labels_in_both_languages() -> None:
    for spec in list(EVENT_TYPES.values()) + list(DOMAIN_EVENT_TYPES.values()):
        assert spec.label_zh and spec.label_en, spec.type


def test_intake_refuses_to_start_with_a_misspelt_deadline_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.intake.app import create_app

    monkeypatch.setenv("LAWLINK_RULE_CASE_TRANSFER__HEAD_DECISON", "5")
    with pytest.raises(ValueError, match="LAWLINK_RULE_CASE_TRANSFER__HEAD_DECISON"):
        create_app()


def _bounded_pattern(pattern: str) -> bool:
    """An anchored pattern with only bounded repetition (``{m,n}``) matches bounded strings."""
    anchored = pattern.startswith("^") and pattern.endswith("$")
    return anchored and re.search(r"(?<!\\)[*+]|\{\d+,\}", pattern) is None


def _unbounded(schema: dict, defs: dict, path: str) -> list[str]:
    """Paths in a JSON schema where a string, list or map has no upper bound."""
    if "$ref" in schema:
        return _unbounded(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, path)
    options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if options:
        # A Decimal is "number or numeric string": its digits are bounded by max_digits.
        types = {o.get("type") for o in options}
        if {"number", "string"} <= types:
            return []
        return [p for o in options for p in _unbounded(o, defs, path)]
    if "const" in schema or "enum" in schema:
        return []
    kind = schema.get("type")
    if kind == "string":
        bounded = (
            "maxLength" in schema
            or schema.get("format") in ("date-time", "date", "uuid")
            or _bounded_pattern(schema.get("pattern", ""))
        )
        return [] if bounded else [path]
    if kind == "array":
        found = [] if "maxItems" in schema else [path]
        return found + _unbounded(schema.get("items", {}), defs, f"{path}[]")
    if kind == "object" or "properties" in schema:
        found = [path] if schema.get("additionalProperties") not in (None, False) else []
        for name, sub in schema.get("properties", {}).items():
            found += _unbounded(sub, defs, f"{path}.{name}")
        return found
    return []


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_string_and_list_of_a_payload_is_bounded(event_type: str) -> None:
    """A workflow republishes what it takes and keeps it in its state: no payload field may be
    unbounded, or one valid event could make a domain event the bus refuses."""
    schema = EVENT_TYPES[event_type].payload.model_json_schema()
    assert _unbounded(schema, schema.get("$defs", {}), "payload") == []
