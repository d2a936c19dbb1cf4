"""SIGTERM stops a service that is still waiting for NATS at start-up.

The NATS client retries its first connection forever, and uvicorn acts on a signal only once
the app's start-up is over: before ``until_connected`` a registry or notifier started while
NATS was down ignored SIGTERM until it was killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.discipline.crypto import generate_key
from tests.servers import free_port, migrated

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SERVICES = {
    "intake": [sys.executable, "-m", "uvicorn", "services.intake.app:app", "--log-level", "info"],
    "registry": [sys.executable, "-m", "uvicorn", "services.registry.app:app", "--log-level", "info"],
    "notifier": [sys.executable, "-m", "uvicorn", "services.notifier.app:app", "--log-level", "info"],
    "worker": [sys.executable, "-m", "services.worker"],
}
STARTED = {"worker": "connecting"}  # what each writes once it is waiting in start-up


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_sigterm_stops_a_service_waiting_for_nats(service: str, tmp_path: Path) -> None:
    log = tmp_path / f"{service}.log"
    env = {
        **os.environ,
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",  # nothing listens there
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "DATABASE_URL": migrated(f"sqlite:///{tmp_path / 'rm.db'}"),
        "LAWLINK_CONTENT_KEY": generate_key(),
        "LAWLINK_CREDENTIAL_KEK": generate_key(),
        "LAWLINK_SERVICE_TOKEN": "a-service-token-of-enough-length-123",
        "LAWLINK_ENV": "development",
        "NATS_RECONNECT_WAIT": "0.2",
        "NATS_RECONNECT_MAX_WAIT": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTEST_CURRENT_TEST", None)
    cmd = [*SERVICES[service], *(["--port", str(free_port())] if "uvicorn" in SERVICES[service] else [])]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        wanted = STARTED.get(service, "Waiting for application startup")
        deadline = time.monotonic() + 60
        while wanted not in log.read_text(errors="replace"):
            assert proc.poll() is None, f"{service} ended before it was waiting: {log.read_text()}"
            assert time.monotonic() < deadline, f"{service} never began its start-up: {log.read_text()}"
            time.sleep(0.1)
        time.sleep(1.0)  # well into the connection's retries
        assert proc.poll() is None, f"{service} gave up on NATS by itself: {log.read_text()}"
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{service} ignored SIGTERM while waiting for NATS: {log.read_text()[-2000:]}")
        assert "stopped by SIGTERM while connecting to NATS" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
