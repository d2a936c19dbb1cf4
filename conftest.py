"""Session-wide test servers (samples-python ``tests/conftest.py`` pattern), on free ports.

- ``time_skipping_env``: the time-skipping test server, for unit tests of workflows (a year of
  deadlines in seconds).
- ``nats_server`` / ``temporal_dev``: a real nats-server with JetStream and the real Temporal
  dev server, for integration tests.
- ``stack``: those two plus the worker, intake and registry running in this process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.devstack import temporal_dev_server_args
from services.temporal_codec import lawlink_data_converter
from tests.servers import SERVICE_TOKEN, NatsServer, binary, environ, free_port, serve_asgi


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test (about 0.1 s to start).

    Skipped time is global to a server, and a workflow left behind by an earlier test (its
    worker gone, an activity or timer still pending) can hold the server's clock so that the
    next test's ``env.sleep`` hangs; one server per test rules both out.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=lawlink_data_converter(),
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def temporal_dev() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=lawlink_data_converter(),
        port=free_port(),
        ui=False,
        dev_server_log_level="error",
        # As `make run` starts it (one partition per task queue; the pragmas of its SQLite file).
        dev_server_extra_args=temporal_dev_server_args(),
    )
    yield env
    await env.shutdown()


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Undo what a test wrote into ``os.environ`` behind monkeypatch's back.

    The CLI fills unset variables from ``.lawlink/stack.env`` and ``secrets.env`` (``make
    run``'s endpoints and content key), as it should for a user; left in the environment, a dev
    stack's key made a later test seal with one key and open with another.
    """
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def task_queue() -> str:
    """A fresh task queue per test, so workers of different tests never share work."""
    return f"tq-{uuid.uuid4()}"


@dataclass
class Stack:
    """The real stack, started in-process by the ``stack`` fixture."""

    nats_url: str
    temporal: Client
    task_queue: str
    intake_url: str
    registry_url: str
    database_url: str


def _database_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'registry.db'}"


@pytest_asyncio.fixture(scope="session")
async def stack(
    nats_server: NatsServer, temporal_dev: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    from services.connections import connect_nats, ensure_streams
    from services.intake.app import create_app as create_intake
    from services.readmodel.db import migrate
    from services.registry.app import create_app as create_registry
    from services.settings import IntakeSettings, StackSettings
    from services.tracing import temporal_interceptors
    from services.worker import build_worker
    from workflows.activities import PublishActivities

    queue = f"stack-{uuid.uuid4()}"
    target = temporal_dev.client.service_client.config.target_host
    db_url = _database_url(tmp_path_factory.mktemp("registry"))
    migrate(db_url)  # what `lawlink db upgrade` does before the services start
    env = {
        "NATS_URL": nats_server.url,
        "TEMPORAL_ADDRESS": target,
        "LAWLINK_TASK_QUEUE": queue,
        "DATABASE_URL": db_url,
        "LAWLINK_SERVICE_TOKEN": SERVICE_TOKEN,
        "INTAKE_MAX_DELIVER": "3",
        "INTAKE_BACKOFF": "[0.2, 0.2, 0.2]",
        "INTAKE_UPDATE_TIMEOUT": "10",
    }
    with environ(env):
        settings = StackSettings()
        nc = await connect_nats(settings, "test-worker")
        js = nc.jetstream()
        await ensure_streams(js)
        # Traced as the worker's own client traces it (services/connections.py connect_temporal).
        worker = build_worker(
            temporal_dev.client,
            queue,
            PublishActivities(js),
            guarded=True,
            interceptors=temporal_interceptors(),
        )
        intake_port, registry_port = free_port(), free_port()
        async with worker:
            intake_server, intake_task = await serve_asgi(create_intake(IntakeSettings()), intake_port)
            registry_server, registry_task = await serve_asgi(create_registry(settings), registry_port)
            yield Stack(
                nats_url=nats_server.url,
                temporal=temporal_dev.client,
                task_queue=queue,
                intake_url=f"http://127.0.0.1:{intake_port}",
                registry_url=f"http://127.0.0.1:{registry_port}",
                database_url=db_url,
            )
            for server, task in ((intake_server, intake_task), (registry_server, registry_task)):
                server.should_exit = True
                await task
        await nc.drain()
