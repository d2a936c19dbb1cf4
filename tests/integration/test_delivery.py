"""Delivery guarantees against a private nats-server: dead letters and their replay, and intake
surviving a nats-server restart (nats-py pull subscriptions have been reported to stop)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import nats
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from contracts import subjects
from services.cli import app as cli
from tests.events import event, new_case_id, publish
from tests.misdeployed import broken_worker
from tests.servers import SERVICE_TOKEN, NatsServer, api_headers, free_port, migrated, serve_asgi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@asynccontextmanager
async def private_stack(
    tmp: Path, temporal_address: str, *, worker: bool, update_timeout: float = 10.0
) -> AsyncIterator[dict]:
    from services.connections import connect_nats, ensure_streams
    from services.intake.app import create_app as create_intake
    from services.registry.app import create_app as create_registry
    from services.settings import IntakeSettings, StackSettings

    server = NatsServer(tmp / "nats").start()
    queue = f"private-{uuid.uuid4()}"
    env = {
        "NATS_URL": server.url,
        "TEMPORAL_ADDRESS": temporal_address,
        "LAWLINK_TASK_QUEUE": queue,
        "DATABASE_URL": migrated(f"sqlite:///{tmp / 'rm.db'}"),
        "INTAKE_MAX_DELIVER": "3",
        "INTAKE_BACKOFF": "[0.2, 0.2, 0.2]",
        "INTAKE_UPDATE_TIMEOUT": str(update_timeout),
        "LAWLINK_SERVICE_TOKEN": SERVICE_TOKEN,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    servers = []
    try:
        settings = StackSettings()
        intake_port, registry_port = free_port(), free_port()
        servers.append(await serve_asgi(create_intake(IntakeSettings()), intake_port))
        servers.append(await serve_asgi(create_registry(settings), registry_port))
        nc = await connect_nats(settings, "test")
        await ensure_streams(nc.jetstream())
        yield {
            "server": server,
            "queue": queue,
            "nc": nc,
            "registry": f"http://127.0.0.1:{registry_port}",
            "intake": f"http://127.0.0.1:{intake_port}",
        }
        await nc.close()
    finally:
        for srv, task in servers:
            srv.should_exit = True
            await task
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def _poll(url: str, predicate, timeout: float = 60.0):  # noqa: ANN001, ANN202
    end = asyncio.get_running_loop().time() + timeout
    last = None
    async with httpx.AsyncClient(headers=api_headers()) as http:
        while asyncio.get_running_loop().time() < end:
            resp = await http.get(url)
            last = resp.json() if resp.status_code == 200 else None
            if last is not None and predicate(last):
                return last
            await asyncio.sleep(0.3)
    raise AssertionError(f"{url}: condition not met; last {last!r}")


async def test_exhausted_message_becomes_a_dead_letter_and_replays(
    temporal_dev, tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    from services.connections import connect_nats
    from services.console.routes_ops import registry_replayer
    from services.console.settings import ConsoleSettings
    from services.readmodel.db import make_engine
    from services.readmodel.service_audit import calls
    from services.service_auth import os_actor
    from services.settings import StackSettings
    from services.worker import build_worker
    from workflows.activities import PublishActivities

    target = temporal_dev.client.service_client.config.target_host
    async with private_stack(tmp_path, target, worker=False, update_timeout=1.0) as s:
        case_id = new_case_id("DLQ")
        # The opening event starts the case (Temporal accepts a start without a worker); the next
        # step is an Update. The worker polling this task queue is broken (its every Update
        # fails): the engines all answer, so each failed delivery is the event's own failure.
        # (With no worker at all intake would hold the event instead: an outage, test_chaos_*.)
        async with broken_worker(temporal_dev.client, s["queue"], PublishActivities(s["nc"].jetstream())):
            await publish(s["nc"], event("case_transfer", "crime_suspected", case_id=case_id))
            data = event("case_transfer", "team_formed", case_id=case_id)
            await publish(s["nc"], data)
            letters = await _poll(f"{s['registry']}/api/dead-letters", lambda rows: len(rows) == 1)
        letter = letters[0]
        assert letter["event_id"] == data["event_id"]
        assert letter["deliveries"] == 3
        assert letter["subject"] == subjects.inbound("rz-scjgj", "case_transfer.team_formed")
        assert letter["last_error"] and "update" in letter["last_error"].lower()
        assert json.loads(letter["body"])["case_id"] == case_id

        runner = CliRunner()
        # Not in the checkout: the CLI would load a developer's .lawlink/*.env (make run's).
        monkeypatch.chdir(tmp_path)
        # The CLI is synchronous; run it off this loop, which also serves the registry.
        listed = await asyncio.to_thread(
            runner.invoke, cli, ["dead-letters"], env={"REGISTRY_URL": s["registry"]}
        )
        assert listed.exit_code == 0 and str(letter["stream_seq"]) in listed.output
        # Without the service token the registry turns the CLI away, and the CLI says why.
        anonymous = await asyncio.to_thread(
            runner.invoke,
            cli,
            ["dead-letters"],
            env={"REGISTRY_URL": s["registry"], "LAWLINK_SERVICE_TOKEN": None},
        )
        assert anonymous.exit_code == 1 and "LAWLINK_SERVICE_TOKEN" in anonymous.output

        # The cause is fixed (a worker appears); the operator replays the letter.
        nc = await connect_nats(StackSettings(), "test-worker")
        async with build_worker(temporal_dev.client, s["queue"], PublishActivities(nc.jetstream())):
            replayed = await asyncio.to_thread(
                runner.invoke,
                cli,
                ["dead-letters", "replay", str(letter["id"])],
                env={"REGISTRY_URL": s["registry"]},
            )
            assert replayed.exit_code == 0, replayed.output
            # The console replays it too, for its signed-in operator: each replay is one audit row.
            console = ConsoleSettings(
                REGISTRY_URL=s["registry"],
                LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
                LAWLINK_ENV="test",
                LAWLINK_SESSION_SECRET=secrets.token_urlsafe(32),
            )
            assert (await registry_replayer(console)(letter["id"], "oper"))["replay_count"] == 2
            rows = await _poll(
                f"{s['registry']}/api/cases/{case_id}/timeline",
                lambda rows: any(r["type"] == "case_transfer.team_formed" for r in rows),
            )
            assert [r["type"] for r in rows].count("case_transfer.crime_suspected") == 1
            assert [r["type"] for r in rows].count("case_transfer.team_formed") == 1
        await nc.close()
        after = await _poll(f"{s['registry']}/api/dead-letters", lambda rows: rows[0]["replay_count"] == 2)
        assert after[0]["replayed_at"]
        engine = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
        with Session(engine) as session:
            audited = [
                (r.service, r.actor, r.target, r.outcome) for r in calls(session, action="dead_letter.replay")
            ]
        engine.dispose()
        target = f"dead_letter/{letter['id']}"
        assert audited == [("console", "oper", target, "ok"), ("cli", os_actor(), target, "ok")]


async def test_intake_keeps_consuming_after_a_nats_server_restart(temporal_dev, tmp_path) -> None:  # noqa: ANN001
    from services.connections import connect_nats
    from services.settings import StackSettings
    from services.worker import build_worker
    from workflows.activities import PublishActivities

    target = temporal_dev.client.service_client.config.target_host
    async with private_stack(tmp_path, target, worker=True) as s:
        nc = await connect_nats(StackSettings(), "test-worker")
        async with build_worker(temporal_dev.client, s["queue"], PublishActivities(nc.jetstream())):
            first = new_case_id("RST")
            await publish(s["nc"], event("case_transfer", "crime_suspected", case_id=first))
            await _poll(f"{s['registry']}/api/cases/{first}", lambda c: c["case"]["state"] == "opened")

            s["server"].restart()  # same store dir: streams and durable consumers survive
            await asyncio.sleep(2.0)

            second = new_case_id("RST")
            publisher = await nats.connect(s["server"].url)
            await publish(publisher, event("case_transfer", "crime_suspected", case_id=second))
            await publisher.close()
            case = await _poll(
                f"{s['registry']}/api/cases/{second}", lambda c: c["case"]["state"] == "opened", timeout=90
            )
            assert case["case"]["process"] == "case_transfer" and case["case"]["agency"] == "rz-scjgj"
        await nc.close()
