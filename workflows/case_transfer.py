"""Process 1, administrative-to-criminal case transfer (行刑衔接), forward direction.

Source: 国务院令第310号 (2020 revision). This module carries the first step: a suspected crime
opens the case and starts the head's decision deadline (art. 5). The remaining steps of
DOMAIN.md process 1 are added to the same state machine.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.agencies import AgencyKind, supervisor_of
    from contracts.common import Payload
    from contracts.envelope import Envelope
    from contracts.workflow_io import CaseStart, CaseStatus
    from workflows.case_base import CaseWorkflow, Refusal

# States of the forward transfer.
OPENED = "opened"


@workflow.defn(name="CaseTransfer")
class CaseTransferWorkflow(CaseWorkflow):
    """One enforcement case on its way from an administrative agency to the police."""

    PROCESS = "case_transfer"

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        """Run until the transfer closes."""
        return await self.run_case(start)

    def refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """The only event valid on a new case is the one that opens it."""
        if env.type == "case_transfer.crime_suspected":
            if self.s.state != "new":
                return Refusal("type", f"case {env.case_id} is already open (state {self.s.state})")
            return None
        return Refusal("type", f"{env.type} is not valid in state {self.s.state}")

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        """Open the case and start the head's 3-day decision deadline (art. 5)."""
        if env.type == "case_transfer.crime_suspected":
            agency = env.source_agency
            justice = supervisor_of(agency, AgencyKind.JUSTICE)
            self.add_parties(agency)
            self.s.data["agency"] = agency
            self.s.data["enforcement_case_no"] = payload.model_dump().get("enforcement_case_no")
            self.transition(OPENED)
            await self.emit(
                "case_transfer.opened",
                actor=agency,
                causation_id=str(env.event_id),
                payload={"agency": agency, "case_title": payload.model_dump().get("case_title")},
            )
            await self.open_deadline(
                "case_transfer.head_decision",
                party=agency,
                escalate_to=tuple(a.id for a in (justice,) if a is not None),
            )
