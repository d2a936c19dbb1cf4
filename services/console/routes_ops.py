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
from services.console.auth import CurrentUser
from services.console.dead_letter_view import letter_view
from services.console.paging import Page
from services.console.settings import ConsoleSettings
from services.console.svg import bar_chart, column_chart
from services.console.web import (
    BadInput,
    Console,
    NotFound,
)
from services.i18n import agency_label, process_label, translator
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


def due_paging(params: Mapping[str, str], prefix: str) -> lists.Paging:
    """A dashboard list of deadlines, soonest first, twenty a page."""
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


def dashboard_charts(data: read.Dashboard, lang: str) -> dict[str, str]:
    """The dashboard's drawings: cases per process, breaches per agency, events per hour."""
    by_process: dict[str, int] = {}
    for p, _, n in data.counts:
        by_process[p] = by_process.get(p, 0) + n
    words = translator(lang)
    return {
        "process": bar_chart(
            [(process_label(p, lang), n) for p, n in sorted(by_process.items())], label=words("counts")
        ),
        "breached": bar_chart(
            [(agency_label(a, lang), n) for a, n in data.breached_by_agency],
            label=words("breached_by_agency"),
            colour="#dc2626",
        ),
        "hours": column_chart(data.events_per_hour, label=words("events_per_hour")),
    }


def dashboard_json(data: read.Dashboard) -> dict[str, Any]:
    """The dashboard's lists, each one page, with how many each has in all."""

    def dump(page: Page[Any]) -> list[dict[str, Any]]:
        return [d.model_dump(mode="json") for d in page.rows]

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


def audit_query(params: Mapping[str, str]) -> tuple[read.AuditFilters, lists.Paging]:
    """The audit trail's filters and page from the URL, naming a parameter it cannot use.

    Raises:
        BadInput: naming the parameter, in Chinese and English.
    """
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


def letter_ids(raw: list[str]) -> list[int]:
    """The dead letters a form chose, each once, in order.

    Raises:
        BadInput: when none is chosen or one is not a number.
    """
    if not raw or not all(v.isdigit() for v in raw):
        raise BadInput("ids", f"choose dead letters by their numbers, got {raw!r}", "请先勾选要重投的死信")
    return sorted({int(v) for v in raw})


class _OpsRoutes:
    """The handlers of the operator's and the admin's pages, bound to one console."""

    def __init__(self, web: Console, replay: Replayer) -> None:
        self.web, self.replay = web, replay

    def dashboard_data(self, paging: read.DashboardPaging) -> read.Dashboard:
        with Session(self.web.engine) as session:
            return read.dashboard(session, now=datetime.now(UTC), paging=paging)

    def dashboard_page(self, request: Request) -> Response:
        """Counts, charts, what falls due, and the dead letters (each list paged on its own)."""
        web = self.web
        user = web.guard(request, "dashboard.view")
        params = request.query_params
        paging = dashboard_paging(params)
        data = self.dashboard_data(paging)
        lang = web.lang_of(request, user)
        return web.render(
            request,
            "dashboard.html",
            user,
            data=data,
            charts=dashboard_charts(data, lang),
            can_replay=access.allowed(user, "dead_letter.replay"),
            done=params.get("done"),
            lt=lists.list_translator(lang),
            today_links=lists.links("/dashboard", params, paging.today, prefix="today_"),
            week_links=lists.links("/dashboard", params, paging.week, prefix="week_"),
            letter_links=lists.links("/dashboard", params, paging.letters, prefix="dl_"),
            pending_letters_only=paging.pending_letters_only,
            letters=[letter_view(d) for d in data.dead_letters.rows],
            replayed=params.get("replayed"),
            replay_failed=params.get("failed"),
            confirm_missing=params.get("confirm") == "missing",
        )

    def api_dashboard(self, request: Request) -> dict[str, Any]:
        """The dashboard's numbers and lists (see :func:`dashboard_json`)."""
        self.web.guard(request, "dashboard.view")
        return dashboard_json(self.dashboard_data(dashboard_paging(request.query_params)))

    async def replay_one(self, request: Request, user: CurrentUser, letter_id: int) -> str | None:
        """Replay one letter through the registry and audit it; the failure's text, or None."""
        target = f"dead_letter/{letter_id}"

        def record(outcome: str, detail: str | None = None) -> None:
            self.web.audit(
                request, action="dead_letter.replay", outcome=outcome, user=user, target=target, detail=detail
            )

        try:
            await self.replay(letter_id, user.username)
        except NotFound:
            record("not_found")
            return f"#{letter_id}"
        except (httpx.HTTPError, OSError) as exc:
            record("failed", str(exc))
            return f"#{letter_id}"
        record("ok")
        return None

    async def replay_letters(
        self, request: Request, user: CurrentUser, ids: list[int], confirmed: bool
    ) -> Response:
        """Replay the chosen letters once the operator ticked the confirmation; back to the
        dashboard (a redirect: reloading it replays nothing) saying how many went and which failed."""
        if not confirmed:
            self.web.audit(
                request,
                action="dead_letter.replay",
                outcome="invalid",
                user=user,
                target=",".join(f"dead_letter/{i}" for i in ids),
                detail="not confirmed",
            )
            return RedirectResponse("/dashboard?confirm=missing#dead-letters", status_code=303)
        failed = [f for f in [await self.replay_one(request, user, i) for i in ids] if f]
        query = f"done=replay&replayed={len(ids) - len(failed)}" + (
            f"&failed={'+'.join(failed)}" if failed else ""
        )
        return RedirectResponse(f"/dashboard?{query}#dead-letters", status_code=303)

    async def replay_dead_letter(self, request: Request, letter_id: int) -> Response:
        """Replay one dead letter (its row's own confirmation)."""
        user = self.web.guard(request, "dead_letter.replay", f"dead_letter/{letter_id}")
        form = await request.form()
        self.web.check_csrf(request, user, str(form.get("csrf_token", "")), "dead_letter.replay")
        return await self.replay_letters(request, user, [letter_id], form.get("confirm") == "on")

    async def replay_selected(self, request: Request) -> Response:
        """Replay the dead letters ticked in the list."""
        user = self.web.guard(request, "dead_letter.replay", "dead_letter/*")
        form = await request.form()
        self.web.check_csrf(request, user, str(form.get("csrf_token", "")), "dead_letter.replay")
        ids = letter_ids([str(v) for v in form.getlist("ids")])
        return await self.replay_letters(request, user, ids, form.get("confirm") == "on")

    def audit_page(self, request: Request) -> Response:
        """The audit trail, newest first, filtered and paged on the server."""
        web = self.web
        user = web.guard(request, "audit.view")
        filters, paging = audit_query(request.query_params)
        with Session(web.engine) as session:
            found = read.audit_page(session, filters, paging)
            outcomes, actions = read.audit_choices(session)
        return web.render(
            request,
            "audit.html",
            user,
            rows=found.rows,
            pg=found,
            f=filters,
            outcomes=outcomes,
            actions=actions,
            links=lists.links("/audit", request.query_params, paging),
            lt=lists.list_translator(web.lang_of(request, user)),
            username=filters.username,
            outcome=filters.outcome,
        )

    def api_audit(self, request: Request, response: Response) -> list[dict[str, Any]]:
        """One page of the audit trail (the total in ``X-Total-Count``)."""
        self.web.guard(request, "audit.view")
        filters, paging = audit_query(request.query_params)
        with Session(self.web.engine) as session:
            found = read.audit_page(session, filters, paging)
            response.headers["X-Total-Count"] = str(found.total)
            return [r.model_dump(mode="json") for r in found.rows]


def build_router(web: Console, replay: Replayer) -> APIRouter:
    """Dashboard, dead letters and the audit trail."""
    routes = _OpsRoutes(web, replay)
    router = APIRouter()
    router.add_api_route("/dashboard", routes.dashboard_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/api/dashboard", routes.api_dashboard, methods=["GET"])
    router.add_api_route("/dead-letters/{letter_id}/replay", routes.replay_dead_letter, methods=["POST"])
    router.add_api_route("/dead-letters/replay", routes.replay_selected, methods=["POST"])
    router.add_api_route("/audit", routes.audit_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/api/audit", routes.api_audit, methods=["GET"])
    return router
