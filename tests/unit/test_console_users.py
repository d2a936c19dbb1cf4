"""``lawlink users add`` and the demo accounts ``make run`` creates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from services.cli import app
from services.console.auth import authenticate
from services.console.cli_users import DEMO_USERS, create_demo_users
from services.readmodel.accounts import ConsoleUser
from services.readmodel.db import make_engine, migrate


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    migrate(url)  # `lawlink db upgrade`: the commands only check the schema
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no .lawlink/stack.env here
    return url


def test_users_add_hashes_the_password_and_refuses_bad_input(db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    secret = tmp_path / "pw"
    secret.write_text("a-long-password\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            "wang",
            "--role",
            "agency_officer",
            "--agency",
            "rz-scjgj",
            "--name",
            "王磊",
            "--password-file",
            str(secret),
        ],
    )
    assert result.exit_code == 0, result.output
    engine = make_engine(db)
    with Session(engine) as session:
        assert authenticate(session, "wang", "a-long-password") is not None
        assert authenticate(session, "wang", "wrong-password") is None
    result = runner.invoke(app, ["users", "add", "li", "--role", "agency_officer", "--generate"])
    assert result.exit_code == 2 and "agency" in result.output
    result = runner.invoke(app, ["users", "add", "wang", "--role", "operator", "--generate"])
    assert result.exit_code == 2 and "already exists" in result.output
    result = runner.invoke(app, ["users", "add", "zhao", "--role", "operator", "--generate"])
    assert result.exit_code == 0 and "password (shown once)" in result.output
    listing = runner.invoke(app, ["users", "list"])
    assert "wang" in listing.output and "zhao" in listing.output and "argon2" not in listing.output
    engine.dispose()


def test_demo_users_are_created_once_with_working_passwords(db: str) -> None:
    migrate(db)
    engine = make_engine(db)
    created = create_demo_users(engine)
    assert {c[1] for c in created} == {
        "coordinator",
        "operator",
        "agency_officer",
        "discipline_officer",
        "admin",
    }
    assert len(created) == len(DEMO_USERS)
    with Session(engine) as session:
        for username, _, _, password in created:
            assert authenticate(session, username, password) is not None
        assert (
            session.exec(select(ConsoleUser).where(ConsoleUser.username == "coordinator")).one().agency
            == "rz-sfj"
        )
    assert create_demo_users(engine) == []  # printed once: the second run creates nothing
    engine.dispose()


def test_users_passwd_disable_and_enable_from_the_command_line(db: str) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["users", "add", "zhou", "--role", "operator", "--generate"])
    assert created.exit_code == 0, created.output
    reset = runner.invoke(app, ["users", "passwd", "zhou", "--generate"])
    assert reset.exit_code == 0 and "shown once:" in reset.output
    password = reset.output.rsplit("shown once:", 1)[1].split()[0]
    engine = make_engine(db)
    with Session(engine) as session:
        assert authenticate(session, "zhou", password) is not None
    assert runner.invoke(app, ["users", "disable", "zhou"]).exit_code == 0
    with Session(engine) as session:
        assert authenticate(session, "zhou", password) is None
    assert runner.invoke(app, ["users", "enable", "zhou"]).exit_code == 0
    with Session(engine) as session:
        assert authenticate(session, "zhou", password) is not None
    missing = runner.invoke(app, ["users", "disable", "nobody"])
    assert missing.exit_code == 2 and "no account 'nobody'" in missing.output
    engine.dispose()
