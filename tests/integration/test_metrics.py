"""Every service's ``/metrics``: only for a service credential, and the figures an operator
watches move when events flow through the real stack (NATS, Temporal, intake, registry)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import nats
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from contracts import subjects
from services.connections import connect_temporal_at, temporal_runtime
from services.notifier.webhooks import set_webhook
from services.readmodel.db import make_engine
from services.readmodel.notifications import Webhook
from services.service_auth import credential
from tests.events import event, eventually, new_case_id, publish
from tests.servers import SERVICE_TOKEN, api_headers, free_port, notifier_serving

pytestmark = pytest.mark.integration

PROMETHEUS = {"Authorization": f"Bearer {credential(SERVICE_TOKEN, 'prometheus')}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _scrape(base_url: str) -> Samples:
    async with httpx.AsyncClient(base_url=base_url, headers=PROMETHEUS) as http:
        resp = await http.get("/metrics")
    assert resp.status_code == 200, resp.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest_asyncio.fixture(scope="module")
async def notifier_url(stack) -> AsyncIterator[str]:  # noqa: ANN001
    durable = f"notifier-metrics-{uuid.uuid4().hex[:8]}"
    async with notifier_serving(
        stack.nats_url, stack.database_url, durable, WEBHOOK_BACKOFF=[0.05], WEBHOOK_TIMEOUT=1.0
    ) as url:
        yield url


@pytest.mark.parametrize("service", ["intake", "registry", "notifier"])
async def test_metrics_refuse_a_caller_without_a_service_credential(stack, notifier_url, service) -> None:  # noqa: ANN001
    url = {"intake": stack.intake_url, "registry": stack.registry_url, "notifier": notifier_url}[service]
    async with httpx.AsyncClient(base_url=url) as http:
        anonymous = await http.get("/metrics")
        forged = await http.get("/metrics", headers={"Authorization": "Bearer prometheus.forged"})
    assert anonymous.status_code == 401 and anonymous.json()["detail"]["field"] == "Authorization"
    assert forged.status_code == 401
    async with httpx.AsyncClient(base_url=url, headers=PROMETHEUS) as http:
        text = (await http.get("/metrics")).text  # with the credential: the figures
    families = {f.name for f in text_string_to_metric_families(text)}
    own = {
        "intake": "lawlink_intake_events",
        "registry": "lawlink_open_cases",
        "notifier": "lawlink_webhook_deliveries",
    }
    assert {own[service], "lawlink_http_requests"} <= families, sorted(families)


async def test_intake_and_read_model_figures_move_with_events(stack) -> None:  # noqa: ANN001
    before_intake = await _scrape(stack.intake_url)
    before_registry = await _scrape(stack.registry_url)
    case_id = new_case_id("METRICS")
    nc = await nats.connect(stack.nats_url)
    try:
        rejected = await nc.subscribe(subjects.rejected("rz-scjgj"))
        await publish(nc, event("case_transfer", "crime_suspected", case_id=case_id))
        bad = event("case_transfer", "crime_suspected", case_id=new_case_id("METRICS-BAD"))
        bad["payload"]["officers"] = []
        await publish(nc, bad)
        while True:  # the refusal is the positive signal that intake finished with it
            msg = await rejected.next_msg(timeout=20)
            if bad["event_id"] in msg.data.decode():
                break
    finally:
        await nc.close()

    async def state() -> str | None:
        async with httpx.AsyncClient(base_url=stack.registry_url, headers=api_headers()) as http:
            resp = await http.get(f"/api/cases/{case_id}")
        return resp.json()["case"]["state"] if resp.status_code == 200 else None

    await eventually(state, lambda s: s == "opened", timeout=30)
    intake = await _scrape(stack.intake_url)
    registry = await _scrape(stack.registry_url)

    accepted = ("lawlink_intake_events_total", {"door": "nats", "outcome": "accepted"})
    refused = ("lawlink_intake_events_total", {"door": "nats", "outcome": "rejected"})
    for name, labels in (accepted, refused):
        assert _value(intake, name, **labels) >= _value(before_intake, name, **labels) + 1, (name, labels)
    refusal_fields = {
        dict(labels)["field"] for (name, labels) in intake if name == "lawlink_intake_rejections_total"
    }
    assert any(field.startswith("payload.officers") for field in refusal_fields), refusal_fields
    # FastStream's bus metrics and the HTTP request metrics are in the same scrape.
    assert any(name.startswith("faststream_") for name, _ in intake)
    assert any(name.startswith("faststream_") for name, _ in registry)
    assert (
        _value(
            intake,
            "lawlink_http_requests_total",
            service="intake",
            route="/metrics",
            method="GET",
            status="200",
        )
        == 0
    )

    opened = ("lawlink_open_cases", {"process": "case_transfer", "state": "opened"})
    assert _value(registry, *opened[:1], **opened[1]) >= 1
    assert _value(registry, "lawlink_read_model_events_total") > _value(
        before_registry, "lawlink_read_model_events_total"
    )
    lag = _value(registry, "lawlink_read_model_lag_seconds")
    assert 0 <= lag < 60, lag
    assert _value(registry, "lawlink_metrics_read_errors") == 0
    assert ("lawlink_dead_letters_waiting", frozenset()) in registry


async def test_the_notifier_counts_failed_webhook_deliveries(stack, notifier_url) -> None:  # noqa: ANN001
    """An agency whose endpoint is down: its notification's delivery fails every attempt, and the
    scrape shows one more failed delivery for it."""
    agency = "rz-scjgj"  # the referring agency, told of its head's deadline
    before = _value(await _scrape(notifier_url), "lawlink_webhook_deliveries", status="failed", agency=agency)
    engine = make_engine(stack.database_url)
    with Session(engine) as session:
        set_webhook(session, agency=agency, url=f"http://127.0.0.1:{free_port()}/hook")  # nobody listens
    try:
        nc = await nats.connect(stack.nats_url)
        try:
            case_id = new_case_id("METRICS-HOOK")
            # The report opens the head's three-day deadline, of which the agency is told.
            for step in ("crime_suspected", "team_formed", "transfer_report_submitted"):
                await publish(nc, event("case_transfer", step, case_id=case_id))
        finally:
            await nc.close()

        async def failed() -> float:
            samples = await _scrape(notifier_url)
            return _value(samples, "lawlink_webhook_deliveries", status="failed", agency=agency)

        assert await eventually(failed, lambda n: n >= before + 1, timeout=30) >= before + 1
    finally:
        with Session(engine) as session:  # later tests' notifications must not go to a dead endpoint
            hook = session.get(Webhook, agency)
            if hook is not None:
                session.delete(hook)
                session.commit()
        engine.dispose()


async def test_the_console_counts_its_requests_for_prometheus(stack) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from services.console.app import create_app as create_console
    from services.console.settings import ConsoleSettings

    settings = ConsoleSettings(
        DATABASE_URL=stack.database_url,
        LAWLINK_SESSION_SECRET="metrics-test-session-secret-0123456789",
        LAWLINK_ENV="test",
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
    )
    with TestClient(create_console(settings, live=False)) as client:
        assert client.get("/login").status_code == 200
        assert client.get("/metrics").status_code == 401
        text = client.get("/metrics", headers=PROMETHEUS).text
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    login = {"service": "console", "route": "/login", "method": "GET", "status": "200"}
    assert _value(samples, "lawlink_http_requests_total", **login) == 1


async def test_the_temporal_sdk_serves_its_runtime_metrics(temporal_dev) -> None:  # noqa: ANN001
    address = f"127.0.0.1:{free_port()}"
    client = await connect_temporal_at(
        temporal_dev.client.service_client.config.target_host, runtime=temporal_runtime(address)
    )
    await client.workflow_service.get_system_info(GetSystemInfoRequest())
    async with httpx.AsyncClient() as http:
        text = await eventually(
            lambda: _get_text(http, f"http://{address}/metrics"),
            lambda t: "temporal_request" in t,
            timeout=20,
        )
    assert "temporal_request" in text


async def _get_text(http: httpx.AsyncClient, url: str) -> str:
    try:
        return (await http.get(url)).text
    except httpx.HTTPError:
        return ""
