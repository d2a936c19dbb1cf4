"""``lawlink serve SERVICE``, the command every container of a deployment runs: it serves on the
given port once its dependencies answer, and on a read model that ``lawlink db upgrade`` has not
brought up to date it exits at once with one clear line instead of serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic import command

from services.readmodel.db import alembic_config
from tests.servers import SERVICE_TOKEN, NatsServer, free_port, migrated

pytestmark = pytest.mark.integration

LAWLINK = str(Path(sys.executable).parent / "lawlink")


def _env(nats: NatsServer, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "NATS_URL": nats.url,
        "DATABASE_URL": database_url,
        "LAWLINK_SERVICE_TOKEN": SERVICE_TOKEN,
        "LAWLINK_ENV": "test",
    }


def test_serve_runs_the_registry_on_its_port(nats_server: NatsServer, tmp_path: Path) -> None:
    port = free_port()
    env = _env(nats_server, migrated(f"sqlite:///{tmp_path / 'rm.db'}"))
    proc = subprocess.Popen(
        [LAWLINK, "serve", "registry", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the registry never answered /healthz"
            time.sleep(0.2)
    finally:
        proc.terminate()
        code = proc.wait(timeout=20)
    # SIGTERM: a graceful stop (uvicorn re-raises the signal once it has shut down).
    assert code in (0, -signal.SIGTERM)
    assert proc.stderr is not None and "Application shutdown complete" in proc.stderr.read().decode()


def test_serve_on_an_old_schema_exits_naming_the_upgrade(nats_server: NatsServer, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0001")
    done = subprocess.run(
        [LAWLINK, "serve", "notifier", "--host", "127.0.0.1", "--port", str(free_port())],
        env=_env(nats_server, url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "notifier: the read model at" in done.stderr and "lawlink db upgrade" in done.stderr
