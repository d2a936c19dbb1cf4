"""Ctrl-C on ``make run``: a server outlives the services that use it (services/linger.py).

The "server" here is a small Python process that listens on a port and records when it got
SIGTERM; the "service" is a client connection from the test process, closed when the test likes.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from services.linger import wait_until

ROOT = Path(__file__).resolve().parents[2]

SERVER = textwrap.dedent(
    """
    import signal, socket, sys, time
    from pathlib import Path
    out = Path(sys.argv[1])
    listener = socket.socket()
    listener.bind(("127.0.0.1", int(sys.argv[3])))
    listener.listen()
    held = []
    def stop(*_):
        (out / "stopped").write_text(repr(time.monotonic()))
        sys.exit(int(sys.argv[2]))
    signal.signal(signal.SIGTERM, stop)
    (out / "ready").write_text("1")
    listener.settimeout(0.05)
    while True:
        try:
            held.append(listener.accept()[0])
        except OSError:
            pass
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp_path: Path, port: int, grace: float, code: int = 0) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "services.linger", "--grace", str(grace), "--port", str(port)]
    cmd += ["--", sys.executable, "-c", SERVER, str(tmp_path), str(code), str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (tmp_path / "ready").exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the wrapped server never started"
        time.sleep(0.05)
    return proc


def _client(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def test_server_is_stopped_only_after_its_clients_are_gone(tmp_path: Path) -> None:
    port = _free_port()
    proc = _start(tmp_path, port, grace=20)
    service = _client(port)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.8)
    assert proc.poll() is None
    assert not (tmp_path / "stopped").exists(), "the server was stopped while a client was connected"
    service.close()
    closed_at = time.monotonic()
    assert proc.wait(timeout=10) == 0
    assert float((tmp_path / "stopped").read_text()) >= closed_at


def test_grace_bounds_the_wait_and_says_so(tmp_path: Path) -> None:
    port = _free_port()
    proc = _start(tmp_path, port, grace=0.5)
    service = _client(port)
    try:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert (tmp_path / "stopped").exists()
        assert "still connected" in (proc.stderr.read() if proc.stderr else "")
    finally:
        service.close()


def test_server_without_clients_stops_at_once_with_its_exit_code(tmp_path: Path) -> None:
    proc = _start(tmp_path, _free_port(), grace=20, code=3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 3
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("false_for", [0, 3])
def test_wait_until_polls_until_done(false_for: int) -> None:
    calls = {"n": 0}

    def done() -> bool:
        calls["n"] += 1
        return calls["n"] > false_for

    assert wait_until(done, grace=5)
    assert calls["n"] == false_for + 1


def test_wait_until_gives_up_after_grace() -> None:
    assert not wait_until(lambda: False, grace=0.3)
