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
from services.console.auth import (
    CurrentUser,
    audit,
)
from services.console.case_views import CaseViews
from services.console.web import (
    Console,
    _ip,
)
from services.registry.models import Case, DeadlinePublic


def build_router(web: Console, cases: CaseViews) -> APIRouter:
    """Case list, case page and agency view."""
    router = APIRouter()
    engine, render, guard, temporal_link = web.engine, web.render, web.guard, web.temporal_link
    case_rows, case_context = cases.case_rows, cases.case_context

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        """The case list: filtered, sorted and paged on the server, the view in the URL; with
        ``format=csv`` or ``xlsx`` the whole filtered list as a download."""
        user = guard(request, "cases.list")
        query = case_list.parse(request.query_params)
        if query.export:
            audit(
                engine,
                action="cases.export",
                outcome="ok",
                user=user,
                target=query.export,
                ip=_ip(request),
                detail=case_list.filter_summary(query),
            )
            return case_list.export(engine, user, query)
        found = case_list.page_of(engine, user, query)
        lang = web.lang_of(request, user)
        return render(
            request,
            "cases.html",
            user,
            cases=found.rows,
            pg=found,
            f=query.filters,
            links=lists.links(
                "/", request.query_params, query.paging, due="asc", case_id="asc", agency="asc"
            ),
            lt=lists.list_translator(lang),
            per_page_choices=lists.PER_PAGE_CHOICES,
            process=query.filters.process,
            state=query.filters.state,
            q=query.filters.q,
            processes=sorted(PROCESSES),
            all_agencies=sorted(agencies().values(), key=lambda a: a.id),
        )

    @router.get("/api/cases")
    def api_cases(request: Request, response: Response) -> list[dict[str, Any]]:
        """One page of the case list (the total in ``X-Total-Count``, the pages in ``X-Pages``)."""
        user = guard(request, "cases.list")
        query = case_list.parse(request.query_params)
        found = case_list.page_of(engine, user, query)
        response.headers["X-Total-Count"] = str(found.total)
        response.headers["X-Pages"] = str(found.pages)
        return [
            {
                **r,
                "updated_at": r["updated_at"].isoformat(),
                "next_due_at": r["next_due_at"].isoformat() if r["next_due_at"] else None,
            }
            for r in found.rows
        ]

    @router.get("/cases/{process}/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, process: str, case_id: str) -> Response:
        user = guard(request, "case.view", f"{process}/{case_id}")
        context = case_context(request, user, process, case_id)
        if context["content"] is not None:
            audit(
                engine,
                action="referral.read",
                outcome="ok",
                user=user,
                target=f"{process}/{case_id}",
                ip=_ip(request),
            )
        return render(request, "case.html", user, **context, can_dispute=access.allowed(user, "dispute.view"))

    @router.get("/api/cases/{process}/{case_id}")
    def api_case(request: Request, process: str, case_id: str) -> dict[str, Any]:
        user = guard(request, "case.view", f"{process}/{case_id}")
        ctx = case_context(request, user, process, case_id)
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
                temporal_ui_url=temporal_link(case.workflow_id),
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
        if ctx["townships"]:
            body["townships"] = [{"township": t, "url": f"/townships/{t}"} for t in ctx["townships"]]
        return body

    def agency_data(
        user: CurrentUser,
    ) -> tuple[list[tuple[DeadlinePublic, read.Remaining, Case | None]], list[dict[str, Any]]]:
        now = datetime.now(UTC)
        calendar = read.work_calendar()
        todo: list[tuple[DeadlinePublic, read.Remaining, Case | None]] = []
        with Session(engine) as session:
            for row in read.agency_todo(session, user.agency or ""):
                public = DeadlinePublic.model_validate(row, from_attributes=True)
                todo.append(
                    (public, read.remaining(public, now, calendar), session.get(Case, row.workflow_id))
                )
        return todo, case_rows(user, None, None, None)

    @router.get("/agency", response_class=HTMLResponse)
    def agency_page(request: Request) -> Response:
        user = guard(request, "agency.view")
        todo, cases = agency_data(user)
        return render(request, "agency.html", user, todo=todo, cases=cases)

    @router.get("/api/agency")
    def api_agency(request: Request) -> dict[str, Any]:
        user = guard(request, "agency.view")
        todo, cases = agency_data(user)
        return {
            "agency": user.agency,
            "todo": [
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
            ],
            "cases": [{**c, "updated_at": c["updated_at"].isoformat()} for c in cases],
        }

    return router
