"""The ``lawlink`` command: run the dev stack, send events, read cases and timelines.

Every command reads its endpoints from the environment, and falls back to
``.lawlink/stack.env`` (written by ``make run``), so it works in a fresh shell too.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from contracts import subjects
from contracts.validation import EventRejected, validate_event
from services.env_file import load_dev_env

app = typer.Typer(help="Lawlink: deadline-bound processes between Rizhao's agencies.", no_args_is_help=True)
dead_letters_app = typer.Typer(
    help="Messages intake gave up on, and their replay.", invoke_without_command=True
)
calendar_app = typer.Typer(help="China's working-day calendar.", no_args_is_help=True)
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(calendar_app, name="calendar")
app.add_typer(__import__("services.console.cli_users", fromlist=["app"]).app, name="users")
app.add_typer(__import__("services.notifier.cli_webhooks", fromlist=["app"]).app, name="webhooks")
app.add_typer(__import__("services.intake.cli_agencies", fromlist=["app"]).app, name="agencies")
app.add_typer(__import__("services.readmodel.cli_db", fromlist=["app"]).app, name="db")
app.add_typer(__import__("services.deploy_init", fromlist=["app"]).app, name="deploy")
app.add_typer(__import__("services.cli_service", fromlist=["app"]).app, name="service")
app.command("serve")(__import__("services.serve", fromlist=["serve"]).serve)


@app.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (the UI's --ui-codec-endpoint).")] = 8384,
) -> None:
    """Decode referral content in the Temporal Web UI for the console users entitled to it."""
    from services.serve import serve

    serve("codec-server", host, port)


app.command("report")(__import__("services.statistics.cli", fromlist=["report"]).report)

out = Console()
err = Console(stderr=True)


def _settings():  # noqa: ANN202 - StackSettings, imported late so --help stays fast
    load_dev_env()
    from services.settings import StackSettings

    return StackSettings()


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(code)


@app.command()
def dev(
    fresh: Annotated[
        bool, typer.Option(help="Forget .lawlink state (cases, Temporal history) first.")
    ] = False,
) -> None:
    """Start NATS, Temporal (with its Web UI) and every service, supervised, in the foreground."""
    from services.devstack import run_stack

    sys.exit(run_stack(Path(".lawlink"), fresh=fresh))


@app.command()
def emit(
    file: Annotated[str, typer.Argument(help="Envelope JSON file, or - for stdin.")],
    check_only: Annotated[bool, typer.Option("--check", help="Validate only; send nothing.")] = False,
) -> None:
    """Publish an event envelope on its agency's subject (after validating it here)."""
    raw = sys.stdin.buffer.read() if file == "-" else _read(file)
    try:
        event = validate_event(raw)
    except EventRejected as exc:
        rej = exc.rejection
        for e in rej.errors or ():
            err.print(f"[red]rejected:[/] {e.field}: {e.reason}")
        raise typer.Exit(2) from None
    env = event.envelope
    subject = subjects.inbound(env.source_agency, env.type)
    if check_only:
        out.print(f"valid: {env.type} for case {env.case_id} → {subject}")
        return
    settings = _settings()

    async def publish() -> tuple[int, bool]:
        from services.connections import connect_nats

        nc = await connect_nats(settings, "cli", persistent=False)
        try:
            ack = await nc.jetstream().publish(
                subject, raw, stream=subjects.STREAM_IN, headers={"Nats-Msg-Id": str(env.event_id)}
            )
            return ack.seq, bool(ack.duplicate)
        finally:
            await nc.close()

    try:
        seq, duplicate = asyncio.run(publish())
    except Exception as exc:  # noqa: BLE001 - say what failed, not a traceback
        _fail(f"could not publish to {settings.nats_url}: {exc} (is `make run` up?)")
    note = " (duplicate: already sent)" if duplicate else ""
    out.print(
        f"published {env.type} [{env.event_id}] for case {env.case_id} on {subject}, stream seq {seq}{note}"
    )


def _local(timestamp: str) -> str:
    """An API timestamp in Beijing time, as the agencies read it."""
    from datetime import datetime

    from workflows.deadlines import SHANGHAI

    return datetime.fromisoformat(timestamp).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _read(file: str) -> bytes:
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
        raise


def _registry(method: str, path: str, **params: str | None) -> httpx.Response:
    """A call to the registry as the CLI, on behalf of the OS user; a refused credential is
    reported naming the variable, not as a traceback."""
    from services.service_auth import TOKEN_VAR, os_actor, service_headers

    settings = _settings()
    try:
        resp = httpx.request(
            method,
            settings.registry_url + path,
            params={k: v for k, v in params.items() if v},
            headers=service_headers(settings, "cli", actor=os_actor()),
            timeout=10,
        )
    except httpx.HTTPError as exc:
        _fail(f"registry at {settings.registry_url} did not answer: {exc} (is `make run` up?)")
        raise
    if resp.status_code == 401:
        _fail(
            f"the registry refused the CLI's service credential: set {TOKEN_VAR} "
            "(`make run` writes it to .lawlink/secrets.env)"
        )
    return resp


def _get(path: str, **params: str | None) -> httpx.Response:
    return _registry("GET", path, **params)


@app.command()
def timeline(
    case_id: Annotated[str, typer.Argument(help="The case's business id.")],
    process: Annotated[str | None, typer.Option(help="Process, when several carry this id.")] = None,
    lang: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print a case's timeline from the registry, as a table."""
    resp = _get(f"/api/cases/{case_id}/timeline", process=process)
    if resp.status_code == 404:
        _fail(f"no case {case_id!r} in the registry")
    resp.raise_for_status()
    rows = resp.json()
    if as_json:
        out.print_json(data=rows)
        return
    table = Table(title=f"{case_id} · {'时间线' if lang == 'zh' else 'timeline'}")
    for col in ("#", "时间 time (UTC+8)", "事件 event", "类别 kind", "主体 actor", "状态 state"):
        table.add_column(col)
    for row in rows:
        label = row["label_zh"] if lang == "zh" else row["label_en"]
        table.add_row(
            str(row["seq"]),
            _local(row["occurred_at"]),
            f"{label} [dim]{row['type']}[/]",
            row["kind"],
            row.get("actor") or "—",
            row["state"],
        )
    out.print(table)


@app.command()
def cases(
    process: Annotated[str | None, typer.Option(help="Only this process.")] = None,
    state: Annotated[str | None, typer.Option(help="Only cases in this state.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 50,
) -> None:
    """List cases from the registry, most recently updated first."""
    resp = _get("/api/cases", process=process, state=state, limit=str(limit))
    resp.raise_for_status()
    table = Table(title="案件 cases")
    for col in ("process", "case_id", "state", "agency", "updated", "events"):
        table.add_column(col)
    for row in resp.json():
        table.add_row(
            row["process"],
            row["case_id"],
            row["state"],
            row.get("agency") or "—",
            _local(row["updated_at"]),
            str(row["events"]),
        )
    out.print(table)


@dead_letters_app.callback()
def dead_letters(ctx: typer.Context) -> None:
    """List dead letters (with no sub-command)."""
    if ctx.invoked_subcommand is not None:
        return
    resp = _get("/api/dead-letters")
    resp.raise_for_status()
    rows = resp.json()
    if not rows:
        out.print("no dead letters")
        return
    table = Table(title="死信 dead letters")
    for col in ("id", "stream seq", "subject", "deliveries", "last error", "replayed"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["stream_seq"]),
            row["subject"],
            str(row["deliveries"]),
            (row.get("last_error") or "—")[:80],
            str(row["replay_count"]),
        )
    out.print(table)


@dead_letters_app.command("replay")
def dead_letters_replay(
    letter_id: Annotated[int, typer.Argument(help="Dead letter id (see the list).")],
) -> None:
    """Send a dead letter to intake again."""
    resp = _registry("POST", f"/api/dead-letters/{letter_id}/replay")
    if resp.status_code == 404:
        _fail(f"no dead letter {letter_id}")
    resp.raise_for_status()
    row = resp.json()
    out.print(f"replayed dead letter {letter_id} on {row['subject']} (replay #{row['replay_count']})")


@calendar_app.command("load")
def calendar_load(
    file: Annotated[Path, typer.Argument(help='JSON: {"year": 2027, "holidays": [...], "workdays": [...]}')],
) -> None:
    """Load a year's official holiday schedule and recompute provisional deadlines of running cases."""
    from services.calendar_loader import load_calendar

    try:
        report = asyncio.run(load_calendar(file, _settings()))
    except ValueError as exc:
        _fail(str(exc), 2)
        raise
    out.print(report)


@app.command()
def demo(name: Annotated[str, typer.Argument(help="Which demo (see --help for the list).")]) -> None:
    """Play example cases through the running stack so their timelines can be watched."""
    from services.demos import DEMOS
    from services.demos.runner import run_demo

    if name not in DEMOS:
        _fail(f"unknown demo {name!r}; choose one of: {', '.join(sorted(DEMOS))}", 2)
    asyncio.run(run_demo(DEMOS[name], _settings(), out))


def main() -> None:
    """Console-script entry point; a read model that needs ``lawlink db upgrade`` is one line."""
    try:
        app()
    except RuntimeError as exc:
        from services.readmodel.db import SchemaNotCurrent  # late: --help stays fast

        if not isinstance(exc, SchemaNotCurrent):
            raise
        print(f"error: {exc}", file=sys.stderr)  # one line, never wrapped or styled
        sys.exit(1)


if __name__ == "__main__":
    main()
