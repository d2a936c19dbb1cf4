"""Signing in and out, and switching the page language."""

from __future__ import annotations

import secrets

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from services.console import access
from services.console.auth import (
    Sessions,
    UserInputError,
    authenticate,
    set_language,
)
from services.console.web import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    Console,
    _ip,
    _safe_next,
)


class _AuthRoutes:
    """The handlers of signing in and out and of the language switch, bound to one console."""

    def __init__(self, web: Console) -> None:
        self.web = web

    def login_form(self, request: Request, next: str = "/") -> Response:  # noqa: A002 - the query name
        """The sign-in form, with the CSRF token of its own cookie (no session yet)."""
        token = secrets.token_urlsafe(24)
        response = self.web.render(
            request, "login.html", None, next=_safe_next(next), login_csrf=token, error=None
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=self.web.settings.secure_cookies,
            max_age=3600,
        )
        return response

    async def login(self, request: Request) -> Response:
        """Sign in: the form's CSRF token, the throttle, then the password, each failure audited."""
        web, engine = self.web, self.web.engine
        form = await request.form()
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "/")))
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        who, ip = username[:40] or None, _ip(request)
        if not token or not secrets.compare_digest(token, str(form.get("csrf_token", ""))):
            web.audit(request, action="login", outcome="csrf_failed", username=who)
            return self.login_again(request, 403, target, token, "bad_login", username)

        throttle = web.login_throttle
        wait = throttle.retry_after(username, ip or "")
        if wait is not None:
            detail = f"retry after {wait:.0f}s"
            web.audit(request, action="login", outcome="throttled", username=who, detail=detail)
            response = self.login_again(request, 429, target, token, "login_throttled", username)
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response

        def check() -> tuple[int, str] | None:
            with Session(engine) as session:
                user = authenticate(session, username, password)
                return (user.id, user.role) if user is not None and user.id is not None else None

        found = await anyio.to_thread.run_sync(check)
        if found is None:
            throttle.failed(username, ip or "")
            web.audit(request, action="login", outcome="refused", username=who)
            return self.login_again(request, 401, target, token, "bad_login", username)
        throttle.succeeded(username, ip or "")
        return self.signed_in(request, found[0], target)

    def login_again(
        self, request: Request, status: int, target: str, token: str, error: str, username: str
    ) -> Response:
        """The sign-in form once more, saying why the last attempt failed, with the name typed."""
        return self.web.render(
            request,
            "login.html",
            None,
            status=status,
            next=target,
            login_csrf=token,
            error=error,
            username=username,
        )

    def signed_in(self, request: Request, user_id: int, target: str) -> Response:
        """Start the session and send the user on: to ``target``, or their role's home page."""
        web, secure = self.web, self.web.settings.secure_cookies
        cookie, _ = web.sessions.start(user_id, _ip(request))
        user = web.sessions.load(cookie)
        assert user is not None
        web.audit(request, action="login", outcome="ok", user=user)
        destination = target if target != "/" else access.home_for(user)
        response = RedirectResponse(destination, status_code=303)
        response.set_cookie(
            Sessions.COOKIE,
            cookie,
            httponly=True,
            samesite="lax",
            secure=secure,
            max_age=web.sessions.max_age,
        )
        response.set_cookie(LANG_COOKIE, user.lang, samesite="lax", secure=secure, max_age=365 * 86400)
        response.delete_cookie(LOGIN_CSRF_COOKIE, secure=secure, httponly=True, samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        """End the session (a request without one just goes to the sign-in form)."""
        web = self.web
        user = web.user_of(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "logout")
        web.sessions.end(user.session_id)
        web.audit(request, action="logout", outcome="ok", user=user)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            Sessions.COOKIE, secure=web.settings.secure_cookies, httponly=True, samesite="lax"
        )
        return response

    async def switch_language(self, request: Request) -> Response:
        """The user's page language, kept on the account and in a cookie for the sign-in form."""
        web, engine = self.web, self.web.engine
        user = web.guard(request, "lang.set")
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "lang.set")
        lang = str(form.get("lang", ""))
        try:
            set_language(engine, user.id, lang)
        except UserInputError as exc:
            web.audit(request, action="lang.set", outcome="invalid", user=user, detail=str(exc))
            return JSONResponse({"field": exc.field, "reason": exc.reason}, status_code=422)
        web.audit(request, action="lang.set", outcome="ok", user=user, target=lang)
        response = RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)
        response.set_cookie(
            LANG_COOKIE, lang, samesite="lax", secure=web.settings.secure_cookies, max_age=365 * 86400
        )
        return response


def build_router(web: Console) -> APIRouter:
    """Sign-in form, sign-in, logout and the language switch."""
    routes = _AuthRoutes(web)
    router = APIRouter()
    router.add_api_route("/login", routes.login_form, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/login", routes.login, methods=["POST"])
    router.add_api_route("/logout", routes.logout, methods=["POST"])
    router.add_api_route("/lang", routes.switch_language, methods=["POST"])
    return router
