"""Townships and the items delegated to them."""

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
from services.console.web import (
    Console,
    NotFound,
)
from services.delegations.read_model import DelegatedItemPublic, items_by_township
from services.delegations.reviews import decidable_by
from services.readmodel.accounts import Role


def _township_ids() -> list[str]:
    return [a.id for a in agencies().values() if a.kind is AgencyKind.TOWNSHIP]


class _TownshipRoutes:
    """The handlers of the township pages, bound to one console."""

    def __init__(self, web: Console) -> None:
        self.web = web

    def township_summaries(self, user: CurrentUser) -> list[dict[str, Any]]:
        """The townships ``user`` may see, each with its delegated items counted by state."""
        with Session(self.web.engine) as session:
            counts = read.township_item_counts(session)
        out = []
        for township in _township_ids():
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

    def own_township_or_forbid(self, request: Request, user: CurrentUser) -> str | None:
        """A township officer's own township (None for the roles that list several); a role
        whose scope reaches no township at all (an officer of another body) is refused (403)."""
        if not access.permits(user, "townships.list", _township_ids()):
            raise self.web.forbid(
                request,
                user,
                "townships.list",
                "townships",
                "no township within the role's scope",
                access.NOT_TOWNSHIP_REFUSED,
            )
        return user.agency if user.role is Role.AGENCY_OFFICER else None

    def township_items(
        self, request: Request, user: CurrentUser, township: str, include_returned: bool
    ) -> list[DelegatedItemPublic]:
        """The items delegated to ``township``, if it is one and within the user's scope."""
        if not access.is_township(township):
            raise NotFound(f"township {township}", field="agency_id", what_zh=f"乡镇（街道）{township}")
        if not access.can_view_township(user, township):
            raise self.web.forbid(request, user, "township.view", f"township/{township}", "another township")
        with Session(self.web.engine) as session:
            return items_by_township(session, township, include_returned=include_returned)

    def townships_page(self, request: Request) -> Response:
        """The townships list; a township officer goes straight to their own township."""
        user = self.web.guard(request, "townships.list")
        own = self.own_township_or_forbid(request, user)
        if own is not None:
            return RedirectResponse(f"/townships/{own}", status_code=303)
        return self.web.render(request, "townships.html", user, rows=self.township_summaries(user))

    def api_townships(self, request: Request) -> list[dict[str, Any]]:
        """The townships list as JSON."""
        user = self.web.guard(request, "townships.list")
        self.own_township_or_forbid(request, user)
        return self.township_summaries(user)

    def township_page(self, request: Request, agency_id: str, returned: bool = True) -> Response:
        """One township's delegated items, with the review form where this user's body decides."""
        web = self.web
        user = web.guard(request, "township.view", f"township/{agency_id}")
        items = self.township_items(request, user, agency_id, returned)
        now = datetime.now(UTC)
        # The review form is offered next to a delegation whose review this user's body decides.
        under_review = [i.workflow_id for i in items if i.state == "under_review"]
        reviewable: set[str] = set()
        if under_review and access.allowed(user, "delegation.review"):
            with Session(web.engine) as session:
                reviewable = decidable_by(session, under_review, user.agency)
        return web.render(
            request,
            "township.html",
            user,
            township=agency_id,
            items=items,
            returned=returned,
            reviewable=reviewable,
            review_days={i.code + "|" + i.case_id: read.days_until(i.next_review_at, now) for i in items},
        )

    def api_township(self, request: Request, agency_id: str, returned: bool = True) -> dict[str, Any]:
        """One township's delegated items as JSON."""
        user = self.web.guard(request, "township.view", f"township/{agency_id}")
        items = self.township_items(request, user, agency_id, returned)
        return {"township": agency_id, "items": [i.model_dump(mode="json") for i in items]}


def build_router(web: Console) -> APIRouter:
    """Township list and a township's delegated items."""
    routes = _TownshipRoutes(web)
    router = APIRouter()
    router.add_api_route("/townships", routes.townships_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/api/townships", routes.api_townships, methods=["GET"])
    router.add_api_route(
        "/townships/{agency_id}", routes.township_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route("/api/townships/{agency_id}", routes.api_township, methods=["GET"])
    return router
