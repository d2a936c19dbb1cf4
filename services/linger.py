"""Run a server so that Ctrl-C on ``make run`` stops it after the services that use it.

The supervisor (``services/supervisor.py``) stops a stack by sending SIGTERM to every process
group at once. nats-server exits in milliseconds, so the services then fail to drain their consumers and print tracebacks while
shutting down, and in-flight acks are lost (redelivered later: safe, but noisy and slow).
``python -m services.linger --port PORT [--grace S] -- CMD ARGS...`` runs CMD in a session of its
own, so the supervisor's signal reaches only this wrapper; on SIGTERM or SIGINT it waits until no other
process holds a connection to CMD's ``PORT`` (every service has closed its client, which
happens after it drained) or ``--grace`` seconds passed, then stops CMD and exits with its code.
Connections come from ``/proc/net/tcp``; the server's own (Temporal's internal worker dials its
own frontend) do not count. Where ``/proc`` is missing nothing counts: CMD stops at once. The
default grace stays well under the supervisor's before SIGKILL; on Linux CMD also gets SIGTERM if
the wrapper itself dies, so a killed wrapper leaves no server behind.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DEFAULT_GRACE = 3.0
_PR_SET_PDEATHSIG = 1
_ESTABLISHED = "01"  # st column of /proc/net/tcp


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when its parent dies (Linux; elsewhere a no-op)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _client_sockets(port: int) -> set[int]:
    """Inodes of established TCP sockets on this host whose far end is ``port``: its clients."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == _ESTABLISHED and int(fields[2].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def _sockets_of(pid: int) -> set[int]:
    """Socket inodes held by process ``pid``."""
    inodes: set[int] = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def has_clients(port: int, server_pid: int) -> bool:
    """True while a process other than the server is connected to ``port``."""
    return bool(_client_sockets(port) - _sockets_of(server_pid))


def wait_until(done: Callable[[], bool], grace: float) -> bool:
    """Block until ``done()`` or ``grace`` seconds passed; True if it came true."""
    deadline = time.monotonic() + grace
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def run(cmd: Sequence[str], port: int | None, grace: float) -> int:
    """Run ``cmd``; on a stop signal, outlive its clients (up to ``grace`` s), then stop it."""
    child = subprocess.Popen(list(cmd), start_new_session=True, preexec_fn=die_with_parent)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while child.poll() is None and not stop.wait(0.2):
        pass
    if child.poll() is None:
        if port is not None and not wait_until(lambda: not has_clients(port, child.pid), grace):
            print(
                f"linger: clients still connected to port {port} after {grace:.0f}s; stopping anyway",
                file=sys.stderr,
            )
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.linger", description="Stop a server only after its clients have gone."
    )
    parser.add_argument("--port", type=int, help="the server's port whose other clients are awaited")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE, help="longest wait, seconds")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the server's command line")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("cmd: give the server's command after --")
    sys.exit(run(cmd, args.port, args.grace))


if __name__ == "__main__":
    main(sys.argv[1:])
