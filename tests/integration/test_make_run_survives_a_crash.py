"""``make run`` survives ``kill -9`` of its worker: the whole dev stack (``lawlink dev``, as the
Makefile runs it) on free ports in a temporary directory; the worker is killed, the supervisor
logs it and starts it again, the console and NATS keep their processes and keep answering, and
Ctrl-C afterwards still stops everything cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.devstack import DEFAULT_PORTS
from tests.servers import free_port

pytestmark = pytest.mark.integration

STARTED = re.compile(r"supervisor \| (\w+) started \(pid (\d+)\)")


def _started(log: Path) -> list[tuple[str, int]]:
    return [(name, int(pid)) for name, pid in STARTED.findall(log.read_text(errors="replace"))]


def _until(condition, timeout: float, what: str, log: Path) -> None:  # noqa: ANN001 - a predicate
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n--- lawlink dev output ---\n{log.read_text()[-6000:]}"
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_kill_9_of_the_worker_restarts_it_and_the_rest_keep_running(tmp_path: Path) -> None:
    ports = {f"LAWLINK_{name}_PORT": str(free_port()) for name in DEFAULT_PORTS}
    # The session's own stack settings (NATS_URL, DATABASE_URL, ...) must not leak into this stack.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NATS_", "TEMPORAL_", "LAWLINK_", "DATABASE_"))
    }
    env.update(ports)
    log = tmp_path / "dev.log"
    lawlink = Path(sys.executable).parent / "lawlink"
    with log.open("w") as out:
        dev = subprocess.Popen(
            [str(lawlink), "dev"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _until(
            lambda: "Lawlink is up" in log.read_text(errors="replace"), 180, "the stack never came up", log
        )
        before = dict(_started(log))
        console = f"http://127.0.0.1:{ports['LAWLINK_CONSOLE_PORT']}"
        assert httpx.get(f"{console}/login", timeout=10).status_code == 200

        os.kill(before["worker"], signal.SIGKILL)
        _until(lambda: len([n for n, _ in _started(log) if n == "worker"]) == 2, 30, "no restart", log)
        text = log.read_text(errors="replace")
        assert "worker killed by SIGKILL" in text and "the other processes keep running" in text
        new_worker = [pid for name, pid in _started(log) if name == "worker"][-1]
        time.sleep(5)  # the new worker connects to Temporal and NATS and stays up
        os.kill(new_worker, 0)
        assert dev.poll() is None
        after = _started(log)
        for name in ("nats", "temporal", "intake", "registry", "notifier", "console", "codec"):
            assert [pid for n, pid in after if n == name] == [before[name]], f"{name} was restarted"
        assert httpx.get(f"{console}/login", timeout=10).status_code == 200
        # The codec server for the Temporal UI runs beside them, and so do the worker's metrics.
        codec = f"http://127.0.0.1:{ports['LAWLINK_CODEC_PORT']}"
        assert httpx.get(f"{codec}/healthz", timeout=10).json() == {"status": "ok"}
        metrics = f"http://127.0.0.1:{ports['LAWLINK_WORKER_METRICS_PORT']}/metrics"
        _until(lambda: _answers(metrics), 30, "the new worker serves no SDK metrics", log)

        dev.send_signal(signal.SIGINT)  # Ctrl-C
        assert dev.wait(timeout=60) == 0, log.read_text()[-4000:]
        for _, pid in _started(log):
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
