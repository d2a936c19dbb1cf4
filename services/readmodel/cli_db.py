"""``lawlink db``: the read model's schema, changed by one command only.

The registry, the notifier and the console never migrate: they check the schema's revision at
start and refuse to run on another (``services/readmodel/db.py`` ``require_current_schema``), so
several replicas starting at once never race each other's DDL. ``lawlink db upgrade`` is the one
step that changes it: ``make run`` runs it before the services, Kubernetes as the
``lawlink-migrate`` Job, Compose as the ``migrate`` one-shot service.
"""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="The read model's schema: upgrade it, or show its revision.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _database_url() -> str:
    from services.env_file import load_stack_env
    from services.settings import StackSettings

    load_stack_env(only=("DATABASE_URL",))
    return StackSettings().database_url


def _where(url: str) -> str:
    """The database without its credentials, for messages."""
    from services.readmodel.db import normalise_url

    return normalise_url(url).split("@")[-1]


@app.command()
def upgrade() -> None:
    """Bring the read model at DATABASE_URL to this release's schema (idempotent)."""
    from services.readmodel.db import migrate, schema_revisions

    url = _database_url()
    before, expected = schema_revisions(url)
    try:
        migrate(url)
    except Exception as exc:  # noqa: BLE001 - the database's answer, not a traceback
        err.print(f"[red]error:[/] upgrading the read model at {_where(url)} failed: {exc}")
        raise typer.Exit(1) from None
    if before == expected:
        out.print(f"read model at {_where(url)} already at {', '.join(sorted(expected))}")
    else:
        found = ", ".join(sorted(before)) or "empty"
        out.print(f"read model at {_where(url)} upgraded: {found} -> {', '.join(sorted(expected))}")


@app.command()
def current() -> None:
    """Show the read model's revision and this release's; exits 1 if they differ."""
    from services.readmodel.db import schema_revisions

    url = _database_url()
    applied, expected = schema_revisions(url)
    out.print(f"database {_where(url)}: {', '.join(sorted(applied)) or 'no schema'}")
    out.print(f"release:  {', '.join(sorted(expected))}")
    if applied != expected:
        err.print("[yellow]not current:[/] run `lawlink db upgrade`")
        raise typer.Exit(1)
