"""Live refresh: the SSE stream that tells pages which case changed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from services.console import access
from services.console.live import Change, LiveHub
from services.console.web import (
    Console,
)


def build_router(web: Console, hub: LiveHub) -> APIRouter:
    """The ``/events`` stream."""
    router = APIRouter()
    guard = web.guard

    @router.get("/events")
    async def events(request: Request) -> Response:
        user = guard(request, "live.stream")

        def accept(change: Change) -> bool:
            return access.sees_live(user, change)

        return StreamingResponse(
            hub.stream(accept, is_disconnected=request.is_disconnected),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
