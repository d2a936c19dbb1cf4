"""The Temporal Web UI behind the console's sign-in, against the real dev server and its UI.

The dev server's UI listens on loopback under ``/temporal`` (as ``make run`` starts it); the
console forwards ``/temporal/...`` to it for operators and admins only. A workflow is started
with no worker, so it stays running for the UI's API to list and for the operator to terminate.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus

from services.console.app import create_app
from services.console.auth import create_user
from services.console.settings import ConsoleSettings
from services.readmodel.db import make_engine, migrate
from tests.servers import TemporalDevServer, free_port, serve_asgi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
PASSWORD = "ui-password-" + secrets.token_hex(4)


@pytest.fixture(scope="module")
def temporal_ui() -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(ui_public_path="/temporal").start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="module")
async def console(
    temporal_ui: TemporalDevServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'console.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        create_user(session, username="ui-oper", password=PASSWORD, role="operator")
        create_user(session, username="ui-coord", password=PASSWORD, role="coordinator", agency="rz-sfj")
        session.commit()
    engine.dispose()
    settings = ConsoleSettings(
        DATABASE_URL=url,
        LAWLINK_ENV="test",
        LAWLINK_SESSION_SECRET=secrets.token_urlsafe(32),
        TEMPORAL_UI_UPSTREAM=f"http://127.0.0.1:{temporal_ui.ui_port}",
    )
    port = free_port()
    server, task = await serve_asgi(create_app(settings, live=False), port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest_asyncio.fixture(scope="module")
async def running_workflow(temporal_ui: TemporalDevServer) -> str:
    client = await Client.connect(temporal_ui.address)
    workflow_id = f"ui-probe/{uuid.uuid4().hex[:8]}"
    await client.start_workflow("NoSuchWorkflow", id=workflow_id, task_queue=f"nobody-{uuid.uuid4().hex}")
    return workflow_id


@asynccontextmanager
async def _signed_in(base: str, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=30) as http:
        await _sign_in(http, username)
        yield http


async def _sign_in(http: httpx.AsyncClient, username: str) -> None:
    form = await http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    resp = await http.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"}
    )
    assert resp.status_code == 303, resp.text[:300]


async def test_anonymous_is_sent_to_sign_in_and_the_ui_api_answers_401(console: str) -> None:
    async with httpx.AsyncClient(base_url=console, follow_redirects=False) as anonymous:
        page = await anonymous.get("/temporal/namespaces/default/workflows")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Ftemporal%2Fnamespaces%2Fdefault%2Fworkflows"
        api = await anonymous.get("/temporal/api/v1/namespaces/default/workflows")
        assert api.status_code == 401 and api.json()["field"] == "session"


async def test_a_coordinator_is_refused_with_the_reason(console: str) -> None:
    async with _signed_in(console, "ui-coord") as http:
        page = await http.get("/temporal/")
        assert page.status_code == 403 and "您的角色无权执行此操作" in page.text
        api = await http.get("/temporal/api/v1/namespaces/default/workflows")
        assert api.status_code == 403 and api.json()["field"] == "role"


async def test_an_operator_gets_the_ui_its_assets_and_its_api(console: str, running_workflow: str) -> None:
    async with _signed_in(console, "ui-oper") as http:
        root = await http.get("/temporal")
        assert root.status_code == 307 and root.headers["location"] == "/temporal/"
        page = await http.get("/temporal/")
        assert page.status_code == 200 and 'base: "/temporal"' in page.text
        asset = re.search(r'"(/temporal/_app/immutable/entry/start\.[^"]+\.js)"', page.text)
        assert asset is not None
        script = await http.get(asset.group(1))
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        listed = await http.get("/temporal/api/v1/namespaces/default/workflows")
        assert listed.status_code == 200
        ids = [e["execution"]["workflowId"] for e in listed.json().get("executions", [])]
        assert running_workflow in ids


async def test_an_operators_terminate_goes_through_only_from_the_consoles_own_pages(
    console: str, running_workflow: str, temporal_ui: TemporalDevServer, tmp_path: Path
) -> None:
    async with _signed_in(console, "ui-oper") as http:
        await http.get("/temporal/api/v1/settings")  # the UI's own CSRF cookie, as the UI gets it
        ui_csrf = http.cookies.get("_csrf") or ""
        # As the UI (and the console's workflow links) send it: the id's "/" encoded.
        path = f"/temporal/api/v1/namespaces/default/workflows/{quote(running_workflow, safe='')}/terminate"
        body = {"reason": "operator test"}
        cross = await http.post(
            path, json=body, headers={"Sec-Fetch-Site": "cross-site", "X-CSRF-TOKEN": ui_csrf}
        )
        assert cross.status_code == 403 and cross.json()["reason_zh"] == "拒绝来自其他站点的请求"
        client = await Client.connect(temporal_ui.address)
        handle = client.get_workflow_handle(running_workflow)
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        same = await http.post(
            path, json=body, headers={"Sec-Fetch-Site": "same-origin", "X-CSRF-TOKEN": ui_csrf}
        )
        assert same.status_code == 200, same.text[:300]
        assert (await handle.describe()).status is WorkflowExecutionStatus.TERMINATED
