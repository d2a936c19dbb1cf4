"""The Temporal worker: runs every process workflow and the publishing activity."""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from services import tracing
from services.connections import connect_nats, connect_temporal, ensure_streams
from services.log_lines import FORMAT
from services.resilience import until_connected
from services.service_broker import service_keeper
from services.settings import StackSettings
from workflows.activities import PublishActivities
from workflows.registry import WORKFLOWS

log = logging.getLogger("lawlink.worker")

# Deterministic, side-effect-free modules the guarded sandbox shares instead of re-importing per
# run (DESIGN.md pitfalls: re-imports grow memory per workflow).
PASSTHROUGH = ("contracts", "chinese_calendar", "pydantic", "pydantic_core", "annotated_types")


def workflow_runner(*, guarded: bool = False) -> WorkflowRunner:
    """How the worker runs workflow code: plainly in production, in the guarded sandbox in tests.

    The sandbox's determinism checks (``datetime.now()``, ``random``, I/O raise inside a
    workflow) apply only to modules the sandbox imports itself, once per run. Re-importing
    Lawlink's workflow modules for every new case was most of the worker's CPU per opening
    event, so the production worker had shared them already, and a shared module escapes those
    checks: the sandbox guarded nothing of Lawlink's there, and still cost a fresh sandbox per
    run and an import hook around every activation. Every test therefore runs the workflows under the guarded sandbox, which
    re-imports them per run and applies the checks, and the replay tests replay the recorded
    histories under both runners; production runs the same code without the sandbox.
    """
    if guarded:
        return SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
        )
    return UnsandboxedWorkflowRunner()


def build_worker(
    client: Client,
    task_queue: str,
    activities: PublishActivities,
    *,
    guarded: bool = False,
    **options: object,
) -> Worker:
    """A worker for every Lawlink workflow on ``task_queue``; tests build theirs the same way,
    with ``guarded=True`` (see :func:`workflow_runner`)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=[
            activities.publish_domain_events,
            activities.publish_rejection,
        ],
        workflow_runner=workflow_runner(guarded=guarded),
        **options,  # type: ignore[arg-type]
    )


async def main() -> None:
    """Connect to NATS and Temporal and run until interrupted."""
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    tracing.configure("worker")  # exports when the OTEL_* variables ask for it
    settings = StackSettings()
    # A connection the server closed (an oversized publish, say) is reopened, or every later
    # publish of every workflow would fail on the closed client.
    keeper = service_keeper(settings, "worker")
    log.info("connecting to NATS at %s", settings.nats_url)
    nc = await until_connected(
        connect_nats(settings, "worker", keeper=keeper), f"connecting to NATS at {settings.nats_url}"
    )
    js = nc.jetstream()
    await ensure_streams(js)
    client = await connect_temporal(settings)
    worker = build_worker(client, settings.task_queue, PublishActivities(js))
    log.info("worker on task queue %s, Temporal %s", settings.task_queue, settings.temporal_address)
    try:
        await worker.run()
    finally:
        await keeper.stop()
        try:
            await asyncio.wait_for(nc.drain(), settings.shutdown_timeout_seconds)
        except Exception:  # noqa: BLE001 - NATS unreachable: stop anyway, nothing is unacked here
            log.warning("NATS did not drain within %.1f s", settings.shutdown_timeout_seconds)


if __name__ == "__main__":
    asyncio.run(main())
