"""The admin's accounts page: add an account, change its role, agency and head flag, disable or
re-enable it, and set a new password. Every change is audited with what changed; every form
answers with a redirect (POST-redirect-GET), so reloading the page never repeats it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from contracts.agencies import agencies
from services.console.auth import (
    AccountChange,
    CurrentUser,
    UserInputError,
    change_user,
    create_user,
    list_users,
    reset_password,
)
from services.console.web import Console
from services.readmodel.accounts import Role


class _UserRoutes:
    """The handlers of the accounts page and its forms, bound to one console."""

    def __init__(self, web: Console) -> None:
        self.web = web

    def page(self, request: Request, user: CurrentUser, status: int = 200, **extra: Any) -> Response:
        """The accounts page; ``extra`` carries the errors and typed values of a refused form."""
        with Session(self.web.engine) as session:
            users = [u.model_dump(exclude={"password_hash"}) for u in list_users(session)]
        return self.web.render(
            request,
            "users.html",
            user,
            status=status,
            users=users,
            roles=[r.value for r in Role],
            all_agencies=list(agencies().values()),
            errors=extra.pop("errors", {}),
            values=extra.pop("values", {}),
            failed_for=extra.pop("failed_for", None),
            **extra,
        )

    def refused(
        self, request: Request, user: CurrentUser, action: str, target: str, exc: UserInputError, **extra: Any
    ) -> Response:
        """Audit the refused change and show the page again with the reason by the field."""
        self.web.audit(request, action=action, outcome="invalid", user=user, target=target, detail=str(exc))
        lang = self.web.lang_of(request, user)
        return self.page(request, user, status=422, errors={exc.field: exc.text(lang)}, **extra)

    def done(
        self, request: Request, user: CurrentUser, action: str, target: str, detail: str | None = None
    ) -> Response:
        """Audit the change and answer with the page (a redirect, so a reload repeats nothing)."""
        self.web.audit(request, action=action, outcome="ok", user=user, target=target, detail=detail)
        return RedirectResponse(f"/users?done={action.removeprefix('users.')}&who={target}", status_code=303)

    def users_page(self, request: Request) -> Response:
        """Every account, with what the last form changed."""
        user = self.web.guard(request, "users.view")
        return self.page(
            request, user, done=request.query_params.get("done"), done_for=request.query_params.get("who")
        )

    async def add_user(self, request: Request) -> Response:
        """A new account."""
        web = self.web
        user = web.guard(request, "users.add")
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "users.add")
        values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "password")}
        username = values.get("username", "").strip()
        try:
            with Session(web.engine) as session:
                create_user(
                    session,
                    username=username,
                    password=str(form.get("password", "")),
                    role=values.get("role", ""),
                    display_name=values.get("display_name") or None,
                    agency=values.get("agency") or None,
                    is_head=values.get("is_head") == "on",
                )
                session.commit()
        except UserInputError as exc:
            return self.refused(request, user, "users.add", username, exc, values=values)
        return self.done(request, user, "users.add", username, f"role {values.get('role')}")

    async def edit_user(self, request: Request, username: str) -> Response:
        """An account's role, agency, head flag and whether it may sign in."""
        web = self.web
        user = web.guard(request, "users.edit")
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "users.edit")
        change = AccountChange(
            role=str(form.get("role", "")),
            agency=str(form.get("agency", "")) or None,
            is_head=form.get("is_head") == "on",
            active=form.get("active") == "on",
        )
        try:
            with Session(web.engine) as session:
                changed = change_user(session, username, change, by=user.username)
                session.commit()
        except UserInputError as exc:
            return self.refused(request, user, "users.edit", username, exc, failed_for=username)
        return self.done(request, user, "users.edit", username, "; ".join(changed) or "no change")

    async def set_password(self, request: Request, username: str) -> Response:
        """A new password for an account."""
        web = self.web
        user = web.guard(request, "users.edit")
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "users.edit")
        try:
            with Session(web.engine) as session:
                reset_password(session, username, str(form.get("password", "")))
                session.commit()
        except UserInputError as exc:
            return self.refused(request, user, "users.password", username, exc, failed_for=username)
        return self.done(request, user, "users.password", username)


def build_router(web: Console) -> APIRouter:
    """``/users`` and the forms on it."""
    routes = _UserRoutes(web)
    router = APIRouter()
    router.add_api_route("/users", routes.users_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/users", routes.add_user, methods=["POST"])
    router.add_api_route("/users/{username}/edit", routes.edit_user, methods=["POST"])
    router.add_api_route("/users/{username}/password", routes.set_password, methods=["POST"])
    return router
