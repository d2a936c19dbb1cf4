"""``lawlink agencies``: the keys agency systems sign HTTP events with (issue, revoke, list).

Works on the NATS KV bucket intake reads (services/intake/credentials.py), so a key issued here
is usable at once by every intake replica and a revoked one stops working within intake's cache
time (``LAWLINK_CREDENTIAL_CACHE_SECONDS``, a few seconds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from nats.js.kv import KeyValue
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Agency systems' keys for signing HTTP events: issue, revoke, list.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

T = TypeVar("T")


def _settings():  # noqa: ANN202 - IntakeSettings, imported late so --help stays fast
    from services.env_file import load_dev_env
    from services.settings import IntakeSettings

    load_dev_env()
    return IntakeSettings()


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def _with_keys(settings, work: Callable[[KeyValue], Awaitable[T]]) -> T:  # noqa: ANN001 - IntakeSettings
    """Run ``work`` on the key records' bucket; a NATS failure is reported, not a traceback."""
    from services.connections import connect_nats
    from services.intake.credentials import UnknownAgency, UnknownKey, open_buckets

    async def run() -> T:
        nc = await connect_nats(settings, "cli", persistent=False)
        try:
            keys, _ = await open_buckets(nc.jetstream(), settings.stream_replicas)
            return await work(keys)
        finally:
            await nc.close()

    try:
        return asyncio.run(run())
    except (UnknownAgency, UnknownKey) as exc:
        _fail(str(exc))
        raise
    except Exception as exc:  # noqa: BLE001 - say what failed, not a traceback
        _fail(f"could not reach the agency keys on {settings.nats_url}: {exc} (is `make run` up?)", 1)
        raise


@app.command("issue-key")
def issue_key(agency: Annotated[str, typer.Argument(help="Agency id, e.g. rz-scjgj.")]) -> None:
    """Issue a new key to an agency system; prints its id and secret (the secret only this once).

    The agency's other keys stay valid, so a system can switch to the new key before the old
    one is revoked.
    """
    from services.discipline.crypto import ContentKeyError
    from services.intake import credentials

    settings = _settings()
    try:
        credentials.require_agency(agency)
        cipher = credentials.credential_cipher(settings, allow_ephemeral=False)
    except (credentials.UnknownAgency, credentials.CredentialKeyError, ContentKeyError) as exc:
        _fail(str(exc))
        raise
    issued = _with_keys(settings, lambda keys: credentials.issue_key(keys, cipher, agency))
    # Plain output: the secret must come out whole, never wrapped or styled by the terminal.
    typer.echo(f"key id:  {issued.key_id}")
    typer.echo(f"agency:  {issued.agency}")
    typer.echo(f"secret:  {issued.secret}")
    typer.echo("The secret is shown only this once: store it in the agency system's secret store now.")
    typer.echo(credentials.usage(issued.key_id, settings.intake_url))


@app.command("revoke-key")
def revoke_key(key_id: Annotated[str, typer.Argument(help="Key id, e.g. lk_0123456789abcdef.")]) -> None:
    """Revoke a key: intake refuses it within a few seconds, on every replica."""
    from services.intake import credentials

    settings = _settings()
    record = _with_keys(settings, lambda keys: credentials.revoke_key(keys, key_id))
    assert record.revoked_at is not None
    typer.echo(f"key {record.key_id} of {record.agency} revoked (at {_utc(record.revoked_at)} UTC)")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command("keys")
def keys(agency: Annotated[str | None, typer.Argument(help="Only this agency's keys.")] = None) -> None:
    """List issued keys: id, agency, created, revoked (never a secret)."""
    from services.intake import credentials

    settings = _settings()
    records = _with_keys(settings, lambda kv: credentials.list_keys(kv, agency))
    if not records:
        out.print(f"no keys issued{f' to {agency}' if agency else ''}", highlight=False)
        return
    table = Table(title="agency keys")
    # The id must come out whole, whatever the terminal's width; the other columns may wrap.
    table.add_column("key id", no_wrap=True, min_width=len(records[0].key_id))
    for column in ("agency", "created (UTC)", "revoked (UTC)"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            record.key_id,
            record.agency,
            _utc(record.created_at),
            _utc(record.revoked_at) if record.revoked_at else "—",
        )
    out.print(table)
