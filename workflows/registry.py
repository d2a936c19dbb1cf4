"""The workflows the worker runs, and which process each carries (intake routes by it)."""

from __future__ import annotations

from workflows.case_transfer import CaseTransferWorkflow

WORKFLOWS: tuple[type, ...] = (CaseTransferWorkflow,)

WORKFLOW_BY_PROCESS: dict[str, type] = {wf.PROCESS: wf for wf in WORKFLOWS}
