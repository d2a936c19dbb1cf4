"""Telling "no worker runs the workflows" from "this event failed", against the dev server:
intake holds an event while workflow tasks wait on a task queue no worker polls."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.resilience import workers_absent

pytestmark = pytest.mark.integration


@workflow.defn
class Waiting:
    """A case-like workflow: it waits, and counts the signals it took."""

    def __init__(self) -> None:
        self.taken = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def poke(self) -> None:
        self.taken += 1

    @workflow.query
    def count(self) -> int:
        return self.taken


async def _absent(env: WorkflowEnvironment, queue: str) -> bool:
    return await workers_absent(env.client, env.client.namespace, queue, silence=1.0, timeout=5.0)


async def _served(env: WorkflowEnvironment, queue: str) -> bool:
    return not await _absent(env, queue)


async def _until(predicate, within: float) -> bool:  # noqa: ANN001 - async predicate
    end = time.monotonic() + within
    while time.monotonic() < end:
        if await predicate():
            return True
        await asyncio.sleep(0.25)
    return False


async def test_waiting_tasks_on_a_queue_nobody_polls_mean_the_workers_are_absent(
    temporal_dev: WorkflowEnvironment,
) -> None:
    queue = f"absent-{uuid.uuid4().hex[:8]}"
    handle = await temporal_dev.client.start_workflow(Waiting.run, id=queue, task_queue=queue)
    # The task backlog is reported approximately, a few seconds late.
    assert await _until(lambda: _absent(temporal_dev, queue), within=20.0)

    async with Worker(temporal_dev.client, task_queue=queue, workflows=[Waiting]):
        await handle.signal(Waiting.poke)
        assert await _until(lambda: _count_is(handle, 1), within=20.0)
        # The worker took the start and the signal: once the (lagging) backlog figure says
        # nothing waits, the queue reads as served.
        assert await _until(lambda: _served(temporal_dev, queue), within=20.0)
    await handle.terminate()


async def _count_is(handle, n: int) -> bool:  # noqa: ANN001
    return await handle.query(Waiting.count) == n


async def test_an_unknown_queue_or_an_unreachable_server_is_not_absent_workers(
    temporal_dev: WorkflowEnvironment,
) -> None:
    # Nothing waits on a queue nobody used: no evidence of missing workers.
    assert not await _absent(temporal_dev, f"unused-{uuid.uuid4().hex[:8]}")
    # No client: reachability is temporal_ok's question, answered elsewhere.
    assert not await workers_absent(None, "default", "q", silence=1.0, timeout=1.0)
