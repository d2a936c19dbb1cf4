"""The coordinator's inbox, a dispute's page, and the decisions taken on it (sent to Temporal).

A decision's form posts to ``/disputes/<id>/<action>``; an accepted one redirects back to the
page, and so does one the workflow refused (its reason travels in a short-lived cookie signed
with the session's CSRF token), so reloading the page never sends the decision again. Input the
form itself got wrong is answered at once next to the field (nothing was sent).
"""

from __future__ import annotations

import uuid
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
    DisputeActions,
    Offers,
    facts_from_read_model,
    offers_for,
)
from services.console.auth import (
    CurrentUser,
)
from services.console.case_views import CaseViews
from services.console.decision_flow import RefusalCookie, wait_for_projection
from services.console.web import (
    Console,
    Forbidden,
    NotFound,
    _safe_next,
)
from services.i18n import field_label, validation_message
from services.readmodel.accounts import ConsoleUser, Role
from services.readmodel.models import Case
from services.update_refusals import ActionRefused

REASSIGN_REFUSED = (
    "只有协调机构负责人或管理员可以改派争议",
    "only the office's lead or an administrator reassigns",
)


def _leads(user: CurrentUser) -> bool:
    """A coordinator lead: the head of a coordinating office (the dispute's is checked by the rule)."""
    return user.role is Role.COORDINATOR and user.is_head


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


def _decision_input(
    action: str,
    user: CurrentUser,
    form: dict[str, Any],
    multi: list[str],
    reassign: tuple[str, dict[str, str]],
    lang: str,
) -> tuple[BaseModel | None, dict[str, str]]:
    """The Update's input, or (None and) what the form got wrong, by field, in ``lang``."""
    if action == "reassign" and str(form.get("to_coordinator", "")) not in reassign[1]:
        return None, {
            "to_coordinator": f"{field_label('to_coordinator', lang)}："
            + ("须为本协调机构的协调人" if lang == "zh" else "must be a coordinator of the office")
        }
    try:
        return build_input(action, user, form, multi, reassign), {}
    except ValidationError as exc:
        return None, form_errors(exc, lang)


class _DisputeRoutes:
    """The handlers of the inbox, the dispute page and the decisions, bound to one console."""

    def __init__(self, web: Console, cases: CaseViews, dispute_actions: DisputeActions) -> None:
        self.web, self.cases, self.dispute_actions = web, cases, dispute_actions
        self.refusals = RefusalCookie("lawlink-dispute-refusal", secure=web.settings.secure_cookies)

    def inbox_page(self, request: Request) -> Response:
        """The coordinator's inbox: one page of the office's open disputes (see :mod:`inbox_list`)."""
        web = self.web
        user = web.guard(request, "inbox.view")
        view = inbox_list.inbox_view(web.engine, user, request.query_params, web.lang_of(request, user))
        return web.render(
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

    def api_inbox(self, request: Request, response: Response) -> list[dict[str, Any]]:
        """The inbox page's rows as JSON, with the same filters, view, paging and sort; the
        total in ``X-Total-Count``, the pages in ``X-Pages``."""
        user = self.web.guard(request, "inbox.view")
        found = inbox_list.page_of(self.web.engine, user, inbox_list.parse(request.query_params))
        response.headers["X-Total-Count"] = str(found.total)
        response.headers["X-Pages"] = str(found.pages)
        return [inbox_list.row_json(r) for r in found.rows]

    def coordinators_of(self, office: str, holder: str | None) -> list[tuple[str, str]]:
        """Who a dispute may be reassigned to: the office's other active coordinators."""
        with Session(self.web.engine) as session:
            rows = session.exec(
                select(ConsoleUser)
                .where(ConsoleUser.role == Role.COORDINATOR.value, ConsoleUser.agency == office)
                .where(col(ConsoleUser.active).is_(True))
                .order_by(col(ConsoleUser.display_name))
            ).all()
        return [(u.username, u.display_name) for u in rows if u.username != holder]

    def reassign_choices(self, case_id: str, state: str) -> tuple[str, dict[str, str]]:
        """The office a reassignment stays within and its coordinators' names by username."""
        with Session(self.web.engine) as session:
            opened = read.dispute_detail(session, case_id).opened
        office = str(
            opened.get("government" if state == "referred_to_government" else "coordinator_office") or ""
        )
        return office, dict(self.coordinators_of(office, None))

    def dispute_context(self, request: Request, user: CurrentUser, case_id: str) -> dict[str, Any]:
        """The dispute page's context: the case page's, the dispute's facts and what the user may do."""
        context = self.cases.case_context(request, user, read.DISPUTE, case_id)
        case: Case = context["case"]
        with Session(self.web.engine) as session:
            detail = read.dispute_detail(session, case_id)
        facts = facts_from_read_model(
            case.case_id, case.state, case.closed, detail.opened, context["entries"], context["deadlines"]
        )
        offers: Offers = offers_for(
            facts,
            username=user.username,
            agency=user.agency,
            acts=access.allowed(user, "dispute.act"),
            leads=_leads(user),
            admin=user.role is Role.ADMIN,
        )
        office = acting_office(facts)
        context.update(
            detail=detail,
            facts=facts,
            offers=offers,
            parties=list(facts.parties or case.parties or []),
            reassign_to=self.coordinators_of(office, facts.claimed_by) if offers.reassign else [],
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

    def carried_refusal(self, request: Request, user: CurrentUser, case_id: str) -> dict[str, Any] | None:
        """The refusal the last POST on this dispute redirected with, if this page shows it."""
        action = request.query_params.get("refused")
        return self.refusals.carried(request, user, f"{case_id}/{action}") if action else None

    def dispute_page(self, request: Request, case_id: str) -> Response:
        """A dispute's page, showing once the refusal the last decision redirected with."""
        web = self.web
        user = web.guard(request, "dispute.view", f"{read.DISPUTE}/{case_id}")
        context = self.dispute_context(request, user, case_id)
        refusal = self.carried_refusal(request, user, case_id)
        if refusal is not None:
            lang = web.lang_of(request, user)
            context.update(
                errors={f: pair[0] if lang == "zh" else pair[1] for f, pair in refusal["errors"].items()},
                values=refusal.get("values") or {},
                failed_action=request.query_params.get("refused"),
                multi=refusal.get("multi") or [],
            )
        response = web.render(request, "dispute.html", user, **context)
        self.refusals.forget(request, response, f"/disputes/{case_id}")
        return response

    def with_refusal(
        self,
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
        return self.refusals.carry(
            response, user, path, f"{case_id}/{action}", errors, values, {"multi": multi}
        )

    async def dispute_action(self, request: Request, case_id: str, action: str) -> Response:
        """One decision on a dispute, sent to the workflow as an Update (see the module's docstring)."""
        web, engine = self.web, self.web.engine
        target = f"{read.DISPUTE}/{case_id}"
        # A reassignment is a lead's or an administrator's; every other decision a coordinator's.
        user = web.guard(request, "dispute.view" if action == "reassign" else "dispute.act", target)
        raw = await request.form()
        web.check_csrf(request, user, str(raw.get("csrf_token", "")), "dispute.act")
        if action not in ACTIONS:
            raise NotFound(f"action {action}", field="action", what_zh=f"操作 {action}")
        if action == "reassign" and not (_leads(user) or user.role is Role.ADMIN):
            web.audit(request, action="dispute.reassign", outcome="forbidden", user=user, target=target)
            raise Forbidden(user, "dispute.reassign", REASSIGN_REFUSED)
        with Session(engine) as session:
            case = self.cases.load_case(session, request, user, read.DISPUTE, case_id)
            seq_before, workflow_id = case.last_seq, case.workflow_id
        reassign = self.reassign_choices(case_id, case.state) if action == "reassign" else ("", {})
        form = {k: v for k, v in raw.items()}
        multi = [str(v) for v in raw.getlist("agencies")]

        def record(outcome: str, detail: str) -> None:
            web.audit(
                request, action=f"dispute.{action}", outcome=outcome, user=user, target=target, detail=detail
            )

        data, errors = _decision_input(action, user, form, multi, reassign, web.lang_of(request, user))
        if data is None:
            record("invalid", "; ".join(f"{k}: {v}" for k, v in errors.items()))
            # Input the form got wrong: answered at once, by the field (nothing was sent).
            context = self.dispute_context(request, user, case_id)
            context.update(errors=errors, values=form, failed_action=action, multi=multi)
            return web.render(request, "dispute.html", user, status=422, **context)
        try:
            result = await self.dispute_actions.run(action, case_id, data)
        except ActionRefused as exc:
            record("refused", f"{exc.field}: {exc.reason}")
            # Shown on the dispute page (also for a claim made from the inbox), by a GET.
            redirect = RedirectResponse(f"/disputes/{case_id}?refused={action}", status_code=303)
            return self.with_refusal(redirect, user, case_id, action, exc, form, multi)
        record("ok", f"state {result.state}" + (" (duplicate)" if result.duplicate else ""))
        if not result.duplicate:
            await anyio.to_thread.run_sync(wait_for_projection, engine, workflow_id, seq_before)
        back = _safe_next(str(form.get("next") or f"/disputes/{case_id}"))
        sep = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{sep}done={action}", status_code=303)


def build_router(web: Console, cases: CaseViews, dispute_actions: DisputeActions) -> APIRouter:
    """Inbox, dispute page and dispute actions."""
    routes = _DisputeRoutes(web, cases, dispute_actions)
    router = APIRouter()
    router.add_api_route("/inbox", routes.inbox_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/api/inbox", routes.api_inbox, methods=["GET"])
    router.add_api_route(
        "/disputes/{case_id}", routes.dispute_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route("/disputes/{case_id}/{action}", routes.dispute_action, methods=["POST"])
    return router
