"""``lawlink serve SERVICE``: run one Lawlink service in the foreground, as a container does.

One image carries every service (deploy/Dockerfile); the command picks which. HTTP services
listen on ``--host``/``--port`` (in a container ``0.0.0.0:8080``, the cluster network; the
registry's and notifier's APIs must never be published outside it). The console ignores
``X-Forwarded-For`` unless the peer is in ``LAWLINK_TRUSTED_PROXIES``, so uvicorn's own proxy
header handling is off for every service. The worker has no HTTP port.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

# Service -> the ASGI app uvicorn serves ("worker" runs services.worker instead).
HTTP_SERVICES: dict[str, str] = {
    "intake": "services.intake.app:app",
    "registry": "services.registry.app:app",
    "notifier": "services.notifier.app:app",
    "console": "services.console.app:app",
    "codec-server": "services.codec_server:app",
}
SERVICES = ("worker", *HTTP_SERVICES)


def command_line(service: str, host: str, port: int) -> list[str]:
    """The process ``lawlink serve`` becomes for ``service``."""
    if service == "worker":
        return [sys.executable, "-m", "services.worker"]
    if service not in HTTP_SERVICES:
        raise ValueError(f"service: {service!r} is not one of {', '.join(SERVICES)}")
    return [
        sys.executable,
        "-m",
        "uvicorn",
        HTTP_SERVICES[service],
        "--host",
        host,
        "--port",
        str(port),
        "--no-proxy-headers",
        "--log-level",
        "info",
    ]


def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}.")],
    host: Annotated[str, typer.Option(help="Address to listen on (HTTP services).")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port to listen on (HTTP services).")] = 8080,
) -> None:
    """Run one service in the foreground (what each container of a deployment runs)."""
    try:
        argv = command_line(service, host, port)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    os.execv(argv[0], argv)
