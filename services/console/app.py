"""Console: the web pages people use. For now: the list of cases and each case's timeline.

The console reads the read model and never writes it (DESIGN.md: one direction); actions go to
Temporal as Updates.

Run: ``uvicorn services.console.app:app``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from contracts.agencies import agencies
from services.registry import queries
from services.registry.db import make_engine
from services.settings import StackSettings

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def create_app(settings: StackSettings | None = None) -> FastAPI:
    """Build the console (a function so tests can point it at their own database)."""
    settings = settings or StackSettings()
    engine = make_engine(settings.database_url)
    app = FastAPI(title="Lawlink console")

    def agency_name(agency_id: str | None) -> str:
        if not agency_id:
            return "—"
        agency = agencies().get(agency_id)
        return agency.name_zh if agency else agency_id

    TEMPLATES.env.globals["agency_name"] = agency_name

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        with Session(engine) as session:
            cases = queries.list_cases(session, limit=200)
        return TEMPLATES.TemplateResponse(request, "cases.html", {"cases": cases, "settings": settings})

    @app.get("/cases/{process}/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, process: str, case_id: str) -> HTMLResponse:
        with Session(engine) as session:
            found = queries.find_cases(session, case_id=case_id, process=process)
            if not found:
                raise HTTPException(404, detail=f"no {process} case {case_id}")
            entries = queries.timeline(session, case_id=case_id, process=process)
            deadlines = queries.deadlines(session, case_id=case_id, process=process)
        temporal_link = f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{found[0].workflow_id}"
        return TEMPLATES.TemplateResponse(
            request,
            "case.html",
            {"case": found[0], "entries": entries, "deadlines": deadlines, "temporal_link": temporal_link},
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()
