"""Build envelopes for tests from the committed examples, with fresh ids."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from contracts import subjects
from contracts.envelope import Envelope

EXAMPLES = Path(__file__).resolve().parent.parent / "contracts" / "examples"
SHANGHAI = timezone(timedelta(hours=8))

# event_id -> the occurred_at that event() chose because the test named none; the workflow
# harness replaces it with the test server's clock, which time-skipping moves ahead of the wall.
_STAMPED: dict[str, str] = {}


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
    event_id: str | None = None,
    **payload_changes: Any,
) -> dict[str, Any]:
    """An example envelope with a new event_id and the given changes.

    Deadlines count from ``occurred_at``, so an event the test does not date happens now (the
    examples' own dates would put every step in the past); a test of late reporting passes
    ``occurred_at``.
    """
    data = copy.deepcopy(example(process, name))
    data["event_id"] = event_id or str(uuid.uuid4())
    if case_id is not None:
        data["case_id"] = case_id
    if agency is not None:
        data["source_agency"] = agency
    if occurred_at is not None:
        data["occurred_at"] = occurred_at.isoformat()
    else:
        data["occurred_at"] = datetime.now(SHANGHAI).isoformat()
        _STAMPED[data["event_id"]] = data["occurred_at"]
    if payload is not None:
        data["payload"] = payload
    data["payload"].update(payload_changes)
    return data


def restamp(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``data`` dated ``now`` if :func:`event` dated it for want of a date; otherwise unchanged."""
    if _STAMPED.get(str(data.get("event_id"))) == data.get("occurred_at"):
        return {**data, "occurred_at": now.astimezone(SHANGHAI).isoformat()}
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


T = TypeVar("T")


async def publish(nc: Any, data: dict[str, Any]) -> None:
    """Publish an envelope as an agency does: JetStream, its own subject, Nats-Msg-Id = event_id."""
    await nc.jetstream().publish(
        subjects.inbound(data["source_agency"], data["type"]),
        body(data),
        stream=subjects.STREAM_IN,
        headers={"Nats-Msg-Id": data["event_id"]},
    )


async def eventually(
    fetch: Callable[[], Awaitable[T]], predicate: Callable[[T], bool], timeout: float = 20.0
) -> T:
    """Poll ``fetch`` until ``predicate`` holds (the stack works asynchronously), or fail."""
    end = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < end:
        last = await fetch()
        if predicate(last):
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
