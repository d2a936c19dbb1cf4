"""The benchmark's private stack: every server a subprocess on free ports, in a fresh directory.

Subprocesses rather than in-process services, so that each one's resident memory can be read
from ``/proc/<pid>/status`` and none of them shares the benchmark driver's event loop (a driver
publishing thousands of events would otherwise slow the very service it measures).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.devstack import temporal_dev_server_args
from tests.servers import SERVICE_TOKEN, NatsServer, binary, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
_COUNTER = re.compile(r"^(?P<name>\w+)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def rss_mib(pid: int | None) -> float | None:
    """Resident memory of a process in MiB (``VmRSS``), or None when it is gone."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time a process has used so far (``/proc/<pid>/stat``), or None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime field 14 and stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def calendar_schedule_2027() -> dict[str, object]:
    """A loaded holiday schedule for the year after chinese-calendar's data, so every opening
    event carries one schedule in its start input, as it does on a real deployment."""
    holidays = ["2027-01-01", *(f"2027-02-{d:02d}" for d in range(6, 13)), "2027-10-01", "2027-10-04"]
    workdays = ["2027-02-20", "2027-10-09"]  # Saturdays worked in lieu (调休)
    return {"year": 2027, "holidays": holidays, "workdays": workdays}


@dataclass
class Service:
    """One subprocess of the stack, with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> float | None:
        """Its resident memory in MiB."""
        return rss_mib(self.proc.pid) if self.proc.poll() is None else None

    def check_alive(self) -> None:
        """Fail loudly, with the tail of its log, when the service died."""
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log {self.log}:\n{tail}")

    def wait_healthy(self, timeout: float = 90.0) -> None:
        """Until the HTTP service answers ``/healthz`` on its port (its lifespan finished:
        consumers running); fails with its log if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} did not become healthy within {timeout}s (log {self.log})")

    def stop(self) -> None:
        """SIGTERM (graceful: drains consumers), then SIGKILL after 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass(frozen=True)
class CpuLayout:
    """Which CPUs the Temporal dev server runs on, and which everything else does (nats-server,
    Lawlink's services, the bench's driver and its no-op worker).

    Split, the dev server gets a core of its own, as the engine has hosts of its own in
    production (DESIGN.md): Lawlink's CPU then cannot slow the engine it is measured against, and
    the ratio says whether Lawlink keeps up with the engine. Shared, every process may run on
    every CPU, and the ratio also counts what Lawlink's CPU takes from the engine on one small
    box. ``make bench`` judges the split layout and measures the shared one beside it
    (tests/bench/README.md, "Why a core for the engine").
    """

    engine: frozenset[int]
    others: frozenset[int]

    @property
    def split(self) -> bool:
        """Whether the dev server and the rest run on different CPUs."""
        return self.engine != self.others

    def shared(self) -> CpuLayout:
        """The same CPUs, every process free to run on any of them."""
        every = self.engine | self.others
        return CpuLayout(every, every)

    def describe(self) -> dict[str, list[int]]:
        """The CPU numbers of each side, for the JSON."""
        return {"temporal": sorted(self.engine), "everything_else": sorted(self.others)}


def cpu_layout(*, split: bool) -> CpuLayout:
    """The first half of the CPUs this process may use for the dev server and the other half
    for the rest (one core each on a 2-core machine), or all of them for both when ``split`` is
    off or there is only one."""
    allowed = sorted(os.sched_getaffinity(0))
    if not split or len(allowed) < 2:
        return CpuLayout(frozenset(allowed), frozenset(allowed))
    half = len(allowed) // 2
    return CpuLayout(frozenset(allowed[:half]), frozenset(allowed[half:]))


def pin_process(pid: int, cpus: frozenset[int]) -> None:
    """Every thread of ``pid`` to ``cpus``; threads it starts later inherit their creator's CPUs.

    A thread that ends meanwhile is skipped: only the running ones need moving.
    """
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
        except (ProcessLookupError, FileNotFoundError):
            pass


@dataclass
class BenchStack:
    """nats-server, Temporal dev server (fresh SQLite file), worker, intake and registry."""

    workdir: Path
    task_queue: str = "lawlink-bench"
    nats: NatsServer | None = None
    temporal: Service | None = None
    temporal_port: int = 0
    temporal_metrics_port: int = 0
    services: dict[str, Service] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    content_key: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode())
    layout: CpuLayout = field(default_factory=lambda: cpu_layout(split=False))
    _driver_cpus: frozenset[int] = field(
        init=False, default_factory=lambda: frozenset(os.sched_getaffinity(0))
    )

    @property
    def nats_url(self) -> str:
        assert self.nats is not None
        return self.nats.url

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def registry_db(self) -> Path:
        return self.workdir / "registry.db"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.registry_db}"

    def url(self, name: str) -> str:
        """Base URL of an HTTP service of the stack."""
        return f"http://127.0.0.1:{self.services[name].port}"

    def env(self) -> dict[str, str]:
        """The environment every Lawlink service of the stack reads (services/settings.py)."""
        env = dict(os.environ)
        env.update(
            {
                # A read-only registry (read-model phase) needs no engines: nothing listens there.
                "NATS_URL": self.nats.url if self.nats is not None else "nats://127.0.0.1:1",
                "TEMPORAL_ADDRESS": self.temporal_address,
                "LAWLINK_TASK_QUEUE": self.task_queue,
                "DATABASE_URL": self.database_url,
                "LAWLINK_CALENDAR_DIR": str(self.workdir / "calendar"),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
            }
        )
        # Run the services as a deployment does, with compiled bytecode: a development shell's
        # PYTHONDONTWRITEBYTECODE would make the workflow sandbox recompile the workflow modules'
        # source for every new workflow (measured: a quarter of the worker's CPU). The cache goes
        # to the bench's directory, not into the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.workdir / "pycache")
        # Every service that holds referral content (the registry's store, the Temporal payload
        # codec of intake, worker and this driver) needs a key: a throwaway one for the stack.
        os.environ.setdefault("LAWLINK_CONTENT_KEY", self.content_key)
        env.setdefault("LAWLINK_CONTENT_KEY", os.environ["LAWLINK_CONTENT_KEY"])
        # Intake starts only with the key that seals agency keys; the bench sends over NATS only.
        env.setdefault("LAWLINK_CREDENTIAL_KEK", self.content_key)
        # The registry's API admits only services holding the token (the read phase times it).
        env.setdefault("LAWLINK_SERVICE_TOKEN", SERVICE_TOKEN)
        env.update(self.extra_env)
        return env

    # ----- lifecycle ----------------------------------------------------------------------------

    def start_servers(self, *, nats: bool = True) -> None:
        """The two engines: nats-server with JetStream (unless ``nats`` is False: a cluster of the
        caller's, named by ``NATS_URL`` in ``extra_env``) and the Temporal dev server."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        calendar = self.workdir / "calendar"
        calendar.mkdir(exist_ok=True)
        (calendar / "2027.json").write_text(json.dumps(calendar_schedule_2027()), encoding="utf-8")
        if nats:
            (self.workdir / "nats").mkdir(exist_ok=True)
            self.nats = NatsServer(self.workdir / "nats").start()
        self.temporal_port = free_port()
        self.temporal_metrics_port = free_port()
        self.start_temporal()
        self.apply_layout(self.layout)

    def start_temporal(self) -> None:
        """The dev server on the stack's ports and SQLite file: called again after a crash, it
        comes back with every workflow it had (the chaos suite restarts it)."""
        log = self.workdir / "temporal.log"
        proc = subprocess.Popen(
            [
                binary("temporal"),
                "server",
                "start-dev",
                "--db-filename",
                str(self.workdir / "temporal.db"),
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--http-port",
                str(free_port()),
                "--metrics-port",
                str(self.temporal_metrics_port),
                "--headless",
                "--log-level",
                "error",
                *temporal_dev_server_args(),
            ],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        self.temporal = Service("temporal", proc, log, self.temporal_port)
        wait_for_port(self.temporal_port, timeout=60)

    def apply_layout(self, layout: CpuLayout) -> None:
        """Move the dev server's threads to ``layout.engine`` and every other process of the
        stack, this driver included, to ``layout.others``. Services spawned afterwards inherit
        the driver's CPUs."""
        self.layout = layout
        for name, pid in self.pids().items():
            pin_process(pid, layout.engine if name == "temporal" else layout.others)
        pin_process(os.getpid(), layout.others)

    def _spawn(
        self, name: str, args: list[str], port: int | None = None, env: dict[str, str] | None = None
    ) -> Service:
        log = self.workdir / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            env={**self.env(), **(env or {})},
            cwd=ROOT,
        )
        service = Service(name, proc, log, port)
        self.services[name] = service
        return service

    def spawn_python(self, name: str, module: str, *args: str, env: dict[str, str] | None = None) -> Service:
        """A ``python -m module`` subprocess with the stack's environment (workers), plus ``env``."""
        return self._spawn(name, ["-m", module, *args], env=env)

    def spawn_asgi(
        self, name: str, target: str, *, factory: bool = False, env: dict[str, str] | None = None
    ) -> Service:
        """A uvicorn subprocess serving ``target`` on a free port, with the stack's environment plus ``env``."""
        port = free_port()
        args = [
            "-m",
            "uvicorn",
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        if factory:
            args.append("--factory")
        return self._spawn(name, args, port, env)

    def start_lawlink(self) -> None:
        """Worker, intake and registry, as ``lawlink dev`` would run them (after its schema upgrade)."""
        from services.readmodel.db import migrate

        migrate(self.database_url)
        self.spawn_python("worker", "services.worker")
        self.spawn_asgi("intake", "services.intake.app:app")
        self.spawn_asgi("registry", "services.registry.app:app")
        for name in ("intake", "registry"):
            self.wait_healthy(name)

    def wait_healthy(self, name: str, timeout: float = 90.0) -> None:
        """Until the service answers ``/healthz`` (its lifespan finished: consumers running)."""
        self.services[name].wait_healthy(timeout)

    def temporal_counters(self, metric: str, labels: tuple[str, ...]) -> dict[str, float]:
        """The dev server's Prometheus counter ``metric`` so far, summed by the values of
        ``labels`` (joined with ``:``); diff two readings around a phase."""
        out: dict[str, float] = {}
        text = httpx.get(f"http://127.0.0.1:{self.temporal_metrics_port}/metrics", timeout=10).text
        for line in text.splitlines():
            match = _COUNTER.match(line)
            if match and match["name"] == metric:
                found = dict(_LABEL.findall(match["labels"]))
                key = ":".join(found.get(label, "") for label in labels)
                out[key] = out.get(key, 0.0) + float(match["value"])
        return out

    def temporal_cache_evictions(self) -> dict[str, float]:
        """Entries the dev server's history service has evicted so far, per cache type: an
        evicted workflow's state is read back from SQLite next time."""
        return self.temporal_counters("cache_entry_age_on_eviction_count", ("cache_type",))

    def temporal_persistence_requests(self) -> dict[str, float]:
        """Database operations the dev server has made so far, as ``service:operation``: diffed
        around a phase, they say whether a start cost the server more work or the same work
        more CPU."""
        return self.temporal_counters("persistence_requests", ("service_name", "operation"))

    def check_alive(self) -> None:
        """Every subprocess still runs."""
        for service in self.services.values():
            service.check_alive()
        if self.temporal is not None:
            self.temporal.check_alive()

    def rss(self) -> dict[str, float | None]:
        """Resident memory of every process of the stack, MiB."""
        out = {name: s.rss() for name, s in self.services.items()}
        if self.temporal is not None:
            out["temporal"] = self.temporal.rss()
        if self.nats is not None and self.nats.proc is not None:
            out["nats"] = rss_mib(self.nats.proc.pid)
        return out

    def pids(self) -> dict[str, int]:
        """Process id of every running process of the stack."""
        out = {name: s.pid for name, s in self.services.items() if s.proc.poll() is None}
        if self.temporal is not None:
            out["temporal"] = self.temporal.pid
        if self.nats is not None and self.nats.proc is not None:
            out["nats"] = self.nats.proc.pid
        return out

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by every process of the stack (diff two readings per phase)."""
        out = {}
        for name, pid in self.pids().items():
            value = cpu_seconds(pid)
            if value is not None:
                out[name] = value
        return out

    def stop_service(self, name: str) -> None:
        """Stop one Lawlink subprocess and forget it."""
        service = self.services.pop(name, None)
        if service is not None:
            service.stop()

    def stop(self) -> None:
        """Everything, Lawlink services first so they drain against live servers."""
        for name in list(self.services):
            self.stop_service(name)
        if self.temporal is not None:
            self.temporal.stop()
            self.temporal = None
        if self.nats is not None:
            self.nats.stop()
            self.nats = None
        pin_process(os.getpid(), self._driver_cpus)
