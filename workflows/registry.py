"""The workflows the worker runs, and which process each carries (intake routes by it)."""

from __future__ import annotations

from workflows.case_transfer import CaseTransferWorkflow
from workflows.discipline_referral import DisciplineReferralWorkflow
from workflows.jurisdiction_dispute import JurisdictionDisputeWorkflow
from workflows.power_delegation import PowerDelegationWorkflow
from workflows.reverse_transfer import ReverseTransferWorkflow

WORKFLOWS: tuple[type, ...] = (
    CaseTransferWorkflow,
    JurisdictionDisputeWorkflow,
    PowerDelegationWorkflow,
    ReverseTransferWorkflow,
    DisciplineReferralWorkflow,
)

WORKFLOW_BY_PROCESS: dict[str, type] = {wf.PROCESS: wf for wf in WORKFLOWS}
