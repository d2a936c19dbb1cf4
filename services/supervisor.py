"""``make run``'s process supervisor: every line of a Procfile runs, and one that dies comes back.

``python -m services.supervisor PROCFILE`` starts each ``name: command`` line (through
``/bin/sh``, in a session of its own so the terminal's Ctrl-C reaches only the supervisor),
prefixes every line of its output with the time and its name, and when a process exits on its
own (a crash, ``kill -9``) logs how it ended and starts it again after a back-off: 1 s, doubling
up to :data:`MAX_BACKOFF` seconds, back to 1 s once a run has lasted :data:`STABLE_SECONDS`. The
other processes keep running throughout; a service that lost a dependency reconnects by itself.

On SIGINT or SIGTERM it sends SIGTERM to every process group at once (the servers outlive their
clients by themselves, ``services/linger.py``), waits up to ``--grace`` seconds and then kills
what is left. A supervisor that stops for good this way exits 0; one killed outright takes its
processes with it (Linux's parent-death signal, as ``services/linger.py`` does for its server).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from services.linger import die_with_parent

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
# A run this long counts as healthy: the next crash is restarted after the first back-off again.
STABLE_SECONDS = 60.0
# Longer than a service's own drain limit (LAWLINK_SHUTDOWN_TIMEOUT, 10 s) plus linger's grace.
DEFAULT_GRACE = 15.0

_COLOURS = ("36", "33", "32", "35", "34", "31", "96", "93", "92")


def parse_procfile(text: str) -> dict[str, str]:
    """``name: command`` lines in order; a malformed or repeated name is an error naming the line."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        name = name.strip()
        if not sep or not name or not command.strip() or not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"Procfile line {number}: expected 'name: command', got {line!r}")
        if name in entries:
            raise ValueError(f"Procfile line {number}: process {name!r} is defined twice")
        entries[name] = command.strip()
    return entries


def next_backoff(previous: float | None, ran_for: float) -> float:
    """The wait before the next start: doubles while crashes follow each other, resets after a
    run of :data:`STABLE_SECONDS`, never more than :data:`MAX_BACKOFF`."""
    if previous is None or ran_for >= STABLE_SECONDS:
        return FIRST_BACKOFF
    return min(previous * 2, MAX_BACKOFF)


def describe_exit(code: int) -> str:
    """``exited with code 1`` or ``killed by SIGKILL`` (``Popen.returncode`` is -signal)."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class _Process:
    name: str
    command: str
    colour: str
    popen: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float | None = None
    restarts: int = 0
    readers: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    """Runs the processes, restarts those that die, stops them all on request."""

    def __init__(
        self, entries: dict[str, str], *, grace: float = DEFAULT_GRACE, out: IO[str] | None = None
    ) -> None:
        self._processes = [
            _Process(name, command, _COLOURS[i % len(_COLOURS)])
            for i, (name, command) in enumerate(entries.items())
        ]
        self._grace = grace
        self._out = out or sys.stdout
        self._colour = self._out.isatty()
        self._width = max([len(n) for n in entries] + [len("supervisor")])
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def log(self, name: str, text: str, colour: str = "0") -> None:
        """One prefixed line (lines of different processes never interleave mid-line)."""
        prefix = f"{time.strftime('%H:%M:%S')} {name:<{self._width}} | "
        if self._colour:
            prefix = f"\033[{colour}m{prefix}\033[0m"
        with self._lock:
            self._out.write(prefix + text + "\n")
            self._out.flush()

    def _pump(self, process: _Process, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.log(process.name, raw.decode("utf-8", "replace").rstrip("\n"), process.colour)
        stream.close()

    def _start(self, process: _Process) -> None:
        command = process.command if process.command.startswith("exec ") else f"exec {process.command}"
        popen = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A supervisor killed outright takes its processes with it instead of orphaning them.
            preexec_fn=die_with_parent,
        )
        process.popen, process.started = popen, time.monotonic()
        assert popen.stdout is not None
        reader = threading.Thread(target=self._pump, args=(process, popen.stdout), daemon=True)
        reader.start()
        process.readers = [reader]
        self.log("supervisor", f"{process.name} started (pid {popen.pid})")

    def stop(self) -> None:
        """Ask the loop to stop everything (signal handlers call this)."""
        self._stopping.set()

    def run(self) -> int:
        """Start every process and keep them running until :meth:`stop`; returns the exit code."""
        for process in self._processes:
            self._start(process)
        due: dict[str, float] = {}
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            for process in self._processes:
                if process.name in due:
                    if now >= due[process.name]:
                        del due[process.name]
                        process.restarts += 1
                        self._start(process)
                    continue
                assert process.popen is not None
                code = process.popen.poll()
                if code is None:
                    continue
                for reader in process.readers:
                    reader.join(timeout=1)
                ran_for = now - process.started
                process.backoff = next_backoff(process.backoff, ran_for)
                due[process.name] = now + process.backoff
                self.log(
                    "supervisor",
                    f"{process.name} {describe_exit(code)} after {ran_for:.1f}s; "
                    f"restarting in {process.backoff:.0f}s (restart {process.restarts + 1}); "
                    "the other processes keep running",
                )
        self._stop_all()
        return 0

    def _stop_all(self) -> None:
        running = [p for p in self._processes if p.popen is not None and p.popen.poll() is None]
        self.log("supervisor", "stopping " + ", ".join(p.name for p in running))
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + self._grace
        for process in running:
            assert process.popen is not None
            try:
                process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log("supervisor", f"{process.name} still running after {self._grace:.0f}s; killing it")
                _signal_group(process, signal.SIGKILL)
                process.popen.wait()
        for process in running:
            for reader in process.readers:
                reader.join(timeout=1)


def _signal_group(process: _Process, signum: int) -> None:
    assert process.popen is not None
    try:
        os.killpg(process.popen.pid, signum)
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.supervisor",
        description="Run a Procfile's processes, restarting each one that dies, until Ctrl-C.",
    )
    parser.add_argument("procfile", type=Path)
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE, help="seconds to stop before SIGKILL")
    args = parser.parse_args(argv)
    try:
        entries = parse_procfile(args.procfile.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        parser.error(f"procfile: {exc}")
    if not entries:
        parser.error(f"procfile: {args.procfile} names no process")
    supervisor = Supervisor(entries, grace=args.grace)
    signal.signal(signal.SIGINT, lambda *_: supervisor.stop())
    signal.signal(signal.SIGTERM, lambda *_: supervisor.stop())
    sys.exit(supervisor.run())


if __name__ == "__main__":
    main(sys.argv[1:])
