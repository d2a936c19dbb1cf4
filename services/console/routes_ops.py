"""The operator's dashboard and dead-letter replay, and the admin's audit trail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from services.console import access, lists, read
from services.console.auth import CurrentUser, audit
from services.console.dead_letter_view import letter_view
from services.console.i18n import agency_label, process_label, translator
from services.console.settings import ConsoleSettings
from services.console.svg import bar_chart, column_chart
from services.console.web import (
    BadInput,
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
    """Dashboard, dead letters and the audit trail."""
    router = APIRouter()
    engine, render, guard, check_csrf, lang_of = (
        web.engine,
        web.render,
        web.guard,
        web.check_csrf,
        web.lang_of,
    )

    def due_paging(params: Mapping[str, str], prefix: str) -> lists.Paging:
        return lists.paging(
            params, sorts=("due",), default_sort="due", default_order="asc", prefix=prefix, per_page=20
        )

    def dashboard_paging(params: Mapping[str, str]) -> read.DashboardPaging:
        """Each dashboard list pages on its own (``today_page``, ``week_page``, ``dl_page``)."""
        return read.DashboardPaging(
            today=due_paging(params, "today_"),
            week=due_paging(params, "week_"),
            letters=lists.paging(params, sorts=("id",), default_sort="id", prefix="dl_", per_page=20),
            pending_letters_only=not lists.flag(params, "dl_all"),
        )

    def dashboard_data(paging: read.DashboardPaging) -> read.Dashboard:
        with Session(engine) as session:
            return read.dashboard(session, now=datetime.now(UTC), paging=paging)

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard_page(request: Request) -> Response:
        user = guard(request, "dashboard.view")
        paging = dashboard_paging(request.query_params)
        data = dashboard_data(paging)
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
        params = request.query_params
        return render(
            request,
            "dashboard.html",
            user,
            data=data,
            charts=charts,
            can_replay=access.allowed(user, "dead_letter.replay"),
            done=request.query_params.get("done"),
            lt=lists.list_translator(lang),
            today_links=lists.links("/dashboard", params, paging.today, prefix="today_"),
            week_links=lists.links("/dashboard", params, paging.week, prefix="week_"),
            letter_links=lists.links("/dashboard", params, paging.letters, prefix="dl_"),
            pending_letters_only=paging.pending_letters_only,
            letters=[letter_view(d) for d in data.dead_letters.rows],
            replayed=request.query_params.get("replayed"),
            replay_failed=request.query_params.get("failed"),
            confirm_missing=request.query_params.get("confirm") == "missing",
        )

    @router.get("/api/dashboard")
    def api_dashboard(request: Request) -> dict[str, Any]:
        guard(request, "dashboard.view")
        data = dashboard_data(dashboard_paging(request.query_params))

        dump = lambda page: [d.model_dump(mode="json") for d in page.rows]  # noqa: E731
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
                for d in data.dead_letters.rows
            ],
            # Each list above is one page (``today_page``, ``week_page``, ``dl_page``); these say
            # how many there are in all.
            "totals": {
                "due_today": data.due_today.total,
                "due_week": data.due_week.total,
                "dead_letters": data.dead_letters.total,
            },
        }

    async def replay_one(request: Request, user: CurrentUser, letter_id: int) -> str | None:
        """Replay one letter through the registry and audit it; the failure's text, or None."""
        target = f"dead_letter/{letter_id}"
        try:
            await replay(letter_id, user.username)
        except NotFound:
            audit(
                engine,
                action="dead_letter.replay",
                outcome="not_found",
                user=user,
                target=target,
                ip=_ip(request),
            )
            return f"#{letter_id}"
        except (httpx.HTTPError, OSError) as exc:
            audit(
                engine,
                action="dead_letter.replay",
                outcome="failed",
                user=user,
                target=target,
                ip=_ip(request),
                detail=str(exc),
            )
            return f"#{letter_id}"
        audit(engine, action="dead_letter.replay", outcome="ok", user=user, target=target, ip=_ip(request))
        return None

    async def replay_letters(
        request: Request, user: CurrentUser, ids: list[int], confirmed: bool
    ) -> Response:
        """Replay the chosen letters once the operator ticked the confirmation; back to the
        dashboard (a redirect: reloading it replays nothing) saying how many went and which failed."""
        if not confirmed:
            audit(
                engine,
                action="dead_letter.replay",
                outcome="invalid",
                user=user,
                target=",".join(f"dead_letter/{i}" for i in ids),
                ip=_ip(request),
                detail="not confirmed",
            )
            return RedirectResponse("/dashboard?confirm=missing#dead-letters", status_code=303)
        failed = [f for f in [await replay_one(request, user, i) for i in ids] if f]
        query = f"done=replay&replayed={len(ids) - len(failed)}" + (
            f"&failed={'+'.join(failed)}" if failed else ""
        )
        return RedirectResponse(f"/dashboard?{query}#dead-letters", status_code=303)

    @router.post("/dead-letters/{letter_id}/replay")
    async def replay_dead_letter(request: Request, letter_id: int) -> Response:
        user = guard(request, "dead_letter.replay", f"dead_letter/{letter_id}")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "dead_letter.replay")
        return await replay_letters(request, user, [letter_id], form.get("confirm") == "on")

    @router.post("/dead-letters/replay")
    async def replay_selected(request: Request) -> Response:
        user = guard(request, "dead_letter.replay", "dead_letter/*")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "dead_letter.replay")
        raw = [str(v) for v in form.getlist("ids")]
        if not raw or not all(v.isdigit() for v in raw):
            raise BadInput(
                "ids", f"choose dead letters by their numbers, got {raw!r}", "请先勾选要重投的死信"
            )
        return await replay_letters(request, user, sorted({int(v) for v in raw}), form.get("confirm") == "on")

    def audit_query(params: Mapping[str, str]) -> tuple[read.AuditFilters, lists.Paging]:
        filters = read.AuditFilters(
            username=lists.text(params, "username", 40),
            outcome=lists.text(params, "outcome", 20),
            action=lists.text(params, "action", 80),
            date_from=lists.day(params, "date_from"),
            date_to=lists.day(params, "date_to"),
        )
        if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
            raise lists.bad("date_to", "截止日期早于起始日期", "the 'to' day is earlier than the 'from' day")
        return filters, lists.paging(params, sorts=("at",), default_sort="at")

    @router.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request) -> Response:
        """The audit trail, newest first, filtered and paged on the server."""
        user = guard(request, "audit.view")
        filters, paging = audit_query(request.query_params)
        with Session(engine) as session:
            found = read.audit_page(session, filters, paging)
            outcomes, actions = read.audit_choices(session)
        return render(
            request,
            "audit.html",
            user,
            rows=found.rows,
            pg=found,
            f=filters,
            outcomes=outcomes,
            actions=actions,
            links=lists.links("/audit", request.query_params, paging),
            lt=lists.list_translator(lang_of(request, user)),
            username=filters.username,
            outcome=filters.outcome,
        )

    @router.get("/api/audit")
    def api_audit(request: Request, response: Response) -> list[dict[str, Any]]:
        """One page of the audit trail (the total in ``X-Total-Count``)."""
        guard(request, "audit.view")
        filters, paging = audit_query(request.query_params)
        with Session(engine) as session:
            found = read.audit_page(session, filters, paging)
            response.headers["X-Total-Count"] = str(found.total)
            return [r.model_dump(mode="json") for r in found.rows]

    return router
