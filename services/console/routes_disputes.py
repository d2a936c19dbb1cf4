"""The coordinator's inbox, a dispute's page, and the decisions taken on it (sent to Temporal)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from contracts.agencies import agencies
from contracts.jurisdiction_dispute import PARTY_KINDS
from services.console import access, read
from services.console.actions import ACTIONS, ActionRefused, DisputeActions
from services.console.auth import (
    CurrentUser,
    audit,
)
from services.console.case_views import CaseViews
from services.console.web import (
    Console,
    NotFound,
    _ip,
    _safe_next,
)
from services.registry.models import Case

PROJECTION_WAIT_SECONDS = 3.0


def build_router(web: Console, cases: CaseViews, dispute_actions: DisputeActions) -> APIRouter:
    """Inbox, dispute page and dispute actions."""
    router = APIRouter()
    engine, render, guard, check_csrf, lang_of = (
        web.engine,
        web.render,
        web.guard,
        web.check_csrf,
        web.lang_of,
    )
    load_case, case_context = cases.load_case, cases.case_context

    def inbox_rows(
        user: CurrentUser, agency: str, state: str, overdue: bool, q: str
    ) -> list[read.DisputeRow]:
        with Session(engine) as session:
            return read.inbox(
                session,
                office=user.agency,
                now=datetime.now(UTC),
                calendar=read.work_calendar(),
                agency=agency or None,
                state=state or None,
                overdue_only=overdue,
                search=q or None,
            )

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(
        request: Request, agency: str = "", state: str = "", overdue: bool = False, q: str = ""
    ) -> Response:
        user = guard(request, "inbox.view")
        rows = inbox_rows(user, agency, state, overdue, q)
        party_agencies = sorted({p for r in rows for p in r.task.parties})
        return render(
            request,
            "inbox.html",
            user,
            rows=rows,
            agency=agency,
            state=state,
            overdue=overdue,
            q=q,
            states=sorted(read.OPEN_STATES),
            party_agencies=party_agencies,
            request_id=str(uuid.uuid4()),
        )

    @router.get("/api/inbox")
    def api_inbox(
        request: Request, agency: str = "", state: str = "", overdue: bool = False, q: str = ""
    ) -> list[dict[str, Any]]:
        user = guard(request, "inbox.view")
        return [
            {
                **r.task.model_dump(mode="json"),
                "rule": r.deadline.rule if r.deadline else None,
                "left": r.remaining.amount if r.remaining else None,
                "unit": r.remaining.unit if r.remaining else None,
            }
            for r in inbox_rows(user, agency, state, overdue, q)
        ]

    def dispute_context(request: Request, user: CurrentUser, case_id: str) -> dict[str, Any]:
        context = case_context(request, user, read.DISPUTE, case_id)
        with Session(engine) as session:
            detail = read.dispute_detail(session, case_id)
        parties = list(detail.opened.get("parties") or context["case"].parties or [])
        others = [a.id for a in agencies().values() if a.kind in PARTY_KINDS and a.id not in parties]
        context.update(
            detail=detail,
            parties=parties,
            other_agencies=others,
            request_id=str(uuid.uuid4()),
            can_act=access.allowed(user, "dispute.act"),
            errors={},
            values={},
            failed_action=None,
            done=request.query_params.get("done"),
        )
        return context

    @router.get("/disputes/{case_id}", response_class=HTMLResponse)
    def dispute_page(request: Request, case_id: str) -> Response:
        user = guard(request, "dispute.view", f"{read.DISPUTE}/{case_id}")
        return render(request, "dispute.html", user, **dispute_context(request, user, case_id))

    def build_input(action: str, user: CurrentUser, form: dict[str, Any], multi: list[str]) -> BaseModel:
        """The Update's input from the form; pydantic errors name the form field."""
        _, model = ACTIONS[action]
        data: dict[str, Any] = {
            "coordinator": user.username,
            "coordinator_name": user.display_name,
            "coordinator_agency": user.agency or "",
            "request_id": form.get("request_id") or None,
        }
        text = {k: str(v).strip() for k, v in form.items() if k not in ("csrf_token", "request_id", "next")}
        if action == "request_opinions":
            data["agencies"] = multi
            data["note"] = text.get("note", "")
            if text.get("due_date"):
                data["due_date"] = text["due_date"]
        elif action == "extend":
            data["working_days"] = text.get("working_days", "")
            data["reason"] = text.get("reason", "")
        elif action in ("designate", "interim"):
            data["agency"] = text.get("agency", "")
            data["reason"] = text.get("reason", "")
            if action == "interim":
                data["measures"] = text.get("measures", "")
        elif action in ("unclaim", "refer"):
            data["reason"] = text.get("reason", "")
        return model.model_validate(data)

    def form_errors(exc: ValidationError, lang: str) -> dict[str, str]:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(field, err["msg"])
        return errors

    def wait_for_projection(workflow_id: str, seq_before: int) -> None:
        """Give the registry a moment to project the decision, so the redirected page shows it."""

        end = time.monotonic() + PROJECTION_WAIT_SECONDS
        while time.monotonic() < end:
            with Session(engine) as session:
                case = session.get(Case, workflow_id)
                if case is not None and case.last_seq > seq_before:
                    return
            time.sleep(0.1)

    @router.post("/disputes/{case_id}/{action}")
    async def dispute_action(request: Request, case_id: str, action: str) -> Response:
        target = f"{read.DISPUTE}/{case_id}"
        user = guard(request, "dispute.act", target)
        raw = await request.form()
        check_csrf(request, user, str(raw.get("csrf_token", "")), "dispute.act")
        if action not in ACTIONS:
            raise NotFound(f"action {action}")
        with Session(engine) as session:
            case = load_case(session, request, user, read.DISPUTE, case_id)
            seq_before, workflow_id = case.last_seq, case.workflow_id
        form = {k: v for k, v in raw.items()}
        multi = [str(v) for v in raw.getlist("agencies")]
        errors: dict[str, str] = {}
        try:
            data = build_input(action, user, form, multi)
        except ValidationError as exc:
            errors = form_errors(exc, lang_of(request, user))
            audit(
                engine,
                action=f"dispute.{action}",
                outcome="invalid",
                user=user,
                target=target,
                ip=_ip(request),
                detail="; ".join(f"{k}: {v}" for k, v in errors.items()),
            )
        else:
            try:
                result = await dispute_actions.run(action, case_id, data)
            except ActionRefused as exc:
                errors = {exc.field: exc.reason}
                audit(
                    engine,
                    action=f"dispute.{action}",
                    outcome="refused",
                    user=user,
                    target=target,
                    ip=_ip(request),
                    detail=f"{exc.field}: {exc.reason}",
                )
            else:
                audit(
                    engine,
                    action=f"dispute.{action}",
                    outcome="ok",
                    user=user,
                    target=target,
                    ip=_ip(request),
                    detail=f"state {result.state}" + (" (duplicate)" if result.duplicate else ""),
                )
                if not result.duplicate:
                    await anyio.to_thread.run_sync(wait_for_projection, workflow_id, seq_before)
                back = _safe_next(str(form.get("next") or f"/disputes/{case_id}"))
                sep = "&" if "?" in back else "?"
                return RedirectResponse(f"{back}{sep}done={action}", status_code=303)
        # A refusal (also of a claim made from the inbox) is shown on the dispute page, by the form.
        context = dispute_context(request, user, case_id)
        context.update(errors=errors, values=form, failed_action=action, multi=multi)
        return render(request, "dispute.html", user, status=422, **context)

    return router
