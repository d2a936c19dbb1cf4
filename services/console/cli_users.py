"""``lawlink users``: console accounts from the command line, and the demo accounts of ``make run``.

Accounts live in the console's own table of the read-model database (``DATABASE_URL``). The
password is asked for at the prompt (hidden) unless given, so it does not end up in shell
history; ``--generate`` prints a random one once.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.console.auth import (
    AccountChange,
    UserInputError,
    change_user,
    create_user,
    list_users,
    reset_password,
)
from services.readmodel.accounts import ConsoleUser, Role

app = typer.Typer(
    help="Console accounts (coordinator, operator, agency officer, discipline officer, admin).",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

# (username, display name, role, agency, is_head): one account per role for `make run`.
DEMO_USERS: tuple[tuple[str, str, Role, str | None, bool], ...] = (
    ("coordinator", "张明（司法局协调人）", Role.COORDINATOR, "rz-sfj", False),
    ("operator", "李静（值守）", Role.OPERATOR, None, False),
    ("officer-scjgj", "王磊（市场监管局）", Role.AGENCY_OFFICER, "rz-scjgj", False),
    ("head-scjgj", "赵刚（市场监管局负责人）", Role.AGENCY_OFFICER, "rz-scjgj", True),
    ("officer-police", "陈晨（市公安局）", Role.AGENCY_OFFICER, "rz-gaj", False),
    ("discipline", "刘洋（市纪委监委）", Role.DISCIPLINE_OFFICER, "rz-jwjw", False),
    ("admin", "系统管理员", Role.ADMIN, None, False),
)


def _engine() -> Engine:
    from services.env_file import load_stack_env
    from services.readmodel.db import make_engine, require_current_schema
    from services.settings import StackSettings

    load_stack_env()
    url = StackSettings().database_url
    require_current_schema(url, "lawlink users")
    return make_engine(url)


def create_demo_users(engine: Engine) -> list[tuple[str, str, str | None, str]]:
    """Create the demo accounts that do not exist yet, with generated passwords.

    Returns:
        ``(username, role, agency, password)`` for each account created now (existing accounts
        are left alone and not returned, so passwords are printed only once, on the first run).
    """
    from contracts.agencies import get_agency

    created: list[tuple[str, str, str | None, str]] = []
    with Session(engine) as session:
        for username, name, role, agency, is_head in DEMO_USERS:
            if agency is not None and get_agency(agency) is None:
                continue
            if session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first() is not None:
                continue
            password = secrets.token_urlsafe(12)
            create_user(
                session,
                username=username,
                password=password,
                role=role.value,
                display_name=name,
                agency=agency,
                is_head=is_head,
            )
            created.append((username, role.value, agency, password))
        session.commit()
    return created


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, . _ -")],
    role: Annotated[Role, typer.Option(help="What the account may do.")],
    agency: Annotated[
        str | None, typer.Option(help="Agency id (required for agency officers and coordinators).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
    head: Annotated[
        bool, typer.Option("--head", help="The agency's head (reads its own discipline referrals).")
    ] = False,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a password and print it once.")
    ] = False,
    password_file: Annotated[Path | None, typer.Option(help="Read the password from this file.")] = None,
) -> None:
    """Create a console account (the password is hashed with argon2id)."""
    password = _new_password(generate, password_file)
    engine = _engine()
    try:
        with Session(engine) as session:
            create_user(
                session,
                username=username,
                password=password,
                role=role.value,
                display_name=name,
                agency=agency,
                is_head=head,
            )
            session.commit()
    except UserInputError as exc:
        err.print(f"[red]error:[/] {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    out.print(f"created {username} ({role.value}{', ' + agency if agency else ''})")
    if generate:
        out.print(f"password (shown once): {password}")


def _new_password(generate: bool, password_file: Path | None) -> str:
    """A generated password, the file's, ``LAWLINK_NEW_PASSWORD``, or one typed twice (hidden)."""
    if generate:
        return secrets.token_urlsafe(12)
    if password_file is not None:
        return password_file.read_text(encoding="utf-8").strip()
    if os.environ.get("LAWLINK_NEW_PASSWORD"):
        return os.environ["LAWLINK_NEW_PASSWORD"]
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _change(username: str, apply: Callable[[Session, ConsoleUser], str]) -> None:
    """Run one change on ``username``'s account in a transaction; bad input exits 2."""
    engine = _engine()
    try:
        with Session(engine) as session:
            user = session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first()
            if user is None:
                raise UserInputError("username", f"no account {username!r}")
            said = apply(session, user)
            session.commit()
    except UserInputError as exc:
        err.print(f"[red]error:[/] {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    out.print(said)


@app.command("passwd")
def passwd(
    username: Annotated[str, typer.Argument(help="The account's login name.")],
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a password and print it once.")
    ] = False,
    password_file: Annotated[Path | None, typer.Option(help="Read the password from this file.")] = None,
) -> None:
    """Set a new password (the account's open sessions end): the way back in for a locked-out admin."""
    password = _new_password(generate, password_file)

    def apply(session: Session, user: ConsoleUser) -> str:
        reset_password(session, user.username, password)
        return f"new password set for {user.username}" + (f"; shown once: {password}" if generate else "")

    _change(username, apply)


@app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The account's login name.")]) -> None:
    """Disable an account: it cannot sign in and its open sessions end."""
    _set_active(username, False)


@app.command("enable")
def enable(username: Annotated[str, typer.Argument(help="The account's login name.")]) -> None:
    """Enable a disabled account again."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    def apply(session: Session, user: ConsoleUser) -> str:
        change = AccountChange(role=user.role, agency=user.agency, is_head=user.is_head, active=active)
        change_user(session, user.username, change, by="")
        return f"{user.username} {'enabled' if active else 'disabled'}"

    _change(username, apply)


@app.command("list")
def list_accounts() -> None:
    """Show every account (never the password hashes)."""
    engine = _engine()
    with Session(engine) as session:
        users = list_users(session)
        table = Table(title="控制台用户 console users")
        for col in ("username", "name", "role", "agency", "head", "lang", "active"):
            table.add_column(col)
        for u in users:
            table.add_row(
                u.username,
                u.display_name,
                u.role,
                u.agency or "—",
                "yes" if u.is_head else "",
                u.lang,
                "yes" if u.active else "no",
            )
    engine.dispose()
    out.print(table)
