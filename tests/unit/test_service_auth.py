"""The registry's and notifier's HTTP APIs answer Lawlink's services only.

Every ``/api`` route is found from the apps' own routes, so a new route that forgets the
service credential fails here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.notifier.app import create_app as create_notifier
from services.notifier.config import NotifierSettings
from services.readmodel.service_audit import calls
from services.registry.app import create_app as create_registry
from services.service_auth import MissingServiceToken, credential
from services.settings import StackSettings
from tests.servers import SERVICE_TOKEN, api_headers, migrated

NO_NATS = "nats://127.0.0.1:1"


def _api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path with sample ids) of every /api route of ``app``, from its OpenAPI document
    (which lists included routers' routes too)."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api"):
            sample = path.replace("{case_id}", "CT-1").replace("{letter_id}", "1")
            sample = sample.replace("{notification_id}", "n-1").replace("{delivery_id}", "1")
            out.extend((method.upper(), sample) for method in sorted(operations))
    return out


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[TestClient]:
    settings = StackSettings(
        DATABASE_URL=migrated(f"sqlite:///{tmp_path / 'rm.db'}"),
        NATS_URL=NO_NATS,
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
    )
    with TestClient(create_registry(settings, consume=False)) as client:
        yield client


def _notifier(tmp_path: Path, **extra: str) -> FastAPI:
    return create_notifier(
        NotifierSettings(DATABASE_URL=migrated(f"sqlite:///{tmp_path / 'n.db'}"), NATS_URL=NO_NATS, **extra)
    )


def test_every_registry_route_refuses_without_or_with_a_wrong_credential(registry: TestClient) -> None:
    routes = _api_routes(registry.app)  # type: ignore[arg-type]
    assert ("POST", "/api/dead-letters/1/replay") in routes and ("GET", "/api/cases") in routes
    wrong_token = api_headers(token="x" * 43)
    wrong_mac = {"Authorization": f"Bearer tests.{credential(SERVICE_TOKEN, 'tests').split('.')[1][:-2]}AA"}
    not_bearer = {"Authorization": f"Basic {SERVICE_TOKEN}"}
    for method, path in routes:
        anonymous = registry.request(method, path)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.json()["detail"]["field"] == "Authorization"
        assert "LAWLINK_SERVICE_TOKEN" in anonymous.json()["detail"]["reason"]
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="lawlink-registry"'
        for headers in (wrong_token, wrong_mac, not_bearer, {"Authorization": f"Bearer {SERVICE_TOKEN}"}):
            refused = registry.request(method, path, headers=headers)
            assert refused.status_code == 401, (method, path, headers)
        assert (
            "invalid_token" in registry.request(method, path, headers=wrong_token).headers["www-authenticate"]
        )


def test_the_registry_answers_a_service_with_the_credential(registry: TestClient) -> None:
    assert registry.get("/api/cases", headers=api_headers()).json() == []
    assert registry.get("/api/dead-letters", headers=api_headers()).json() == []
    assert registry.get("/api/cases/NOPE", headers=api_headers()).status_code == 404


def test_healthz_is_open_and_shows_no_case_data(registry: TestClient) -> None:
    resp = registry.get("/healthz")
    assert resp.status_code == 200
    assert set(resp.json()) <= {"status", "checks"}, resp.json()


def test_a_replay_names_the_person_it_acts_for_and_is_audited(registry: TestClient) -> None:
    unnamed = registry.post("/api/dead-letters/7/replay", headers=api_headers())
    assert unnamed.status_code == 400 and unnamed.json()["detail"]["field"] == "X-Lawlink-Actor"
    bad = registry.post("/api/dead-letters/7/replay", headers=api_headers(actor=" \x01"))
    assert bad.status_code == 400 and bad.json()["detail"]["field"] == "X-Lawlink-Actor"
    missing = registry.post("/api/dead-letters/7/replay", headers=api_headers(actor="wang"))
    assert missing.status_code == 404
    with Session(registry.app.state.engine()) as session:  # type: ignore[attr-defined]
        rows = [(r.server, r.service, r.actor, r.action, r.target, r.outcome) for r in calls(session)]
    assert rows == [("registry", "tests", "wang", "dead_letter.replay", "dead_letter/7", "not_found")]


def test_every_notifier_route_refuses_without_or_with_a_wrong_credential(tmp_path: Path) -> None:
    app = _notifier(tmp_path, LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN)
    client = TestClient(app)  # no lifespan: a refusal comes before any handler or database
    routes = _api_routes(app)
    assert ("POST", "/api/notifications/n-1/read") in routes and (
        "POST",
        "/api/deliveries/1/replay",
    ) in routes
    for method, path in routes:
        anonymous = client.request(method, path, params={"agency": "rz-scjgj", "user": "wang"})
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="lawlink-notifier"'
        wrong = client.request(method, path, headers=api_headers(" \x01", token="y" * 43))
        assert wrong.status_code == 401, (method, path)


@pytest.mark.parametrize("env", [{}, {"LAWLINK_ENV": "production"}, {"LAWLINK_ENV": "staging"}])
def test_outside_development_a_service_refuses_to_start_without_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.delenv("LAWLINK_SERVICE_TOKEN", raising=False)
    monkeypatch.delenv("LAWLINK_ENV", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(MissingServiceToken, match="LAWLINK_SERVICE_TOKEN is not set: the registry"):
        create_registry(StackSettings(NATS_URL=NO_NATS), consume=False)
    with pytest.raises(MissingServiceToken, match="LAWLINK_SERVICE_TOKEN is not set: the notifier"):
        _notifier(tmp_path)
    with pytest.raises(MissingServiceToken, match="LAWLINK_SERVICE_TOKEN: must be at least 32"):
        create_registry(StackSettings(NATS_URL=NO_NATS, LAWLINK_SERVICE_TOKEN="short"), consume=False)


def test_uvicorn_gets_the_refusal_when_it_loads_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """``uvicorn services.registry.app:app`` builds the app on access, so it fails at start."""
    import services.notifier.app as notifier_module
    import services.registry.app as registry_module

    monkeypatch.setenv("LAWLINK_ENV", "production")
    monkeypatch.delenv("LAWLINK_SERVICE_TOKEN", raising=False)
    for module in (registry_module, notifier_module):
        monkeypatch.delitem(module.__dict__, "app", raising=False)
        with pytest.raises(MissingServiceToken, match="LAWLINK_SERVICE_TOKEN"):
            module.app  # noqa: B018 - the attribute access is what starts the app
        monkeypatch.delitem(module.__dict__, "app", raising=False)


def test_in_development_without_a_token_the_api_is_open_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = StackSettings(
        DATABASE_URL=migrated(f"sqlite:///{tmp_path / 'rm.db'}"), NATS_URL=NO_NATS, LAWLINK_ENV="development"
    )
    with caplog.at_level(logging.WARNING, logger="lawlink.service_auth"):
        app = create_registry(settings.model_copy(update={"service_token": None}), consume=False)
    assert any("OPEN" in r.getMessage() and "LAWLINK_SERVICE_TOKEN" in r.getMessage() for r in caplog.records)
    with TestClient(app) as client:
        assert client.get("/api/cases").status_code == 200


def test_a_credential_is_bound_to_its_service_name() -> None:
    console = credential(SERVICE_TOKEN, "console")
    assert console.startswith("console.") and SERVICE_TOKEN not in console
    mac = console.split(".", 1)[1]
    assert credential(SERVICE_TOKEN, "cli") != f"cli.{mac}"
    with pytest.raises(ValueError, match="service"):
        credential(SERVICE_TOKEN, "Not A Name")


def test_make_run_generates_the_token_once_and_binds_the_apis_to_loopback(tmp_path: Path) -> None:
    from services.devstack import load_or_create_secrets, render_procfile, resolve_ports
    from services.service_auth import MIN_TOKEN_CHARS

    path = tmp_path / "secrets.env"
    first = load_or_create_secrets(path)["LAWLINK_SERVICE_TOKEN"]
    assert len(first) >= MIN_TOKEN_CHARS
    assert load_or_create_secrets(path)["LAWLINK_SERVICE_TOKEN"] == first
    assert path.stat().st_mode & 0o077 == 0
    lines = dict(line.split(": ", 1) for line in render_procfile(resolve_ports({}), tmp_path).splitlines())
    for name in ("registry", "notifier"):
        assert "--host 127.0.0.1" in lines[name] and "0.0.0.0" not in lines[name]
