"""Statutory time limits and China's working-day calendar.

Every time limit of the four processes lives in one table here (``RULES``), so a reviewer can
check each number against its legal source in one place, and so operators can see which numbers
are settings they may change. The due-date arithmetic is deterministic and free of I/O after
import, because workflows call it inside the Temporal sandbox and must replay identically.

Counting follows Chinese procedure law: the day on which a period starts is not counted; a
period in days ends at the end of its last day (``due_at`` is 00:00 of the following day, the
first instant after the deadline); a calendar-day period whose last day is a holiday ends on the
next working day. Working days follow China's official calendar (statutory holidays off,
adjusted weekend workdays on) from ``chinese-calendar``, or from schedules operators load for
years the package does not know yet. A year nobody knows falls back to Monday-Friday and the
result is marked provisional instead of failing, because the State Council publishes each
year's schedule only late in the year before and a workflow task must never crash over it.
"""

import re
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from types import MappingProxyType

import chinese_calendar

from contracts.catalog import DEFINITIONS
from contracts.time_limits import ANCHOR_OCCURRED_AT, STATE_COUNCIL_310, Counting, Nature, Rule

__all__ = [
    "RULES",
    "SHANGHAI",
    "STATE_COUNCIL_DAY_RULES",
    "ANCHOR_OCCURRED_AT",
    "MONTH_ROLL_ENV",
    "Counting",
    "Due",
    "Nature",
    "Rule",
    "WorkCalendar",
    "YearSchedule",
    "add_working_days",
    "compute_due",
    "env_var_for",
    "legal_minute",
    "load_rules",
    "parse_year_schedule",
    "working_days_between",
]

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The legal time zone of every deadline: days are counted on the Shanghai wall calendar.

A fixed UTC+08:00 rather than ``ZoneInfo("Asia/Shanghai")``: China has kept UTC+8 without
daylight saving since 1991 (the tests check the two agree), and the fixed offset reads no tz
database at import (the same answer on every worker host) and works inside the Temporal
sandbox, which wraps ``ZoneInfo`` instances in a proxy that ``datetime`` rejects whenever this
module is not passed through.
"""


def legal_minute(moment: datetime) -> str:
    """A moment as officials read it in a refusal: Shanghai wall time, to the minute."""
    return moment.astimezone(SHANGHAI).isoformat(timespec="minutes")


RULE_ENV_PREFIX = "LAWLINK_RULE_"
STATE_COUNCIL_DAYS_ENV = "LAWLINK_STATE_COUNCIL_DAYS"
MONTH_ROLL_ENV = "LAWLINK_MONTH_LIMITS"
"""``rolling`` (default): a month-based period ending on a day off ends on the next working day,
as day-based ones do (民法典 art. 203 makes no exception for months); ``fixed`` keeps the
corresponding day of the month whatever it is."""


# Bounds a search for the next working day: a schedule that marks a whole year as days off is
# an operator error, and an unbounded loop in a workflow task would be killed as a deadlock.
_MAX_SEARCH_DAYS = 366
# A setting larger than this is almost certainly a typo (e.g. minutes instead of days).
_MAX_SETTING = 1000
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Not strftime("%A"): that follows the process locale, and messages should not vary with it.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


_DEFAULT_RULES: tuple[Rule, ...] = tuple(rule for process in DEFINITIONS for rule in process.rules)

STATE_COUNCIL_DAY_RULES: frozenset[str] = frozenset(
    r.name
    for r in _DEFAULT_RULES
    if r.source.startswith(STATE_COUNCIL_310) and r.counting is Counting.CALENDAR_DAYS
)
"""Rules that count the State Council's bare "3日"; ``LAWLINK_STATE_COUNCIL_DAYS`` switches them.

The regulation does not say whether "3日" means calendar or working days; calendar days are the
default reading and operators may choose working days.
"""


def env_var_for(name: str) -> str:
    """Return the environment variable that overrides a rule's length.

    Args:
        name: A rule name such as ``case_transfer.head_decision``.

    Returns:
        e.g. ``LAWLINK_RULE_CASE_TRANSFER__HEAD_DECISION``; dots become double underscores so
        the mapping back to the rule is unambiguous (single underscores occur inside names).
    """
    return RULE_ENV_PREFIX + name.upper().replace(".", "__")


def load_rules(env: Mapping[str, str]) -> dict[str, Rule]:
    """Resolve the rule table against operator settings.

    Pure on purpose: the worker or service reads its environment once and passes the resolved
    rules to workflows through their inputs, so a replay sees the same numbers as the original
    run even if the environment changed since.

    Args:
        env: The environment (``os.environ`` or a test mapping). Only ``LAWLINK_RULE_*`` and
            ``LAWLINK_STATE_COUNCIL_DAYS`` are read; other variables are ignored.

    Returns:
        A new dict from rule name to rule, in table order.

    Raises:
        ValueError: Naming the variable, if it names no rule, names a rule fixed by law, or
            holds something other than a positive integer (or ``calendar``/``working`` for
            ``LAWLINK_STATE_COUNCIL_DAYS``, ``rolling``/``fixed`` for ``LAWLINK_MONTH_LIMITS``).
    """
    rules = {r.name: r for r in _DEFAULT_RULES}

    mode = env.get(STATE_COUNCIL_DAYS_ENV)
    if mode is not None:
        choice = mode.strip().lower()
        if choice == "working":
            for name in STATE_COUNCIL_DAY_RULES:
                rules[name] = replace(rules[name], counting=Counting.WORKING_DAYS)
        elif choice != "calendar":
            raise ValueError(f"{STATE_COUNCIL_DAYS_ENV}={mode!r}: expected 'calendar' or 'working'")

    roll = env.get(MONTH_ROLL_ENV)
    if roll is not None:
        choice = roll.strip().lower()
        if choice == "fixed":
            for name, rule in rules.items():
                if rule.counting is Counting.MONTHS:
                    rules[name] = replace(rule, rolls=False)
        elif choice != "rolling":
            raise ValueError(f"{MONTH_ROLL_ENV}={roll!r}: expected 'rolling' or 'fixed'")

    by_var = {env_var_for(name): name for name in rules}
    for var in sorted(env):
        if not var.startswith(RULE_ENV_PREFIX):
            continue
        name = by_var.get(var)
        if name is None:
            settable = ", ".join(v for v, n in sorted(by_var.items()) if rules[n].setting)
            raise ValueError(f"{var}: no such rule (settable: {settable})")
        rule = rules[name]
        if not rule.setting:
            raise ValueError(f"{var}: rule {name} is fixed by {rule.source} and is not a setting")
        raw = env[var]
        value = raw.strip()
        if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= _MAX_SETTING:
            raise ValueError(
                f"{var}={raw!r}: expected a whole number of {rule.counting.value} "
                f"between 1 and {_MAX_SETTING}"
            )
        rules[name] = replace(rule, length=int(value))
    return rules


RULES: dict[str, Rule] = load_rules({})
"""The defaults. Workflows should use the rules passed in their inputs, not this table."""


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule, loaded by operators for years the package lacks.

    Attributes:
        year: The calendar year.
        holidays: Official days off. Weekdays must be listed; weekend days may be (they are
            off anyway), so the State Council's notice can be copied as published.
        workdays: Adjusted working days (weekend days worked to make up for a holiday).
    """

    year: int
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        # Re-checked here because schedules also arrive deserialised from workflow inputs.
        object.__setattr__(self, "holidays", tuple(sorted(self.holidays)))
        object.__setattr__(self, "workdays", tuple(sorted(self.workdays)))
        for name in ("holidays", "workdays"):
            for d in getattr(self, name):
                if d.year != self.year:
                    raise ValueError(f"{name}: {d.isoformat()} is outside year {self.year}")
        both = set(self.holidays) & set(self.workdays)
        if both:
            days = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"holidays/workdays: {days} listed as both")


def _parse_dates(data: Mapping, key: str, year: int) -> tuple[date, ...]:
    items = data[key]
    if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)):
        raise ValueError(f"{key}: expected a list of 'YYYY-MM-DD' strings")
    seen: set[date] = set()
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, str) or not _ISO_DATE_RE.match(item):
            raise ValueError(f"{where}: {item!r} is not a date in YYYY-MM-DD form")
        try:
            d = date.fromisoformat(item)
        except ValueError:
            raise ValueError(f"{where}: {item!r} is not a valid date") from None
        if d.year != year:
            raise ValueError(f"{where}: {item} is outside year {year}")
        if d in seen:
            raise ValueError(f"{where}: {item} is listed twice")
        if key == "workdays" and d.weekday() < 5:
            raise ValueError(
                f"{where}: {item} is a {_WEEKDAYS[d.weekday()]}; adjusted workdays are weekend days"
            )
        seen.add(d)
    return tuple(sorted(seen))


def parse_year_schedule(data: Mapping) -> YearSchedule:
    """Validate a schedule file as loaded by ``lawlink calendar load FILE``.

    Strict, because a wrong schedule silently moves every deadline of the year; the error names
    the offending field so the operator can fix the file.

    Args:
        data: The decoded JSON object, e.g.
            ``{"year": 2027, "holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}``.

    Returns:
        The schedule, with dates sorted.

    Raises:
        ValueError: On a missing or unknown field, a year that is not an integer, a bad date
            string, a date outside the year, a duplicate, a weekday listed as an adjusted
            workday, or a date listed as both holiday and workday.
    """
    if not isinstance(data, Mapping):
        raise ValueError("schedule: expected a JSON object with year, holidays and workdays")
    required = ("year", "holidays", "workdays")
    for key in required:
        if key not in data:
            raise ValueError(f"{key}: missing field")
    unknown = sorted(str(k) for k in data if k not in required)
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: unknown field (expected {', '.join(required)})")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9998:
        raise ValueError(f"year: expected an integer year, got {year!r}")
    holidays = _parse_dates(data, "holidays", year)
    workdays = _parse_dates(data, "workdays", year)
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise ValueError(f"holidays/workdays: {', '.join(d.isoformat() for d in both)} listed in both")
    return YearSchedule(year=year, holidays=holidays, workdays=workdays)


class WorkCalendar:
    """China's working-day calendar, with operator-loaded years and a Monday-Friday fallback.

    Answers are cached per day; the cache only remembers what the same inputs would compute
    again, so it does not affect determinism. Build one per workflow run from the schedules in
    the workflow's input rather than sharing one across runs.

    Args:
        extra: Schedules by year. An extra year overrides the package's data, so operators can
            load next year's schedule (or correct one) without a release.

    Raises:
        ValueError: If a key of ``extra`` differs from its schedule's year.
    """

    def __init__(self, extra: Mapping[int, YearSchedule] = MappingProxyType({})) -> None:
        self._sets: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        for year, schedule in extra.items():
            if schedule.year != year:
                raise ValueError(f"extra[{year}]: schedule is for year {schedule.year}")
            self._sets[year] = (frozenset(schedule.holidays), frozenset(schedule.workdays))
        self.extra: Mapping[int, YearSchedule] = MappingProxyType(dict(extra))
        self._days: dict[date, tuple[bool, bool]] = {}
        self._package_years: dict[int, bool] = {}

    def __repr__(self) -> str:
        return f"WorkCalendar(extra years={sorted(self.extra)})"

    def _package_knows(self, year: int) -> bool:
        known = self._package_years.get(year)
        if known is None:
            if not 1 <= year <= 9999:
                return False
            try:
                chinese_calendar.is_workday(date(year, 6, 1))
                known = True
            except NotImplementedError:
                known = False
            self._package_years[year] = known
        return known

    def knows(self, year: int) -> bool:
        """Say whether official data exists for ``year`` (loaded or in the package).

        Args:
            year: The calendar year.

        Returns:
            False when working days in that year would be provisional.
        """
        return year in self._sets or self._package_knows(year)

    def is_working_day(self, d: date) -> tuple[bool, bool]:
        """Say whether ``d`` is a working day, and whether that answer is a guess.

        Never raises for a year without data: the caller gets Monday-Friday and a provisional
        flag, so a deadline can still be set and recomputed once the schedule arrives.

        Args:
            d: The day (a ``datetime`` is not accepted, to avoid time-zone mistakes).

        Returns:
            ``(is_working, provisional)``.
        """
        cached = self._days.get(d)
        if cached is not None:
            return cached
        if d.year in self._sets:
            holidays, workdays = self._sets[d.year]
            result = (d in workdays or (d.weekday() < 5 and d not in holidays), False)
        elif self._package_knows(d.year):
            result = (bool(chinese_calendar.is_workday(d)), False)
        else:
            result = (d.weekday() < 5, True)
        self._days[d] = result
        return result


@dataclass(frozen=True)
class Due:
    """When a period ends and when to warn about it.

    Attributes:
        due_at: The first instant after the deadline, aware, in Asia/Shanghai. For day-based
            rules this is 00:00 after the last day, so "before due_at" means "in time".
        warn_at: When the one-working-day warning goes out, or None when the period is too
            short to warn before it starts.
        provisional: True if any day consulted came from the Monday-Friday fallback; such
            deadlines are recomputed when the year's schedule is loaded.
        counting: How the rule was counted (after settings), shown with the deadline.
    """

    due_at: datetime
    warn_at: datetime | None
    provisional: bool
    counting: Counting


def _next_working_day(d: date, calendar: WorkCalendar) -> tuple[date, bool]:
    """Return the first working day strictly after ``d``."""
    provisional = False
    for _ in range(_MAX_SEARCH_DAYS):
        d += timedelta(days=1)
        working, guess = calendar.is_working_day(d)
        provisional |= guess
        if working:
            return d, provisional
    raise ValueError(f"calendar has no working day within {_MAX_SEARCH_DAYS} days after {d}")


def add_working_days(d: date, n: int, calendar: WorkCalendar) -> tuple[date, bool]:
    """Return the n-th working day after ``d``.

    ``d`` itself is not counted (the starting day of a period never is), whether or not it is
    a working day.

    Args:
        d: The starting day.
        n: How many working days to add; 0 returns ``d``.
        calendar: The working-day calendar.

    Returns:
        ``(day, provisional)``; provisional if any day passed came from the fallback.

    Raises:
        ValueError: If ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    provisional = False
    for _ in range(n):
        d, guess = _next_working_day(d, calendar)
        provisional |= guess
    return d, provisional


def working_days_between(a: date, b: date, calendar: WorkCalendar) -> int:
    """Count working days after ``a`` up to and including ``b``.

    The console's "working days left": with ``a`` today and ``b`` a deadline's last day, 0
    means it falls due today and a negative number how many working days it is overdue.

    Args:
        a: The reference day (not counted).
        b: The target day (counted).
        calendar: The working-day calendar.

    Returns:
        The count, negated (``-working_days_between(b, a)``) when ``b`` is before ``a``.
    """
    if b < a:
        return -working_days_between(b, a, calendar)
    count = 0
    d = a
    while d < b:
        d += timedelta(days=1)
        count += calendar.is_working_day(d)[0]
    return count


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=SHANGHAI)


def compute_due(start: datetime, rule: Rule, calendar: WorkCalendar) -> Due:
    """Compute a rule's deadline and warning time for a period starting at ``start``.

    Args:
        start: When the period starts (the triggering event's time), timezone-aware.
        rule: The (resolved) rule.
        calendar: The working-day calendar.

    Returns:
        The deadline. Calendar days: the last day is ``start``'s date plus ``length``, moved to
        the next working day if it is a day off. Working days: the last day is the
        ``length``-th working day after ``start``'s date. Months: the same day ``length``
        months later (clamped to month end), moved off a day off like calendar days unless
        ``LAWLINK_MONTH_LIMITS=fixed`` (民法典 arts. 201-203). Day-based deadlines end at
        00:00 after the last day; an hours deadline is exactly ``length`` hours after
        ``start``. Warnings: 00:00 of the working day before the last day (None if that is
        before ``start``); for hours, a quarter of the span before the deadline.

    Raises:
        ValueError: If ``start`` is naive.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    local = start.astimezone(SHANGHAI)
    n = rule.length

    if rule.counting is Counting.HOURS:
        span = timedelta(hours=n)
        due_at = (start + span).astimezone(SHANGHAI)
        return Due(due_at=due_at, warn_at=due_at - span / 4, provisional=False, counting=rule.counting)

    provisional = False
    if rule.counting is Counting.WORKING_DAYS:
        last, provisional = add_working_days(local.date(), n, calendar)
    else:
        if rule.counting is Counting.CALENDAR_DAYS:
            last = local.date() + timedelta(days=n)
        else:  # Counting.MONTHS
            last = _add_months(local.date(), n)
        if rule.rolls:
            working, provisional = calendar.is_working_day(last)
            if not working:
                last, guess = _next_working_day(last, calendar)
                provisional |= guess

    warn_at = None
    d = last - timedelta(days=1)
    while d >= local.date():
        working, guess = calendar.is_working_day(d)
        provisional |= guess
        if working:
            candidate = _midnight(d)
            warn_at = candidate if candidate >= local else None
            break
        d -= timedelta(days=1)

    return Due(
        due_at=_midnight(last + timedelta(days=1)),
        warn_at=warn_at,
        provisional=provisional,
        counting=rule.counting,
    )
