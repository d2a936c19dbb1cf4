"""The registry's timeline API reads a long case a page at a time and says how long it is."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from contracts.domain import DomainEvent, EntryKind
from services.readmodel.db import make_engine
from services.readmodel.projection import project
from services.registry.app import create_app as create_registry
from services.settings import StackSettings
from tests.servers import SERVICE_TOKEN, api_headers, migrated

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_timeline_page_and_its_total(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'rm.db'}")
    engine = make_engine(url)
    with Session(engine) as session:
        # Written as the projection writes them, which also counts the case's entries.
        project(
            session,
            [
                DomainEvent(
                    event_id=f"ev-{n}",
                    type="case_transfer.crime_suspected",
                    occurred_at=START + timedelta(minutes=n),
                    process="case_transfer",
                    case_id="CT-LONG",
                    workflow_id="case_transfer/CT-LONG",
                    seq=n,
                    kind=EntryKind.RECEIVED,
                    state="opened",
                    payload={},
                )
                for n in range(1, 251)
            ],
        )
        session.commit()
    engine.dispose()
    settings = StackSettings(
        DATABASE_URL=url, NATS_URL="nats://127.0.0.1:1", LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN
    )
    with TestClient(create_registry(settings, consume=False)) as registry:
        page = registry.get("/api/cases/CT-LONG/timeline?offset=200&limit=100", headers=api_headers())
        assert page.status_code == 200 and page.headers["X-Total-Count"] == "250"
        # The server's own time, so a slow page can be told from a slow network.
        assert re.fullmatch(r"app;dur=\d+\.\d", page.headers["Server-Timing"])
        assert [e["seq"] for e in page.json()] == list(range(201, 251))
        whole = registry.get("/api/cases/CT-LONG/timeline", headers=api_headers())
        assert len(whole.json()) == 250 and whole.headers["X-Total-Count"] == "250"
        assert registry.get("/api/cases/CT-NONE/timeline", headers=api_headers()).status_code == 404
        assert registry.get("/api/cases/CT-LONG/timeline?offset=-1", headers=api_headers()).status_code == 422
