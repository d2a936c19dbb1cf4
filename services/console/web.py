"""What every console page shares: the errors pages raise, the sign-in and permission checks,
and rendering a template with the header (navigation, bell, labels) in the user's language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.console import access, read
from services.console.auth import CurrentUser, Sessions, audit, csrf_ok
from services.console.settings import ConsoleSettings
from services.console.throttle import LoginThrottle
from services.field_refusal import FieldRefusal
from services.i18n import (
    CONTENT_LABELS,
    COUNTING_LABELS,
    ITEM_STATE_LABELS,
    REASON_LABELS,
    STATUS_LABELS,
    WORDS,
    agency_label,
    audit_action_label,
    audit_outcome_label,
    event_label,
    field_label,
    pick,
    process_label,
    state_label,
    translator,
    word,
)
from services.readmodel import notification_queries as notes
from services.readmodel.accounts import LANGS, ROLE_LABELS, Role
from services.readmodel.notification_queries import ROLE_SEES
from workflows.deadlines import SHANGHAI

HERE = Path(__file__).parent
# Where the Temporal UI is served through the console; the UI is started with this public path.
TEMPORAL_UI_PATH = "/temporal"
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
LANG_COOKIE = "lawlink_lang"
LOGIN_CSRF_COOKIE = "lawlink_login_csrf"


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in form, JSON answers 401."""


class Forbidden(Exception):
    """Refused; answered with 403 saying why (the audit row is already written).

    ``reason`` is a (zh, en) pair; ``field`` says what was wrong: ``role`` (the role lacks the
    permission), ``scope`` (the record is outside it) or ``csrf_token``.
    """

    def __init__(
        self,
        user: CurrentUser,
        permission: str,
        reason: tuple[str, str] = access.ROLE_REFUSED,
        field: str = "role",
    ) -> None:
        super().__init__(permission)
        self.user = user
        self.permission = permission
        self.reason = reason
        self.field = field


class NotFound(Exception):
    """No such case (or dispute, or dead letter); ``what_zh`` names it in Chinese."""

    def __init__(self, what: str, field: str = "case_id", what_zh: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.field = field
        self.what_zh = what_zh

    def text(self, lang: str) -> str:
        """What was not found, in ``lang``; without Chinese of its own, the field by its label."""
        if lang != "zh":
            return f"no {self.what}"
        return (
            f"未找到{self.what_zh}"
            if self.what_zh
            else f"未找到所请求的记录（{field_label(self.field, 'zh')}）"
        )


class BadInput(FieldRefusal):
    """A query or form field the console cannot use (answered next to the field, or as JSON 422)."""

    def text(self, lang: str) -> str:
        """The field by its label, then the reason, in ``lang``."""
        return f"{field_label(self.field, lang)}{'：' if lang == 'zh' else ': '}{super().text(lang)}"


def _ip(request: Request) -> str | None:
    """The client's address, as :class:`services.console.proxies.ClientAddressMiddleware` set it."""
    return request.client.host if request.client else None


def _local(t: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if t is None:
        return "—"
    return t.astimezone(SHANGHAI).strftime(fmt)


def _late_text(seconds: int | None, lang: str) -> str:
    """How late a step was, as officials count it: whole days, or hours under a day."""
    total = max(int(seconds or 0), 0)
    if total >= 86400:
        return word("late_days", lang).format(n=-(-total // 86400))
    return word("late_hours", lang).format(n=max(1, -(-total // 3600)))


def _due_label(due_at: datetime | None, counting: str | None, lang: str) -> str:
    """A limit as officials say it: the last day "by end of day" (``due_at`` is the first instant
    after the limit, so showing it would read a day late); hour limits keep their time."""
    if due_at is None:
        return "—"
    if counting == "hours":
        return _local(due_at)
    return f"{read.last_day(due_at).isoformat()} {word('end_of_day', lang)}"


def _content_value(value: Any, lang: str) -> str:
    """One field of referral content as text: lists and records read as lines, not Python reprs;
    agency ids as names; checksums left out (they help machines, not readers)."""
    if isinstance(value, list):
        return "；".join(_content_value(v, lang) for v in value) if value else "—"
    if isinstance(value, dict):
        parts = [
            agency_label(v, lang) if k == "agency" and isinstance(v, str) else _content_value(v, lang)
            for k, v in value.items()
            if k != "sha256" and v not in (None, "")
        ]
        return " · ".join(parts)
    return "—" if value is None else str(value)


def _safe_next(target: str | None) -> str:
    """Only same-site paths (no open redirect through ``next``)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


class Console:
    """The request plumbing the routers share: who is signed in, what their role may do, and
    how a page is rendered. Built once per app by :func:`services.console.app.create_app`."""

    def __init__(self, settings: ConsoleSettings, engine: Engine, sessions: Sessions) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessions
        self.login_throttle = LoginThrottle(
            free_failures=settings.login_free_failures,
            first_delay=settings.login_delay_seconds,
            max_delay=settings.login_max_delay_seconds,
            address_max_failures=settings.login_address_max_failures,
            window_seconds=settings.login_window_minutes * 60,
        )

    def user_of(self, request: Request) -> CurrentUser | None:
        return self.sessions.load(request.cookies.get(Sessions.COOKIE))

    def audit(
        self,
        request: Request,
        *,
        action: str,
        outcome: str,
        user: CurrentUser | None = None,
        username: str | None = None,
        target: str | None = None,
        detail: str | None = None,
    ) -> None:
        """One audit row for a request: who (the signed-in ``user``, or the ``username`` a
        failed sign-in gave), what, the outcome, and the client's address."""
        audit(
            self.engine,
            action=action,
            outcome=outcome,
            user=user,
            username=username,
            target=target,
            ip=_ip(request),
            detail=detail,
        )

    def guard(self, request: Request, permission: str, target: str | None = None) -> CurrentUser:
        """The signed-in user if their role holds ``permission``; else 401/403 with an audit row."""
        user = self.user_of(request)
        if user is None:
            raise NotSignedIn()
        if not access.allowed(user, permission):
            self.audit(
                request,
                action=permission,
                outcome="forbidden",
                user=user,
                target=target or request.url.path,
                detail=f"{request.method} {request.url.path}",
            )
            raise Forbidden(user, permission, access.ROLE_REFUSED)
        return user

    def forbid(
        self,
        request: Request,
        user: CurrentUser,
        permission: str,
        target: str,
        detail: str,
        reason: tuple[str, str] | None = None,
    ) -> Forbidden:
        """Audit a refusal on one record and return the 403 to raise; without ``reason``, the
        record is outside the scope the user's role holds ``permission`` over."""
        self.audit(request, action=permission, outcome="forbidden", user=user, target=target, detail=detail)
        return Forbidden(user, permission, reason or access.refusal(user, permission), "scope")

    def check_csrf(self, request: Request, user: CurrentUser, token: str | None, permission: str) -> None:
        if not csrf_ok(user, token or request.headers.get("X-CSRF-Token")):
            self.audit(request, action=permission, outcome="csrf_failed", user=user, target=request.url.path)
            raise Forbidden(user, permission, access.CSRF_REFUSED, "csrf_token")

    def lang_of(self, request: Request, user: CurrentUser | None) -> str:
        if user is not None:
            return user.lang
        lang = request.cookies.get(LANG_COOKIE, "zh")
        return lang if lang in LANGS else "zh"

    def temporal_link(self, workflow_id: str) -> str:
        """The workflow in the Temporal UI, through the console's own sign-in (routes_temporal)."""
        return (
            f"{TEMPORAL_UI_PATH}/namespaces/{quote(self.settings.temporal_namespace, safe='')}"
            f"/workflows/{quote(workflow_id, safe='')}"
        )

    def trace_link(self, trace_id: str) -> str | None:
        """The trace viewer's page of ``trace_id`` (``LAWLINK_TRACE_URL``), or None without one."""
        template = self.settings.trace_url
        return template.replace("{trace_id}", quote(trace_id, safe="")) if template and trace_id else None

    def render(
        self, request: Request, template: str, user: CurrentUser | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = self.lang_of(request, user)
        nav: list[tuple[str, str]] = []
        if user is not None:
            for path, key, permission in (
                ("/inbox", "inbox", "inbox.view"),
                ("/dashboard", "dashboard", "dashboard.view"),
                ("/agency", "my_agency", "agency.view"),
                ("/", "cases", "cases.list"),
                ("/digest", "digest", "digest.view"),
                ("/townships", "townships", "townships.list"),
                ("/statistics", "statistics", "statistics.view"),
                ("/audit", "audit", "audit.view"),
                ("/users", "users", "users.view"),
            ):
                if not access.allowed(user, permission):
                    continue
                if path == "/digest" and not (
                    user.agency or access.picks_other_agencies(user, "digest.view")
                ):
                    continue
                if (
                    path == "/townships"
                    and user.role is Role.AGENCY_OFFICER
                    and not access.is_township(user.agency)
                ):
                    continue
                nav.append((path, key))
        base = {
            "user": user,
            "lang": lang,
            "t": translator(lang),
            "nav": nav,
            "path": request.url.path,
            "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "csrf": user.csrf_token if user else "",
            "agency_label": lambda a: agency_label(a, lang),
            "state_label": lambda p, s: state_label(p, s, lang),
            "process_label": lambda p: process_label(p, lang),
            "event_label": lambda ty: event_label(ty, lang),
            "status_label": lambda s: pick(STATUS_LABELS.get(s), lang, s),
            "counting_label": lambda c: pick(COUNTING_LABELS.get(c), lang, c),
            "audit_action_label": lambda a: audit_action_label(a, lang),
            "audit_outcome_label": lambda o: audit_outcome_label(o, lang),
            "role_label": lambda r: pick(
                ROLE_LABELS.get(Role(r)) if r in Role._value2member_map_ else None, lang, r
            ),
            "local": _local,
            "late_text": lambda seconds: _late_text(seconds, lang),
            "temporal_link": self.temporal_link,
            "trace_link": self.trace_link,
            # Trace ids are an operator's tool: shown to those who may open the Temporal UI.
            "sees_traces": user is not None and access.allowed(user, "temporal_ui.use"),
            "bell": self.bell_of(user),
            "due_label": lambda due_at, counting: _due_label(due_at, counting, lang),
            "content_label": lambda k: pick(CONTENT_LABELS.get(k), lang, k),
            "content_value": lambda v: _content_value(v, lang),
            "counting_note": lambda c: word(f"counting_{c}", lang) if f"counting_{c}" in WORDS else (c or ""),
            "reason_label": lambda r: pick(REASON_LABELS.get(r), lang, r),
            "item_state_label": lambda s: pick(ITEM_STATE_LABELS.get(s), lang, s),
        }
        return TEMPLATES.TemplateResponse(request, template, {**base, **context}, status_code=status)

    def bell_of(self, user: CurrentUser | None) -> dict[str, Any] | None:
        """The header bell: unread notifications of the user's agency meant for their role."""
        if user is None or not user.agency or user.role.value not in ROLE_SEES:
            return None
        with Session(self.engine) as session:
            unread = notes.unread_count(session, agency=user.agency, user=user.username, role=user.role.value)
        return {"agency": user.agency, "unread": unread}
