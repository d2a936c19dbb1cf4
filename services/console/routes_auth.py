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
    audit,
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


def build_router(web: Console) -> APIRouter:
    """Sign-in form, sign-in, logout and the language switch."""
    router = APIRouter()
    settings, engine, sessions = web.settings, web.engine, web.sessions
    render, guard, user_of, check_csrf = web.render, web.guard, web.user_of, web.check_csrf

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query name
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", None, next=_safe_next(next), login_csrf=token, error=None)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            max_age=3600,
        )
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "/")))
        cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if not cookie_token or not secrets.compare_digest(cookie_token, str(form.get("csrf_token", ""))):
            audit(
                engine, action="login", outcome="csrf_failed", username=username[:40] or None, ip=_ip(request)
            )
            return render(
                request,
                "login.html",
                None,
                status=403,
                next=target,
                login_csrf=cookie_token,
                error="bad_login",
                username=username,
            )

        throttle = web.login_throttle
        wait = throttle.retry_after(username, _ip(request) or "")
        if wait is not None:
            audit(
                engine,
                action="login",
                outcome="throttled",
                username=username[:40] or None,
                ip=_ip(request),
                detail=f"retry after {wait:.0f}s",
            )
            response = render(
                request,
                "login.html",
                None,
                status=429,
                next=target,
                login_csrf=cookie_token,
                error="login_throttled",
                username=username,
            )
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response

        def check() -> tuple[int, str] | None:
            with Session(engine) as session:
                user = authenticate(session, username, password)
                return (user.id, user.role) if user is not None and user.id is not None else None

        found = await anyio.to_thread.run_sync(check)
        if found is None:
            throttle.failed(username, _ip(request) or "")
            audit(engine, action="login", outcome="refused", username=username[:40] or None, ip=_ip(request))
            return render(
                request,
                "login.html",
                None,
                status=401,
                next=target,
                login_csrf=cookie_token,
                error="bad_login",
                username=username,
            )
        throttle.succeeded(username, _ip(request) or "")
        cookie, _ = sessions.start(found[0], _ip(request))
        user = sessions.load(cookie)
        assert user is not None
        audit(engine, action="login", outcome="ok", user=user, ip=_ip(request))
        destination = target if target != "/" else access.home_for(user)
        response = RedirectResponse(destination, status_code=303)
        response.set_cookie(
            Sessions.COOKIE,
            cookie,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            max_age=sessions.max_age,
        )
        response.set_cookie(
            LANG_COOKIE, user.lang, samesite="lax", secure=settings.secure_cookies, max_age=365 * 86400
        )
        response.delete_cookie(
            LOGIN_CSRF_COOKIE, secure=settings.secure_cookies, httponly=True, samesite="strict"
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "logout")
        sessions.end(user.session_id)
        audit(engine, action="logout", outcome="ok", user=user, ip=_ip(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(Sessions.COOKIE, secure=settings.secure_cookies, httponly=True, samesite="lax")
        return response

    @router.post("/lang")
    async def switch_language(request: Request) -> Response:
        user = guard(request, "lang.set")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "lang.set")
        lang = str(form.get("lang", ""))
        try:
            set_language(engine, user.id, lang)
        except UserInputError as exc:
            audit(engine, action="lang.set", outcome="invalid", user=user, ip=_ip(request), detail=str(exc))
            return JSONResponse({"field": exc.field, "reason": exc.reason}, status_code=422)
        audit(engine, action="lang.set", outcome="ok", user=user, ip=_ip(request), target=lang)
        response = RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)
        response.set_cookie(
            LANG_COOKIE, lang, samesite="lax", secure=settings.secure_cookies, max_age=365 * 86400
        )
        return response

    return router
