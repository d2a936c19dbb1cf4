"""Limits that hold end to end, against the real stack: no single message, however big or deep,
stops Lawlink or reaches the bus in a form the bus refuses."""

from __future__ import annotations

import json

import httpx
import nats
import pytest

from contracts import subjects
from contracts.validation import DEFAULT_MAX_ENVELOPE_BYTES, MAX_JSON_DEPTH
from tests.events import body, event, eventually, new_case_id, publish
from tests.http_intake import agency_key, post_signed
from tests.servers import api_headers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

MIB = 1024 * 1024


def _megabyte_crime_suspected() -> dict:
    """A crime_suspected of about 1 MB that the models accepted before lists were bounded."""
    attachment = {
        "name": "证据.pdf",
        "kind": "evidence",
        "sha256": "0" * 64,
        "uri": "https://d.example/" + "a" * 980,
    }
    data = event("case_transfer", "crime_suspected", case_id=new_case_id("BIG"))
    data["payload"]["attachments"] = [attachment] * 900
    assert 0.9 * MIB < len(body(data)) < MIB - 4096  # the bus takes it; Lawlink must refuse it
    return data


async def _case_state(stack, case_id: str) -> str | None:  # noqa: ANN001
    async with httpx.AsyncClient(base_url=stack.registry_url, headers=api_headers()) as http:
        resp = await http.get(f"/api/cases/{case_id}")
        return resp.json()["case"]["state"] if resp.status_code == 200 else None


async def test_a_megabyte_event_over_nats_is_rejected_and_the_next_cases_flow(stack) -> None:  # noqa: ANN001
    big = _megabyte_crime_suspected()
    size = len(body(big))
    nc = await nats.connect(stack.nats_url)
    try:
        rejected = await nc.subscribe(subjects.rejected("rz-scjgj"))
        await publish(nc, big)
        while True:  # other tests' rejections may share the subject: wait for this one
            rejection = json.loads((await rejected.next_msg(timeout=20)).data)
            if rejection["event_id"] == big["event_id"]:
                break
        assert rejection["field"] == "$"
        assert str(size) in rejection["reason"] and str(DEFAULT_MAX_ENVELOPE_BYTES) in rejection["reason"]

        cases = [new_case_id("AFTER") for _ in range(20)]
        for case_id in cases:
            await publish(nc, event("case_transfer", "crime_suspected", case_id=case_id))
        for case_id in cases:
            await eventually(lambda c=case_id: _case_state(stack, c), lambda s: s == "opened", timeout=30)
        assert await _case_state(stack, big["case_id"]) is None  # no workflow, no read-model row
    finally:
        await nc.close()


async def test_an_oversized_http_body_is_a_413_and_intake_stays_healthy(stack) -> None:  # noqa: ANN001
    """Refused by its size before its credentials are read, so unsigned here."""
    big = _megabyte_crime_suspected()
    raw = body(big)
    raw = raw + b" " * (1_048_540 - len(raw))  # the size that made nats-server drop intake
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=10) as http:
        resp = await http.post("/v1/events", content=raw)
        assert resp.status_code == 413, resp.text
        assert resp.json()["field"] == "$"
        assert (
            str(len(raw)) in resp.json()["reason"]
            and str(DEFAULT_MAX_ENVELOPE_BYTES) in resp.json()["reason"]
        )

        async def chunks():  # noqa: ANN202 - no Content-Length: refused once the limit is passed
            for _ in range(3 * MIB // 65536):
                yield b" " * 65536

        try:
            chunked = await http.post("/v1/events", content=chunks())
            assert chunked.status_code == 413 and chunked.json()["field"] == "$"
        except httpx.TransportError:
            pass  # intake may close the connection while the client is still sending

        assert (await http.get("/healthz")).status_code == 200
        good = event("case_transfer", "crime_suspected", case_id=new_case_id("HTTPOK"))
        key = await agency_key(stack.nats_url, "rz-scjgj")
        assert (await post_signed(http, body(good), key)).status_code == 202


async def test_deeply_nested_json_over_http_is_a_422_naming_the_root(stack) -> None:  # noqa: ANN001
    raw = b'{"payload":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    key = await agency_key(stack.nats_url, "rz-scjgj")
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=10) as http:
        resp = await post_signed(http, raw, key)
        assert resp.status_code == 422, resp.text
        assert resp.json()["field"] == "$" and str(MAX_JSON_DEPTH) in resp.json()["reason"]
        assert (await http.get("/healthz")).status_code == 200


async def test_a_deeply_nested_message_over_nats_is_rejected(stack) -> None:  # noqa: ANN001
    raw = b'{"payload":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    nc = await nats.connect(stack.nats_url)
    try:
        rejected = await nc.subscribe(subjects.rejected("rz-scjgj"))
        await nc.jetstream().publish(
            subjects.inbound("rz-scjgj", "case_transfer.crime_suspected"), raw, stream=subjects.STREAM_IN
        )
        while True:
            rejection = json.loads((await rejected.next_msg(timeout=20)).data)
            if "nests deeper" in rejection["reason"]:
                break
        assert rejection["field"] == "$"
    finally:
        await nc.close()


@pytest.mark.parametrize("offset", [2**63, 2**31, -1])
async def test_a_huge_case_list_offset_is_a_422_naming_offset(stack, offset: int) -> None:  # noqa: ANN001
    async with httpx.AsyncClient(base_url=stack.registry_url, headers=api_headers()) as http:
        resp = await http.get("/api/cases", params={"offset": str(offset)})
        assert resp.status_code == 422, resp.text
        assert "offset" in resp.json()["detail"][0]["loc"]
        assert (await http.get("/api/cases", params={"offset": "1000"})).status_code == 200
