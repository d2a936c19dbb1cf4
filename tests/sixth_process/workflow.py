"""The rectification notice's handlers: what each accepted step does. Validity (states, the
township as the only one who reports) comes from the definition."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.common import Payload
    from contracts.envelope import Envelope
    from contracts.workflow_io import CaseStart, CaseStatus
    from tests.sixth_process.definition import DEFINITION, PROCESS, NoticeIssued

from workflows.case_base import CaseWorkflow, Refusal


class NoticeData(BaseModel):
    """Who issued the notice and which township must rectify."""

    model_config = ConfigDict(extra="forbid")

    issuer: str | None = None
    township: str | None = None


@workflow.defn(name="RectificationNotice")
class RectificationNoticeWorkflow(CaseWorkflow):
    """One notice, from issue to the township's report."""

    DEFINITION = DEFINITION
    DATA = NoticeData

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        """Run until the township reports."""
        return await self.run_case(start)

    def holders(self, role: str) -> tuple[str | None, ...]:
        """The township named by the notice and the agency that issued it."""
        return {"township": (self.d.township,), "issuer": (self.d.issuer,)}[role]

    def refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """Nothing beyond the definition."""
        return None

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        """Record who issued the notice to whom (the definition starts and meets the
        rectification period); close the case on the report."""
        if isinstance(payload, NoticeIssued):
            self.d.issuer, self.d.township = env.source_agency, payload.township
            self.add_parties(env.source_agency, payload.township)
            self.transition("notified")
            await self.emit(
                PROCESS + ".opened", actor=env.source_agency, payload={"township": payload.township}
            )
            return
        await self.close("rectified", actor=env.source_agency)


WORKFLOW = RectificationNoticeWorkflow
