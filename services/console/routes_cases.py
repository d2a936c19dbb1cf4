"""The case list, a case's page (and its JSON), and the agency officer's view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from services.console import access, read
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
    def index(request: Request, process: str = "", state: str = "", q: str = "") -> Response:
        user = guard(request, "cases.list")
        rows = case_rows(user, process, state, q)
        processes = sorted({r["process"] for r in rows} | set(read_processes()))
        return render(
            request, "cases.html", user, cases=rows, process=process, state=state, q=q, processes=processes
        )

    def read_processes() -> list[str]:
        from contracts.catalog import PROCESSES

        return list(PROCESSES)

    @router.get("/api/cases")
    def api_cases(request: Request, process: str = "", state: str = "", q: str = "") -> list[dict[str, Any]]:
        user = guard(request, "cases.list")
        return [{**r, "updated_at": r["updated_at"].isoformat()} for r in case_rows(user, process, state, q)]

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
