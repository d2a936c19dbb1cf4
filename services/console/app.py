"""Console: the web pages the officials use, in Chinese first and English second.

Coordinators resolve jurisdiction disputes from their inbox; operators watch every timeline and
deadline; agency officers see their own agency's cases and what they owe next; discipline
officers read referrals; admins read the audit trail and manage accounts.

The console reads the read model and never writes it (DESIGN.md: one direction). Coordinator
decisions go to Temporal as Updates (:mod:`services.console.actions`); a dead letter's replay goes
to the registry, which owns that row. The console writes only its own tables: accounts,
sessions and the audit trail. Pages are server-rendered (Jinja2); HTMX re-fetches a page's live
region when the SSE stream says its case changed, so nothing needs a JavaScript build.

Run: ``uvicorn --no-proxy-headers services.console.app:app`` (needs ``LAWLINK_SESSION_SECRET``
and the other production settings outside development; the console decides the client address
itself, from ``LAWLINK_TRUSTED_PROXIES``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from services.connections import inbox_prefix_for, nats_tls_kwargs
from services.console import (
    routes_auth,
    routes_cases,
    routes_disputes,
    routes_live,
    routes_notifications,
    routes_ops,
    routes_reviews,
    routes_statistics,
    routes_temporal,
    routes_townships,
    routes_users,
)
from services.console.actions import DisputeActions, TemporalDisputeActions
from services.console.auth import Sessions
from services.console.case_views import case_views
from services.console.live import LiveHub
from services.console.proxies import ClientAddressMiddleware
from services.console.review_actions import ReviewActions, TemporalReviewActions
from services.console.routes_ops import Replayer, registry_replayer
from services.console.routes_temporal import TemporalUIProxy
from services.console.settings import ConsoleSettings, check_production
from services.console.web import (
    HERE,
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    TEMPLATES,
    TEMPORAL_UI_PATH,
    BadInput,
    Console,
    Forbidden,
    NotFound,
    NotSignedIn,
)
from services.metrics import ServiceMetrics
from services.observability import observe
from services.readmodel.db import make_engine, require_current_schema
from services.service_auth import ServiceAuth
from services.settings import StackSettings

__all__ = [
    "HERE",
    "LANG_COOKIE",
    "LOGIN_CSRF_COOKIE",
    "TEMPLATES",
    "BadInput",
    "Forbidden",
    "NotFound",
    "NotSignedIn",
    "Replayer",
    "create_app",
]


def create_app(
    settings: ConsoleSettings | StackSettings | None = None,
    *,
    actions: DisputeActions | None = None,
    reviews: ReviewActions | None = None,
    replayer: Replayer | None = None,
    live: bool | None = None,
) -> FastAPI:
    """Build the console (a function so tests point it at their own database and fakes).

    Args:
        settings: Console settings; plain stack settings are read again as console settings.
        actions: Where coordinator decisions go (default: Temporal Updates).
        reviews: Where review decisions on delegations go (default: Temporal Updates).
        replayer: How a dead letter is replayed (default: the registry's replay endpoint).
        live: Subscribe to ``lawlink.out.>`` for SSE refresh (default: the setting).

    Raises:
        MissingSecret: no session secret outside development and tests.
        WeakProductionSettings: a development-only setting outside development.
    """
    if settings is None or not isinstance(settings, ConsoleSettings):
        base = settings.model_dump(by_alias=True) if settings is not None else {}
        settings = ConsoleSettings(**base)
    secret = check_production(settings)
    engine: Engine = make_engine(settings.database_url)
    sessions = Sessions(engine, secret, settings.session_hours)
    dispute_actions: DisputeActions = actions or TemporalDisputeActions(settings)
    review_actions: ReviewActions = reviews or TemporalReviewActions(settings)
    hub = LiveHub(lambda: engine)
    use_nats = settings.live_nats if live is None else live

    replay = replayer or registry_replayer(settings)
    temporal_ui = TemporalUIProxy(settings.temporal_ui_upstream)

    lifespan = _lifespan(settings, engine, hub, temporal_ui, use_nats=use_nats)
    app = FastAPI(title="Lawlink console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.hub = hub
    app.state.engine = engine
    app.middleware("http")(security_headers)

    web = Console(settings, engine, sessions)
    _add_error_pages(app, web)
    cases = case_views(web)
    app.include_router(routes_auth.build_router(web))
    app.include_router(routes_cases.build_router(web, cases))
    app.include_router(routes_disputes.build_router(web, cases, dispute_actions))
    app.include_router(routes_reviews.build_router(web, cases, review_actions))
    app.include_router(routes_ops.build_router(web, replay))
    app.include_router(routes_users.build_router(web))
    app.include_router(routes_notifications.build_router(web))
    app.include_router(routes_townships.build_router(web))
    app.include_router(routes_statistics.build_router(web))
    app.include_router(routes_live.build_router(web, hub))
    app.include_router(routes_temporal.build_router(web, temporal_ui))
    # Outermost, so every route, audit row and the throttle see the same client address.
    app.add_middleware(ClientAddressMiddleware, trusted=settings.proxy_networks)
    app.add_api_route("/healthz", healthz, methods=["GET"])

    # Request counts and latencies for Prometheus, which calls with a service credential.
    observe(app, ServiceMetrics("console"), ServiceAuth(settings, server="console"))

    return app


def _lifespan(
    settings: ConsoleSettings,
    engine: Engine,
    hub: LiveHub,
    temporal_ui: TemporalUIProxy,
    *,
    use_nats: bool,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What the console holds while it runs: the schema is checked before the first request,
    the live hub follows NATS (if asked), and everything is let go on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(require_current_schema, settings.database_url, "console")
        if use_nats:
            kwargs: dict[str, object] = (
                {"user": settings.nats_user, "password": settings.nats_password} if settings.nats_user else {}
            )
            kwargs["inbox_prefix"] = inbox_prefix_for(settings, "console")
            kwargs.update(nats_tls_kwargs(settings))
            await hub.start(settings.nats_servers, **kwargs)
        try:
            yield
        finally:
            await hub.stop()
            await temporal_ui.aclose()
            engine.dispose()

    return lifespan


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Headers every answer carries: what the page may load, and no caching of anything but the
    live stream and the static files."""
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


def healthz() -> dict[str, str]:
    """Liveness: the process answers (the schema was checked at start)."""
    return {"status": "ok"}


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", f"{TEMPORAL_UI_PATH}/api/")) or path == "/events"


class _ErrorPages:
    """How a refusal raised by a route is answered: JSON for the API, a page for people."""

    def __init__(self, web: Console) -> None:
        self.web = web

    async def not_signed_in(self, request: Request, _: NotSignedIn) -> Response:
        """401 for the API; people go to the sign-in form, which brings them back afterwards."""
        if _wants_json(request):
            return JSONResponse({"field": "session", "reason": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    async def forbidden(self, request: Request, exc: Forbidden) -> Response:
        """403 saying why, in the user's language on a page, in both in JSON."""
        zh, en = exc.reason
        if _wants_json(request):
            return JSONResponse(
                {
                    "field": exc.field,
                    "permission": exc.permission,
                    "reason_zh": zh,
                    "reason": f"{en} (role {exc.user.role.value}, {exc.permission})",
                },
                status_code=403,
            )
        return self.web.render(
            request,
            "error.html",
            exc.user,
            status=403,
            title_key="forbidden",
            text_key="forbidden_text",
            reason=zh if self.web.lang_of(request, exc.user) == "zh" else en,
        )

    async def not_found(self, request: Request, exc: NotFound) -> Response:
        """404 naming what was not found."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"field": exc.field, "reason": f"no {exc.what}"}, status_code=404)
        user = self.web.user_of(request)
        return self.web.render(
            request,
            "error.html",
            user,
            status=404,
            title_key="not_found",
            text=exc.text(self.web.lang_of(request, user)),
        )

    async def bad_input(self, request: Request, exc: BadInput) -> Response:
        """422 naming the field and why."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"field": exc.field, "reason": exc.reason}, status_code=422)
        user = self.web.user_of(request)
        return self.web.render(
            request,
            "error.html",
            user,
            status=422,
            title_key="bad_input",
            text=exc.text(self.web.lang_of(request, user)),
        )


def _add_error_pages(app: FastAPI, web: Console) -> None:
    pages = _ErrorPages(web)
    app.add_exception_handler(NotSignedIn, pages.not_signed_in)  # type: ignore[arg-type]
    app.add_exception_handler(Forbidden, pages.forbidden)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, pages.not_found)  # type: ignore[arg-type]
    app.add_exception_handler(BadInput, pages.bad_input)  # type: ignore[arg-type]


def __getattr__(name: str) -> Any:
    """``app`` is built on first use, so importing this module needs no secret (tests, CLI)."""
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
