"""Townships and the items delegated to them (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from contracts.agencies import AgencyKind, agencies, get_agency
from services.console import access, read
from services.console.auth import (
    CurrentUser,
)
from services.console.tables import Role
from services.console.web import (
    Console,
    NotFound,
)
from services.delegations.read_model import DelegatedItemPublic, items_by_township
from services.delegations.reviews import decidable_by


def build_router(web: Console) -> APIRouter:
    """Township list and a township's delegated items."""
    router = APIRouter()
    engine, render, guard, forbid = web.engine, web.render, web.guard, web.forbid

    def township_ids() -> list[str]:
        return [a.id for a in agencies().values() if a.kind is AgencyKind.TOWNSHIP]

    def township_summaries(user: CurrentUser) -> list[dict[str, Any]]:
        with Session(engine) as session:
            counts = read.township_item_counts(session)
        out = []
        for township in township_ids():
            if not access.can_view_township(user, township):
                continue
            by_state = counts.get(township, {})
            agency = get_agency(township)
            assert agency is not None
            out.append(
                {
                    "township": township,
                    "name_zh": agency.name_zh,
                    "name_en": agency.name_en,
                    "district": agency.district,
                    "items": sum(by_state.values()),
                    "by_state": by_state,
                }
            )
        return out

    def own_township_or_forbid(request: Request, user: CurrentUser) -> str | None:
        """A township officer's own township (None for the roles that list several); a role
        whose scope reaches no township at all (an officer of another body) is refused (403)."""
        if not access.permits(user, "townships.list", township_ids()):
            raise forbid(
                request,
                user,
                "townships.list",
                "townships",
                "no township within the role's scope",
                access.NOT_TOWNSHIP_REFUSED,
            )
        return user.agency if user.role is Role.AGENCY_OFFICER else None

    @router.get("/townships", response_class=HTMLResponse)
    def townships_page(request: Request) -> Response:
        user = guard(request, "townships.list")
        own = own_township_or_forbid(request, user)
        if own is not None:
            return RedirectResponse(f"/townships/{own}", status_code=303)
        return render(request, "townships.html", user, rows=township_summaries(user))

    @router.get("/api/townships")
    def api_townships(request: Request) -> list[dict[str, Any]]:
        user = guard(request, "townships.list")
        own_township_or_forbid(request, user)
        return township_summaries(user)

    def township_items(
        request: Request, user: CurrentUser, township: str, include_returned: bool
    ) -> list[DelegatedItemPublic]:
        if not access.is_township(township):
            raise NotFound(f"township {township}", field="agency_id", what_zh=f"乡镇（街道）{township}")
        if not access.can_view_township(user, township):
            raise forbid(request, user, "township.view", f"township/{township}", "another township")
        with Session(engine) as session:
            return items_by_township(session, township, include_returned=include_returned)

    @router.get("/townships/{agency_id}", response_class=HTMLResponse)
    def township_page(request: Request, agency_id: str, returned: bool = True) -> Response:
        user = guard(request, "township.view", f"township/{agency_id}")
        items = township_items(request, user, agency_id, returned)
        now = datetime.now(UTC)
        # The review form is offered next to a delegation whose review this user's body decides.
        under_review = [i.workflow_id for i in items if i.state == "under_review"]
        reviewable: set[str] = set()
        if under_review and access.allowed(user, "delegation.review"):
            with Session(engine) as session:
                reviewable = decidable_by(session, under_review, user.agency)
        return render(
            request,
            "township.html",
            user,
            township=agency_id,
            items=items,
            returned=returned,
            reviewable=reviewable,
            review_days={i.code + "|" + i.case_id: read.days_until(i.next_review_at, now) for i in items},
        )

    @router.get("/api/townships/{agency_id}")
    def api_township(request: Request, agency_id: str, returned: bool = True) -> dict[str, Any]:
        user = guard(request, "township.view", f"township/{agency_id}")
        items = township_items(request, user, agency_id, returned)
        return {"township": agency_id, "items": [i.model_dump(mode="json") for i in items]}

    return router
