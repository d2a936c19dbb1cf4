"""The Temporal worker: runs every process workflow and the publishing activity."""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from services.connections import connect_nats, connect_temporal, ensure_streams
from services.settings import StackSettings
from workflows.activities import PublishActivities
from workflows.registry import WORKFLOWS

log = logging.getLogger("lawlink.worker")

# Deterministic, side-effect-free modules the sandbox shares instead of re-importing per run
# (DESIGN.md pitfalls: re-imports grow memory per workflow).
PASSTHROUGH = ("contracts", "chinese_calendar", "pydantic", "pydantic_core", "annotated_types")
# Lawlink's own workflow code. The production worker shares it too: re-importing it for every
# run (and re-running ``@workflow.defn``'s class checks) was the larger part of the worker's CPU
# per opening event and of its memory (``make bench``, 1,000 events: worker 16.4 -> 10.1 ms CPU
# per event, 8.2 instead of 17.4 ms per delegation step, RSS 545 -> 250 MiB). Shared modules
# escape the sandbox's runtime checks (``datetime.now()``, ``random``, I/O raise only in code
# the sandbox imported itself), so every test runs the workflows under the guarded runner, which
# re-imports them per run and keeps those checks; the replay tests check recorded histories.
WORKFLOW_MODULES = "workflows"


def sandbox_runner(*, guarded: bool = False) -> SandboxedWorkflowRunner:
    """The sandbox with Lawlink's pass-through modules; ``guarded`` (tests) re-imports Lawlink's
    workflow modules per run so the sandbox's determinism checks apply to them."""
    modules = PASSTHROUGH if guarded else (*PASSTHROUGH, WORKFLOW_MODULES)
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules)
    )


def build_worker(
    client: Client,
    task_queue: str,
    activities: PublishActivities,
    *,
    guarded: bool = False,
    **options: object,
) -> Worker:
    """A worker for every Lawlink workflow on ``task_queue``; tests build theirs the same way,
    with ``guarded=True`` (see :data:`WORKFLOW_MODULES`)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=[
            activities.publish_domain_event,
            activities.publish_domain_events,
            activities.publish_rejection,
        ],
        workflow_runner=sandbox_runner(guarded=guarded),
        **options,  # type: ignore[arg-type]
    )


async def main() -> None:
    """Connect to NATS and Temporal and run until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = StackSettings()
    nc = await connect_nats(settings, "worker")
    js = nc.jetstream()
    await ensure_streams(js)
    client = await connect_temporal(settings)
    worker = build_worker(client, settings.task_queue, PublishActivities(js))
    log.info("worker on task queue %s, Temporal %s", settings.task_queue, settings.temporal_address)
    try:
        await worker.run()
    finally:
        await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
