"""The operator's dashboard and dead-letter replay, and the admin's audit trail and accounts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from contracts.agencies import agencies
from services.console import access, read
from services.console.auth import (
    CurrentUser,
    UserInputError,
    audit,
    create_user,
    list_audit,
    list_users,
)
from services.console.i18n import agency_label, process_label, translator
from services.console.settings import ConsoleSettings
from services.console.svg import bar_chart, column_chart
from services.console.tables import Role
from services.console.web import (
    Console,
    NotFound,
    _ip,
)
from services.service_auth import service_headers

# (dead letter id, the signed-in user it is replayed for)
Replayer = Callable[[int, str], Awaitable[dict[str, Any]]]


def registry_replayer(settings: ConsoleSettings) -> Replayer:
    """Replay a dead letter through the registry, which owns that row."""

    async def registry_replay(letter_id: int, actor: str) -> dict[str, Any]:
        headers = service_headers(settings, "console", actor=actor)
        async with httpx.AsyncClient(base_url=settings.registry_url, headers=headers, timeout=10) as http:
            resp = await http.post(f"/api/dead-letters/{letter_id}/replay")
        if resp.status_code == 404:
            raise NotFound(f"dead letter {letter_id}")
        resp.raise_for_status()
        return resp.json()

    return registry_replay


def build_router(web: Console, replay: Replayer) -> APIRouter:
    """Dashboard, dead letters, audit trail and users."""
    router = APIRouter()
    engine, render, guard, check_csrf, lang_of = (
        web.engine,
        web.render,
        web.guard,
        web.check_csrf,
        web.lang_of,
    )

    def dashboard_data(user: CurrentUser) -> read.Dashboard:
        with Session(engine) as session:
            return read.dashboard(session, now=datetime.now(UTC))

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard_page(request: Request) -> Response:
        user = guard(request, "dashboard.view")
        data = dashboard_data(user)
        lang = lang_of(request, user)
        by_process: dict[str, int] = {}
        for p, _, n in data.counts:
            by_process[p] = by_process.get(p, 0) + n
        charts = {
            "process": bar_chart(
                [(process_label(p, lang), n) for p, n in sorted(by_process.items())],
                label=translator(lang)("counts"),
            ),
            "breached": bar_chart(
                [(agency_label(a, lang), n) for a, n in data.breached_by_agency],
                label=translator(lang)("breached_by_agency"),
                colour="#dc2626",
            ),
            "hours": column_chart(data.events_per_hour, label=translator(lang)("events_per_hour")),
        }
        return render(
            request,
            "dashboard.html",
            user,
            data=data,
            charts=charts,
            can_replay=access.allowed(user, "dead_letter.replay"),
            done=request.query_params.get("done"),
        )

    @router.get("/api/dashboard")
    def api_dashboard(request: Request) -> dict[str, Any]:
        user = guard(request, "dashboard.view")
        data = dashboard_data(user)
        dump = lambda rows: [d.model_dump(mode="json") for d in rows]  # noqa: E731
        return {
            "counts": [{"process": p, "state": s, "count": n} for p, s, n in data.counts],
            "due_today": dump(data.due_today),
            "due_week": dump(data.due_week),
            "breached_by_agency": [{"agency": a, "count": n} for a, n in data.breached_by_agency],
            "events_per_hour": [{"hour": h, "count": n} for h, n in data.events_per_hour],
            "dead_letters": [
                {
                    "id": d.id,
                    "subject": d.subject,
                    "deliveries": d.deliveries,
                    "last_error": d.last_error,
                    "replay_count": d.replay_count,
                }
                for d in data.dead_letters
            ],
        }

    @router.post("/dead-letters/{letter_id}/replay")
    async def replay_dead_letter(request: Request, letter_id: int) -> Response:
        user = guard(request, "dead_letter.replay", f"dead_letter/{letter_id}")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "dead_letter.replay")
        try:
            await replay(letter_id, user.username)
        except NotFound:
            audit(
                engine,
                action="dead_letter.replay",
                outcome="not_found",
                user=user,
                target=f"dead_letter/{letter_id}",
                ip=_ip(request),
            )
            raise
        except (httpx.HTTPError, OSError) as exc:
            audit(
                engine,
                action="dead_letter.replay",
                outcome="failed",
                user=user,
                target=f"dead_letter/{letter_id}",
                ip=_ip(request),
                detail=str(exc),
            )
            return render(request, "error.html", user, status=502, title_key="dead_letters", text=str(exc))
        audit(
            engine,
            action="dead_letter.replay",
            outcome="ok",
            user=user,
            target=f"dead_letter/{letter_id}",
            ip=_ip(request),
        )
        return RedirectResponse("/dashboard?done=replay", status_code=303)

    @router.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request, username: str = "", outcome: str = "") -> Response:
        user = guard(request, "audit.view")
        with Session(engine) as session:
            rows = list_audit(session, username=username or None, outcome=outcome or None)
        return render(request, "audit.html", user, rows=rows, username=username, outcome=outcome)

    @router.get("/api/audit")
    def api_audit(request: Request, username: str = "", outcome: str = "") -> list[dict[str, Any]]:
        guard(request, "audit.view")
        with Session(engine) as session:
            return [
                r.model_dump(mode="json")
                for r in list_audit(session, username=username or None, outcome=outcome or None)
            ]

    def users_page_response(request: Request, user: CurrentUser, status: int = 200, **extra: Any) -> Response:
        with Session(engine) as session:
            users = [u.model_dump(exclude={"password_hash"}) for u in list_users(session)]
        return render(
            request,
            "users.html",
            user,
            status=status,
            users=users,
            roles=[r.value for r in Role],
            all_agencies=list(agencies().values()),
            errors=extra.pop("errors", {}),
            values=extra.pop("values", {}),
            **extra,
        )

    @router.get("/users", response_class=HTMLResponse)
    def users_page(request: Request) -> Response:
        user = guard(request, "users.view")
        return users_page_response(request, user, done=request.query_params.get("done"))

    @router.post("/users")
    async def add_user(request: Request) -> Response:
        user = guard(request, "users.add")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "users.add")
        values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "password")}
        try:
            with Session(engine) as session:
                create_user(
                    session,
                    username=values.get("username", "").strip(),
                    password=str(form.get("password", "")),
                    role=values.get("role", ""),
                    display_name=values.get("display_name") or None,
                    agency=values.get("agency") or None,
                    is_head=values.get("is_head") == "on",
                )
                session.commit()
        except UserInputError as exc:
            audit(
                engine,
                action="users.add",
                outcome="invalid",
                user=user,
                target=values.get("username"),
                ip=_ip(request),
                detail=str(exc),
            )
            return users_page_response(
                request, user, status=422, errors={exc.field: exc.reason}, values=values
            )
        audit(
            engine,
            action="users.add",
            outcome="ok",
            user=user,
            target=values.get("username"),
            ip=_ip(request),
            detail=f"role {values.get('role')}",
        )
        return RedirectResponse("/users?done=add", status_code=303)

    return router
