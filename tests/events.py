"""Build envelopes for tests from the committed examples, with fresh ids."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope

EXAMPLES = Path(__file__).resolve().parent.parent / "contracts" / "examples"


def example(process: str, name: str) -> dict[str, Any]:
    """The committed example envelope ``contracts/examples/<process>/<name>.json``."""
    return json.loads((EXAMPLES / process / f"{name}.json").read_text(encoding="utf-8"))


def event(
    process: str,
    name: str,
    *,
    case_id: str | None = None,
    agency: str | None = None,
    occurred_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
    **payload_changes: Any,
) -> dict[str, Any]:
    """An example envelope with a new event_id and the given changes."""
    data = copy.deepcopy(example(process, name))
    data["event_id"] = str(uuid.uuid4())
    if case_id is not None:
        data["case_id"] = case_id
    if agency is not None:
        data["source_agency"] = agency
    if occurred_at is not None:
        data["occurred_at"] = occurred_at.isoformat()
    if payload is not None:
        data["payload"] = payload
    data["payload"].update(payload_changes)
    return data


def envelope(data: dict[str, Any]) -> Envelope:
    """The dict as a validated Envelope (what intake hands the workflow)."""
    return Envelope.model_validate_json(json.dumps(data, ensure_ascii=False))


def body(data: dict[str, Any]) -> bytes:
    """The dict as the bytes an agency would send."""
    return json.dumps(data, ensure_ascii=False).encode()


def new_case_id(prefix: str = "T") -> str:
    """A case id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
