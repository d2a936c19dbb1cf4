"""The one routing table: which workflow takes each event type, and how.

An event that may open its process starts the case's workflow with the event in its input (a
run that exists already gets it as a signal instead): intake waits only for Temporal to take
it, not for the worker, so opening a case costs what starting a workflow costs;
the workflow itself answers a refusal on ``lawlink.rejected.<agency>``. Every other event is the ``receive``
Update on the running workflow, with the event_id as the Update id: Temporal and the workflow
both de-duplicate, and the validator's refusal comes straight back to intake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from temporalio import workflow as wf

from contracts.catalog import EVENT_TYPES
from workflows.case_base import CaseWorkflow
from workflows.registry import WORKFLOW_BY_PROCESS


class Mode(StrEnum):
    """How intake hands an event to Temporal."""

    START = "start"
    UPDATE = "update"


@dataclass(frozen=True)
class Route:
    """Where one event type goes."""

    event_type: str
    process: str
    workflow: type[CaseWorkflow]
    mode: Mode

    @property
    def workflow_type(self) -> str:
        """The Temporal workflow type that carries the process."""
        return wf._Definition.must_from_class(self.workflow).name or self.workflow.__name__


def build_routes() -> Mapping[str, Route]:
    """Derive the table from the catalog and the worker's workflows.

    Raises:
        ValueError: when an event type's process has no workflow (caught by a unit test, so a
            new event type cannot ship unrouted).
    """
    routes: dict[str, Route] = {}
    for spec in EVENT_TYPES.values():
        workflow_cls = WORKFLOW_BY_PROCESS.get(spec.process)
        if workflow_cls is None:
            raise ValueError(f"no workflow carries process {spec.process!r} (event {spec.type})")
        wf._Definition.must_from_class(workflow_cls)  # a workflow class, or this fails here
        routes[spec.type] = Route(
            event_type=spec.type,
            process=spec.process,
            workflow=workflow_cls,
            mode=Mode.START if spec.opens else Mode.UPDATE,
        )
    return MappingProxyType(routes)


ROUTES: Mapping[str, Route] = build_routes()
