"""A delegation's open review as the read model shows it: the items waiting for a decision,
what the township did with each since the last review, and who decides.

The workflow names the deciders (the justice bureau and the reform office of the granting
government's level) in its ``review_started`` event; the console offers the decision form only
to them, with the same rule the workflow's validator applies, so a refusal is the exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from contracts.agencies import get_agency
from contracts.power_delegation import PROCESS, ItemCounters, ItemState
from services.delegations.read_model import DelegatedItem, DelegatedItemPublic
from services.readmodel.models import TimelineEntry

REVIEW_STARTED = f"{PROCESS}.review_started"


@dataclass(frozen=True)
class ReviewItem:
    """One item under review and its case counts over the period the review looks at."""

    item: DelegatedItemPublic
    period: ItemCounters


@dataclass(frozen=True)
class OpenReview:
    """The review of one delegation, as the last ``review_started`` event and the items say."""

    workflow_id: str
    items: tuple[ReviewItem, ...] = ()
    reviewers: tuple[str, ...] = ()
    cycle: int | None = None
    started_at: datetime | None = None


def _latest_start(session: Session, workflow_id: str) -> TimelineEntry | None:
    return session.exec(
        select(TimelineEntry)
        .where(TimelineEntry.workflow_id == workflow_id, TimelineEntry.type == REVIEW_STARTED)
        .order_by(col(TimelineEntry.seq).desc())
        .limit(1)
    ).first()


def open_review(session: Session, workflow_id: str) -> OpenReview:
    """The items of ``workflow_id`` under review (empty when none is), oldest code first.

    The counts are those the review started with (``period_counters``: the cases since the last
    review); an item the event does not list shows its running totals.
    """
    rows = session.exec(
        select(DelegatedItem)
        .where(DelegatedItem.workflow_id == workflow_id, DelegatedItem.state == ItemState.UNDER_REVIEW.value)
        .order_by(col(DelegatedItem.code))
    ).all()
    start = _latest_start(session, workflow_id) if rows else None
    payload = start.payload if start is not None else {}
    period = payload.get("period_counters") or {}
    items = tuple(
        ReviewItem(
            item=DelegatedItemPublic.model_validate(r, from_attributes=True),
            period=ItemCounters.model_validate(period.get(r.code) or r.counters or {}),
        )
        for r in rows
    )
    return OpenReview(
        workflow_id=workflow_id,
        items=items,
        reviewers=tuple(str(a) for a in payload.get("reviewers") or ()),
        cycle=payload.get("cycle"),
        started_at=start.occurred_at if start is not None else None,
    )


def why_not_decide(review: OpenReview, agency: str | None) -> tuple[str, str] | None:
    """Why ``agency`` cannot decide this review now, as a (zh, en) pair; None when it can.

    The workflow's rule: a review waits for a decision, and only its deciders may take it.
    """
    if not review.items:
        return (
            "该赋权当前没有等待决定的评估事项",
            "no item of this delegation is waiting for a review decision",
        )
    if agency is None or agency not in review.reviewers:
        zh = "或".join(_name(a, "zh") for a in review.reviewers) or "作出赋权的政府同级司法局或编办"
        en = " or ".join(_name(a, "en") for a in review.reviewers) or "the justice bureau or reform office"
        return (
            f"本次评估由{zh}作出决定，您所在机关不是评估决定机关",
            f"the review is decided by {en}, not your agency",
        )
    return None


def _name(agency_id: str, lang: str) -> str:
    agency = get_agency(agency_id)
    if agency is None:
        return agency_id
    return agency.name_zh if lang == "zh" else agency.name_en


def decidable_by(session: Session, workflow_ids: Iterable[str], agency: str | None) -> set[str]:
    """Which of ``workflow_ids`` have a review ``agency`` may decide now (for links on lists)."""
    if not agency:
        return set()
    return {w for w in dict.fromkeys(workflow_ids) if why_not_decide(open_review(session, w), agency) is None}
