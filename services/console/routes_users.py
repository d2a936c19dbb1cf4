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
    audit,
    change_user,
    create_user,
    list_users,
    reset_password,
)
from services.console.tables import Role
from services.console.web import Console, _ip


def build_router(web: Console) -> APIRouter:
    """``/users`` and the forms on it."""
    router = APIRouter()
    engine = web.engine

    def page(request: Request, user: CurrentUser, status: int = 200, **extra: Any) -> Response:
        with Session(engine) as session:
            users = [u.model_dump(exclude={"password_hash"}) for u in list_users(session)]
        return web.render(
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
        request: Request, user: CurrentUser, action: str, target: str, exc: UserInputError, **extra: Any
    ) -> Response:
        audit(
            engine,
            action=action,
            outcome="invalid",
            user=user,
            target=target,
            ip=_ip(request),
            detail=str(exc),
        )
        lang = web.lang_of(request, user)
        return page(request, user, status=422, errors={exc.field: exc.text(lang)}, **extra)

    def done(
        request: Request, user: CurrentUser, action: str, target: str, detail: str | None = None
    ) -> Response:
        """Audit the change and answer with the page (a redirect, so a reload repeats nothing)."""
        audit(engine, action=action, outcome="ok", user=user, target=target, ip=_ip(request), detail=detail)
        return RedirectResponse(f"/users?done={action.removeprefix('users.')}&who={target}", status_code=303)

    @router.get("/users", response_class=HTMLResponse)
    def users_page(request: Request) -> Response:
        user = web.guard(request, "users.view")
        return page(
            request, user, done=request.query_params.get("done"), done_for=request.query_params.get("who")
        )

    @router.post("/users")
    async def add_user(request: Request) -> Response:
        user = web.guard(request, "users.add")
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "users.add")
        values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "password")}
        username = values.get("username", "").strip()
        try:
            with Session(engine) as session:
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
            return refused(request, user, "users.add", username, exc, values=values)
        return done(request, user, "users.add", username, f"role {values.get('role')}")

    @router.post("/users/{username}/edit")
    async def edit_user(request: Request, username: str) -> Response:
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
            with Session(engine) as session:
                changed = change_user(session, username, change, by=user.username)
                session.commit()
        except UserInputError as exc:
            return refused(request, user, "users.edit", username, exc, failed_for=username)
        return done(request, user, "users.edit", username, "; ".join(changed) or "no change")

    @router.post("/users/{username}/password")
    async def set_password(request: Request, username: str) -> Response:
        user = web.guard(request, "users.edit")
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "users.edit")
        try:
            with Session(engine) as session:
                reset_password(session, username, str(form.get("password", "")))
                session.commit()
        except UserInputError as exc:
            return refused(request, user, "users.password", username, exc, failed_for=username)
        return done(request, user, "users.password", username)

    return router
