"""A worker with a bug: it runs Lawlink's workflows, but every Update fails its validation (not
as a refusal). The engines all answer, so an event taken as an Update fails for its own reasons
and, after its deliveries, becomes a dead letter; with no worker at all intake would hold the
event instead, as an engine outage. The workflows themselves stay healthy, so a worker without
the bug takes the replayed event at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from services.worker import build_worker
from workflows.activities import PublishActivities


class _FailingUpdates(WorkflowInboundInterceptor):
    # In the validator: a rejected Update leaves no trace in the history, so the same event
    # (the same update id) is taken normally once a sound worker runs.
    def handle_update_validator(self, input: HandleUpdateInput) -> None:  # noqa: A002 - SDK name
        raise ApplicationError("this worker's deployment is broken (a test's fault)", type="DeploymentBug")


class _Broken(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:  # noqa: A002
        return _FailingUpdates


@asynccontextmanager
async def broken_worker(
    client: Client, task_queue: str, activities: PublishActivities
) -> AsyncIterator[None]:
    """Run the broken worker on ``task_queue`` for as long as the block runs."""
    async with build_worker(client, task_queue, activities, guarded=True, interceptors=[_Broken()]):
        yield
