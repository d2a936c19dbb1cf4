"""The raw Temporal ceiling's workflow and its worker (``python -m tests.bench.noop``).

A workflow that does nothing, run by a bare worker with the SDK's default data converter: the
start rate of this pair is what the dev server itself can do, the yardstick for intake.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.worker import Worker

from services.connections import connect_temporal_at

NOOP_WORKFLOW = "BenchNoop"
THREE_ACTIVITIES_WORKFLOW = "BenchThreeActivities"
THREE_LOCAL_WORKFLOW = "BenchThreeLocalActivities"
NOOP_QUEUE_ENV = "BENCH_NOOP_QUEUE"
STEPS = 3  # an opening event publishes three domain events: received, opened, deadline.set


@activity.defn(name="bench_noop")
async def bench_noop(step: int) -> int:
    """Stands in for the publish activity, without the publish: only the engine's cost remains."""
    return step


@workflow.defn(name=NOOP_WORKFLOW, sandboxed=False)
class BenchNoop:
    """Returns at once: one workflow task per start, nothing else."""

    @workflow.run
    async def run(self) -> None:
        """Do nothing."""
        return None


class _ThreeSteps:
    """The shape of Lawlink's opening event on the engine, without Lawlink's code: started by
    update-with-start, the update runs three steps one after the other and returns while the
    workflow stays open (``CaseWorkflow.emit`` runs one activity per domain event)."""

    local = False

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        """Stay open, as a case does."""
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def receive(self, event_id: str) -> str:
        """Three sequential no-op (local) activities, then answer."""
        for step in range(STEPS):
            if self.local:
                await workflow.execute_local_activity(
                    bench_noop, step, start_to_close_timeout=timedelta(seconds=30)
                )
            else:
                await workflow.execute_activity(
                    bench_noop, step, start_to_close_timeout=timedelta(seconds=30)
                )
        return event_id


@workflow.defn(name=THREE_ACTIVITIES_WORKFLOW, sandboxed=False)
class BenchThreeActivities(_ThreeSteps):
    """Three activities per event, as Lawlink does today."""

    @workflow.run
    async def run(self) -> None:
        """Stay open."""
        await super().run()


@workflow.defn(name=THREE_LOCAL_WORKFLOW, sandboxed=False)
class BenchThreeLocalActivities(_ThreeSteps):
    """The same three steps as local activities: what the engine would do if ``emit`` used them."""

    local = True

    @workflow.run
    async def run(self) -> None:
        """Stay open."""
        await super().run()


async def main() -> None:
    """Run the no-op worker on the queue the driver names until terminated."""
    client = await connect_temporal_at(os.environ["TEMPORAL_ADDRESS"])
    worker = Worker(
        client,
        task_queue=os.environ[NOOP_QUEUE_ENV],
        workflows=[BenchNoop, BenchThreeActivities, BenchThreeLocalActivities],
        activities=[bench_noop],
    )
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
