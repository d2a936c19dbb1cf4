"""Console: the web pages the officials use, in Chinese first and English second.

Coordinators resolve jurisdiction disputes from their inbox; operators watch every timeline and
deadline; agency officers see their own agency's cases and what they owe next; discipline
officers read referrals; admins read the audit trail and manage accounts.

The console reads the read model and never writes it (DESIGN.md: one direction). Coordinator
decisions go to Temporal as Updates (:mod:`services.console.actions`); a dead letter's replay goes
to the registry, which owns that row. The console writes only its own tables: accounts,
sessions and the audit trail. Pages are server-rendered (Jinja2); HTMX re-fetches a page's live
region when the SSE stream says its case changed, so nothing needs a JavaScript build.

Run: ``uvicorn services.console.app:app`` (needs ``LAWLINK_SESSION_SECRET`` outside development).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from contracts.agencies import AgencyKind, agencies, get_agency
from contracts.jurisdiction_dispute import PARTY_KINDS
from services.console import access, read
from services.console.actions import ACTIONS, ActionRefused, DisputeActions, TemporalDisputeActions
from services.console.auth import (
    CurrentUser,
    Sessions,
    UserInputError,
    audit,
    authenticate,
    create_user,
    csrf_ok,
    list_audit,
    list_users,
    set_language,
)
from services.console.i18n import (
    CONTENT_LABELS,
    COUNTING_LABELS,
    ITEM_STATE_LABELS,
    REASON_LABELS,
    STATUS_LABELS,
    WORDS,
    agency_label,
    event_label,
    pick,
    process_label,
    state_label,
    translator,
    word,
)
from services.console.live import Change, LiveHub
from services.console.settings import ConsoleSettings, resolve_session_secret
from services.console.svg import bar_chart, column_chart, timeline_svg
from services.console.tables import LANGS, ROLE_LABELS, Role
from services.delegations.read_model import DelegatedItem, DelegatedItemPublic, items_by_township
from services.discipline.content import Referral, access_for, read_content
from services.discipline.crypto import ContentDecryptError, ContentKeyError, cipher_from_env
from services.notifier import queries as notes
from services.notifier.queries import ROLE_SEES
from services.registry import queries
from services.registry.db import make_engine, migrate
from services.registry.models import Case, Deadline, DeadlinePublic
from services.settings import StackSettings
from workflows.deadlines import SHANGHAI

log = logging.getLogger("lawlink.console")

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
LANG_COOKIE = "lawlink_lang"
DELEGATION = "power_delegation"
LOGIN_CSRF_COOKIE = "lawlink_login_csrf"
PROJECTION_WAIT_SECONDS = 3.0

Replayer = Callable[[int], Awaitable[dict[str, Any]]]


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in form, JSON answers 401."""


class Forbidden(Exception):
    """The role may not do this; answered with 403 (the audit row is already written)."""

    def __init__(self, user: CurrentUser, permission: str) -> None:
        super().__init__(permission)
        self.user = user
        self.permission = permission


class NotFound(Exception):
    """No such case (or dispute, or dead letter)."""

    def __init__(self, what: str, field: str = "case_id") -> None:
        super().__init__(what)
        self.what = what
        self.field = field


class BadInput(Exception):
    """A query or form field the console cannot use (answered next to the field, or as JSON 422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _local(t: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if t is None:
        return "—"
    return t.astimezone(SHANGHAI).strftime(fmt)


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


def create_app(
    settings: ConsoleSettings | StackSettings | None = None,
    *,
    actions: DisputeActions | None = None,
    replayer: Replayer | None = None,
    live: bool | None = None,
    migrate_on_start: bool = True,
) -> FastAPI:
    """Build the console (a function so tests point it at their own database and fakes).

    Args:
        settings: Console settings; plain stack settings are read again as console settings.
        actions: Where coordinator decisions go (default: Temporal Updates).
        replayer: How a dead letter is replayed (default: the registry's replay endpoint).
        live: Subscribe to ``lawlink.out.>`` for SSE refresh (default: the setting).
        migrate_on_start: Bring the schema to the newest revision when the app starts.

    Raises:
        MissingSecret: no session secret outside development and tests.
    """
    if settings is None or not isinstance(settings, ConsoleSettings):
        base = settings.model_dump(by_alias=True) if settings is not None else {}
        settings = ConsoleSettings(**base)
    secret = resolve_session_secret(settings)
    engine: Engine = make_engine(settings.database_url)
    sessions = Sessions(engine, secret, settings.session_hours)
    dispute_actions: DisputeActions = actions or TemporalDisputeActions(settings)
    hub = LiveHub(lambda: engine)
    use_nats = settings.live_nats if live is None else live

    async def registry_replay(letter_id: int) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=settings.registry_url, timeout=10) as http:
            resp = await http.post(f"/api/dead-letters/{letter_id}/replay")
        if resp.status_code == 404:
            raise NotFound(f"dead letter {letter_id}")
        resp.raise_for_status()
        return resp.json()

    replay = replayer or registry_replay

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if migrate_on_start:
            await anyio.to_thread.run_sync(migrate, settings.database_url)
        if use_nats:
            kwargs = (
                {"user": settings.nats_user, "password": settings.nats_password} if settings.nats_user else {}
            )
            await hub.start(settings.nats_url, **kwargs)
        try:
            yield
        finally:
            await hub.stop()
            engine.dispose()

    app = FastAPI(title="Lawlink console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.hub = hub
    app.state.engine = engine

    # ----- plumbing -------------------------------------------------------------------------

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path != "/events" and not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def user_of(request: Request) -> CurrentUser | None:
        return sessions.load(request.cookies.get(Sessions.COOKIE))

    def guard(request: Request, permission: str, target: str | None = None) -> CurrentUser:
        """The signed-in user if their role holds ``permission``; else 401/403 with an audit row."""
        user = user_of(request)
        if user is None:
            raise NotSignedIn()
        if not access.allowed(user, permission):
            audit(
                engine,
                action=permission,
                outcome="forbidden",
                user=user,
                target=target or request.url.path,
                ip=_ip(request),
                detail=f"{request.method} {request.url.path}",
            )
            raise Forbidden(user, permission)
        return user

    def forbid(request: Request, user: CurrentUser, permission: str, target: str, detail: str) -> Forbidden:
        audit(
            engine,
            action=permission,
            outcome="forbidden",
            user=user,
            target=target,
            ip=_ip(request),
            detail=detail,
        )
        return Forbidden(user, permission)

    def check_csrf(request: Request, user: CurrentUser, token: str | None, permission: str) -> None:
        if not csrf_ok(user, token or request.headers.get("X-CSRF-Token")):
            audit(
                engine,
                action=permission,
                outcome="csrf_failed",
                user=user,
                target=request.url.path,
                ip=_ip(request),
            )
            raise Forbidden(user, permission)

    def lang_of(request: Request, user: CurrentUser | None) -> str:
        if user is not None:
            return user.lang
        lang = request.cookies.get(LANG_COOKIE, "zh")
        return lang if lang in LANGS else "zh"

    def temporal_link(workflow_id: str) -> str:
        return (
            f"{settings.temporal_ui_url}/namespaces/{quote(settings.temporal_namespace, safe='')}"
            f"/workflows/{quote(workflow_id, safe='')}"
        )

    def render(
        request: Request, template: str, user: CurrentUser | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = lang_of(request, user)
        nav: list[tuple[str, str]] = []
        if user is not None:
            for path, key, permission in (
                ("/inbox", "inbox", "inbox.view"),
                ("/dashboard", "dashboard", "dashboard.view"),
                ("/agency", "my_agency", "agency.view"),
                ("/", "cases", "cases.list"),
                ("/digest", "digest", "digest.view"),
                ("/townships", "townships", "townships.list"),
                ("/audit", "audit", "audit.view"),
                ("/users", "users", "users.view"),
            ):
                if not access.allowed(user, permission):
                    continue
                if path == "/digest" and not (user.agency or access.allowed(user, "digest.any_agency")):
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
            "role_label": lambda r: pick(
                ROLE_LABELS.get(Role(r)) if r in Role._value2member_map_ else None, lang, r
            ),
            "local": _local,
            "temporal_link": temporal_link,
            "bell": bell_of(user),
            "due_label": lambda due_at, counting: _due_label(due_at, counting, lang),
            "content_label": lambda k: pick(CONTENT_LABELS.get(k), lang, k),
            "content_value": lambda v: _content_value(v, lang),
            "counting_note": lambda c: word(f"counting_{c}", lang) if f"counting_{c}" in WORDS else (c or ""),
            "reason_label": lambda r: pick(REASON_LABELS.get(r), lang, r),
            "item_state_label": lambda s: pick(ITEM_STATE_LABELS.get(s), lang, s),
        }
        return TEMPLATES.TemplateResponse(request, template, {**base, **context}, status_code=status)

    def bell_of(user: CurrentUser | None) -> dict[str, Any] | None:
        """The header bell: unread notifications of the user's agency meant for their role."""
        if user is None or not user.agency or user.role.value not in ROLE_SEES:
            return None
        with Session(engine) as session:
            unread = notes.unread_count(session, agency=user.agency, user=user.username, role=user.role.value)
        return {"agency": user.agency, "unread": unread}

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/events":
            return JSONResponse({"field": "session", "reason": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/events":
            return JSONResponse(
                {"field": "role", "reason": f"role {exc.user.role.value} may not {exc.permission}"},
                status_code=403,
            )
        return render(
            request, "error.html", exc.user, status=403, title_key="forbidden", text_key="forbidden_text"
        )

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"field": exc.field, "reason": f"no {exc.what}"}, status_code=404)
        return render(
            request, "error.html", user_of(request), status=404, title_key="not_found", text=exc.what
        )

    @app.exception_handler(BadInput)
    async def _bad_input(request: Request, exc: BadInput) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"field": exc.field, "reason": exc.reason}, status_code=422)
        return render(
            request,
            "error.html",
            user_of(request),
            status=422,
            title_key="bad_input",
            text=f"{exc.field}: {exc.reason}",
        )

    # ----- sign-in -----------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query name
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", None, next=_safe_next(next), login_csrf=token, error=None)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=settings.cookie_secure,
            max_age=3600,
        )
        return response

    @app.post("/login")
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

        def check() -> tuple[int, str] | None:
            with Session(engine) as session:
                user = authenticate(session, username, password)
                return (user.id, user.role) if user is not None and user.id is not None else None

        found = await anyio.to_thread.run_sync(check)
        if found is None:
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
            secure=settings.cookie_secure,
            max_age=sessions.max_age,
        )
        response.set_cookie(
            LANG_COOKIE, user.lang, samesite="lax", secure=settings.cookie_secure, max_age=365 * 86400
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "logout")
        sessions.end(user.session_id)
        audit(engine, action="logout", outcome="ok", user=user, ip=_ip(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(Sessions.COOKIE)
        return response

    @app.post("/lang")
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
            LANG_COOKIE, lang, samesite="lax", secure=settings.cookie_secure, max_age=365 * 86400
        )
        return response

    # ----- cases -------------------------------------------------------------------------------

    def deadline_parties(session: Session, workflow_id: str) -> set[str]:
        return {
            p
            for p in session.exec(select(Deadline.party).where(Deadline.workflow_id == workflow_id)).all()
            if p
        }

    def load_case(session: Session, request: Request, user: CurrentUser, process: str, case_id: str) -> Case:
        found = queries.find_cases(session, case_id=case_id, process=process)
        if not found:
            raise NotFound(f"{process} case {case_id}")
        case = found[0]
        if not access.can_open_case(user, case, deadline_parties(session, case.workflow_id)):
            raise forbid(request, user, "case.view", case.workflow_id, "case of another agency")
        return case

    def referral_of(session: Session, case: Case) -> Referral | None:
        return access_for(session, case.case_id) if access.is_confidential(case) else None

    def case_rows(
        user: CurrentUser, process: str | None, state: str | None, search: str | None
    ) -> list[dict[str, Any]]:
        with Session(engine) as session:
            cases = read.cases_of(
                session,
                agency=access.agency_filter(user),
                process=process or None,
                state=state or None,
                search=search or None,
            )
            out = []
            for c in cases:
                readable = access.can_read_content(user, c, referral_of(session, c))
                out.append(
                    {
                        "process": c.process,
                        "case_id": c.case_id,
                        "state": c.state,
                        "closed": c.closed,
                        "agency": c.agency if readable else None,
                        "title": c.title if readable else None,
                        "confidential": access.is_confidential(c),
                        "updated_at": c.updated_at,
                        "workflow_id": c.workflow_id,
                        "readable": readable,
                    }
                )
            return out

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, process: str = "", state: str = "", q: str = "") -> Response:
        user = guard(request, "cases.list")
        rows = case_rows(user, process, state, q)
        processes = sorted({r["process"] for r in rows} | set(read_processes()))
        return render(
            request, "cases.html", user, cases=rows, process=process, state=state, q=q, processes=processes
        )

    def read_processes() -> list[str]:
        from contracts.catalog import PROCESSES

        return list(PROCESSES)

    @app.get("/api/cases")
    def api_cases(request: Request, process: str = "", state: str = "", q: str = "") -> list[dict[str, Any]]:
        user = guard(request, "cases.list")
        return [{**r, "updated_at": r["updated_at"].isoformat()} for r in case_rows(user, process, state, q)]

    def case_context(request: Request, user: CurrentUser, process: str, case_id: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        content: list[Any] | None = None
        with Session(engine) as session:
            case = load_case(session, request, user, process, case_id)
            readable = access.can_read_content(user, case, referral_of(session, case))
            entries = queries.timeline(session, case_id=case_id, process=process) if readable else []
            # Workflow order: a received event carries the sender's clock, the sequence is the truth.
            entries = sorted(
                (e for e in entries if access.can_read_entry(user, case, e.type)), key=lambda e: e.seq
            )
            deadlines = queries.deadlines(session, case_id=case_id, process=process) if readable else []
            if readable and access.is_confidential(case):
                content = referral_content(session, user, case)
            townships: list[str] = []
            if case.process == DELEGATION:
                found = session.exec(
                    select(DelegatedItem.township)
                    .where(DelegatedItem.workflow_id == case.workflow_id)
                    .distinct()
                ).all()
                townships = sorted(t for t in found if access.can_view_township(user, t))
        calendar = read.work_calendar()
        live = [(d, read.remaining(d, now, calendar)) for d in deadlines if d.status in read.LIVE_DEADLINE]
        svg = timeline_svg(
            entries, deadlines, process=process, now=now, closed=case.closed, lang=lang_of(request, user)
        )
        return {
            "case": case,
            "readable": readable,
            "confidential": access.is_confidential(case),
            "entries": entries,
            "deadlines": deadlines,
            "live_deadlines": live,
            "svg": svg,
            "now": now,
            "content": content,
            "is_dispute": case.process == read.DISPUTE,
            "townships": townships,
        }

    @app.get("/cases/{process}/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, process: str, case_id: str) -> Response:
        user = guard(request, "case.view", f"{process}/{case_id}")
        context = case_context(request, user, process, case_id)
        if context["content"] is not None:
            audit(
                engine,
                action="referral.read",
                outcome="ok",
                user=user,
                target=f"{process}/{case_id}",
                ip=_ip(request),
            )
        return render(request, "case.html", user, **context, can_dispute=access.allowed(user, "dispute.view"))

    def referral_content(session: Session, user: CurrentUser, case: Case) -> list[Any] | None:
        """The clue's decrypted content from issue 5's encrypted store (None: store unreadable)."""
        try:
            return read_content(session, cipher_from_env(), case.case_id, role=user.role.value)
        except (ContentKeyError, ContentDecryptError) as exc:
            log.warning("referral content of %s unavailable: %s", case.case_id, exc)
            return None

    @app.get("/api/cases/{process}/{case_id}")
    def api_case(request: Request, process: str, case_id: str) -> dict[str, Any]:
        user = guard(request, "case.view", f"{process}/{case_id}")
        ctx = case_context(request, user, process, case_id)
        case: Case = ctx["case"]
        body: dict[str, Any] = {
            "process": case.process,
            "case_id": case.case_id,
            "state": case.state,
            "closed": case.closed,
            "confidential": ctx["confidential"],
        }
        if ctx["readable"]:
            body.update(
                agency=case.agency,
                parties=case.parties,
                title=case.title,
                temporal_ui_url=temporal_link(case.workflow_id),
                timeline=[e.model_dump(mode="json") for e in ctx["entries"]],
                deadlines=[d.model_dump(mode="json") for d in ctx["deadlines"]],
                content=[
                    {
                        "event_type": c.event_type,
                        "source_agency": c.source_agency,
                        "occurred_at": c.occurred_at.isoformat(),
                        "content": c.content,
                    }
                    for c in ctx["content"] or []
                ]
                if ctx["confidential"]
                else None,
            )
        if ctx["townships"]:
            body["townships"] = [{"township": t, "url": f"/townships/{t}"} for t in ctx["townships"]]
        return body

    # ----- coordinator inbox and dispute page ------------------------------------------------

    def inbox_rows(
        user: CurrentUser, agency: str, state: str, overdue: bool, q: str
    ) -> list[read.DisputeRow]:
        with Session(engine) as session:
            return read.inbox(
                session,
                office=user.agency,
                now=datetime.now(UTC),
                calendar=read.work_calendar(),
                agency=agency or None,
                state=state or None,
                overdue_only=overdue,
                search=q or None,
            )

    @app.get("/inbox", response_class=HTMLResponse)
    def inbox_page(
        request: Request, agency: str = "", state: str = "", overdue: bool = False, q: str = ""
    ) -> Response:
        user = guard(request, "inbox.view")
        rows = inbox_rows(user, agency, state, overdue, q)
        party_agencies = sorted({p for r in rows for p in r.task.parties})
        return render(
            request,
            "inbox.html",
            user,
            rows=rows,
            agency=agency,
            state=state,
            overdue=overdue,
            q=q,
            states=sorted(read.OPEN_STATES),
            party_agencies=party_agencies,
            request_id=str(uuid.uuid4()),
        )

    @app.get("/api/inbox")
    def api_inbox(
        request: Request, agency: str = "", state: str = "", overdue: bool = False, q: str = ""
    ) -> list[dict[str, Any]]:
        user = guard(request, "inbox.view")
        return [
            {
                **r.task.model_dump(mode="json"),
                "rule": r.deadline.rule if r.deadline else None,
                "left": r.remaining.amount if r.remaining else None,
                "unit": r.remaining.unit if r.remaining else None,
            }
            for r in inbox_rows(user, agency, state, overdue, q)
        ]

    def dispute_context(request: Request, user: CurrentUser, case_id: str) -> dict[str, Any]:
        context = case_context(request, user, read.DISPUTE, case_id)
        with Session(engine) as session:
            detail = read.dispute_detail(session, case_id)
        parties = list(detail.opened.get("parties") or context["case"].parties or [])
        others = [a.id for a in agencies().values() if a.kind in PARTY_KINDS and a.id not in parties]
        context.update(
            detail=detail,
            parties=parties,
            other_agencies=others,
            request_id=str(uuid.uuid4()),
            can_act=access.allowed(user, "dispute.act"),
            errors={},
            values={},
            failed_action=None,
            done=request.query_params.get("done"),
        )
        return context

    @app.get("/disputes/{case_id}", response_class=HTMLResponse)
    def dispute_page(request: Request, case_id: str) -> Response:
        user = guard(request, "dispute.view", f"{read.DISPUTE}/{case_id}")
        return render(request, "dispute.html", user, **dispute_context(request, user, case_id))

    def build_input(action: str, user: CurrentUser, form: dict[str, Any], multi: list[str]) -> BaseModel:
        """The Update's input from the form; pydantic errors name the form field."""
        _, model = ACTIONS[action]
        data: dict[str, Any] = {
            "coordinator": user.username,
            "coordinator_name": user.display_name,
            "coordinator_agency": user.agency or "",
            "request_id": form.get("request_id") or None,
        }
        text = {k: str(v).strip() for k, v in form.items() if k not in ("csrf_token", "request_id", "next")}
        if action == "request_opinions":
            data["agencies"] = multi
            data["note"] = text.get("note", "")
            if text.get("due_date"):
                data["due_date"] = text["due_date"]
        elif action == "extend":
            data["working_days"] = text.get("working_days", "")
            data["reason"] = text.get("reason", "")
        elif action in ("designate", "interim"):
            data["agency"] = text.get("agency", "")
            data["reason"] = text.get("reason", "")
            if action == "interim":
                data["measures"] = text.get("measures", "")
        elif action in ("unclaim", "refer"):
            data["reason"] = text.get("reason", "")
        return model.model_validate(data)

    def form_errors(exc: ValidationError, lang: str) -> dict[str, str]:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(field, err["msg"])
        return errors

    def wait_for_projection(workflow_id: str, seq_before: int) -> None:
        """Give the registry a moment to project the decision, so the redirected page shows it."""
        import time

        end = time.monotonic() + PROJECTION_WAIT_SECONDS
        while time.monotonic() < end:
            with Session(engine) as session:
                case = session.get(Case, workflow_id)
                if case is not None and case.last_seq > seq_before:
                    return
            time.sleep(0.1)

    @app.post("/disputes/{case_id}/{action}")
    async def dispute_action(request: Request, case_id: str, action: str) -> Response:
        target = f"{read.DISPUTE}/{case_id}"
        user = guard(request, "dispute.act", target)
        raw = await request.form()
        check_csrf(request, user, str(raw.get("csrf_token", "")), "dispute.act")
        if action not in ACTIONS:
            raise NotFound(f"action {action}")
        with Session(engine) as session:
            case = load_case(session, request, user, read.DISPUTE, case_id)
            seq_before, workflow_id = case.last_seq, case.workflow_id
        form = {k: v for k, v in raw.items()}
        multi = [str(v) for v in raw.getlist("agencies")]
        errors: dict[str, str] = {}
        try:
            data = build_input(action, user, form, multi)
        except ValidationError as exc:
            errors = form_errors(exc, lang_of(request, user))
            audit(
                engine,
                action=f"dispute.{action}",
                outcome="invalid",
                user=user,
                target=target,
                ip=_ip(request),
                detail="; ".join(f"{k}: {v}" for k, v in errors.items()),
            )
        else:
            try:
                result = await dispute_actions.run(action, case_id, data)
            except ActionRefused as exc:
                errors = {exc.field: exc.reason}
                audit(
                    engine,
                    action=f"dispute.{action}",
                    outcome="refused",
                    user=user,
                    target=target,
                    ip=_ip(request),
                    detail=f"{exc.field}: {exc.reason}",
                )
            else:
                audit(
                    engine,
                    action=f"dispute.{action}",
                    outcome="ok",
                    user=user,
                    target=target,
                    ip=_ip(request),
                    detail=f"state {result.state}" + (" (duplicate)" if result.duplicate else ""),
                )
                if not result.duplicate:
                    await anyio.to_thread.run_sync(wait_for_projection, workflow_id, seq_before)
                back = _safe_next(str(form.get("next") or f"/disputes/{case_id}"))
                sep = "&" if "?" in back else "?"
                return RedirectResponse(f"{back}{sep}done={action}", status_code=303)
        # A refusal (also of a claim made from the inbox) is shown on the dispute page, by the form.
        context = dispute_context(request, user, case_id)
        context.update(errors=errors, values=form, failed_action=action, multi=multi)
        return render(request, "dispute.html", user, status=422, **context)

    # ----- operator dashboard and dead letters ----------------------------------------------

    def dashboard_data(user: CurrentUser) -> read.Dashboard:
        with Session(engine) as session:
            return read.dashboard(session, now=datetime.now(UTC))

    @app.get("/dashboard", response_class=HTMLResponse)
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

    @app.get("/api/dashboard")
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

    @app.post("/dead-letters/{letter_id}/replay")
    async def replay_dead_letter(request: Request, letter_id: int) -> Response:
        user = guard(request, "dead_letter.replay", f"dead_letter/{letter_id}")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "dead_letter.replay")
        try:
            await replay(letter_id)
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

    # ----- agency officer ------------------------------------------------------------------

    def agency_data(
        user: CurrentUser,
    ) -> tuple[list[tuple[DeadlinePublic, read.Remaining, Case | None]], list[dict[str, Any]]]:
        now = datetime.now(UTC)
        calendar = read.work_calendar()
        todo: list[tuple[DeadlinePublic, read.Remaining, Case | None]] = []
        with Session(engine) as session:
            for row in read.agency_todo(session, user.agency or ""):
                public = DeadlinePublic.model_validate(row, from_attributes=True)
                todo.append(
                    (public, read.remaining(public, now, calendar), session.get(Case, row.workflow_id))
                )
        return todo, case_rows(user, None, None, None)

    @app.get("/agency", response_class=HTMLResponse)
    def agency_page(request: Request) -> Response:
        user = guard(request, "agency.view")
        todo, cases = agency_data(user)
        return render(request, "agency.html", user, todo=todo, cases=cases)

    @app.get("/api/agency")
    def api_agency(request: Request) -> dict[str, Any]:
        user = guard(request, "agency.view")
        todo, cases = agency_data(user)
        return {
            "agency": user.agency,
            "todo": [
                {
                    "process": d.process,
                    "case_id": d.case_id,
                    "rule": d.rule,
                    "label_zh": d.label_zh,
                    "due_at": d.due_at.isoformat(),
                    "left": r.amount,
                    "unit": r.unit,
                    "overdue": r.overdue,
                }
                for d, r, _ in todo
            ],
            "cases": [{**c, "updated_at": c["updated_at"].isoformat()} for c in cases],
        }

    # ----- notifications: the bell, mark as read, the daily digest (issue 9) -------------------

    def agency_param(
        request: Request, user: CurrentUser, agency: str, any_permission: str, permission: str
    ) -> str | None:
        """The agency a notifications or digest request is about: the user's own unless a role
        with ``any_permission`` picked another. Unknown ids are bad input; another agency for a
        role without the grant is forbidden (403, audited)."""
        chosen = agency.strip() or (user.agency or "")
        if not chosen:
            return None
        if get_agency(chosen) is None:
            raise BadInput("agency", f"unknown agency {chosen!r}")
        if not access.can_pick_agency(user, any_permission, chosen):
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

    @app.get("/notifications", response_class=HTMLResponse)
    def notifications_page(
        request: Request, agency: str = "", unread: bool = False, limit: int = 100, offset: int = 0
    ) -> Response:
        user = guard(request, "notifications.view")
        chosen = agency_param(request, user, agency, "notifications.any_agency", "notifications.view")
        rows, count = notification_rows(
            user, chosen, unread, bounded(limit, "limit", 1, 500), bounded(offset, "offset", 0, 1_000_000)
        )
        return render(
            request,
            "notifications.html",
            user,
            rows=rows,
            unread_count=count,
            agency=chosen or "",
            unread=unread,
            own=bool(chosen) and chosen == user.agency,
            can_pick=access.allowed(user, "notifications.any_agency"),
            all_agencies=list(agencies().values()),
            done=request.query_params.get("done"),
        )

    @app.get("/notifications/bell", response_class=HTMLResponse)
    def notifications_bell(request: Request) -> Response:
        """The bell alone: what the header re-fetches when the SSE stream says it rang."""
        user = guard(request, "notifications.view")
        return TEMPLATES.TemplateResponse(
            request, "_bell.html", {"bell": bell_of(user), "t": translator(lang_of(request, user))}
        )

    @app.get("/api/notifications")
    def api_notifications(
        request: Request, agency: str = "", unread: bool = False, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        user = guard(request, "notifications.view")
        chosen = agency_param(request, user, agency, "notifications.any_agency", "notifications.view")
        rows, count = notification_rows(
            user, chosen, unread, bounded(limit, "limit", 1, 500), bounded(offset, "offset", 0, 1_000_000)
        )
        return {"agency": chosen, "unread": count, "items": [r.model_dump(mode="json") for r in rows]}

    @app.get("/api/notifications/unread-count")
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
                raise forbid(
                    request,
                    user,
                    "notifications.read",
                    target,
                    "notification of another agency" if record.agency != user.agency else "not for this role",
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

    @app.post("/notifications/read-all")
    async def notifications_read_all(request: Request) -> Response:
        user = guard(request, "notifications.read", "notifications/all")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "notifications.read")
        if not user.agency:
            raise forbid(
                request, user, "notifications.read", "notifications/all", "account bound to no agency"
            )
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

    @app.post("/notifications/{notification_id}/read")
    async def notification_read(request: Request, notification_id: str) -> Response:
        user = guard(request, "notifications.read", f"notification/{notification_id}")
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token", "")), "notifications.read")
        await anyio.to_thread.run_sync(mark_one, request, user, notification_id)
        return RedirectResponse(_safe_next(str(form.get("next") or "/notifications")), status_code=303)

    @app.post("/api/notifications/{notification_id}/read")
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

    @app.get("/digest", response_class=HTMLResponse)
    def digest_page(request: Request, agency: str = "") -> Response:
        user = guard(request, "digest.view")
        can_pick = access.allowed(user, "digest.any_agency")
        try:
            chosen = agency_param(request, user, agency, "digest.any_agency", "digest.view")
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

    @app.get("/api/digest")
    def api_digest(request: Request, agency: str = "") -> dict[str, Any]:
        user = guard(request, "digest.view")
        chosen = agency_param(request, user, agency, "digest.any_agency", "digest.view")
        if chosen is None:
            raise BadInput("agency", "this account is bound to no agency; pick one with ?agency=")
        data = digest_of(chosen)
        assert data is not None
        return data.model_dump(mode="json")

    # ----- townships: delegated items (issue 6) --------------------------------------------------

    def township_ids() -> list[str]:
        return [a.id for a in agencies().values() if a.kind is AgencyKind.TOWNSHIP]

    def township_summaries(user: CurrentUser) -> list[dict[str, Any]]:
        with Session(engine) as session:
            counts = read.township_item_counts(session)
        out = []
        for township in township_ids():
            if not access.can_view_township(user, township):
                continue
            by_state = counts.get(township, {})
            agency = get_agency(township)
            assert agency is not None
            out.append(
                {
                    "township": township,
                    "name_zh": agency.name_zh,
                    "name_en": agency.name_en,
                    "district": agency.district,
                    "items": sum(by_state.values()),
                    "by_state": by_state,
                }
            )
        return out

    def own_township_or_forbid(request: Request, user: CurrentUser) -> str | None:
        """A township officer's own township; any other agency officer may list none (403)."""
        if user.role is not Role.AGENCY_OFFICER:
            return None
        if access.is_township(user.agency):
            return user.agency
        raise forbid(
            request, user, "townships.list", "townships", "agency officer of a body that is not a township"
        )

    @app.get("/townships", response_class=HTMLResponse)
    def townships_page(request: Request) -> Response:
        user = guard(request, "townships.list")
        own = own_township_or_forbid(request, user)
        if own is not None:
            return RedirectResponse(f"/townships/{own}", status_code=303)
        return render(request, "townships.html", user, rows=township_summaries(user))

    @app.get("/api/townships")
    def api_townships(request: Request) -> list[dict[str, Any]]:
        user = guard(request, "townships.list")
        own_township_or_forbid(request, user)
        return township_summaries(user)

    def township_items(
        request: Request, user: CurrentUser, township: str, include_returned: bool
    ) -> list[DelegatedItemPublic]:
        if not access.is_township(township):
            raise NotFound(f"township {township}", field="agency_id")
        if not access.can_view_township(user, township):
            raise forbid(request, user, "township.view", f"township/{township}", "another township")
        with Session(engine) as session:
            return items_by_township(session, township, include_returned=include_returned)

    @app.get("/townships/{agency_id}", response_class=HTMLResponse)
    def township_page(request: Request, agency_id: str, returned: bool = True) -> Response:
        user = guard(request, "township.view", f"township/{agency_id}")
        items = township_items(request, user, agency_id, returned)
        now = datetime.now(UTC)
        return render(
            request,
            "township.html",
            user,
            township=agency_id,
            items=items,
            returned=returned,
            review_days={i.code + "|" + i.case_id: read.days_until(i.next_review_at, now) for i in items},
        )

    @app.get("/api/townships/{agency_id}")
    def api_township(request: Request, agency_id: str, returned: bool = True) -> dict[str, Any]:
        user = guard(request, "township.view", f"township/{agency_id}")
        items = township_items(request, user, agency_id, returned)
        return {"township": agency_id, "items": [i.model_dump(mode="json") for i in items]}

    # ----- admin: audit and users ------------------------------------------------------------

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request, username: str = "", outcome: str = "") -> Response:
        user = guard(request, "audit.view")
        with Session(engine) as session:
            rows = list_audit(session, username=username or None, outcome=outcome or None)
        return render(request, "audit.html", user, rows=rows, username=username, outcome=outcome)

    @app.get("/api/audit")
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

    @app.get("/users", response_class=HTMLResponse)
    def users_page(request: Request) -> Response:
        user = guard(request, "users.view")
        return users_page_response(request, user, done=request.query_params.get("done"))

    @app.post("/users")
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

    # ----- live refresh --------------------------------------------------------------------------

    @app.get("/events")
    async def events(request: Request) -> Response:
        user = guard(request, "live.stream")

        def accept(change: Change) -> bool:
            return access.sees_live(user, change)

        return StreamingResponse(
            hub.stream(accept, is_disconnected=request.is_disconnected),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def __getattr__(name: str) -> Any:
    """``app`` is built on first use, so importing this module needs no secret (tests, CLI)."""
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
