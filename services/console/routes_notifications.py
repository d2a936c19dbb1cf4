"""Notifications (issue 9): the bell, the list, marking as read, and the daily digest."""

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
    audit,
)
from services.console.i18n import translator
from services.console.web import (
    TEMPLATES,
    BadInput,
    Console,
    NotFound,
    _ip,
    _safe_next,
)
from services.notifier import queries as notes
from services.notifier.queries import ROLE_SEES
from services.notifier.tables import NotificationRead, NotificationRecord


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


def build_router(web: Console) -> APIRouter:
    """Bell, notifications and digest."""
    router = APIRouter()
    engine, render, guard, check_csrf, forbid = web.engine, web.render, web.guard, web.check_csrf, web.forbid
    lang_of, bell_of = web.lang_of, web.bell_of

    def agency_param(request: Request, user: CurrentUser, agency: str, permission: str) -> str | None:
        """The agency a notifications or digest request is about: the user's own unless another
        within the scope of ``permission`` was picked. Unknown ids are bad input; an agency
        outside that scope is forbidden (403, audited)."""
        chosen = agency.strip() or (user.agency or "")
        if not chosen:
            return None
        if get_agency(chosen) is None:
            raise BadInput("agency", f"unknown agency {chosen!r}")
        if not access.permits(user, permission, (chosen,)):
            raise forbid(request, user, permission, f"agency/{chosen}", "another agency")
        return chosen

    def notification_rows(
        user: CurrentUser, agency: str | None, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[notes.NotificationView], int]:
        if not agency:
            return [], 0
        role = user.role.value
        with Session(engine) as session:
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

    def bounded(value: int, name: str, low: int, high: int) -> int:
        if not low <= value <= high:
            raise BadInput(name, f"must be between {low} and {high}, got {value}")
        return value

    def total_of(user: CurrentUser, agency: str | None, unread: bool) -> int:
        """How many notifications the list holds (the pager's total)."""
        if not agency:
            return 0
        with Session(engine) as session:
            return read.notification_total(
                session, agency=agency, role=user.role.value, user=user.username, unread_only=unread
            )

    @router.get("/notifications", response_class=HTMLResponse)
    def notifications_page(request: Request, agency: str = "") -> Response:
        """An agency's notifications, newest first, one page at a time with the total."""
        user = guard(request, "notifications.view")
        chosen = agency_param(request, user, agency, "notifications.view")
        params = request.query_params
        unread = lists.flag(params, "unread")
        paging = lists.paging(params, sorts=("created",), default_sort="created")
        rows, count = notification_rows(user, chosen, unread, paging.per_page, paging.offset)
        total = total_of(user, chosen, unread)
        lang = lang_of(request, user)
        return render(
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
            lt=lists.list_translator(lang),
        )

    @router.get("/notifications/bell", response_class=HTMLResponse)
    def notifications_bell(request: Request) -> Response:
        """The bell alone: what the header re-fetches when the SSE stream says it rang."""
        user = guard(request, "notifications.view")
        return TEMPLATES.TemplateResponse(
            request, "_bell.html", {"bell": bell_of(user), "t": translator(lang_of(request, user))}
        )

    @router.get("/api/notifications")
    def api_notifications(
        request: Request, agency: str = "", unread: bool = False, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        user = guard(request, "notifications.view")
        chosen = agency_param(request, user, agency, "notifications.view")
        rows, count = notification_rows(
            user, chosen, unread, bounded(limit, "limit", 1, 500), bounded(offset, "offset", 0, 1_000_000)
        )
        return {
            "agency": chosen,
            "unread": count,
            "total": total_of(user, chosen, unread),
            "items": [r.model_dump(mode="json") for r in rows],
        }

    @router.get("/api/notifications/unread-count")
    def api_unread_count(request: Request) -> dict[str, Any]:
        user = guard(request, "notifications.view")
        bell = bell_of(user)
        return {"agency": user.agency, "unread": bell["unread"] if bell else 0}

    def mark_one(request: Request, user: CurrentUser, notification_id: str) -> bool:
        """Mark one notification read after checking it is the user's agency's and meant for
        their role (the notifier's ``mark_read`` leaves that check to the console)."""
        target = f"notification/{notification_id}"
        with Session(engine) as session:
            record = notes.get_notification(session, notification_id=notification_id)
            if record is None:
                audit(
                    engine,
                    action="notifications.read",
                    outcome="not_found",
                    user=user,
                    target=target,
                    ip=_ip(request),
                )
                raise NotFound(f"notification {notification_id}", field="id")
            audience_ok = record.audience in ROLE_SEES.get(user.role.value, frozenset())
            if not user.agency or record.agency != user.agency or not audience_ok:
                other = record.agency != user.agency
                raise forbid(
                    request,
                    user,
                    "notifications.read",
                    target,
                    "notification of another agency" if other else "not for this role",
                    None if other else access.AUDIENCE_REFUSED,
                )
            changed = notes.mark_read(session, notification_id=notification_id, user=user.username)
        audit(
            engine,
            action="notifications.read",
            outcome="ok",
            user=user,
            target=target,
            ip=_ip(request),
            detail=None if changed else "already read",
        )
        return changed

    def mark_selected(request: Request, user: CurrentUser, ids: list[str]) -> int:
        """Mark the chosen notifications read in one transaction, after checking every one is
        the user's agency's and meant for their role (one outside that refuses them all)."""
        seen = ROLE_SEES.get(user.role.value, frozenset())
        with Session(engine) as session:
            records = _records(session, ids)
            missing = sorted(set(ids) - {r.id for r in records})
            if missing:
                raise NotFound(f"notification {missing[0]}", field="ids")
            for record in records:
                if record.agency != user.agency or record.audience not in seen:
                    other = record.agency != user.agency
                    raise forbid(
                        request,
                        user,
                        "notifications.read",
                        f"notification/{record.id}",
                        "notification of another agency" if other else "not for this role",
                        None if other else access.AUDIENCE_REFUSED,
                    )
            changed = _mark_many(session, [r.id for r in records], user=user.username)
        audit(
            engine,
            action="notifications.read_selected",
            outcome="ok",
            user=user,
            target=f"agency/{user.agency}",
            ip=_ip(request),
            detail=f"{changed} of {len(ids)} marked read",
        )
        return changed

    @router.post("/notifications/read-all")
    async def notifications_read_all(request: Request) -> Response:
        """Mark read every unread notification of the user's agency, or with ``ids`` the chosen ones."""
        user = guard(request, "notifications.read", "notifications/all")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "notifications.read")
        if not access.permits(user, "notifications.read", (user.agency,)):
            raise forbid(
                request,
                user,
                "notifications.read",
                "notifications/all",
                "account bound to no agency",
                access.NO_AGENCY_REFUSED,
            )
        ids = [str(v) for v in form.getlist("ids") if str(v).strip()]
        if len(ids) > lists.PER_PAGE_CHOICES[-1]:
            raise lists.bad(
                "ids",
                f"一次最多选择 {lists.PER_PAGE_CHOICES[-1]} 条",
                f"at most {lists.PER_PAGE_CHOICES[-1]} at once",
            )
        back = _safe_next(str(form.get("next") or "/notifications"))
        if form.get("selected") is not None:
            if not ids:
                raise lists.bad("ids", "未选择任何通知", "no notification was selected")
            await anyio.to_thread.run_sync(mark_selected, request, user, ids)
            sep = "&" if "?" in back else "?"
            return RedirectResponse(f"{back}{sep}done=read_selected", status_code=303)
        with Session(engine) as session:
            count = notes.mark_all_read(session, agency=user.agency, user=user.username, role=user.role.value)
        audit(
            engine,
            action="notifications.read_all",
            outcome="ok",
            user=user,
            target=f"agency/{user.agency}",
            ip=_ip(request),
            detail=f"{count} marked read",
        )
        return RedirectResponse("/notifications?done=read_all", status_code=303)

    @router.post("/notifications/{notification_id}/read")
    async def notification_read(request: Request, notification_id: str) -> Response:
        user = guard(request, "notifications.read", f"notification/{notification_id}")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "notifications.read")
        await anyio.to_thread.run_sync(mark_one, request, user, notification_id)
        return RedirectResponse(_safe_next(str(form.get("next") or "/notifications")), status_code=303)

    @router.post("/api/notifications/{notification_id}/read")
    async def api_notification_read(request: Request, notification_id: str) -> dict[str, Any]:
        user = guard(request, "notifications.read", f"notification/{notification_id}")
        check_csrf(request, user, None, "notifications.read")
        changed = await anyio.to_thread.run_sync(mark_one, request, user, notification_id)
        bell = bell_of(user)
        return {"id": notification_id, "changed": changed, "unread": bell["unread"] if bell else 0}

    def digest_of(agency: str | None) -> notes.Digest | None:
        if not agency:
            return None
        with Session(engine) as session:
            return notes.digest(session, agency=agency, now=datetime.now(UTC))

    @router.get("/digest", response_class=HTMLResponse)
    def digest_page(request: Request, agency: str = "") -> Response:
        user = guard(request, "digest.view")
        can_pick = access.picks_other_agencies(user, "digest.view")
        try:
            chosen = agency_param(request, user, agency, "digest.view")
        except BadInput as exc:
            return render(
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
        return render(
            request,
            "digest.html",
            user,
            data=digest_of(chosen),
            agency=chosen or "",
            can_pick=can_pick,
            all_agencies=list(agencies().values()),
            errors={},
        )

    @router.get("/api/digest")
    def api_digest(request: Request, agency: str = "") -> dict[str, Any]:
        user = guard(request, "digest.view")
        chosen = agency_param(request, user, agency, "digest.view")
        if chosen is None:
            raise BadInput("agency", "this account is bound to no agency; pick one with ?agency=")
        data = digest_of(chosen)
        assert data is not None
        return data.model_dump(mode="json")

    return router
