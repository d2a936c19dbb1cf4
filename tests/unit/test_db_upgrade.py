"""Migrations once: only ``lawlink db upgrade`` changes the read model's schema; the registry,
the notifier, the console and the commands that open the database check its revision at start
and refuse an old (or empty) one with a message naming the database, the revisions and the
command. On PostgreSQL two upgrades started together run one after the other."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from services.cli import app as cli
from services.readmodel.db import (
    SchemaNotCurrent,
    alembic_config,
    make_engine,
    migrate,
    require_current_schema,
    schema_revisions,
)
from tests.servers import SERVICE_TOKEN, postgres_schema

NO_NATS = "nats://127.0.0.1:1"


def _old(url: str) -> str:
    """A read model left at the first revision, as an older release made it."""
    command.upgrade(alembic_config(url), "0001")
    return url


def test_services_refuse_an_empty_or_old_schema_and_name_the_command(tmp_path: Path) -> None:
    from services.console.app import create_app as create_console
    from services.console.settings import ConsoleSettings
    from services.notifier.app import create_app as create_notifier
    from services.notifier.config import NotifierSettings
    from services.registry.app import create_app as create_registry
    from services.settings import StackSettings

    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    common = {"NATS_URL": NO_NATS, "LAWLINK_SERVICE_TOKEN": SERVICE_TOKEN, "LAWLINK_ENV": "test"}
    registry = create_registry(StackSettings(DATABASE_URL=empty, **common), consume=False)
    with pytest.raises(SchemaNotCurrent) as refused, TestClient(registry):
        pass
    message = str(refused.value)
    assert message.startswith("registry: ") and "no Lawlink schema" in message
    assert "lawlink db upgrade" in message and "empty.db" in message
    _, expected = schema_revisions(empty)
    assert all(revision in message for revision in expected)

    old = _old(f"sqlite:///{tmp_path / 'old.db'}")
    notifier = create_notifier(NotifierSettings(DATABASE_URL=old, **common))
    with (
        pytest.raises(SchemaNotCurrent, match=r"notifier: .* has 0001; .*lawlink db upgrade"),
        TestClient(notifier),
    ):
        pass
    console = create_console(
        ConsoleSettings(DATABASE_URL=old, LAWLINK_SESSION_SECRET="s" * 32, **common), live=False
    )
    with pytest.raises(SchemaNotCurrent, match="console: "), TestClient(console):
        pass

    migrate(old)  # what the operator does next
    with TestClient(create_registry(StackSettings(DATABASE_URL=old, **common), consume=False)) as client:
        assert client.get("/healthz").status_code in (200, 503)  # started; NATS is simply absent


def test_a_database_newer_than_the_release_is_refused_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    migrate(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0099_from_the_future')"))
    engine.dispose()
    with pytest.raises(SchemaNotCurrent, match="older than the database"):
        require_current_schema(url, "registry")


def test_lawlink_db_upgrade_brings_the_schema_once_and_says_what_it_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _old(f"sqlite:///{tmp_path / 'rm.db'}")
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()

    current = runner.invoke(cli, ["db", "current"])
    assert current.exit_code == 1 and "0001" in current.output

    first = runner.invoke(cli, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "upgraded: 0001 ->" in first.output
    require_current_schema(url, "registry")  # no error now

    again = runner.invoke(cli, ["db", "upgrade"])
    assert again.exit_code == 0 and "already at" in again.output
    assert runner.invoke(cli, ["db", "current"]).exit_code == 0


def test_a_command_on_an_old_schema_prints_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.cli import main

    monkeypatch.setenv("DATABASE_URL", _old(f"sqlite:///{tmp_path / 'rm.db'}"))
    monkeypatch.setattr(sys, "argv", ["lawlink", "users", "list"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "lawlink users: the read model" in err and "lawlink db upgrade" in err and "Traceback" not in err


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL upgrade lock)")
    with postgres_schema(base) as url:
        yield url


@pytest.mark.postgres
def test_two_upgrades_at_once_on_postgresql_both_succeed(postgres_url: str) -> None:
    """A migration Job retried while the first attempt still runs, or an operator beside it."""
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            migrate(postgres_url)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    applied, expected = schema_revisions(postgres_url)
    assert applied == expected
