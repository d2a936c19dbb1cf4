"""The reviewer's decision on a delegation's yearly review, sent to the delegation's workflow.

The console never changes a delegation itself: it asks the workflow (the ``decide_review``
Update through :mod:`services.delegations.client`), whose validator may refuse; the page shows
the refusal and nothing changed. :class:`ReviewActions` is the seam the unit tests fake.
"""

from __future__ import annotations

from typing import Protocol

from contracts.power_delegation import ReviewDecisionIn, ReviewDecisionResult
from services.delegations.client import REFUSED_FALLBACK_ZH, decide_review
from services.update_refusals import UpdateSender

UNREACHABLE_ZH = "工作流服务暂时无法连接，评估决定未提交，请稍后再试"


class ReviewActions(Protocol):
    """Sends one review decision to a delegation."""

    async def decide(self, case_id: str, data: ReviewDecisionIn) -> ReviewDecisionResult:
        """Apply the decision or raise :class:`ActionRefused`."""
        ...


class TemporalReviewActions(UpdateSender):
    """The Update on ``power_delegation/<case_id>``."""

    async def decide(self, case_id: str, data: ReviewDecisionIn) -> ReviewDecisionResult:
        """Execute the Update; Temporal unreachable or failing is a refusal the page can show."""
        return await self.send(
            lambda client: decide_review(client, case_id, data),
            field="form",
            refused_zh=REFUSED_FALLBACK_ZH,
            unreachable_zh=UNREACHABLE_ZH,
        )
