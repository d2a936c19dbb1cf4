"""Typed calls for the coordinator's decisions, as the console (and the demo) make them.

Each function sends one Update to the dispute's workflow and returns what the workflow answered.
A refusal by the workflow's validator (or by the handler, when another decision landed first)
comes back as :class:`ActionRefused` with the field and the reason, ready to show next to
the form field; nothing changed in the dispute. Anything else (Temporal unreachable, a bug) is
raised as it is, so it is never mistaken for a business refusal.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.envelope import CASE_ID_PATTERN
from contracts.jurisdiction_dispute import (
    ACTION_REFUSED_ERROR_TYPE,
    PROCESS,
    ClaimInput,
    CoordinatorActionResult,
    CoordinatorInput,
    DesignateInput,
    ExtendInput,
    InterimAgencyInput,
    ReassignInput,
    ReferInput,
    RequestOpinionsInput,
    UnclaimInput,
)
from contracts.workflow_io import CaseStatus
from contracts.workflow_io import workflow_id as case_workflow_id
from services.update_refusals import ActionRefused, case_gone, validator_refusal
from workflows.jurisdiction_dispute import JurisdictionDisputeWorkflow as Dispute

Update = Callable[[Dispute, Any], Awaitable[CoordinatorActionResult]]
"""One of the coordinator's Updates, named by its method on the workflow."""

_CASE_ID = re.compile(CASE_ID_PATTERN)


def workflow_id(case_id: str) -> str:
    """The dispute's workflow id (``jurisdiction_dispute/<case_id>``)."""
    return case_workflow_id(PROCESS, case_id)


async def _execute(
    client: Client, case_id: str, update: Update, data: CoordinatorInput
) -> CoordinatorActionResult:
    if not _CASE_ID.match(case_id):
        raise ActionRefused("case_id", f"{case_id!r} is not a valid case id", f"{case_id} 不是有效的案件编号")
    handle = client.get_workflow_handle(workflow_id(case_id))
    try:
        return await handle.execute_update(update, data, id=data.request_id)
    except WorkflowUpdateFailedError as exc:
        refused = validator_refusal(exc, ACTION_REFUSED_ERROR_TYPE)
        if refused is not None:
            raise ActionRefused(*refused) from None
        raise
    except RPCError as exc:
        if case_gone(exc):
            raise ActionRefused(
                "case_id", f"no open jurisdiction dispute {case_id!r}", f"没有进行中的管辖争议 {case_id}"
            ) from None
        raise


async def claim(client: Client, case_id: str, data: ClaimInput) -> CoordinatorActionResult:
    """Claim the dispute for ``data.coordinator`` (a repeated claim by the same user is a no-op)."""
    return await _execute(client, case_id, Dispute.claim, data)


async def unclaim(client: Client, case_id: str, data: UnclaimInput) -> CoordinatorActionResult:
    """Release the claim back to the office's inbox."""
    return await _execute(client, case_id, Dispute.unclaim, data)


async def reassign(client: Client, case_id: str, data: ReassignInput) -> CoordinatorActionResult:
    """Hand the claimed dispute to another coordinator (a lead's or an administrator's decision)."""
    return await _execute(client, case_id, Dispute.reassign, data)


async def request_opinions(
    client: Client, case_id: str, data: RequestOpinionsInput
) -> CoordinatorActionResult:
    """Ask parties for written opinions (default due: 7 working days)."""
    return await _execute(client, case_id, Dispute.request_opinions, data)


async def extend(client: Client, case_id: str, data: ExtendInput) -> CoordinatorActionResult:
    """Extend the designation deadline once, with a reason."""
    return await _execute(client, case_id, Dispute.extend, data)


async def designate(client: Client, case_id: str, data: DesignateInput) -> CoordinatorActionResult:
    """Designate the competent agency with written reasons: one of the parties, or, where the
    common superior (a government) decides, any enforcement agency or township."""
    return await _execute(client, case_id, Dispute.designate, data)


async def refer_to_government(client: Client, case_id: str, data: ReferInput) -> CoordinatorActionResult:
    """Report a failed coordination to the government for decision."""
    return await _execute(client, case_id, Dispute.refer_to_government, data)


async def name_interim_agency(
    client: Client, case_id: str, data: InterimAgencyInput
) -> CoordinatorActionResult:
    """Name the agency that takes urgent measures while a negative dispute runs."""
    return await _execute(client, case_id, Dispute.name_interim_agency, data)


async def dispute_status(client: Client, case_id: str) -> CaseStatus:
    """The workflow's own view (state, open deadlines, claim, suggestion) for the decision page.

    Raises:
        ActionRefused: when no such dispute exists.
    """
    if not _CASE_ID.match(case_id):
        raise ActionRefused("case_id", f"{case_id!r} is not a valid case id")
    try:
        return await client.get_workflow_handle(workflow_id(case_id)).query(Dispute.status)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ActionRefused("case_id", f"no jurisdiction dispute {case_id!r}") from None
        raise
