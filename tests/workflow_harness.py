"""Run case workflows on the time-skipping test server with a publisher that records.

Unit tests of each process use :func:`run_worker` and read the domain events the workflow
published from ``publisher.events`` instead of a real NATS.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from google.protobuf.empty_pb2 import Empty
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from contracts.domain import DomainEvent, DomainEventBatch
from contracts.validation import Rejection
from contracts.workflow_io import CaseStart, ReceiveResult
from services.worker import build_worker
from workflows.activities import PUBLISH_BATCH_ACTIVITY, REJECT_ACTIVITY


class CollectingPublisher:
    """Stands in for :class:`workflows.activities.PublishActivities`; keeps what was published."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.rejections: list[Rejection] = []

    @activity.defn(name=PUBLISH_BATCH_ACTIVITY)
    async def publish_domain_events(self, batch: DomainEventBatch) -> None:
        self.events.extend(batch.events)

    @activity.defn(name=REJECT_ACTIVITY)
    async def publish_rejection(self, rejection: Rejection) -> None:
        self.rejections.append(rejection)

    def types(self, case_id: str | None = None) -> list[str]:
        """Types published (for one case), in order."""
        return [e.type for e in self.events if case_id is None or e.case_id == case_id]

    def of_type(self, event_type: str, case_id: str | None = None) -> list[DomainEvent]:
        return [e for e in self.events if e.type == event_type and (case_id is None or e.case_id == case_id)]


@asynccontextmanager
async def run_worker(client: Client, task_queue: str) -> AsyncIterator[CollectingPublisher]:
    """A worker with every Lawlink workflow and a recording publisher, on the guarded sandbox
    (the sandbox's determinism checks apply to the workflow code under test)."""
    publisher = CollectingPublisher()
    async with build_worker(client, task_queue, publisher, guarded=True):  # type: ignore[arg-type]
        yield publisher


async def start_case(
    client: Client,
    task_queue: str,
    workflow_type: str,
    process: str,
    case_id: str,
    rule_settings: dict[str, str] | None = None,
) -> WorkflowHandle[Any, Any]:
    """Start a case workflow under intake's id scheme with no opening event in its input: the
    test sends it as the first ``receive`` Update. (Intake puts it in the start input; the
    recorded histories, ``tests/histories/record.py``, take that path.)"""
    return await client.start_workflow(
        workflow_type,
        CaseStart(process=process, case_id=case_id, rule_settings=rule_settings or {}),
        id=f"{process}/{case_id}",
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def send(
    handle: WorkflowHandle[Any, Any], data: dict[str, Any], update_id: str | None = None
) -> ReceiveResult:
    """Deliver an envelope (dict) through the ``receive`` Update, as intake does (Update id =
    event_id); ``update_id`` lets a test get past Temporal's own Update de-duplication. An
    event the test did not date happens at the test server's current time."""
    from tests.events import envelope, restamp

    data = restamp(data, await server_time(handle))
    return await handle.execute_update(
        "receive", envelope(data), id=update_id or data["event_id"], result_type=ReceiveResult
    )


async def server_time(handle: WorkflowHandle[Any, Any]) -> datetime:
    """The Temporal server's clock: the time-skipping server's skipped time, else the wall clock."""
    try:
        resp = await handle._client.test_service.get_current_time(Empty())  # noqa: SLF001
    except RPCError:
        return datetime.now(UTC)
    return resp.time.ToDatetime().replace(tzinfo=UTC)


def dumps(events: list[DomainEvent]) -> str:
    """All published events as one JSON text (confidentiality tests search it)."""
    return json.dumps([e.model_dump(mode="json") for e in events], ensure_ascii=False)
