"""The yearly review of a delegation: the reviewer's item-by-item decision (sent to Temporal).

``GET /delegations/<id>/review`` shows every item under review with what the township did with
it since the last review, and offers the form only to a coordinator of a deciding body (the
justice bureau or reform office the workflow named); anyone else who may open it reads why not.
The form carries a ``decision_id`` made when the page was drawn, the Update's id, so a double
submit is one decision. The POST answers input the form got wrong at once next to the field
(nothing was sent); a refusal by the workflow redirects back to the form, which shows it once
(:mod:`services.console.decision_flow`), so a reload sends nothing; an accepted decision
redirects to the case page.
"""

from __future__ import annotations

import uuid

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from contracts.power_delegation import PROCESS, ReviewDecisionIn, ReviewOutcome
from services.console import access
from services.console.auth import CurrentUser
from services.console.case_views import CaseViews
from services.console.decision_flow import RefusalCookie, wait_for_projection
from services.console.review_actions import ReviewActions
from services.console.web import Console
from services.delegations.reviews import OpenReview, open_review, why_not_decide
from services.i18n import enum_label, field_label, pick, validation_message
from services.readmodel.models import Case
from services.update_refusals import ActionRefused

PERMISSION = "delegation.review"
AUDIT_ACTION = "delegation.review"
_FORM_ONLY = ("csrf_token", "decision_id")


def review_path(case_id: str) -> str:
    """The review form of delegation ``case_id``."""
    return f"/delegations/{case_id}/review"


def item_field(name: str, code: str) -> str:
    """The form field of one item's ``name`` (``outcome.ZH-0107``); the item codes the page
    listed come back as ``item``, in the page's order."""
    return f"{name}.{code}"


def decision_from_form(user: CurrentUser, form: dict[str, str], codes: list[str]) -> ReviewDecisionIn:
    """The Update's input from the form: one decision per item listed, in the page's order; the
    reviewer is the user's own agency (the workflow decides whether it is the review's).

    A new scope goes with an adjustment only and a reason with a revocation only, so text left
    in the other box of a changed choice is not sent as part of the decision.
    """
    decisions: list[dict[str, str]] = []
    for code in codes:
        decision = {"item_code": code}
        outcome = form.get(item_field("outcome", code), "").strip()
        if outcome:
            decision["outcome"] = outcome
        scope = form.get(item_field("new_scope", code), "").strip()
        reason = form.get(item_field("reason", code), "").strip()
        if outcome == "adjust" and scope:
            decision["new_scope"] = scope
        if outcome == "revoke" and reason:
            decision["reason"] = reason
        decisions.append(decision)
    return ReviewDecisionIn.model_validate(
        {
            "decision_id": form.get("decision_id", "").strip(),
            "reviewer": user.agency or "",
            "document_no": form.get("document_no", "").strip(),
            "decisions": decisions,
        }
    )


def form_field_of(field: str, codes: list[str]) -> str:
    """The form field a workflow refusal is about: ``decisions[n].<name>`` is one item's field,
    ``type`` (the event the workflow was not waiting for) the review's state."""
    if field == "type":
        return "review_state"
    if field.startswith("decisions[") and "]." in field:
        index, name = field[len("decisions[") :].split("].", 1)
        if index.isdigit() and int(index) < len(codes):
            return item_field("item" if name == "item_code" else name, codes[int(index)])
    return field


def _label(form_field: str, lang: str) -> str:
    name, _, code = form_field.partition(".")
    label = field_label(name, lang)
    if not code:
        return label
    return f"事项 {code} 的{label}" if lang == "zh" else f"{label} of item {code}"


def form_errors(exc: ValidationError, codes: list[str], lang: str) -> dict[str, str]:
    """Each pydantic error in ``lang``, keyed by the form field and naming it by its label."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = err["loc"]
        if len(loc) >= 3 and loc[0] == "decisions" and isinstance(loc[1], int) and loc[1] < len(codes):
            key = item_field("item" if loc[2] == "item_code" else str(loc[2]), codes[loc[1]])
        else:
            key = str(loc[0]) if loc else "form"
        message = validation_message(err["type"], err.get("ctx"), lang, err["msg"])
        label = _label(key, lang)
        errors.setdefault(key, f"{label}：{message}" if lang == "zh" else f"{label} {message}")
    return errors


class _ReviewRoutes:
    """The handlers of the review form and its decision, bound to one console."""

    def __init__(self, web: Console, cases: CaseViews, review_actions: ReviewActions) -> None:
        self.web, self.cases, self.review_actions = web, cases, review_actions
        self.refusals = RefusalCookie("lawlink-review-refusal", secure=web.settings.secure_cookies)

    def load(self, request: Request, user: CurrentUser, case_id: str) -> tuple[Case, OpenReview]:
        """The delegation and its open review, if the user may open it and act on it at all."""
        with Session(self.web.engine) as session:
            case = self.cases.load_case(session, request, user, PROCESS, case_id)
            if not access.permits(user, PERMISSION, access.case_agencies(case)):
                raise self.web.forbid(
                    request, user, PERMISSION, case.workflow_id, "delegation outside the role's scope"
                )
            return case, open_review(session, case.workflow_id)

    def page(
        self,
        request: Request,
        user: CurrentUser,
        case: Case,
        review: OpenReview,
        *,
        errors: dict[str, str],
        values: dict[str, str],
        refused: bool = False,
        status: int = 200,
    ) -> HTMLResponse:
        """The form, with a fresh ``decision_id``, or why this user may not decide."""
        lang = self.web.lang_of(request, user)
        why_not = why_not_decide(review, user.agency)
        return self.web.render(
            request,
            "review.html",
            user,
            status=status,
            case=case,
            review=review,
            why_not=pick(why_not, lang) if why_not else None,
            decision_id=uuid.uuid4().hex,
            errors=errors,
            values=values,
            refused=refused,
            item_field=item_field,
            outcomes=[(o.value, enum_label("ReviewOutcome", o.value, lang)) for o in ReviewOutcome],
            field_label=lambda name: _label(name, lang),
        )

    def review_page(self, request: Request, case_id: str) -> Response:
        """The form, showing once the refusal the last POST redirected with."""
        web = self.web
        user = web.guard(request, PERMISSION, f"{PROCESS}/{case_id}")
        case, review = self.load(request, user, case_id)
        refusals = self.refusals
        carried = refusals.carried(request, user, case_id) if request.query_params.get("refused") else None
        errors: dict[str, str] = {}
        if carried is not None:
            errors = {
                f: pair[0] if web.lang_of(request, user) == "zh" else pair[1]
                for f, pair in carried["errors"].items()
            }
        response = self.page(
            request,
            user,
            case,
            review,
            errors=errors,
            values=(carried or {}).get("values") or {},
            refused=carried is not None,
        )
        refusals.forget(request, response, review_path(case_id))
        return response

    async def decide(self, request: Request, case_id: str) -> Response:
        """The decision, sent to the workflow as an Update (see the module's docstring)."""
        web = self.web
        target = f"{PROCESS}/{case_id}"
        user = web.guard(request, PERMISSION, target)
        raw = await request.form()
        web.check_csrf(request, user, str(raw.get("csrf_token", "")), PERMISSION)
        case, review = self.load(request, user, case_id)
        codes = [str(c) for c in raw.getlist("item")]
        form = {k: str(v) for k, v in raw.items() if k != "item"}
        lang = web.lang_of(request, user)

        def record(outcome: str, detail: str) -> None:
            web.audit(request, action=AUDIT_ACTION, outcome=outcome, user=user, target=target, detail=detail)

        try:
            data = decision_from_form(user, form, codes)
        except ValidationError as exc:
            errors = form_errors(exc, codes, lang)
            record("invalid", "; ".join(f"{k}: {v}" for k, v in errors.items()))
            return self.page(request, user, case, review, errors=errors, values=form, status=422)
        try:
            result = await self.review_actions.decide(case_id, data)
        except ActionRefused as exc:
            record("refused", f"{exc.field}: {exc.reason}")
            values = {k: v for k, v in form.items() if k not in _FORM_ONLY}
            redirect = RedirectResponse(f"{review_path(case_id)}?refused=1", status_code=303)
            return self.refusals.carry(
                redirect,
                user,
                review_path(case_id),
                case_id,
                {form_field_of(exc.field, codes): (exc.text("zh"), exc.text("en"))},
                values,
            )
        record(
            "ok",
            f"{data.document_no}; state {result.state}"
            + (f"; returned {', '.join(result.returned)}" if result.returned else "")
            + (" (duplicate)" if result.duplicate else ""),
        )
        if not result.duplicate:
            await anyio.to_thread.run_sync(wait_for_projection, web.engine, case.workflow_id, case.last_seq)
        return RedirectResponse(f"/cases/{PROCESS}/{case_id}?done=review", status_code=303)


def build_router(web: Console, cases: CaseViews, review_actions: ReviewActions) -> APIRouter:
    """The review form and the decision it sends."""
    routes = _ReviewRoutes(web, cases, review_actions)
    router = APIRouter()
    router.add_api_route(
        "/delegations/{case_id}/review", routes.review_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route("/delegations/{case_id}/review", routes.decide, methods=["POST"])
    return router
