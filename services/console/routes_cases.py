"""The case list, a case's page (and its JSON), and the agency officer's view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from contracts.agencies import agencies
from contracts.catalog import PROCESSES
from services.console import access, case_list, lists, read
from services.console.auth import CurrentUser
from services.console.case_facts import substance_json
from services.console.case_views import CaseViews
from services.console.paging import Page
from services.console.web import Console
from services.readmodel.models import Case, DeadlinePublic

Todo = list[tuple[DeadlinePublic, read.Remaining, Case | None]]


def case_json(ctx: dict[str, Any], temporal_ui_url: str) -> dict[str, Any]:
    """A case as its page shows it, from the page's context: what anyone who may open it sees,
    and the rest only where the page shows it too (the same need-to-know)."""
    case: Case = ctx["case"]
    body: dict[str, Any] = {
        "process": case.process,
        "case_id": case.case_id,
        "state": case.state,
        "closed": case.closed,
        "confidential": ctx["confidential"],
    }
    if ctx["readable"]:
        body.update(
            agency=case.agency,
            parties=case.parties,
            title=case.title,
            temporal_ui_url=temporal_ui_url,
            timeline=[e.model_dump(mode="json") for e in ctx["entries"]],
            deadlines=[d.model_dump(mode="json") for d in ctx["deadlines"]],
            content=[
                {
                    "event_type": c.event_type,
                    "source_agency": c.source_agency,
                    "occurred_at": c.occurred_at.isoformat(),
                    "content": c.content,
                }
                for c in ctx["content"] or []
            ]
            if ctx["confidential"]
            else None,
        )
    if ctx["substance"] is not None:
        body["substance"] = substance_json(ctx["substance"])
    if ctx["townships"]:
        body["townships"] = [{"township": t, "url": f"/townships/{t}"} for t in ctx["townships"]]
    return body


def list_row_json(row: dict[str, Any]) -> dict[str, Any]:
    """A case list row with its times in ISO 8601."""
    return {
        **row,
        "updated_at": row["updated_at"].isoformat(),
        "next_due_at": row["next_due_at"].isoformat() if row["next_due_at"] else None,
    }


def todo_json(todo: Todo) -> list[dict[str, Any]]:
    """The agency's duties, soonest first, with the time left."""
    return [
        {
            "process": d.process,
            "case_id": d.case_id,
            "rule": d.rule,
            "label_zh": d.label_zh,
            "due_at": d.due_at.isoformat(),
            "left": r.amount,
            "unit": r.unit,
            "overdue": r.overdue,
        }
        for d, r, _ in todo
    ]


class _CaseRoutes:
    """The handlers of the case pages, bound to one console."""

    def __init__(self, web: Console, cases: CaseViews) -> None:
        self.web, self.cases = web, cases

    def index(self, request: Request) -> Response:
        """The case list: filtered, sorted and paged on the server, the view in the URL; with
        ``format=csv`` or ``xlsx`` the whole filtered list as a download."""
        web = self.web
        user = web.guard(request, "cases.list")
        query = case_list.parse(request.query_params)
        if query.export:
            web.audit(
                request,
                action="cases.export",
                outcome="ok",
                user=user,
                target=query.export,
                detail=case_list.filter_summary(query),
            )
            return case_list.export(web.engine, user, query)
        found = case_list.page_of(web.engine, user, query)
        return web.render(
            request,
            "cases.html",
            user,
            cases=found.rows,
            pg=found,
            f=query.filters,
            links=lists.links(
                "/", request.query_params, query.paging, due="asc", case_id="asc", agency="asc"
            ),
            lt=lists.list_translator(web.lang_of(request, user)),
            per_page_choices=lists.PER_PAGE_CHOICES,
            process=query.filters.process,
            state=query.filters.state,
            q=query.filters.q,
            processes=sorted(PROCESSES),
            all_agencies=sorted(agencies().values(), key=lambda a: a.id),
        )

    def api_cases(self, request: Request, response: Response) -> list[dict[str, Any]]:
        """One page of the case list (the total in ``X-Total-Count``, the pages in ``X-Pages``)."""
        user = self.web.guard(request, "cases.list")
        found = case_list.page_of(self.web.engine, user, case_list.parse(request.query_params))
        response.headers["X-Total-Count"] = str(found.total)
        response.headers["X-Pages"] = str(found.pages)
        return [list_row_json(r) for r in found.rows]

    def case_page(self, request: Request, process: str, case_id: str) -> Response:
        """A case's page; reading a referral's content is audited."""
        web = self.web
        user = web.guard(request, "case.view", f"{process}/{case_id}")
        context = self.cases.case_context(request, user, process, case_id)
        if context["content"] is not None:
            web.audit(request, action="referral.read", outcome="ok", user=user, target=f"{process}/{case_id}")
        return web.render(
            request, "case.html", user, **context, can_dispute=access.allowed(user, "dispute.view")
        )

    def api_case(self, request: Request, process: str, case_id: str) -> dict[str, Any]:
        """A case as its page shows it (see :func:`case_json`)."""
        user = self.web.guard(request, "case.view", f"{process}/{case_id}")
        ctx = self.cases.case_context(request, user, process, case_id)
        return case_json(ctx, self.web.temporal_link(ctx["case"].workflow_id))

    def agency_todo(self, user: CurrentUser) -> Todo:
        """What the user's agency must do next, soonest first, with the time left."""
        now = datetime.now(UTC)
        calendar = read.work_calendar()
        todo: Todo = []
        with Session(self.web.engine) as session:
            for row in read.agency_todo(session, user.agency or ""):
                public = DeadlinePublic.model_validate(row, from_attributes=True)
                todo.append(
                    (public, read.remaining(public, now, calendar), session.get(Case, row.workflow_id))
                )
        return todo

    def agency_cases(
        self, request: Request, user: CurrentUser
    ) -> tuple[case_list.CaseQuery, Page[dict[str, Any]]]:
        """One page of the agency's cases, as the case list pages, sorts and filters them."""
        query = case_list.parse(request.query_params)
        return query, case_list.page_of(self.web.engine, user, query)

    def agency_page(self, request: Request) -> Response:
        """The agency officer's view: the duties due, then the agency's cases a page at a time."""
        web = self.web
        user = web.guard(request, "agency.view")
        query, found = self.agency_cases(request, user)
        return web.render(
            request,
            "agency.html",
            user,
            todo=self.agency_todo(user),
            cases=found.rows,
            pg=found,
            f=query.filters,
            links=lists.links("/agency", request.query_params, query.paging, due="asc", case_id="asc"),
            lt=lists.list_translator(web.lang_of(request, user)),
            per_page_choices=lists.PER_PAGE_CHOICES,
            processes=sorted(PROCESSES),
        )

    def api_agency(self, request: Request, response: Response) -> dict[str, Any]:
        """The agency's duties and one page of its cases (their total in ``X-Total-Count``)."""
        user = self.web.guard(request, "agency.view")
        query, found = self.agency_cases(request, user)
        response.headers["X-Total-Count"] = str(found.total)
        response.headers["X-Pages"] = str(found.pages)
        return {
            "agency": user.agency,
            "todo": todo_json(self.agency_todo(user)),
            "cases": [list_row_json(c) for c in found.rows],
            "cases_paging": {
                "total": found.total,
                "page": found.page,
                "pages": found.pages,
                "per_page": found.per_page,
                "sort": query.paging.sort,
                "order": query.paging.order,
            },
        }


def build_router(web: Console, cases: CaseViews) -> APIRouter:
    """Case list, case page and agency view."""
    routes = _CaseRoutes(web, cases)
    router = APIRouter()
    router.add_api_route("/", routes.index, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/api/cases", routes.api_cases, methods=["GET"])
    router.add_api_route(
        "/cases/{process}/{case_id}", routes.case_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route("/api/cases/{process}/{case_id}", routes.api_case, methods=["GET"])
    router.add_api_route("/agency", routes.agency_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/api/agency", routes.api_agency, methods=["GET"])
    return router
