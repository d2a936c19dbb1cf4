"""Supervision statistics without workflows: periods, the figure arithmetic, scopes, the README's
definitions, the exports and ``lawlink report`` on a small read model."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session
from typer.testing import CliRunner

from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.registry.db import make_engine, migrate
from services.registry.projection import project
from services.statistics import export
from services.statistics.figures import (
    DEFINITIONS,
    SECTION_KEYS,
    compute,
    deadline_outcome,
    definitions_markdown,
    percentile,
    rate,
    scope_agencies,
)
from services.statistics.model import Period, PeriodKind

README = Path(__file__).resolve().parents[2] / "README.md"
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


# ----- periods ----------------------------------------------------------------------------------


def test_periods_are_shanghai_calendar_days_and_read_back_from_their_key() -> None:
    month = Period.parse("2026-11")
    assert (month.kind, month.start, month.end) == (PeriodKind.MONTH, date(2026, 11, 1), date(2026, 11, 30))
    # Midnight in Shanghai is 16:00 UTC the day before.
    assert month.start_at == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert month.end_at == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert (month.label_zh, month.label_en) == ("2026年11月", "November 2026")
    quarter = Period.parse("2026-q4")
    assert (quarter.start, quarter.end, quarter.key, quarter.label_zh) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
        "2026-Q4",
        "2026年第四季度",
    )
    assert Period.parse("2026").end == date(2026, 12, 31)
    custom = Period.parse("2026-11-03..2026-11-20")
    assert custom.kind is PeriodKind.CUSTOM and custom.label_zh == "2026年11月3日至2026年11月20日"
    for text in ("2026-11", "2026-Q4", "2026", "2026-11-03..2026-11-20"):
        assert Period.parse(text).key == text
    assert Period.month(2026, 12).end == date(2026, 12, 31)


def test_trend_months_lead_up_to_the_period() -> None:
    months = Period.month(2026, 3).trend_months(12)
    assert months[0] == date(2025, 4, 1) and months[-1] == date(2026, 3, 1) and len(months) == 12
    assert len(Period.custom(date(2024, 1, 15), date(2026, 2, 2)).trend_months(12)) == 26


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-13", "month: must be 1-12"),
        ("2026-Q5", "expected YYYY-MM"),
        ("26-11", "expected YYYY-MM"),
        ("2026-11-20..2026-11-03", "to: 2026-11-03 is before from 2026-11-20"),
        ("1999", "year: must be between 2000 and 2100"),
        ("2020-01-01..2026-12-31", "period: at most"),
    ],
)
def test_bad_periods_are_refused_naming_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        Period.parse(text)


# ----- arithmetic ---------------------------------------------------------------------------------


def test_percentiles_interpolate_and_rates_need_a_denominator() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3], 0.9) == 3
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([0, 10], 0.9) == 9
    assert rate(3, 4) == 0.75 and rate(0, 0) is None


@pytest.mark.parametrize(
    ("status", "breached", "outcome"),
    [
        ("met", False, "met_on_time"),
        ("met", True, "met_late"),
        ("breached", True, "breached_open"),
        ("cancelled", True, "breached_closed"),
        ("cancelled", False, None),  # cancelled before it fell due: never due
        ("open", False, "pending"),
    ],
)
def test_each_deadline_falls_in_one_count(status: str, breached: bool, outcome: str | None) -> None:
    assert deadline_outcome(status, breached) == outcome


def test_scopes_name_the_bad_field() -> None:
    district = scope_agencies(district="rz-dg")
    assert district is not None and "rz-dg-scjgj" in district and "rz-scjgj" not in district
    assert scope_agencies(agency="rz-scjgj") == frozenset({"rz-scjgj"})
    assert scope_agencies(district="rz-dg", agency="rz-scjgj") == frozenset()
    assert scope_agencies() is None
    with pytest.raises(ValueError, match=r"^district: unknown agency 'rz-nowhere'"):
        scope_agencies(district="rz-nowhere")
    with pytest.raises(ValueError, match=r"^district: 'rz-scjgj' is not a district"):
        scope_agencies(district="rz-scjgj")
    with pytest.raises(ValueError, match=r"^agency: unknown agency 'rz-nobody'"):
        scope_agencies(agency="rz-nobody")


def test_the_readme_defines_every_figure_as_the_code_does() -> None:
    """One definition: the README's section is generated text, so it cannot drift."""
    readme = README.read_text(encoding="utf-8")
    assert definitions_markdown() in readme
    for key in SECTION_KEYS:
        assert all(d.definition_zh and d.definition_en for d in DEFINITIONS[key])


# ----- a small read model -------------------------------------------------------------------------


def _events() -> list[DomainEvent]:
    wid = "case_transfer/U-1"
    info = DeadlineInfo(
        deadline_id="case_transfer.head_decision",
        rule="case_transfer.head_decision",
        label_zh="负责人作出是否批准移送决定",
        label_en="Agency head decides whether to approve the transfer",
        source="国务院令第310号",
        party="rz-scjgj",
        starts_at=T0,
        due_at=T0 + timedelta(days=3),
        warn_at=None,
        counting="calendar_days",
        length=3,
        provisional=False,
        status=DeadlineStatus.OPEN,
    )

    def ev(seq: int, kind: str, entry: EntryKind, **extra: object) -> DomainEvent:
        return DomainEvent(
            event_id=f"u1-{seq}",
            type=kind,
            occurred_at=T0 + timedelta(hours=seq),
            process="case_transfer",
            case_id="U-1",
            workflow_id=wid,
            seq=seq,
            kind=entry,
            state="opened",
            actor="rz-scjgj" if entry is EntryKind.RECEIVED else None,
            parties=("rz-scjgj",),
            **extra,  # type: ignore[arg-type]
        )

    met = info.model_copy(
        update={"status": DeadlineStatus.MET, "met_at": T0 + timedelta(hours=3), "late_seconds": 0}
    )
    return [
        ev(1, "case_transfer.crime_suspected", EntryKind.RECEIVED, payload={"case_title": "某案"}),
        ev(2, "discipline_referral.opened", EntryKind.STEP, payload={"source": "hotline_complaint"}),
        ev(3, "deadline.set", EntryKind.DEADLINE, deadline=info),
        ev(4, "deadline.met", EntryKind.DEADLINE, deadline=met, payload={"late": False, "late_seconds": 0}),
    ]


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        project(session, _events())
        session.commit()
    engine.dispose()
    return url


def test_referrals_are_left_out_unless_the_reader_may_know_of_them(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as session:
        hidden = compute(session, Period.month(2026, 11))
        shown = compute(session, Period.month(2026, 11), include_referrals=True)
    engine.dispose()
    assert [s.key for s in hidden.sections] == ["case_transfer", "deadlines", "disputes", "delegations"]
    assert "referral" not in hidden.model_dump_json().replace("discipline_referral", "")
    assert shown.section("referrals").figure("opened").value == 1
    assert shown.section("case_transfer").figure("crimes_suspected").value == 1


def test_exports_keep_the_numbers_with_chinese_headers(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as session:
        stats = compute(session, Period.month(2026, 11), include_referrals=True, agency="rz-scjgj")
    engine.dispose()
    book = load_workbook(io.BytesIO(export.to_xlsx(stats)))
    assert book.sheetnames == [s.zh for s in stats.sections]
    sheet = book["办理时限"]
    rows = [r for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "2026年11月（日照市市场监督管理局） 办理时限"
    assert rows[2][:4] == ("指标", "数值", "分子", "分母")
    figures = {r[0]: r[1] for r in rows[3:] if r[0]}
    assert figures["应办理时限"] == 1 and figures["按时办理率"] == 1.0
    by_rule = stats.section("deadlines").table("by_rule")
    header = tuple(c.zh for c in by_rule.columns)
    at = next(i for i, r in enumerate(rows) if r[: len(header)] == header)
    assert rows[at - 1][0] == by_rule.zh
    assert rows[at + 1][0] == "负责人作出是否批准移送决定" and rows[at + 1][1] == 1
    assert rows[at + 2][0] == "合计" and rows[at + 3][0] is None
    rate_cell = sheet.cell(row=at + 2, column=1 + [c.key for c in by_rule.columns].index("on_time_rate"))
    assert rate_cell.value == 1.0 and rate_cell.number_format == "0.0%"
    english = load_workbook(io.BytesIO(export.to_xlsx(stats, lang="en")))
    assert english.sheetnames[1] == "Statutory deadlines"

    data = export.table_csv(by_rule)
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == list(header) and table[1][0] == "负责人作出是否批准移送决定"
    assert table[1][header.index("按时办理率")] == "100.0%" and table[-1][0] == "合计"
    section = export.section_csv(stats.section("referrals"), lang="en").decode("utf-8-sig")
    assert section.splitlines()[0] == "Referrals to discipline inspection: figures"
    assert "12345 hotline complaint" in section
    assert export.export_filename(stats, "xlsx") == "lawlink-statistics-2026-11-rz-scjgj.xlsx"
    with pytest.raises(ValueError, match="^ext:"):
        export.export_filename(stats, "x/y")
    with pytest.raises(ValueError, match="^lang:"):
        export.to_xlsx(stats, lang="fr")


def test_lawlink_report_writes_the_workbook(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.cli import app

    monkeypatch.setenv("DATABASE_URL", database)
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(app, ["report", "--month", "2026-11", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["行刑衔接", "办理时限", "管辖争议", "赋权乡镇街道"]
    rows = {r[0]: r[1] for r in book["行刑衔接"].iter_rows(values_only=True) if r and r[0]}
    assert rows["发现涉嫌犯罪案件"] == 1

    csv_out = tmp_path / "report.csv"
    result = CliRunner().invoke(
        app, ["report", "--period", "2026-Q4", "--out", str(csv_out), "--include-referrals"]
    )
    assert result.exit_code == 0, result.output
    text = csv_out.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and text.count(b"\xef\xbb\xbf") == 1
    assert "移送问题线索" in text.decode("utf-8-sig")

    for args, words in (
        (["--month", "2026-13"], "--month: period '2026-13': month: must be 1-12"),
        (["--month", "2026-11", "--agency", "rz-nobody"], "--agency: unknown agency 'rz-nobody'"),
        (["--month", "2026-11", "--period", "2026"], "exactly one of --month and --period"),
    ):
        result = CliRunner().invoke(app, ["report", *args, "--out", str(out)])
        assert result.exit_code == 2 and words in " ".join(result.output.split()), result.output
    result = CliRunner().invoke(app, ["report", "--month", "2026-11", "--out", str(tmp_path / "r.pdf")])
    assert result.exit_code == 2 and "--format: expected xlsx or csv" in result.output
