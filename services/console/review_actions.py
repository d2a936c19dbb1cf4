"""The reviewer's decision on a delegation's yearly review, sent to the delegation's workflow.

The console never changes a delegation itself: it asks the workflow (the ``decide_review``
Update through :mod:`services.delegations.client`), whose validator may refuse; the page shows
the refusal and nothing changed. :class:`ReviewActions` is the seam the unit tests fake.
"""

from __future__ import annotations

from typing import Protocol

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from contracts.power_delegation import ReviewDecisionIn, ReviewDecisionResult
from services.delegations.client import REFUSED_FALLBACK_ZH, decide_review
from services.settings import StackSettings
from services.update_refusals import ActionRefused

UNREACHABLE_ZH = "工作流服务暂时无法连接，评估决定未提交，请稍后再试"


class ReviewActions(Protocol):
    """Sends one review decision to a delegation."""

    async def decide(self, case_id: str, data: ReviewDecisionIn) -> ReviewDecisionResult:
        """Apply the decision or raise :class:`ActionRefused`."""
        ...


class TemporalReviewActions:
    """The Update on ``power_delegation/<case_id>``, with a Temporal client connected on the
    first decision (the console's pages work without Temporal)."""

    def __init__(self, settings: StackSettings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client

    async def _connect(self) -> Client:
        if self._client is None:
            from services.connections import connect_temporal

            self._client = await connect_temporal(self._settings)
        return self._client

    async def decide(self, case_id: str, data: ReviewDecisionIn) -> ReviewDecisionResult:
        """Execute the Update; Temporal unreachable or failing is a refusal the page can show
        (the decision was not taken), never a 500 that loses what the reviewer typed."""
        try:
            client = await self._connect()
        except (RuntimeError, OSError, RPCError) as exc:
            raise ActionRefused("temporal", f"Temporal is not reachable: {exc}", UNREACHABLE_ZH) from exc
        try:
            return await decide_review(client, case_id, data)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            raise ActionRefused("form", message, REFUSED_FALLBACK_ZH) from exc
        except RPCError as exc:
            raise ActionRefused("temporal", str(exc), UNREACHABLE_ZH) from exc
