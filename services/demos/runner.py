"""Connects a demo to the running stack."""

from __future__ import annotations

from rich.console import Console

from services.connections import connect_nats, connect_temporal
from services.demos.base import DemoContext
from services.service_auth import service_headers
from services.settings import StackSettings


async def run_demo(play, settings: StackSettings, out: Console) -> None:  # noqa: ANN001
    """Run ``play`` with connections from ``settings``."""
    nc = await connect_nats(settings, "demo")
    try:
        temporal = await connect_temporal(settings)
        ctx = DemoContext(
            nc=nc,
            temporal=temporal,
            registry_url=settings.registry_url,
            registry_headers=service_headers(settings, "cli"),
            console_url=settings.console_url,
            task_queue=settings.task_queue,
            out=out,
        )
        await play(ctx)
    finally:
        await nc.close()
