"""The coordinator's decisions, sent to the dispute's workflow as Temporal Updates.

The console never changes a dispute itself: it asks the workflow, whose validator may refuse
(then the page shows the validator's reason and nothing changed), and learns the outcome from
the domain events like every other reader. :class:`DisputeActions` is the seam the tests fake.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from contracts.jurisdiction_dispute import (
    ClaimInput,
    CoordinatorActionResult,
    CoordinatorInput,
    DesignateInput,
    ExtendInput,
    InterimAgencyInput,
    ReferInput,
    RequestOpinionsInput,
    UnclaimInput,
)
from services.settings import StackSettings

# Form action name -> (Update name on the workflow, input model).
ACTIONS: dict[str, tuple[str, type[CoordinatorInput]]] = {
    "claim": ("claim", ClaimInput),
    "unclaim": ("unclaim", UnclaimInput),
    "request_opinions": ("request_opinions", RequestOpinionsInput),
    "extend": ("extend", ExtendInput),
    "designate": ("designate", DesignateInput),
    "refer": ("refer_to_government", ReferInput),
    "interim": ("name_interim_agency", InterimAgencyInput),
}


class ActionRefused(Exception):
    """The workflow's validator (or Temporal) said no; ``field`` names the form field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class DisputeActions(Protocol):
    """Sends one coordinator decision to a dispute."""

    async def run(self, action: str, case_id: str, data: BaseModel) -> CoordinatorActionResult:
        """Apply ``action`` or raise :class:`ActionRefused`."""
        ...


class TemporalDisputeActions:
    """Updates on ``jurisdiction_dispute/<case_id>`` through :mod:`services.disputes.client`,
    with a Temporal client connected on the first action (the pages work without Temporal)."""

    def __init__(self, settings: StackSettings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client

    async def _connect(self) -> Client:
        if self._client is None:
            from services.connections import connect_temporal

            self._client = await connect_temporal(self._settings)
        return self._client

    async def run(self, action: str, case_id: str, data: BaseModel) -> CoordinatorActionResult:
        """Execute the Update; the form's ``request_id`` is its id, so a double submit acts once."""
        from services.disputes import client as disputes

        if action not in ACTIONS:
            raise ActionRefused("action", f"unknown action {action!r}")
        update, _ = ACTIONS[action]
        function = getattr(disputes, update)
        try:
            client = await self._connect()
        except (RuntimeError, OSError, RPCError) as exc:
            raise ActionRefused("temporal", f"Temporal is not reachable: {exc}") from exc
        try:
            return await function(client, case_id, data)
        except disputes.DisputeActionRefused as exc:
            raise ActionRefused(exc.field, exc.reason) from exc
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            raise ActionRefused("action", message) from exc
        except RPCError as exc:
            raise ActionRefused("temporal", str(exc)) from exc
