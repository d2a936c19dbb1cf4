"""Outages do not wedge Lawlink: a long NATS outage, a connection the server closed, a frozen
Temporal, and a dead letter whose body would crash a parser, against real servers.

Reconnect waits, ack waits and timeouts are shrunk through the settings so each test takes
seconds; the behaviours are the production ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from typer.testing import CliRunner

from contracts import subjects
from services.cli import app as cli
from tests.events import event, new_case_id, publish
from tests.servers import (
    SERVICE_TOKEN,
    NatsServer,
    TemporalDevServer,
    api_headers,
    environ,
    free_port,
    migrated,
    serve_asgi,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

# Short enough that the outages below outlast the client's old limit of 60 attempts many times.
FAST_RECONNECT = {"NATS_RECONNECT_WAIT": "0.05", "NATS_RECONNECT_MAX_WAIT": "0.1"}


@asynccontextmanager
async def bus_stack(
    tmp: Path,
    temporal_address: str,
    *,
    services: tuple[str, ...] = ("intake", "registry", "notifier"),
    env: dict[str, str] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """A private nats-server and the chosen services, in this process, on free ports."""
    from services.intake.app import create_app as create_intake
    from services.notifier.app import create_app as create_notifier
    from services.registry.app import create_app as create_registry
    from services.settings import IntakeSettings, StackSettings

    server = NatsServer(tmp / "nats").start()
    queue = f"bus-{uuid.uuid4()}"
    settings_env = {
        "NATS_URL": server.url,
        "TEMPORAL_ADDRESS": temporal_address,
        "LAWLINK_TASK_QUEUE": queue,
        "DATABASE_URL": migrated(f"sqlite:///{tmp / 'rm.db'}"),
        "INTAKE_MAX_DELIVER": "3",
        "INTAKE_BACKOFF": "[0.2, 0.2, 0.2]",
        "INTAKE_UPDATE_TIMEOUT": "5",
        "LAWLINK_SHUTDOWN_TIMEOUT": "3",
        "LAWLINK_HEALTH_TIMEOUT": "0.5",
        "NOTIFIER_DURABLE": f"notifier-{uuid.uuid4().hex[:8]}",
        "LAWLINK_SERVICE_TOKEN": SERVICE_TOKEN,
        **FAST_RECONNECT,
        **(env or {}),
    }
    running: list[tuple[Any, asyncio.Task[None]]] = []
    with environ(settings_env):
        try:
            out: dict[str, Any] = {"server": server, "queue": queue, "apps": {}, "running": running}
            factories: dict[str, Callable[[], Any]] = {
                "intake": lambda: create_intake(IntakeSettings()),
                "registry": lambda: create_registry(StackSettings()),
                "notifier": lambda: _notifier(create_notifier, tmp),
            }
            for name in services:
                port = free_port()
                app = factories[name]()
                running.append(await serve_asgi(app, port))
                out[name] = f"http://127.0.0.1:{port}"
                out["apps"][name] = app
            yield out
        finally:
            for srv, task in running:
                srv.should_exit = True
                await task
            running.clear()
            server.stop()


def _notifier(create: Callable[..., Any], tmp: Path) -> Any:
    from services.notifier.config import NotifierSettings

    # Its own database file: two writers on one SQLite file would only test SQLite's locking.
    return create(NotifierSettings(DATABASE_URL=migrated(f"sqlite:///{tmp / 'notifier.db'}")))


async def _until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    end = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < end:
        try:
            last = check()
            if asyncio.iscoroutine(last):
                last = await last
        except (httpx.HTTPError, nats.errors.Error, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s; last {last!r}")


async def _health(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as http:
        resp = await http.get(f"{url}/healthz")
        return resp.status_code, resp.json()


async def _case_opened(registry: str, case_id: str) -> bool:
    async with httpx.AsyncClient(timeout=5, headers=api_headers()) as http:
        resp = await http.get(f"{registry}/api/cases/{case_id}")
        return resp.status_code == 200 and resp.json()["case"]["state"] == "opened"


async def _publish_new_case(url: str, prefix: str) -> str:
    case_id = new_case_id(prefix)
    nc = await nats.connect(url)
    try:
        await publish(nc, event("case_transfer", "crime_suspected", case_id=case_id))
    finally:
        await nc.close()
    return case_id


@asynccontextmanager
async def _worker(temporal_client: Any, queue: str) -> AsyncIterator[None]:
    """The Temporal worker as ``services.worker.main`` runs it: reconnecting forever, and its
    connection reopened if the library closes it."""
    from services.connections import connect_nats
    from services.resilience import ConnectionKeeper
    from services.settings import StackSettings
    from services.worker import build_worker
    from workflows.activities import PublishActivities

    settings = StackSettings()
    keeper = ConnectionKeeper(name="test-worker", base=0.05, cap=0.1)
    nc = await connect_nats(settings, "test-worker", keeper=keeper)
    try:
        async with build_worker(temporal_client, queue, PublishActivities(nc.jetstream()), guarded=True):
            yield
    finally:
        await keeper.stop()
        await nc.close()


async def test_every_service_recovers_by_itself_after_a_long_nats_outage(temporal_dev, tmp_path) -> None:  # noqa: ANN001
    target = temporal_dev.client.service_client.config.target_host
    async with bus_stack(tmp_path, target) as s, _worker(temporal_dev.client, s["queue"]):
        services = {name: s[name] for name in ("intake", "registry", "notifier")}
        first = await _publish_new_case(s["server"].url, "OUT")
        await _until(lambda: _case_opened(s["registry"], first), "first case in the registry")
        for url in services.values():
            assert (await _health(url))[0] == 200

        s["server"].stop()
        for name, url in services.items():
            status, body = await _until(lambda url=url: _down_health(url), f"{name} reports NATS down")
            assert status == 503 and body["down"][0] == "nats" and body["checks"]["nats"] == "down", body
        # Down for several seconds at 0.05-0.1 s between attempts: well past the 60 attempts after
        # which the client used to give up and close for good.
        await asyncio.sleep(8)
        s["server"].start()

        for name, url in services.items():
            await _until(lambda url=url: _ok_health(url), f"{name} healthy again")
        second = await _publish_new_case(s["server"].url, "OUT")
        await _until(lambda: _case_opened(s["registry"], second), "a new case after the outage")
        await _until(
            lambda: _consumer_caught_up(s["server"].url, s["apps"]["notifier"]), "notifier caught up"
        )


async def _down_health(url: str) -> tuple[int, dict[str, Any]] | None:
    status, body = await _health(url)
    return (status, body) if status == 503 else None


async def _ok_health(url: str) -> bool:
    return (await _health(url))[0] == 200


async def _consumer_caught_up(url: str, notifier_app: Any) -> bool:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        stream = await js.stream_info(subjects.STREAM_OUT)
        durable = os.environ["NOTIFIER_DURABLE"]
        info = await js.consumer_info(subjects.STREAM_OUT, durable)
        return info.delivered.stream_seq == stream.state.last_seq and info.num_ack_pending == 0
    finally:
        await nc.close()


async def _server_closes(app: Any) -> None:
    """Make nats-server close this service's connection with a protocol error, as an oversized
    publish does (the client checks the payload's size but not the headers')."""
    connection = app.state.broker._connection
    await connection.publish("lawlink.probe", b"x", headers={"X-Big": "x" * (connection.max_payload + 10)})


async def test_a_connection_the_server_closed_is_reopened(temporal_dev, tmp_path) -> None:  # noqa: ANN001
    target = temporal_dev.client.service_client.config.target_host
    async with bus_stack(tmp_path, target) as s, _worker(temporal_dev.client, s["queue"]):
        for name in ("intake", "registry", "notifier"):
            app = s["apps"][name]
            await _server_closes(app)
            await _until(lambda app=app: app.state.keeper.reopened >= 1, f"{name} reopened its connection")
            await _until(lambda url=s[name]: _ok_health(url), f"{name} healthy again")
        case_id = await _publish_new_case(s["server"].url, "ERR")
        await _until(lambda: _case_opened(s["registry"], case_id), "a new case after the closes")
        await _until(
            lambda: _consumer_caught_up(s["server"].url, s["apps"]["notifier"]), "notifier caught up"
        )


async def test_a_frozen_temporal_dead_letters_nothing(tmp_path) -> None:  # noqa: ANN001
    from services.connections import DEAD_LETTER_STREAM, INTAKE_DURABLE, connect_temporal_at

    temporal = TemporalDevServer().start()
    try:
        client = await connect_temporal_at(temporal.address)
        env = {
            "INTAKE_UPDATE_TIMEOUT": "1",
            "INTAKE_ACK_WAIT": "2",
            "INTAKE_CONCURRENCY": "2",
            "INTAKE_ENGINE_RETRY_MAX": "0.5",
        }
        async with bus_stack(tmp_path, temporal.address, services=("intake",), env=env) as s:
            opened = await _publish_new_case(s["server"].url, "TMP")
            await _until(lambda: _workflow_exists(client, opened), "a case starts while Temporal runs")

            assert temporal.proc is not None
            temporal.proc.send_signal(signal.SIGSTOP)
            try:
                frozen = [await _publish_new_case(s["server"].url, "TMP") for _ in range(6)]
                status, body = await _until(lambda: _down_health(s["intake"]), "intake reports Temporal down")
                assert status == 503 and body["down"] == ["temporal"], body
                # max_deliver (3) x (1 s update timeout + 0.2 s back-off) is under 4 s, and three
                # ack waits 6 s: frozen for longer than both, every event would have died before.
                await asyncio.sleep(8)
            finally:
                temporal.proc.send_signal(signal.SIGCONT)

            for case_id in frozen:
                await _until(lambda c=case_id: _workflow_exists(client, c), f"case {case_id} started", 30)
            nc = await nats.connect(s["server"].url)
            try:
                js = nc.jetstream()
                await _until(lambda: _all_acked(js, INTAKE_DURABLE), "intake acked every event", timeout=20)
                dead = await js.stream_info(DEAD_LETTER_STREAM)
                assert dead.state.messages == 0
            finally:
                await nc.close()
            assert (await _health(s["intake"]))[0] == 200
    finally:
        temporal.stop()


async def _workflow_exists(client: Any, case_id: str) -> bool:
    from temporalio.service import RPCError

    try:
        await client.get_workflow_handle(f"case_transfer/{case_id}").describe()
    except RPCError:
        return False
    return True


async def _all_acked(js: Any, durable: str) -> Any:
    info = await js.consumer_info(subjects.STREAM_IN, durable)
    return info if info.num_pending == 0 and info.num_ack_pending == 0 else None


async def test_odd_dead_letters_are_recorded_and_listed(temporal_dev, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from services.connections import MAX_DELIVERIES_ADVISORY

    target = temporal_dev.client.service_client.config.target_host
    async with bus_stack(tmp_path, target, services=("registry",)) as s:
        nested = ("[" * 10_000 + "]" * 10_000).encode()
        deep_object = b'{"event_id": "0b9f6a52-6f0e-4d52-9a59-3d3c0f6d7a11", "payload": ' + nested + b"}"
        bodies = {
            "deep": (subjects.inbound("rz-scjgj", "case_transfer.crime_suspected"), deep_object),
            "bad-utf8": (
                subjects.inbound("rz-scjgj", "case_transfer.crime_suspected"),
                b'{"a": "\xff\xfe\xc3"}',
            ),
            "huge": (
                subjects.inbound("rz-scjgj", "case_transfer.crime_suspected"),
                b"{" + b" " * 900_000 + b"}",
            ),
            "confidential": (
                subjects.inbound("rz-scjgj", "discipline_referral.clue_identified"),
                json.dumps({"payload": {"allegation": "secret allegation text"}}).encode(),
            ),
        }
        nc = await nats.connect(s["server"].url)
        try:
            js = nc.jetstream()
            seqs: dict[str, int] = {}
            for name, (subject, data) in bodies.items():
                # Straight into the stream: this test is about recording, whatever intake makes of it.
                ack = await js.publish(subject, data, stream=subjects.STREAM_IN)
                seqs[name] = ack.seq
                advisory = {
                    "type": "io.nats.jetstream.advisory.v1.max_deliver",
                    "stream": subjects.STREAM_IN,
                    "consumer": "intake",
                    "stream_seq": ack.seq,
                    "deliveries": 3,
                }
                await js.publish(MAX_DELIVERIES_ADVISORY, json.dumps(advisory).encode())
        finally:
            await nc.close()

        async def letters() -> list[dict[str, Any]] | None:
            async with httpx.AsyncClient(timeout=5, headers=api_headers()) as http:
                rows = (await http.get(f"{s['registry']}/api/dead-letters")).json()
            return rows if len(rows) == len(bodies) else None

        rows = {r["stream_seq"]: r for r in await _until(letters, "every odd dead letter recorded")}
        deep = rows[seqs["deep"]]
        assert deep["event_id"] == "0b9f6a52-6f0e-4d52-9a59-3d3c0f6d7a11"
        assert deep["body"].startswith('{"event_id"') and "truncated" not in deep["body"]
        assert "\ufffd" in rows[seqs["bad-utf8"]]["body"]
        huge = rows[seqs["huge"]]["body"]
        assert len(huge) < 70_000 and "truncated: 900002 bytes" in huge
        sealed = rows[seqs["confidential"]]["body"]
        assert sealed.startswith("v1:") and "allegation" not in sealed
        # Nowhere in what the API answers a service holding the token (body, error, subject).
        async with httpx.AsyncClient(timeout=5, headers=api_headers()) as http:
            raw = (await http.get(f"{s['registry']}/api/dead-letters")).text
        assert "secret allegation" not in raw and "allegation" not in raw

        monkeypatch.chdir(tmp_path)  # not the checkout's .lawlink/*.env
        listed = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["dead-letters"],
            env={"REGISTRY_URL": s["registry"], "LAWLINK_SERVICE_TOKEN": SERVICE_TOKEN},
        )
        assert listed.exit_code == 0, listed.output
        assert str(seqs["deep"]) in listed.output


async def test_shutdown_is_bounded_while_nats_is_down(temporal_dev, tmp_path) -> None:  # noqa: ANN001
    target = temporal_dev.client.service_client.config.target_host
    async with bus_stack(tmp_path, target, env={"LAWLINK_SHUTDOWN_TIMEOUT": "2"}) as s:
        s["server"].stop()
        for name in ("intake", "registry", "notifier"):
            await _until(lambda url=s[name]: _down_health(url), f"{name} reports NATS down")
        loop = asyncio.get_running_loop()
        started = loop.time()
        for srv, _task in s["running"]:
            srv.should_exit = True
        # Each service drains for at most its 2 s bound while its client keeps reconnecting.
        await asyncio.wait_for(asyncio.gather(*(task for _srv, task in s["running"])), timeout=15)
        assert loop.time() - started < 12
        s["running"].clear()
