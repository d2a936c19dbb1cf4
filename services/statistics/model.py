"""The typed result of the statistics: a period, and sections of figures, tables and monthly series.

Everything a reader needs to show a figure travels with it: its Chinese and English names, its
unit, the numerator and denominator of a rate and the sentence that defines it. The console,
the CSV/Excel exports and the ``lawlink report`` command render these objects and never compute
a figure themselves, so the three always agree.

Periods are Shanghai calendar periods: a month is the month on the wall calendar of the legal
time zone (``workflows.deadlines.SHANGHAI``), because that is the month a report to the
government means, whatever time zone the server runs in.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from workflows.deadlines import SHANGHAI

Unit = Literal["count", "rate", "ratio", "days", "working_days", "hours", "text"]
"""How a value reads: ``rate`` and ``ratio`` are fractions (0.875 is 87.5%; a ratio of time used
to time allowed may exceed 1), ``days``/``working_days``/``hours`` are durations, ``text`` a label."""

Value = int | float | str | None
"""A cell: a count, a fraction or duration, a label, or None where there is no figure (a rate
whose denominator is zero, a median of nothing)."""

MAX_CUSTOM_DAYS = 366 * 5
"""A custom period longer than this is refused: the queries are bounded by the period, and five
years is more than any report asks for."""

_QUARTER_ZH = ("第一季度", "第二季度", "第三季度", "第四季度")
_MONTH_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_RE = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR_RE = re.compile(r"^(\d{4})$")
_CUSTOM_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class PeriodKind(StrEnum):
    """What sort of period a report covers."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"


def _month_start(d: date, months: int = 0) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, 1)


def shanghai_midnight(d: date) -> datetime:
    """The first instant of day ``d`` in Shanghai, as an aware UTC datetime (what the read
    model stores and compares)."""
    return datetime.combine(d, time(0), tzinfo=SHANGHAI).astimezone(UTC)


def month_key(d: date) -> str:
    """``YYYY-MM`` of the month holding ``d``: the key of a monthly series point."""
    return f"{d.year:04d}-{d.month:02d}"


class Period(BaseModel):
    """A reporting period: whole Shanghai calendar days from ``start`` to ``end``, both included.

    Build one with :meth:`month`, :meth:`quarter`, :meth:`year`, :meth:`custom` or :meth:`parse`
    (the text form the console's query string and the CLI use). ``key`` gives that text back.
    """

    model_config = ConfigDict(frozen=True)

    kind: PeriodKind
    start: date = Field(description="First day, Shanghai calendar.")
    end: date = Field(description="Last day, included.")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """Calendar month ``month`` (1-12) of ``year``.

        Raises:
            ValueError: naming ``month`` when it is not 1-12, ``year`` when outside 2000-2100.
        """
        _check_year(year)
        if not 1 <= month <= 12:
            raise ValueError(f"month: must be 1-12, got {month}")
        first = date(year, month, 1)
        return cls(kind=PeriodKind.MONTH, start=first, end=_month_start(first, 1) - timedelta(days=1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        """Quarter ``quarter`` (1-4) of ``year``.

        Raises:
            ValueError: naming ``quarter`` when it is not 1-4.
        """
        _check_year(year)
        if not 1 <= quarter <= 4:
            raise ValueError(f"quarter: must be 1-4, got {quarter}")
        first = date(year, 3 * (quarter - 1) + 1, 1)
        return cls(kind=PeriodKind.QUARTER, start=first, end=_month_start(first, 3) - timedelta(days=1))

    @classmethod
    def year(cls, year: int) -> Period:
        """The calendar year ``year``."""
        _check_year(year)
        return cls(kind=PeriodKind.YEAR, start=date(year, 1, 1), end=date(year, 12, 31))

    @classmethod
    def custom(cls, start: date, end: date) -> Period:
        """Any run of whole days, ``start`` to ``end`` inclusive.

        Raises:
            ValueError: naming ``to`` when it is before ``from``, or the period when it is
                longer than :data:`MAX_CUSTOM_DAYS`.
        """
        _check_year(start.year)
        _check_year(end.year)
        if end < start:
            raise ValueError(f"to: {end.isoformat()} is before from {start.isoformat()}")
        if (end - start).days + 1 > MAX_CUSTOM_DAYS:
            raise ValueError(f"period: at most {MAX_CUSTOM_DAYS} days, got {(end - start).days + 1}")
        return cls(kind=PeriodKind.CUSTOM, start=start, end=end)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-11`` (month), ``2026-Q4`` (quarter), ``2026`` (year) or
        ``2026-11-03..2026-11-20`` (custom, both days included).

        Raises:
            ValueError: naming ``period`` and the forms accepted, for any other text.
        """
        value = text.strip()
        try:
            if m := _MONTH_RE.match(value):
                return cls.month(int(m[1]), int(m[2]))
            if m := _QUARTER_RE.match(value):
                return cls.quarter(int(m[1]), int(m[2]))
            if m := _YEAR_RE.match(value):
                return cls.year(int(m[1]))
            if m := _CUSTOM_RE.match(value):
                return cls.custom(date.fromisoformat(m[1]), date.fromisoformat(m[2]))
        except ValueError as exc:
            raise ValueError(f"period {text!r}: {exc}") from None
        raise ValueError(f"period {text!r}: expected YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD")

    @property
    def key(self) -> str:
        """The text :meth:`parse` reads back (``2026-11``, ``2026-Q4``, ``2026``, ``a..b``)."""
        if self.kind is PeriodKind.MONTH:
            return month_key(self.start)
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind is PeriodKind.YEAR:
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def start_at(self) -> datetime:
        """First instant of the period (aware, UTC)."""
        return shanghai_midnight(self.start)

    @property
    def end_at(self) -> datetime:
        """First instant after the period (aware, UTC): periods are half-open ``[start_at, end_at)``."""
        return shanghai_midnight(self.end + timedelta(days=1))

    @property
    def label_zh(self) -> str:
        """How a report to the government names the period: ``2026年11月``, ``2026年第四季度``."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year}年{self.start.month}月"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year}年{_QUARTER_ZH[(self.start.month - 1) // 3]}"
        if self.kind is PeriodKind.YEAR:
            return f"{self.start.year}年"
        return f"{_zh_day(self.start)}至{_zh_day(self.end)}"

    @property
    def label_en(self) -> str:
        """``November 2026``, ``Q4 2026``, ``2026``, ``2026-11-03 to 2026-11-20``."""
        if self.kind is PeriodKind.MONTH:
            return f"{_MONTH_FULL[self.start.month - 1]} {self.start.year}"
        if self.kind is PeriodKind.QUARTER:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if self.kind is PeriodKind.YEAR:
            return str(self.start.year)
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    def months(self) -> list[date]:
        """First days of the months the period touches, in order."""
        out = []
        d = _month_start(self.start)
        while d <= self.end:
            out.append(d)
            d = _month_start(d, 1)
        return out

    def trend_months(self, at_least: int = 12) -> list[date]:
        """The months a trend chart of this period shows: the period's own months, preceded by
        earlier ones up to ``at_least`` in all (a month's report shows the year leading to it)."""
        own = self.months()
        earlier = max(0, at_least - len(own))
        return [_month_start(own[0], -k) for k in range(earlier, 0, -1)] + own


_MONTH_FULL = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _zh_day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise ValueError(f"year: must be between 2000 and 2100, got {year}")


def month_labels(first_day: date) -> tuple[str, str]:
    """Chinese and English labels of a month on a chart axis: ``2026年11月``, ``Nov 2026``."""
    return f"{first_day.year}年{first_day.month}月", f"{_MONTH_EN[first_day.month - 1]} {first_day.year}"


# ----- the result ------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Column(_Frozen):
    """One column of a table. The first column of every table is the row label (key ``label``,
    unit ``text``)."""

    key: str
    zh: str
    en: str
    unit: Unit


class Row(_Frozen):
    """One row: what it is about (an agency id, a rule name, a state) and its values by column key.

    ``values`` holds every column's key, the label column included (``values["label"]`` is
    ``label_zh``), so a renderer can walk ``table.columns`` and read ``row.values[c.key]``.
    """

    key: str
    label_zh: str
    label_en: str
    values: dict[str, Value]

    def label(self, lang: str = "zh") -> str:
        """The row's label in ``lang`` (``zh`` or ``en``)."""
        return self.label_zh if lang == "zh" else self.label_en


class Table(_Frozen):
    """A table of a section (by agency, by rule, by state ...), with an optional total row."""

    key: str
    zh: str
    en: str
    columns: list[Column]
    rows: list[Row]
    total: Row | None = None

    def row(self, key: str) -> Row | None:
        """The row about ``key`` (agency id, rule name ...), or None."""
        return next((r for r in self.rows if r.key == key), None)


class Figure(_Frozen):
    """One headline figure with its definition.

    For a rate, ``value`` is ``numerator / denominator`` (None when the denominator is 0); for a
    count, ``value`` is the count and numerator/denominator are None.
    """

    key: str
    zh: str
    en: str
    unit: Unit
    value: int | float | None
    numerator: int | None = None
    denominator: int | None = None
    definition_zh: str
    definition_en: str


class Point(_Frozen):
    """One month of a series."""

    month: str = Field(description="YYYY-MM")
    label_zh: str
    label_en: str
    value: int | float | None


class Series(_Frozen):
    """A monthly series for a trend chart (the months of :meth:`Period.trend_months`)."""

    key: str
    zh: str
    en: str
    unit: Unit
    points: list[Point]


class Section(_Frozen):
    """One part of the report: case transfer, deadlines, disputes, referrals or delegations."""

    key: str
    zh: str
    en: str
    figures: list[Figure]
    tables: list[Table]
    series: list[Series]
    note_zh: str = ""
    note_en: str = ""

    def figure(self, key: str) -> Figure:
        """The figure ``key``.

        Raises:
            KeyError: naming the figure and the section when there is none.
        """
        return _find(self.figures, key, f"no figure {key!r} in section {self.key!r}")

    def table(self, key: str) -> Table:
        """The table ``key``.

        Raises:
            KeyError: naming the table and the section when there is none.
        """
        return _find(self.tables, key, f"no table {key!r} in section {self.key!r}")

    def series_of(self, key: str) -> Series:
        """The series ``key``.

        Raises:
            KeyError: naming the series and the section when there is none.
        """
        return _find(self.series, key, f"no series {key!r} in section {self.key!r}")


_Keyed = TypeVar("_Keyed", Figure, Table, Series, "Section")


def _find(items: list[_Keyed], key: str, missing: str) -> _Keyed:
    for item in items:
        if item.key == key:
            return item
    raise KeyError(missing)


class Scope(_Frozen):
    """Whose figures these are: everyone's, one district's, or one agency's."""

    district: str | None = None
    district_zh: str | None = None
    district_en: str | None = None
    agency: str | None = None
    agency_zh: str | None = None
    agency_en: str | None = None


class Statistics(_Frozen):
    """The whole report for one period and scope."""

    period: Period
    period_zh: str
    period_en: str
    scope: Scope
    generated_at: datetime
    sections: list[Section]

    def section(self, key: str) -> Section:
        """The section ``key`` (``case_transfer``, ``deadlines``, ``disputes``, ``referrals``,
        ``delegations``).

        Raises:
            KeyError: naming the section when the report has none (``referrals`` is left out
                unless asked for).
        """
        return _find(self.sections, key, f"no section {key!r} in this report")

    def has_section(self, key: str) -> bool:
        """Whether the report holds section ``key``."""
        return any(s.key == key for s in self.sections)
