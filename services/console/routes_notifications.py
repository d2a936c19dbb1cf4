"""Notifications: the bell, the list, marking as read, and the daily digest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from contracts.agencies import agencies, get_agency
from services.console import access, lists, read
from services.console.auth import (
    CurrentUser,
)
from services.console.web import (
    TEMPLATES,
    BadInput,
    Console,
    Forbidden,
    NotFound,
    _safe_next,
)
from services.i18n import translator
from services.readmodel import notification_queries as notes
from services.readmodel.notification_queries import ROLE_SEES
from services.readmodel.notifications import NotificationRead, NotificationRecord


def _records(session: Session, ids: list[str]) -> list[NotificationRecord]:
    return list(
        session.exec(select(NotificationRecord).where(col(NotificationRecord.id).in_(sorted(set(ids)))))
    )


def _mark_many(session: Session, ids: list[str], *, user: str) -> int:
    """Mark ``ids`` read for ``user`` in one commit (the caller checked they are theirs); how
    many were unread."""
    done = set(
        session.exec(
            select(NotificationRead.notification_id).where(
                NotificationRead.user == user, col(NotificationRead.notification_id).in_(ids)
            )
        )
    )
    stamp = datetime.now(UTC)
    fresh = sorted(set(ids) - done)
    for notification_id in fresh:
        session.add(NotificationRead(notification_id=notification_id, user=user, read_at=stamp))
    session.commit()
    return len(fresh)


def _bounded(value: int, name: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise BadInput(name, f"must be between {low} and {high}, got {value}")
    return value


class _NotificationRoutes:
    """The handlers of the bell, the notifications and the digest, bound to one console."""

    def __init__(self, web: Console) -> None:
        self.web = web

    def agency_param(self, request: Request, user: CurrentUser, agency: str, permission: str) -> str | None:
        """The agency a notifications or digest request is about: the user's own unless another
        within the scope of ``permission`` was picked. Unknown ids are bad input; an agency
        outside that scope is forbidden (403, audited)."""
        chosen = agency.strip() or (user.agency or "")
        if not chosen:
            return None
        if get_agency(chosen) is None:
            raise BadInput("agency", f"unknown agency {chosen!r}")
        if not access.permits(user, permission, (chosen,)):
            raise self.web.forbid(request, user, permission, f"agency/{chosen}", "another agency")
        return chosen

    def notification_rows(
        self, user: CurrentUser, agency: str | None, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[notes.NotificationView], int]:
        """One page of the agency's notifications meant for the user's role, and how many are unread."""
        if not agency:
            return [], 0
        role = user.role.value
        with Session(self.web.engine) as session:
            rows = notes.list_notifications(
                session,
                agency=agency,
                role=role,
                user=user.username,
                unread_only=unread_only,
                limit=limit,
                offset=offset,
            )
            unread = notes.unread_count(session, agency=agency, user=user.username, role=role)
        return rows, unread

    def total_of(self, user: CurrentUser, agency: str | None, unread: bool) -> int:
        """How many notifications the list holds (the pager's total)."""
        if not agency:
            return 0
        with Session(self.web.engine) as session:
            return read.notification_total(
                session, agency=agency, role=user.role.value, user=user.username, unread_only=unread
            )

    def refuse_foreign(self, request: Request, user: CurrentUser, record: NotificationRecord) -> Forbidden:
        """The 403 (audited) for a notification of another agency, or one not meant for the role."""
        other = record.agency != user.agency
        return self.web.forbid(
            request,
            user,
            "notifications.read",
            f"notification/{record.id}",
            "notification of another agency" if other else "not for this role",
            None if other else access.AUDIENCE_REFUSED,
        )

    def mark_one(self, request: Request, user: CurrentUser, notification_id: str) -> bool:
        """Mark one notification read after checking it is the user's agency's and meant for
        their role (the notifier's ``mark_read`` leaves that check to the console)."""
        engine = self.web.engine
        target = f"notification/{notification_id}"
        with Session(engine) as session:
            record = notes.get_notification(session, notification_id=notification_id)
            if record is None:
                self.web.audit(
                    request, action="notifications.read", outcome="not_found", user=user, target=target
                )
                raise NotFound(f"notification {notification_id}", field="id")
            audience_ok = record.audience in ROLE_SEES.get(user.role.value, frozenset())
            if not user.agency or record.agency != user.agency or not audience_ok:
                raise self.refuse_foreign(request, user, record)
            changed = notes.mark_read(session, notification_id=notification_id, user=user.username)
        self.web.audit(
            request,
            action="notifications.read",
            outcome="ok",
            user=user,
            target=target,
            detail=None if changed else "already read",
        )
        return changed

    def mark_selected(self, request: Request, user: CurrentUser, ids: list[str]) -> int:
        """Mark the chosen notifications read in one transaction, after checking every one is
        the user's agency's and meant for their role (one outside that refuses them all)."""
        seen = ROLE_SEES.get(user.role.value, frozenset())
        with Session(self.web.engine) as session:
            records = _records(session, ids)
            missing = sorted(set(ids) - {r.id for r in records})
            if missing:
                raise NotFound(f"notification {missing[0]}", field="ids")
            for record in records:
                if record.agency != user.agency or record.audience not in seen:
                    raise self.refuse_foreign(request, user, record)
            changed = _mark_many(session, [r.id for r in records], user=user.username)
        self.web.audit(
            request,
            action="notifications.read_selected",
            outcome="ok",
            user=user,
            target=f"agency/{user.agency}",
            detail=f"{changed} of {len(ids)} marked read",
        )
        return changed

    def digest_of(self, agency: str | None) -> notes.Digest | None:
        """The agency's digest as of now (None without an agency)."""
        if not agency:
            return None
        with Session(self.web.engine) as session:
            return notes.digest(session, agency=agency, now=datetime.now(UTC))

    def notifications_page(self, request: Request, agency: str = "") -> Response:
        """An agency's notifications, newest first, one page at a time with the total."""
        web = self.web
        user = web.guard(request, "notifications.view")
        chosen = self.agency_param(request, user, agency, "notifications.view")
        params = request.query_params
        unread = lists.flag(params, "unread")
        paging = lists.paging(params, sorts=("created",), default_sort="created")
        rows, count = self.notification_rows(user, chosen, unread, paging.per_page, paging.offset)
        total = self.total_of(user, chosen, unread)
        return web.render(
            request,
            "notifications.html",
            user,
            rows=rows,
            unread_count=count,
            agency=chosen or "",
            unread=unread,
            own=bool(chosen) and chosen == user.agency,
            can_pick=access.picks_other_agencies(user, "notifications.view"),
            all_agencies=list(agencies().values()),
            done=request.query_params.get("done"),
            pg=paging.of(rows, total),
            links=lists.links("/notifications", params, paging),
            lt=lists.list_translator(web.lang_of(request, user)),
        )

    def notifications_bell(self, request: Request) -> Response:
        """The bell alone: what the header re-fetches when the SSE stream says it rang."""
        web = self.web
        user = web.guard(request, "notifications.view")
        return TEMPLATES.TemplateResponse(
            request, "_bell.html", {"bell": web.bell_of(user), "t": translator(web.lang_of(request, user))}
        )

    def api_notifications(
        self, request: Request, agency: str = "", unread: bool = False, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """One page of an agency's notifications as JSON, with the unread count and the total."""
        user = self.web.guard(request, "notifications.view")
        chosen = self.agency_param(request, user, agency, "notifications.view")
        rows, count = self.notification_rows(
            user, chosen, unread, _bounded(limit, "limit", 1, 500), _bounded(offset, "offset", 0, 1_000_000)
        )
        return {
            "agency": chosen,
            "unread": count,
            "total": self.total_of(user, chosen, unread),
            "items": [r.model_dump(mode="json") for r in rows],
        }

    def api_unread_count(self, request: Request) -> dict[str, Any]:
        """The bell's count as JSON."""
        user = self.web.guard(request, "notifications.view")
        bell = self.web.bell_of(user)
        return {"agency": user.agency, "unread": bell["unread"] if bell else 0}

    async def notifications_read_all(self, request: Request) -> Response:
        """Mark read every unread notification of the user's agency, or with ``ids`` the chosen ones."""
        web = self.web
        user = web.guard(request, "notifications.read", "notifications/all")
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "notifications.read")
        if not access.permits(user, "notifications.read", (user.agency,)):
            raise web.forbid(
                request,
                user,
                "notifications.read",
                "notifications/all",
                "account bound to no agency",
                access.NO_AGENCY_REFUSED,
            )
        ids = [str(v) for v in form.getlist("ids") if str(v).strip()]
        most = lists.PER_PAGE_CHOICES[-1]
        if len(ids) > most:
            raise lists.bad("ids", f"一次最多选择 {most} 条", f"at most {most} at once")
        back = _safe_next(str(form.get("next") or "/notifications"))
        if form.get("selected") is not None:
            if not ids:
                raise lists.bad("ids", "未选择任何通知", "no notification was selected")
            await anyio.to_thread.run_sync(self.mark_selected, request, user, ids)
            sep = "&" if "?" in back else "?"
            return RedirectResponse(f"{back}{sep}done=read_selected", status_code=303)
        with Session(web.engine) as session:
            count = notes.mark_all_read(session, agency=user.agency, user=user.username, role=user.role.value)
        web.audit(
            request,
            action="notifications.read_all",
            outcome="ok",
            user=user,
            target=f"agency/{user.agency}",
            detail=f"{count} marked read",
        )
        return RedirectResponse("/notifications?done=read_all", status_code=303)

    async def notification_read(self, request: Request, notification_id: str) -> Response:
        """Mark one notification read from the page; back to where the form was."""
        web = self.web
        user = web.guard(request, "notifications.read", f"notification/{notification_id}")
        form = await request.form()
        web.check_csrf(request, user, str(form.get("csrf_token", "")), "notifications.read")
        await anyio.to_thread.run_sync(self.mark_one, request, user, notification_id)
        return RedirectResponse(_safe_next(str(form.get("next") or "/notifications")), status_code=303)

    async def api_notification_read(self, request: Request, notification_id: str) -> dict[str, Any]:
        """Mark one notification read (the CSRF token in ``X-CSRF-Token``), with the bell's new count."""
        web = self.web
        user = web.guard(request, "notifications.read", f"notification/{notification_id}")
        web.check_csrf(request, user, None, "notifications.read")
        changed = await anyio.to_thread.run_sync(self.mark_one, request, user, notification_id)
        bell = web.bell_of(user)
        return {"id": notification_id, "changed": changed, "unread": bell["unread"] if bell else 0}

    def digest_page(self, request: Request, agency: str = "") -> Response:
        """The daily digest of an agency's deadlines; an unknown agency is answered by the picker."""
        web = self.web
        user = web.guard(request, "digest.view")
        can_pick = access.picks_other_agencies(user, "digest.view")
        try:
            chosen = self.agency_param(request, user, agency, "digest.view")
        except BadInput as exc:
            return web.render(
                request,
                "digest.html",
                user,
                status=422,
                data=None,
                agency=agency,
                can_pick=can_pick,
                all_agencies=list(agencies().values()),
                errors={exc.field: exc.reason},
            )
        return web.render(
            request,
            "digest.html",
            user,
            data=self.digest_of(chosen),
            agency=chosen or "",
            can_pick=can_pick,
            all_agencies=list(agencies().values()),
            errors={},
        )

    def api_digest(self, request: Request, agency: str = "") -> dict[str, Any]:
        """The digest as JSON; an account bound to no agency must name one."""
        user = self.web.guard(request, "digest.view")
        chosen = self.agency_param(request, user, agency, "digest.view")
        if chosen is None:
            raise BadInput("agency", "this account is bound to no agency; pick one with ?agency=")
        data = self.digest_of(chosen)
        assert data is not None
        return data.model_dump(mode="json")


def build_router(web: Console) -> APIRouter:
    """Bell, notifications and digest."""
    routes = _NotificationRoutes(web)
    router = APIRouter()
    router.add_api_route(
        "/notifications", routes.notifications_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route(
        "/notifications/bell", routes.notifications_bell, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route("/api/notifications", routes.api_notifications, methods=["GET"])
    router.add_api_route("/api/notifications/unread-count", routes.api_unread_count, methods=["GET"])
    router.add_api_route("/notifications/read-all", routes.notifications_read_all, methods=["POST"])
    router.add_api_route("/notifications/{notification_id}/read", routes.notification_read, methods=["POST"])
    router.add_api_route(
        "/api/notifications/{notification_id}/read", routes.api_notification_read, methods=["POST"]
    )
    router.add_api_route("/digest", routes.digest_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/api/digest", routes.api_digest, methods=["GET"])
    return router
