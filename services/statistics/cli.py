"""``lawlink report``: the monthly (or any period's) supervision report as an Excel or CSV file.

It reads the read model at ``DATABASE_URL`` directly, the same :func:`compute` the console
calls, so the file equals the console's page for the same period and scope.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(2)


def report(
    out_path: Annotated[Path, typer.Option("--out", help="File to write (.xlsx or .csv).")],
    month: Annotated[str | None, typer.Option(help="A month, YYYY-MM (e.g. 2026-11).")] = None,
    period: Annotated[
        str | None,
        typer.Option(
            help="Any period: YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD (both days included)."
        ),
    ] = None,
    district: Annotated[
        str | None, typer.Option(help="Only this district government's agencies (rz-dg).")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's figures.")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="xlsx or csv; by default from the --out suffix.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Header language: zh (default) or en.")] = "zh",
    include_referrals: Annotated[
        bool, typer.Option(help="Add the discipline-referral counts (by state and source only).")
    ] = False,
) -> None:
    """Write the supervision statistics of a period: every figure, table and monthly series."""
    from sqlmodel import Session

    from services.readmodel.cli_db import _database_url
    from services.readmodel.db import make_engine, require_current_schema
    from services.statistics.export import section_csv, to_xlsx
    from services.statistics.figures import compute
    from services.statistics.model import Period

    if (month is None) == (period is None):
        _fail("give exactly one of --month and --period")
    if month is not None and len(month.strip()) != 7:
        _fail(f"--month {month!r}: expected YYYY-MM")
    try:
        chosen = Period.parse(month or period or "")
    except ValueError as exc:
        _fail(f"--{'month' if month else 'period'}: {exc}")
    kind = (fmt or out_path.suffix.lstrip(".")).lower()
    if kind not in ("xlsx", "csv"):
        _fail(f"--format: expected xlsx or csv, got {kind or 'nothing'!r} (name the file .xlsx or .csv)")
    if lang not in ("zh", "en"):
        _fail(f"--lang: expected zh or en, got {lang!r}")
    url = _database_url()
    require_current_schema(url, "lawlink report")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            try:
                stats = compute(
                    session, chosen, district=district, agency=agency, include_referrals=include_referrals
                )
            except ValueError as exc:
                _fail(f"--{exc}")
    finally:
        engine.dispose()
    if kind == "xlsx":
        data = to_xlsx(stats, lang=lang)
    else:
        # One CSV holds every section, each under its title; the BOM only once, at the start.
        parts = [section_csv(s, lang=lang) for s in stats.sections]
        data = b"\xef\xbb\xbf" + b"\r\n".join(p.removeprefix(b"\xef\xbb\xbf") for p in parts)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(data)
    out.print(f"wrote {out_path} ({stats.period_zh} / {stats.period_en}, {len(stats.sections)} sections)")
