"""Supervision statistics without workflows: periods, the figure arithmetic, scopes, the README's
definitions, the exports and ``lawlink report`` on a small read model."""

from __future__ import annotations

import csv
import io
import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
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
from tests.servers import postgres_schema

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


# ----- the monthly counts -------------------------------------------------------------------------

_RULE = "case_transfer.transfer_after_approval"


def _deadline(seq_status: DeadlineStatus, due: datetime, **extra: object) -> DeadlineInfo:
    return DeadlineInfo(
        deadline_id=_RULE,
        rule=_RULE,
        label_zh="批准后24小时内移送",
        label_en="Transfer within 24 hours of approval",
        source="国务院令第310号",
        party="rz-scjgj",
        starts_at=due - timedelta(days=1),
        due_at=due,
        warn_at=None,
        counting="hours",
        length=24,
        provisional=False,
        status=seq_status,
        **extra,  # type: ignore[arg-type]
    )


def _case_events(case: str, agency: str, at: datetime) -> list[DomainEvent]:
    """One case transfer's events: opened by ``agency``, its transfer deadline breached, then
    met late in the next Shanghai month, the case transferred and filed by the police."""
    wid = f"case_transfer/{case}"

    def ev(seq: int, kind: str, **extra: object) -> DomainEvent:
        entry = (
            EntryKind.RECEIVED if seq == 1 else EntryKind.DEADLINE if "deadline" in extra else EntryKind.STEP
        )
        return DomainEvent(
            event_id=f"{case}-{seq}",
            type=kind,
            occurred_at=at + timedelta(days=seq),
            process="case_transfer",
            case_id=case,
            workflow_id=wid,
            seq=seq,
            kind=entry,
            state="s",
            actor=agency if entry is EntryKind.RECEIVED else None,
            parties=(agency,),
            **extra,  # type: ignore[arg-type]
        )

    due = at + timedelta(days=3)
    late = at + timedelta(days=40)
    return [
        ev(1, "case_transfer.crime_suspected"),
        ev(2, "case_transfer.transfer_approved"),
        ev(3, "deadline.set", deadline=_deadline(DeadlineStatus.OPEN, due)),
        ev(4, "deadline.breached", deadline=_deadline(DeadlineStatus.BREACHED, due)),
        ev(5, "case_transfer.reconsideration_decided", payload={"outcome": "file"}),
        ev(
            6,
            "deadline.met",
            deadline=_deadline(DeadlineStatus.MET, due, met_at=late, late_seconds=3600),
            payload={"late": True},
        ),
        ev(7, "case_transfer.transferred"),
        ev(8, "case_transfer.case_filed"),
    ]


def _counts(engine: Any) -> dict[tuple[Any, ...], int]:
    from services.statistics.aggregate import DEADLINE_MONTHS, EVENT_MONTHS

    out: dict[tuple[Any, ...], int] = {}
    with engine.connect() as conn:
        for table in (EVENT_MONTHS, DEADLINE_MONTHS):
            for row in conn.execute(select(table)):
                *key, n = row
                if n:
                    out[(table.name, *key)] = n
    return out


def _recounted(engine: Any) -> dict[tuple[Any, ...], int]:
    from services.statistics.aggregate import rebuild

    with engine.begin() as conn:
        rebuild(conn)
    return _counts(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def read_model(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty read model on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` names one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'counts.db'}"
        migrate(url)
        yield url
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL monthly counts)")
    with postgres_schema(base) as url:
        migrate(url)
        yield url


def test_monthly_counts_equal_a_recount_after_events_in_any_order(read_model: str) -> None:
    """Kept counts match a recount from the rows after a rolled-back batch, duplicates, steps
    projected before their case's opening event (the owner known only then), older reports
    arriving after newer ones, a deadline breached then met late in another month, one moved
    to a later due date and one cancelled."""
    engine = make_engine(read_model)
    one = _case_events("A-1", "rz-scjgj", T0)
    two = _case_events("A-2", "rz-sswj", T0 + timedelta(days=20))
    moved = _deadline(DeadlineStatus.OPEN, T0 + timedelta(days=70))
    cancelled = _deadline(DeadlineStatus.CANCELLED, T0 + timedelta(days=70))
    extra = [
        two[0].model_copy(
            update={
                "event_id": "A-2-d",
                "seq": 8,
                "deadline": moved,
                "type": "deadline.extended",
                "kind": EntryKind.DEADLINE,
                "actor": None,
            }
        ),
        two[0].model_copy(
            update={
                "event_id": "A-2-c",
                "seq": 9,
                "deadline": cancelled.model_copy(update={"deadline_id": "other"}),
                "type": "deadline.cancelled",
                "kind": EntryKind.DEADLINE,
                "actor": None,
            }
        ),
    ]
    batches = [
        [one[1], one[2], one[3]],  # steps before the opening event: no owner yet
        [one[0], one[0], one[5]],  # the opening event (twice) and the late step
        [one[4], one[3], one[7], one[6]],  # a duplicate; filed before the transfer is seen
        [two[5], two[6], two[7], two[2], two[0], two[1]],  # met before set; transferred, filed
        [two[3], two[4], *extra, extra[0]],
    ]
    with Session(engine) as session:  # a batch whose transaction fails counts nothing
        project(session, batches[3])
        session.rollback()
        project(session, batches[0])
        session.commit()
    for batch in batches[1:]:
        with Session(engine) as session:
            project(session, batch)
            session.commit()
    kept = _counts(engine)
    assert kept == _recounted(engine)
    # What the figures read: every entry under its case's owner, each deadline counted once
    # in the bucket of where it stands now (met late), by due month and met month.
    owners = {key[4] for key in kept if key[0] == "statistics_event_month"}
    assert owners == {"rz-scjgj", "rz-sswj"}
    events = sum(n for key, n in kept.items() if key[0] == "statistics_event_month")
    assert events == 8 + 8 + 2
    transfers = sorted((k[4], k[5], n) for k, n in kept.items() if k[1] == "case_transfer.transferred")
    assert transfers == [("rz-scjgj", "filed", 1), ("rz-sswj", "filed", 1)]
    table, rest = "statistics_deadline_month", ("rz-scjgj", "case_transfer", "duty")
    assert {k: n for k, n in kept.items() if k[0] == table} == {
        (table, "due", _RULE, "2026-11", *rest, "met", True): 1,
        (table, "met", _RULE, "2026-12", *rest, "met", True): 1,
        (table, "due", _RULE, "2027-01", *rest, "open", True): 1,
        (table, "due", _RULE, "2027-01", *rest, "cancelled", False): 1,
    }
    engine.dispose()


def test_a_month_counted_from_the_monthly_counts_equals_it_counted_from_the_rows(read_model: str) -> None:
    """The same events through both paths: November as a month (monthly counts) and as the
    days 1-29 (rows; nothing happened on the 30th), for everyone and for one agency."""
    engine = make_engine(read_model)
    events = [
        *_case_events("B-1", "rz-scjgj", T0),
        *_case_events("B-2", "rz-sswj", T0 + timedelta(days=5)),
        *_events(),
    ]
    with Session(engine) as session:
        project(session, events)
        session.commit()
    with Session(engine) as session:
        for agency in (None, "rz-scjgj"):
            month = compute(session, Period.month(2026, 11), agency=agency, include_referrals=True)
            days = compute(
                session, Period.parse("2026-11-01..2026-11-29"), agency=agency, include_referrals=True
            )
            assert month.sections == days.sections
    ct = month.section("case_transfer")
    assert ct.figure("crimes_suspected").value == 2 and ct.figure("reconsideration_filed").value == 1
    assert ct.figure("filing_rate").value == 1.0
    deadlines = month.section("deadlines")
    assert (deadlines.figure("due").value, deadlines.figure("met_late").value) == (3, 2)
    assert [p.value for p in deadlines.series_of("due").points][-2:] == [0, 3]
    engine.dispose()


def test_replicas_adding_to_the_same_counts_at_once_lose_nothing(read_model: str) -> None:
    """Two registries commit at the same moment events that fall in the same counts (same
    month, type and agency): each addition survives, as a recount shows."""
    if not read_model.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time; the registry replicas run on PostgreSQL")
    engine = make_engine(read_model)
    ready = threading.Barrier(2)
    failures: list[BaseException] = []

    def replica(name: str) -> None:
        try:
            for n in range(5):
                with Session(engine) as session:
                    project(session, _case_events(f"{name}-{n}", "rz-scjgj", T0))
                    ready.wait(10)
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            ready.abort()

    threads = [threading.Thread(target=replica, args=(name,)) for name in ("R1", "R2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    kept = _counts(engine)
    suspected = (
        "statistics_event_month",
        "case_transfer.crime_suspected",
        "2026-11",
        "case_transfer",
        "rz-scjgj",
        "",
    )
    assert kept[suspected] == 10
    assert kept == _recounted(engine)
    engine.dispose()
