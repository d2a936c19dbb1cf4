"""The chaos suite's stack: the bench's subprocess stack plus the notifier, and the means to
crash, restart, stop and freeze each of its processes.

Every Lawlink service is its own OS process, started as ``make run`` starts it (uvicorn for the
HTTP services, ``python -m services.worker``), so ``kill -9`` hits exactly one component.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.bench.stack import BenchStack

# How each Lawlink service is started: ("python", module) or ("asgi", target).
SERVICES: dict[str, tuple[str, str]] = {
    "intake": ("asgi", "services.intake.app:app"),
    "worker": ("python", "services.worker"),
    "registry": ("asgi", "services.registry.app:app"),
    "notifier": ("asgi", "services.notifier.app:app"),
}
HTTP_SERVICES = ("intake", "registry", "notifier")


@dataclass(frozen=True)
class Timing:
    """The reconnect and delivery settings the services run with.

    ``reconnect_wait``/``reconnect_max_wait`` bound the wait between NATS reconnect attempts, so
    the client's old give-up (60 attempts) came after at most ``60 * reconnect_max_wait``
    seconds; every NATS outage of the suite lasts longer than that. ``intake`` overrides intake's
    delivery knobs (None: production defaults).
    """

    reconnect_wait: float
    reconnect_max_wait: float
    intake: dict[str, str] | None = None

    @property
    def old_give_up_seconds(self) -> float:
        """When the NATS client used to close for good: 60 attempts at the longest wait."""
        return 60 * self.reconnect_max_wait

    def env(self) -> dict[str, str]:
        """The settings as the services' environment variables (services/settings.py)."""
        return {
            "NATS_RECONNECT_WAIT": str(self.reconnect_wait),
            "NATS_RECONNECT_MAX_WAIT": str(self.reconnect_max_wait),
            "LAWLINK_SHUTDOWN_TIMEOUT": "3",
            **(self.intake or {}),
        }


class ChaosStack:
    """nats-server, the Temporal dev server, worker, intake, registry and notifier."""

    def __init__(self, workdir: Path, timing: Timing) -> None:
        self.timing = timing
        self.bench = BenchStack(workdir, task_queue="lawlink-chaos", extra_env=timing.env())

    def start(self) -> None:
        """Both engines, the read model's schema (``make run`` migrates before any service
        starts: registry and notifier share the database), then every service, each healthy."""
        from services.readmodel.db import migrate

        self.bench.start_servers()
        migrate(self.bench.database_url)
        for name in SERVICES:
            self.start_service(name)
        self.wait_healthy()

    def stop(self) -> None:
        """Everything (a frozen dev server is thawed first so it can stop)."""
        self.thaw_temporal()
        self.bench.stop()

    # ----- services ------------------------------------------------------------------------

    def start_service(self, name: str) -> None:
        """One Lawlink service as its own process (a fresh port for an HTTP one)."""
        kind, target = SERVICES[name]
        if kind == "asgi":
            self.bench.spawn_asgi(name, target)
        else:
            self.bench.spawn_python(name, target)

    def kill_service(self, name: str) -> None:
        """``kill -9``: no drain, no ack, no goodbye to NATS or Temporal."""
        service = self.bench.services.pop(name)
        service.proc.send_signal(signal.SIGKILL)
        service.proc.wait(10)

    def wait_healthy(self, timeout: float = 120.0) -> None:
        """Until every HTTP service answers ``/healthz`` with 200 (bus, engine and database up)
        and the worker runs."""
        deadline = time.monotonic() + timeout
        for name in HTTP_SERVICES:
            self.bench.wait_healthy(name, max(1.0, deadline - time.monotonic()))
        self.bench.services["worker"].check_alive()

    def health(self) -> dict[str, int | str]:
        """Each HTTP service's ``/healthz`` status code, or the error that stood for it."""
        out: dict[str, int | str] = {}
        for name in HTTP_SERVICES:
            try:
                out[name] = httpx.get(f"{self.bench.url(name)}/healthz", timeout=3).status_code
            except httpx.HTTPError as exc:
                out[name] = type(exc).__name__
        return out

    # ----- engines -------------------------------------------------------------------------

    def kill_nats(self) -> None:
        """``kill -9`` of nats-server (its JetStream store stays on disk)."""
        nats = self.bench.nats
        assert nats is not None and nats.proc is not None
        nats.proc.send_signal(signal.SIGKILL)
        nats.proc.wait(10)
        nats.proc = None

    def start_nats(self) -> None:
        """nats-server again on the same port and store."""
        assert self.bench.nats is not None
        self.bench.nats.start()

    def kill_temporal(self) -> None:
        """``kill -9`` of the Temporal dev server (its SQLite file stays)."""
        temporal = self.bench.temporal
        assert temporal is not None
        temporal.proc.send_signal(signal.SIGKILL)
        temporal.proc.wait(10)

    def start_temporal(self) -> None:
        """The dev server again on the same port and SQLite file."""
        self.bench.start_temporal()

    def freeze_temporal(self) -> None:
        """SIGSTOP: the dev server keeps its sockets open and answers nothing."""
        assert self.bench.temporal is not None
        self.bench.temporal.proc.send_signal(signal.SIGSTOP)

    def thaw_temporal(self) -> None:
        """SIGCONT after :meth:`freeze_temporal` (harmless otherwise)."""
        if self.bench.temporal is not None and self.bench.temporal.proc.poll() is None:
            self.bench.temporal.proc.send_signal(signal.SIGCONT)
