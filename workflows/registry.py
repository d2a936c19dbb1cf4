"""The workflows the worker runs, and which process each carries (intake routes by it)."""

from __future__ import annotations

import importlib

from contracts.catalog import DEFINITIONS, plugin_modules
from workflows.case_transfer import CaseTransferWorkflow
from workflows.discipline_referral import DisciplineReferralWorkflow
from workflows.jurisdiction_dispute import JurisdictionDisputeWorkflow
from workflows.power_delegation import PowerDelegationWorkflow
from workflows.reverse_transfer import ReverseTransferWorkflow


def _plugin_workflows() -> tuple[type, ...]:
    """The ``WORKFLOW`` of each plug-in process (``<package>.workflow``)."""
    return tuple(importlib.import_module(f"{name}.workflow").WORKFLOW for name in plugin_modules())


WORKFLOWS: tuple[type, ...] = (
    CaseTransferWorkflow,
    JurisdictionDisputeWorkflow,
    PowerDelegationWorkflow,
    ReverseTransferWorkflow,
    DisciplineReferralWorkflow,
    *_plugin_workflows(),
)

WORKFLOW_BY_PROCESS: dict[str, type] = {wf.PROCESS: wf for wf in WORKFLOWS}

_missing = sorted({p.name for p in DEFINITIONS} - set(WORKFLOW_BY_PROCESS))
if _missing:
    raise ValueError(f"processes defined without a workflow: {', '.join(_missing)}")
