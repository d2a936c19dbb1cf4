"""Publishing domain events within the bus's max payload: a too-big event goes out bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from contracts.domain import DomainEvent, DomainEventBatch, EntryKind
from workflows.activities import HEADER_ROOM, PublishActivities


class FakeJetStream:
    """Records publishes and refuses, as nats-py does, a body over the server's max payload."""

    def __init__(self, max_payload: int) -> None:
        self.max_payload = max_payload
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(self, subject: str, payload: bytes, **kwargs: Any) -> None:
        headers = kwargs.get("headers") or {}
        wire = len(payload) + sum(len(k) + len(v) + 4 for k, v in headers.items())
        if wire > self.max_payload:
            raise AssertionError(f"{wire} bytes would make the server close the connection")
        self.published.append((subject, payload, headers))


def _event(seq: int, text: str) -> DomainEvent:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return DomainEvent(
        event_id=f"e-{seq}",
        type="case_transfer.crime_suspected",
        occurred_at=now,
        recorded_at=now,
        process="case_transfer",
        case_id="BIG-1",
        workflow_id="case_transfer/BIG-1",
        seq=seq,
        kind=EntryKind.RECEIVED,
        state="opened",
        actor="rz-scjgj",
        causation_id=f"e-{seq}",
        parties=("rz-scjgj",),
        payload={"facts": text},
    )


async def test_an_event_that_fits_is_published_whole() -> None:
    js = FakeJetStream(max_payload=64 * 1024)
    await PublishActivities(js, max_payload=js.max_payload).publish_one(_event(1, "事实"))  # type: ignore[arg-type]
    ((_, body, headers),) = js.published
    assert json.loads(body)["payload"] == {"facts": "事实"}
    assert headers["Nats-Msg-Id"] == "case_transfer/BIG-1:1"


async def test_a_too_big_event_is_published_bounded_once() -> None:
    js = FakeJetStream(max_payload=64 * 1024)
    activities = PublishActivities(js, max_payload=js.max_payload)  # type: ignore[arg-type]
    big = _event(2, "x" * (js.max_payload - HEADER_ROOM))
    await activities.publish_domain_events(DomainEventBatch(events=(_event(1, "小"), big)))
    assert len(js.published) == 2
    subject, body, headers = js.published[1]
    sent = json.loads(body)
    assert subject == "lawlink.out.case_transfer.BIG-1" and headers["Nats-Msg-Id"] == "case_transfer/BIG-1:2"
    # The step still reaches the read model: ids, type, state; the payload is a note.
    assert (sent["event_id"], sent["type"], sent["state"], sent["seq"]) == (
        "e-2",
        "case_transfer.crime_suspected",
        "opened",
        2,
    )
    assert sent["payload"]["payload_omitted"] is True
    assert sent["payload"]["original_bytes"] > js.max_payload - HEADER_ROOM
    assert "too large" in sent["payload"]["note"] and len(sent["payload"]["sha256"]) == 64
    assert len(body) < 4096


async def test_the_limit_defaults_to_what_the_server_announced() -> None:
    class Connection:
        max_payload = 32 * 1024

    js = FakeJetStream(max_payload=32 * 1024)
    js._nc = Connection()  # type: ignore[attr-defined]  # where nats-py's JetStreamContext keeps it
    await PublishActivities(js).publish_one(_event(1, "y" * 40 * 1024))  # type: ignore[arg-type]
    assert json.loads(js.published[0][1])["payload"]["payload_omitted"] is True
