"""The coordinator's inbox, a dispute's page, and the decisions taken on it (sent to Temporal).

A decision's form posts to ``/disputes/<id>/<action>``; an accepted one redirects back to the
page, and so does one the workflow refused (its reason travels in a short-lived cookie signed
with the session's CSRF token), so reloading the page never sends the decision again. Input the
form itself got wrong is answered at once next to the field (nothing was sent).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from contracts.dispute_rules import acting_office
from services.console import access, inbox_list, read
from services.console.actions import (
    ACTIONS,
    ActionRefused,
    DisputeActions,
    Offers,
    facts_from_read_model,
    offers_for,
)
from services.console.auth import (
    CurrentUser,
    audit,
)
from services.console.case_views import CaseViews
from services.console.decision_flow import RefusalCookie, wait_for_projection
from services.console.i18n import field_label, validation_message
from services.console.tables import ConsoleUser, Role
from services.console.web import (
    Console,
    Forbidden,
    NotFound,
    _ip,
    _safe_next,
)
from services.registry.models import Case

REASSIGN_REFUSED = (
    "只有协调机构负责人或管理员可以改派争议",
    "only the office's lead or an administrator reassigns",
)


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
    def inbox_page(request: Request) -> Response:
        user = guard(request, "inbox.view")
        view = inbox_list.inbox_view(engine, user, request.query_params, lang_of(request, user))
        return render(
            request,
            "inbox.html",
            user,
            states=sorted(read.OPEN_STATES),
            party_agencies=sorted(
                {p for r in view["rows"] for p in r.task.parties} | {view["agency"]} - {""}
            ),
            request_id=str(uuid.uuid4()),
            **view,
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

    def leads(user: CurrentUser) -> bool:
        """A coordinator lead: the head of a coordinating office (the dispute's is checked by the rule)."""
        return user.role is Role.COORDINATOR and user.is_head

    def coordinators_of(office: str, holder: str | None) -> list[tuple[str, str]]:
        """Who a dispute may be reassigned to: the office's other active coordinators."""
        with Session(engine) as session:
            rows = session.exec(
                select(ConsoleUser)
                .where(ConsoleUser.role == Role.COORDINATOR.value, ConsoleUser.agency == office)
                .where(col(ConsoleUser.active).is_(True))
                .order_by(col(ConsoleUser.display_name))
            ).all()
        return [(u.username, u.display_name) for u in rows if u.username != holder]

    def dispute_context(request: Request, user: CurrentUser, case_id: str) -> dict[str, Any]:
        context = case_context(request, user, read.DISPUTE, case_id)
        case: Case = context["case"]
        with Session(engine) as session:
            detail = read.dispute_detail(session, case_id)
        facts = facts_from_read_model(
            case.case_id, case.state, case.closed, detail.opened, context["entries"], context["deadlines"]
        )
        offers: Offers = offers_for(
            facts,
            username=user.username,
            agency=user.agency,
            acts=access.allowed(user, "dispute.act"),
            leads=leads(user),
            admin=user.role is Role.ADMIN,
        )
        office = acting_office(facts)
        context.update(
            detail=detail,
            facts=facts,
            offers=offers,
            parties=list(facts.parties or case.parties or []),
            reassign_to=coordinators_of(office, facts.claimed_by) if offers.reassign else [],
            request_id=str(uuid.uuid4()),
            can_act=offers.claim
            or offers.unclaim
            or offers.reassign
            or offers.decisions
            or offers.why_not is not None,
            errors={},
            values={},
            failed_action=None,
            multi=[],
            done=request.query_params.get("done"),
        )
        return context

    refusals = RefusalCookie("lawlink-dispute-refusal", secure=web.settings.secure_cookies)

    def carried_refusal(request: Request, user: CurrentUser, case_id: str) -> dict[str, Any] | None:
        """The refusal the last POST on this dispute redirected with, if this page shows it."""
        action = request.query_params.get("refused")
        return refusals.carried(request, user, f"{case_id}/{action}") if action else None

    @router.get("/disputes/{case_id}", response_class=HTMLResponse)
    def dispute_page(request: Request, case_id: str) -> Response:
        user = guard(request, "dispute.view", f"{read.DISPUTE}/{case_id}")
        context = dispute_context(request, user, case_id)
        refusal = carried_refusal(request, user, case_id)
        if refusal is not None:
            lang = lang_of(request, user)
            context.update(
                errors={f: pair[0] if lang == "zh" else pair[1] for f, pair in refusal["errors"].items()},
                values=refusal.get("values") or {},
                failed_action=request.query_params.get("refused"),
                multi=refusal.get("multi") or [],
            )
        response = render(request, "dispute.html", user, **context)
        refusals.forget(request, response, f"/disputes/{case_id}")
        return response

    def build_input(
        action: str,
        user: CurrentUser,
        form: dict[str, Any],
        multi: list[str],
        reassign: tuple[str, dict[str, str]] = ("", {}),
    ) -> BaseModel:
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
        elif action == "reassign":
            office, names = reassign
            to = text.get("to_coordinator", "")
            data["to_coordinator"] = to
            data["to_coordinator_name"] = names.get(to, "")
            data["reason"] = text.get("reason", "")
            data["as_admin"] = user.role is Role.ADMIN
            if user.role is Role.ADMIN:
                # An administrator acts for the deciding office (the rule skips the office check).
                data["coordinator_agency"] = office
        return model.model_validate(data)

    def form_errors(exc: ValidationError, lang: str) -> dict[str, str]:
        """Each pydantic error in the user's language, naming the field by its label."""
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "form"
            message = validation_message(err["type"], err.get("ctx"), lang, err["msg"])
            errors.setdefault(
                field,
                f"{field_label(field, lang)}：{message}"
                if lang == "zh"
                else f"{field_label(field, lang)} {message}",
            )
        return errors

    def with_refusal(
        response: Response,
        user: CurrentUser,
        case_id: str,
        action: str,
        exc: ActionRefused,
        form: dict[str, Any],
        multi: list[str],
    ) -> Response:
        """Carry the refusal (both languages) and the typed text to the page the POST redirects to."""
        values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "request_id", "next")}
        errors = {exc.field: (exc.text("zh"), exc.text("en"))}
        path = f"/disputes/{case_id}"
        return refusals.carry(response, user, path, f"{case_id}/{action}", errors, values, {"multi": multi})

    @router.post("/disputes/{case_id}/{action}")
    async def dispute_action(request: Request, case_id: str, action: str) -> Response:
        target = f"{read.DISPUTE}/{case_id}"
        # A reassignment is a lead's or an administrator's; every other decision a coordinator's.
        user = guard(request, "dispute.view" if action == "reassign" else "dispute.act", target)
        raw = await request.form()
        check_csrf(request, user, str(raw.get("csrf_token", "")), "dispute.act")
        if action not in ACTIONS:
            raise NotFound(f"action {action}", field="action", what_zh=f"操作 {action}")
        if action == "reassign" and not (leads(user) or user.role is Role.ADMIN):
            audit(
                engine,
                action="dispute.reassign",
                outcome="forbidden",
                user=user,
                target=target,
                ip=_ip(request),
            )
            raise Forbidden(user, "dispute.reassign", REASSIGN_REFUSED)
        with Session(engine) as session:
            case = load_case(session, request, user, read.DISPUTE, case_id)
            seq_before, workflow_id = case.last_seq, case.workflow_id
        reassign: tuple[str, dict[str, str]] = ("", {})
        if action == "reassign":
            with Session(engine) as session:
                opened = read.dispute_detail(session, case_id).opened
            office = str(
                opened.get("government" if case.state == "referred_to_government" else "coordinator_office")
                or ""
            )
            reassign = (office, dict(coordinators_of(office, None)))
        form = {k: v for k, v in raw.items()}
        multi = [str(v) for v in raw.getlist("agencies")]
        lang = lang_of(request, user)
        errors: dict[str, str] = {}
        data: BaseModel | None = None
        if action == "reassign" and str(form.get("to_coordinator", "")) not in reassign[1]:
            errors = {
                "to_coordinator": f"{field_label('to_coordinator', lang)}："
                + ("须为本协调机构的协调人" if lang == "zh" else "must be a coordinator of the office")
            }
        else:
            try:
                data = build_input(action, user, form, multi, reassign)
            except ValidationError as exc:
                errors = form_errors(exc, lang)
        if data is None:
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
                audit(
                    engine,
                    action=f"dispute.{action}",
                    outcome="refused",
                    user=user,
                    target=target,
                    ip=_ip(request),
                    detail=f"{exc.field}: {exc.reason}",
                )
                # Shown on the dispute page (also for a claim made from the inbox), by a GET.
                redirect = RedirectResponse(f"/disputes/{case_id}?refused={action}", status_code=303)
                return with_refusal(redirect, user, case_id, action, exc, form, multi)
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
                    await anyio.to_thread.run_sync(wait_for_projection, engine, workflow_id, seq_before)
                back = _safe_next(str(form.get("next") or f"/disputes/{case_id}"))
                sep = "&" if "?" in back else "?"
                return RedirectResponse(f"{back}{sep}done={action}", status_code=303)
        # Input the form got wrong: answered at once, by the field (nothing was sent).
        context = dispute_context(request, user, case_id)
        context.update(errors=errors, values=form, failed_action=action, multi=multi)
        return render(request, "dispute.html", user, status=422, **context)

    return router
