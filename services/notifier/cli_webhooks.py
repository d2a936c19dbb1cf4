"""``lawlink webhooks``: register agencies' webhooks, list deliveries, replay failed ones.

Works on the shared database (``DATABASE_URL``) directly, so an operator can register an
endpoint or replay failed deliveries whether or not the notifier is running; a replay is
delivered from this process with the notifier's signing and retry rules.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

app = typer.Typer(
    help="Agencies' webhooks: register, list deliveries, replay failed ones.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)


def _settings():  # noqa: ANN202 - NotifierSettings, imported late so --help stays fast
    from services.env_file import load_dev_env
    from services.notifier.config import NotifierSettings

    load_dev_env()
    return NotifierSettings()


def _engine():  # noqa: ANN202 - sqlalchemy Engine
    from services.readmodel.db import make_engine, require_current_schema

    settings = _settings()
    require_current_schema(settings.database_url, "lawlink webhooks")
    return make_engine(settings.database_url)


def _audit(engine, target: str, outcome: str, detail: str | None = None) -> None:  # noqa: ANN001
    """A replay from this command bypasses the notifier's API, so it writes the API's audit row
    itself: done directly by the CLI, for the OS user."""
    from services.readmodel.service_audit import record_call
    from services.service_auth import Caller, os_actor

    caller = Caller("cli", os_actor())
    record_call(
        engine,
        server="cli",
        caller=caller,
        action="delivery.replay",
        target=target,
        outcome=outcome,
        detail=detail,
    )


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(code)


@app.command("set")
def set_(
    agency: Annotated[str, typer.Argument(help="Agency id, e.g. rz-scjgj.")],
    url: Annotated[str, typer.Argument(help="http(s) URL that receives POSTed notifications.")],
) -> None:
    """Register or replace an agency's webhook; prints its NEW signing secret once."""
    from services.discipline.crypto import ContentKeyError
    from services.notifier.webhooks import SIGNATURE_HEADER, set_webhook

    with Session(_engine()) as session:
        try:
            hook, secret = set_webhook(session, agency=agency, url=url)
        except (ValueError, ContentKeyError) as exc:
            _fail(str(exc))
            raise
    out.print(f"webhook of {hook.agency} → {hook.url}")
    out.print(f"secret (shown once; store it in the agency's system): [bold]{secret}[/]")
    out.print(f"verify: {SIGNATURE_HEADER} == 'sha256=' + hex(HMAC-SHA256(secret, raw request body))")


@app.command("remove")
def remove(agency: Annotated[str, typer.Argument(help="Agency id.")]) -> None:
    """Stop delivering to an agency's webhook."""
    from services.notifier.webhooks import remove_webhook

    with Session(_engine()) as session:
        if not remove_webhook(session, agency=agency):
            _fail(f"agency: no webhook registered for {agency!r}", 1)
    out.print(f"webhook of {agency} removed")


@app.command("list")
def list_() -> None:
    """Registered webhooks (secrets are never shown again)."""
    from services.notifier.webhooks import list_webhooks

    with Session(_engine()) as session:
        rows = list_webhooks(session)
    if not rows:
        out.print("no webhooks registered")
        return
    table = Table(title="webhooks")
    for column in ("agency", "url", "enabled", "updated"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["agency"]), str(row["url"]), str(row["enabled"]), str(row["updated_at"])[:19])
    out.print(table)


@app.command("deliveries")
def deliveries(
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 50,
) -> None:
    """Webhook deliveries, newest first (``--status failed`` is the replay list)."""
    from services.readmodel import notification_queries as queries

    with Session(_engine()) as session:
        try:
            rows = queries.deliveries(session, status=status, agency=agency, limit=limit)
        except ValueError as exc:
            _fail(str(exc))
            raise
    if not rows:
        out.print("no deliveries")
        return
    table = Table(title="投递 deliveries")
    for column in ("id", "agency", "notification", "status", "attempts", "last error", "replays"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            row.agency,
            row.notification_id,
            row.status,
            str(row.attempts),
            (row.last_error or "—")[:60],
            str(row.replays),
        )
    out.print(table)


@app.command("replay")
def replay(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Delivery ids (see `deliveries --status failed`).")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Replay every failed delivery of this agency.")] = None,
) -> None:
    """Deliver failed notifications again, from this process, with the usual retries."""
    from services.notifier.webhooks import WebhookDispatcher, reset_for_replay
    from services.readmodel.notifications import Delivery

    if not ids and not agency:
        _fail("give delivery ids or --agency")
    settings = _settings()
    engine = _engine()
    target = f"delivery/{','.join(map(str, ids))}" if ids else f"agency/{agency}"
    with Session(engine) as session:
        try:
            queued = reset_for_replay(session, delivery_ids=ids or [], agency=agency)
        except LookupError as exc:
            _audit(engine, target, "not_found", str(exc))
            _fail(str(exc), 1)
            raise
    _audit(engine, target, "queued" if queued else "unchanged", f"{len(queued)} delivery(ies)")

    async def run() -> None:
        dispatcher = WebhookDispatcher(
            engine, timeout=settings.webhook_timeout_seconds, backoff=settings.webhook_backoff_seconds
        )
        await dispatcher.start(resume=False)
        for delivery_id, owner in queued:
            dispatcher.submit(delivery_id, owner)
        await dispatcher.idle()
        await dispatcher.stop()

    asyncio.run(run())
    with Session(engine) as session:
        for delivery_id, _ in queued:
            row = session.get(Delivery, delivery_id)
            if row is not None:
                out.print(
                    f"delivery {row.id} ({row.agency}): {row.status} after {row.attempts} attempts"
                    + (f" — {row.last_error}" if row.last_error else "")
                )
    if not queued:
        out.print("nothing to replay")
