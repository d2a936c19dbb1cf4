"""One trace per event: a known W3C traceparent, sent in the NATS header or in the envelope's
``trace`` field, is continued by intake, the Temporal client and worker (the workflow and its
publishing activity), the registry's projection and the notifier, on the real stack."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence

import httpx
import nats
import pytest
import pytest_asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult

from contracts import subjects
from contracts.domain import DomainEvent
from tests.events import body, event, eventually, new_case_id
from tests.http_intake import agency_key, post_signed
from tests.servers import SERVICE_TOKEN, api_headers, notifier_serving

pytestmark = pytest.mark.integration


class _Switch(Sampler):
    """Samples while the test runs; afterwards every span of the session is a cheap no-op."""

    on = True

    def should_sample(self, *args, **kwargs) -> SamplingResult:  # noqa: ANN002, ANN003
        return (ALWAYS_ON if self.on else ALWAYS_OFF).should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return "lawlink-test-switch"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    sampler = _Switch()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider, "another test installed a tracer provider first"
    yield exporter
    sampler.on = False
    exporter.clear()


@pytest_asyncio.fixture(scope="module")
async def notifier(stack, spans) -> AsyncIterator[str]:  # noqa: ANN001
    durable = f"notifier-trace-{uuid.uuid4().hex[:8]}"
    async with notifier_serving(stack.nats_url, stack.database_url, durable):
        yield durable


def _names(spans: Sequence[ReadableSpan], trace_id: int) -> list[str]:
    return [s.name for s in spans if s.context.trace_id == trace_id]


async def _follow(exporter: InMemorySpanExporter, trace_id: int, durable: str) -> list[str]:
    async def names() -> list[str]:
        return _names(exporter.get_finished_spans(), trace_id)

    wanted = (
        "lawlink intake take",
        "RunWorkflow:",
        "RunActivity:",
        "lawlink registry handle",
        f"lawlink {durable} handle",
    )
    return await eventually(
        names, lambda got: all(any(n.startswith(w) for n in got) for w in wanted), timeout=30
    )


@pytest.mark.parametrize("carrier", ["nats header", "envelope trace field", "http header"])
async def test_an_event_s_trace_runs_through_intake_temporal_registry_and_notifier(
    stack,
    spans,
    notifier,
    carrier,  # noqa: ANN001
) -> None:
    trace_id = uuid.uuid4().int & ((1 << 128) - 1)
    traceparent = f"00-{trace_id:032x}-{uuid.uuid4().hex[:16]}-01"
    data = event("case_transfer", "crime_suspected", case_id=new_case_id("TRACE"))
    headers = {"Nats-Msg-Id": data["event_id"]}
    if carrier == "nats header":
        headers["traceparent"] = traceparent
    else:
        data["trace"] = traceparent
    if carrier == "http header":
        key = await agency_key(stack.nats_url, data["source_agency"])
        async with httpx.AsyncClient(base_url=stack.intake_url) as http:
            resp = await post_signed(http, body(data), key, traceparent=traceparent)
        assert resp.status_code == 202, resp.text
    else:
        nc = await nats.connect(stack.nats_url)
        try:
            await nc.jetstream().publish(
                subjects.inbound(data["source_agency"], data["type"]),
                body(data),
                stream=subjects.STREAM_IN,
                headers=headers,
            )
        finally:
            await nc.close()

    names = await _follow(spans, trace_id, notifier)
    # Temporal's client side is in the same trace: intake started the workflow within its span.
    assert any(n.startswith("StartWorkflow:") for n in names), names
    if carrier == "http header":  # FastAPI's server span of the POST heads the trace
        assert any(n.startswith("POST /v1/events") for n in names), names
    taken = [
        s
        for s in spans.get_finished_spans()
        if s.name == "lawlink intake take" and s.context.trace_id == trace_id
    ]
    assert taken and all(s.parent is not None and s.parent.trace_id == trace_id for s in taken)
    # The domain events name the trace too, so a timeline row leads to it.
    nc = await nats.connect(stack.nats_url)
    try:
        sub = await nc.jetstream().subscribe(
            subjects.outbound("case_transfer", data["case_id"]), ordered_consumer=True
        )
        first = DomainEvent.model_validate_json((await sub.next_msg(timeout=10)).data)
    finally:
        await nc.close()
    assert first.trace is not None and first.trace.split("-")[1] == f"{trace_id:032x}"

    # ... and so does every timeline row it caused, in the registry and on the operator's page.
    async def rows() -> list[dict]:
        async with httpx.AsyncClient(base_url=stack.registry_url, headers=api_headers()) as http:
            resp = await http.get(f"/api/cases/{data['case_id']}/timeline")
        return resp.json() if resp.status_code == 200 else []

    timeline = await eventually(rows, lambda r: len(r) >= 2)
    assert {r["trace_id"] for r in timeline} == {f"{trace_id:032x}"}
    page = _case_page(stack.database_url, data["case_id"], role="operator")
    assert f"{trace_id:032x}" in page and "https://traces.example/trace/" in page
    assert f"{trace_id:032x}" not in _case_page(
        stack.database_url, data["case_id"], role="coordinator", agency="rz-sfj"
    )


def _case_page(database_url: str, case_id: str, *, role: str, agency: str | None = None) -> str:
    """The console's case page as a signed-in user of ``role`` (a session made directly)."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session as DbSession

    from services.console.app import create_app as create_console
    from services.console.auth import Sessions, create_user
    from services.console.settings import ConsoleSettings
    from services.readmodel.db import make_engine

    secret = "tracing-test-session-secret-0123456789"
    engine = make_engine(database_url)
    with DbSession(engine) as session:
        user = create_user(
            session,
            username=f"{role[:5]}-{uuid.uuid4().hex[:6]}",
            password="a-long-password-1",
            role=role,
            agency=agency,
        )
        session.commit()
        user_id = user.id
    cookie, _ = Sessions(engine, secret, 1.0).start(user_id, "127.0.0.1")
    engine.dispose()
    settings = ConsoleSettings(
        DATABASE_URL=database_url,
        LAWLINK_SESSION_SECRET=secret,
        LAWLINK_ENV="test",
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
        LAWLINK_TRACE_URL="https://traces.example/trace/{trace_id}",
    )
    with TestClient(create_console(settings, live=False)) as client:
        client.cookies.set(Sessions.COOKIE, cookie)
        resp = client.get(f"/cases/case_transfer/{case_id}")
    assert resp.status_code == 200, resp.text[:500]
    return resp.text
