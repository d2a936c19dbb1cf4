"""The Temporal Web UI behind the console's sign-in, for operators and admins.

The UI can cancel, terminate and signal any workflow and shows every case's history, and the
dev server's UI has no sign-in of its own. So it listens on loopback only, started with
``--ui-public-path /temporal``, and the console forwards ``/temporal/...`` to it (pages, assets
and the UI's own ``/temporal/api/v1/...`` calls) once the session's role holds
``temporal_ui.use``: anonymous browsers are sent to the sign-in form, other roles get 403.
The console's own cookies are not passed on; a state-changing call must come from the
console's own pages (Sec-Fetch-Site / Origin) and is audited.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from services.console import access
from services.console.auth import Sessions
from services.console.web import LANG_COOKIE, LOGIN_CSRF_COOKIE, TEMPORAL_UI_PATH, Console

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "cookie",
    }
)
_CONSOLE_COOKIES = frozenset({Sessions.COOKIE, LANG_COOKIE, LOGIN_CSRF_COOKIE})
# The UI bootstraps with an inline script, so the console's strict policy cannot apply; it may
# still not be framed or post forms elsewhere.
_UI_POLICY = "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"


def _same_site(request: Request) -> bool:
    """A state-changing call must come from a page of this site (the session cookie alone is
    not proof: a form on another site could make the browser send it)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


class TemporalUIProxy:
    """Forwards requests to the UI at ``upstream`` over one pooled HTTP client."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.upstream, timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=False
        )

    async def aclose(self) -> None:
        """Close the pooled connections (the app's shutdown)."""
        await self._client.aclose()

    async def forward(self, request: Request) -> Response:
        """The UI's answer to ``request``, streamed back; 502 naming the UI if it is down."""
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        kept = [f"{k}={v}" for k, v in request.cookies.items() if k not in _CONSOLE_COOKIES]
        if kept:
            headers.append(("cookie", "; ".join(kept)))
        # The path as sent: workflow ids travel %2F-encoded, which the decoded path would lose.
        raw = request.scope.get("raw_path") or request.url.path.encode()
        target = raw.decode("latin-1") + (f"?{request.url.query}" if request.url.query else "")
        outgoing = self._client.build_request(
            request.method, target, headers=headers, content=await request.body()
        )
        try:
            upstream = await self._client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            return Response(
                f"Temporal UI at {self.upstream} is not reachable: {exc}",
                status_code=502,
                media_type="text/plain; charset=utf-8",
            )
        response_headers = {
            k: v
            for k, v in upstream.headers.multi_items()
            if k.lower() not in _HOP_BY_HOP and k.lower() != "set-cookie"
        }
        location = response_headers.get("location")
        if location and location.startswith(self.upstream):
            response_headers["location"] = location[len(self.upstream) :] or "/"
        response_headers["content-security-policy"] = _UI_POLICY
        response = StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=response_headers,
            background=BackgroundTask(upstream.aclose),
        )
        for cookie in upstream.headers.get_list("set-cookie"):
            response.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
        return response


def build_router(web: Console, proxy: TemporalUIProxy) -> APIRouter:
    """``/temporal`` and everything under it."""
    router = APIRouter()
    guard, forbid = web.guard, web.forbid

    @router.get(TEMPORAL_UI_PATH)
    def temporal_root(request: Request) -> Response:
        guard(request, "temporal_ui.use", TEMPORAL_UI_PATH)
        return RedirectResponse(f"{TEMPORAL_UI_PATH}/", status_code=307)

    @router.api_route(TEMPORAL_UI_PATH + "/{path:path}", methods=METHODS)
    async def temporal_ui(request: Request) -> Response:
        user = guard(request, "temporal_ui.use", request.url.path)
        if request.method in _SAFE:
            return await proxy.forward(request)
        if not _same_site(request):
            raise forbid(
                request,
                user,
                "temporal_ui.use",
                request.url.path,
                f"{request.method} from another site",
                access.CROSS_SITE_REFUSED,
            )
        response = await proxy.forward(request)
        web.audit(
            request,
            action="temporal_ui.use",
            outcome="ok" if response.status_code < 400 else "failed",
            user=user,
            target=request.url.path[:200],
            detail=f"{request.method} -> {response.status_code}",
        )
        return response

    return router
