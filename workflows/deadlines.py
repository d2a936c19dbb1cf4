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
from enum import StrEnum
from types import MappingProxyType

import chinese_calendar

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

ANCHOR_OCCURRED_AT = "occurred_at"
"""The anchor of most rules: the ``occurred_at`` of the event that opens the period."""

# Bounds a search for the next working day: a schedule that marks a whole year as days off is
# an operator error, and an unbounded loop in a workflow task would be killed as a deadlock.
_MAX_SEARCH_DAYS = 366
# A setting larger than this is almost certainly a typo (e.g. minutes instead of days).
_MAX_SETTING = 1000
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_ANCHOR_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Not strftime("%A"): that follows the process locale, and messages should not vary with it.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Counting(StrEnum):
    """How a rule's length is counted.

    A ``StrEnum`` so rules serialise as plain strings in workflow inputs and JSON.
    """

    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    HOURS = "hours"
    MONTHS = "months"


class Nature(StrEnum):
    """What falling due means, so nobody is escalated who did nothing wrong.

    A duty falls due as a breach and is escalated; a window (a right a party may use, such as
    asking for reconsideration) lapses, which is nobody's fault; a reminder (an expectation no
    rule fixes) sends a reminder and is never worded or counted as a breach.
    """

    DUTY = "duty"
    WINDOW = "window"
    REMINDER = "reminder"


@dataclass(frozen=True)
class Rule:
    """One time limit, with the source that fixes it.

    Attributes:
        name: ``<process>.<step>``, e.g. ``case_transfer.head_decision``; the key in ``RULES``
            and the base of the rule's environment variable.
        process: The process the limit belongs to (the prefix of ``name``).
        source: The legal source (or, for settings, where the default comes from), so every
            number can be checked.
        length: How many units of ``counting`` the period lasts.
        counting: Calendar days, working days, hours or calendar months.
        label_zh: Chinese label for the console and notifications.
        label_en: English label for the console's English view.
        setting: True where no source fixes the number and DOMAIN.md gives a default; only
            those rules can be overridden, because a statutory number is not ours to change.
        anchor: What the period counts from: ``occurred_at`` (the opening event's own time),
            the name of the opening event's payload field that carries the legal start (service
            of a document, the talk of an inquiry, a delegation's effective date), or the name
            of a date the workflow holds and passes as the start (a review's start, the last
            day an extension runs on from). Never the time Lawlink processed the event.
        nature: Duty, window or reminder (:class:`Nature`).
        rolls: Whether a last day that is a day off moves to the next working day (calendar
            days and months; working days never end on one, hours never move).
    """

    name: str
    process: str
    source: str
    length: int
    counting: Counting
    label_zh: str
    label_en: str
    setting: bool = False
    anchor: str = ANCHOR_OCCURRED_AT
    nature: Nature = Nature.DUTY
    rolls: bool = True

    def __post_init__(self) -> None:
        # Rules also arrive deserialised from workflow inputs, so check them here rather than
        # trusting every producer.
        if not _NAME_RE.match(self.name) or self.name.split(".", 1)[0] != self.process:
            raise ValueError(f"rule name {self.name!r} must be '{self.process}.<snake_case_step>'")
        if isinstance(self.length, bool) or not isinstance(self.length, int) or self.length < 1:
            raise ValueError(f"rule {self.name}: length must be a positive integer")
        object.__setattr__(self, "counting", Counting(self.counting))
        object.__setattr__(self, "nature", Nature(self.nature))
        if not _ANCHOR_RE.match(self.anchor):
            raise ValueError(
                f"rule {self.name}: anchor {self.anchor!r} must be 'occurred_at' or a field name"
            )
        for attr in ("source", "label_zh", "label_en"):
            if not getattr(self, attr).strip():
                raise ValueError(f"rule {self.name}: {attr} must not be empty")


_SC = "国务院令第310号《行政执法机关移送涉嫌犯罪案件的规定》(2020修订)"
_MPS = "公安部《公安机关办理刑事案件程序规定》(立案监督)"
_SPP_REVERSE = "最高人民检察院《人民检察院行刑反向衔接工作指引》(2024)"
_DISPUTE = "《行政处罚法》第25条；市级行政执法协调规则(默认值，无国家时限)"
_DAY, _WD, _H, _MON = (
    Counting.CALENDAR_DAYS,
    Counting.WORKING_DAYS,
    Counting.HOURS,
    Counting.MONTHS,
)


_DUTY, _WINDOW, _REMINDER = Nature.DUTY, Nature.WINDOW, Nature.REMINDER


def _r(
    name: str,
    source: str,
    length: int,
    counting: Counting,
    zh: str,
    en: str,
    setting: bool = False,
    *,
    anchor: str = ANCHOR_OCCURRED_AT,
    nature: Nature = Nature.DUTY,
) -> Rule:
    return Rule(
        name, name.split(".", 1)[0], source, length, counting, zh, en, setting, anchor=anchor, nature=nature
    )


# One row per limit, kept as a table so it reads like DOMAIN.md.
# fmt: off
_DEFAULT_RULES: tuple[Rule, ...] = (
    # 1. Administrative-to-criminal case transfer (国务院令第310号).
    _r("case_transfer.head_decision", f"{_SC} 第5条", 3, _DAY,
       "负责人作出是否批准移送决定", "Agency head decides whether to approve the transfer"),
    _r("case_transfer.transfer_after_approval", f"{_SC} 第5条", 24, _H,
       "批准后向公安机关移送", "Transfer to the police after approval"),
    _r("case_transfer.police_receipt", f"{_SC} 第7条(签收回执；默认1个工作日)", 1, _WD,
       "公安机关签收移送案件", "Police sign the receipt of the transferred case", True),
    _r("case_transfer.police_forward", f"{_SC} 第7条", 24, _H,
       "公安机关转送有管辖权的机关", "Police forward the case to the competent authority"),
    _r("case_transfer.police_decision", f"{_SC} 第8条", 3, _DAY,
       "公安机关作出是否立案决定", "Police decide whether to file the case"),
    _r("case_transfer.reconsideration_request", f"{_SC} 第9条", 3, _DAY,
       "提请公安机关复议", "Agency asks the police to reconsider", nature=_WINDOW),
    _r("case_transfer.supervision_request", f"{_SC} 第9条", 3, _DAY,
       "建议人民检察院立案监督", "Agency asks the procuratorate to supervise", nature=_WINDOW),
    _r("case_transfer.reconsideration_decision", f"{_SC} 第9条", 3, _DAY,
       "公安机关作出复议决定", "Police decide the reconsideration"),
    _r("case_transfer.refer_after_reconsideration", f"{_SC} 第9条", 3, _DAY,
       "对复议决定有异议时建议检察院立案监督",
       "Agency refers to the procuratorate after the reconsideration", nature=_WINDOW),
    _r("case_transfer.police_explanation", _MPS, 7, _DAY,
       "公安机关说明不立案理由", "Police explain why they refused to file", anchor="served_at"),
    _r("case_transfer.filing_after_order", _MPS, 15, _DAY,
       "公安机关依检察院通知立案", "Police file the case as the procuratorate ordered"),
    _r("case_transfer.materials_handover", f"{_SC} 第12条", 3, _DAY,
       "移交涉案物品和有关材料", "Agency hands over exhibits and materials"),
    # Reverse path (刑事 → 行政).
    _r("reverse_transfer.internal_handover", _SPP_REVERSE, 3, _WD,
       "刑事检察部门移交行政检察部门",
       "Criminal department hands the case to the administrative-procuratorial department"),
    _r("reverse_transfer.review", _SPP_REVERSE, 10, _WD,
       "行政检察部门审查", "Administrative-procuratorial review"),
    _r("reverse_transfer.review_extension", f"{_SPP_REVERSE}(经检察长批准延长一次)", 10, _WD,
       "审查期限延长", "Review extension (once, approved by the chief procurator)",
       anchor="review_last_day"),
    _r("reverse_transfer.agency_reply", "高检发释字〔2021〕4号", 2, _MON,
       "主管机关书面回复检察意见", "Agency replies in writing to the procuratorial opinion",
       anchor="served_at"),
    _r("reverse_transfer.police_return", f"{_SC} 第13条(“及时”；默认3日)", 3, _DAY,
       "公安机关将案件移回行政执法机关", "Police return the case to the agency", True),
    # 2. Jurisdiction dispute coordination: no national limits, all settings.
    _r("jurisdiction_dispute.negotiation", _DISPUTE, 5, _WD,
       "争议各方协商", "Parties negotiate", True, nature=_WINDOW),
    _r("jurisdiction_dispute.coordination_acceptance", _DISPUTE, 3, _WD,
       "协调机构决定是否受理", "Coordinator accepts or rejects the request", True),
    _r("jurisdiction_dispute.opinion", _DISPUTE, 7, _WD,
       "争议方提交书面意见", "Party submits a written opinion", True),
    _r("jurisdiction_dispute.designation", _DISPUTE, 15, _WD,
       "协调机构指定管辖", "Coordinator designates the competent agency", True),
    _r("jurisdiction_dispute.extension", _DISPUTE, 10, _WD,
       "指定管辖期限延长", "Designation extension (once, with reasons)", True),
    _r("jurisdiction_dispute.acknowledgement", _DISPUTE, 2, _WD,
       "被指定机关确认", "Designated agency acknowledges", True),
    # 3. Referral of problem clues to discipline inspection.
    _r("discipline_referral.head_approval", f"{_SC} 第18-19条(移送义务；审批时限为默认值)", 5, _WD,
       "移送机关负责人审批", "Referring body's head approves the referral", True),
    _r("discipline_referral.forward", "《监察法实施条例》第171条", 5, _WD,
       "转送有管辖权的监察机关", "Commission forwards the clue to the competent commission"),
    _r("discipline_referral.inquiry_close", "《中国共产党纪律检查机关监督执纪工作规则》(谈话函询)",
       30, _DAY, "谈话函询办结", "Talk or letter inquiry closes", anchor="inquiry_on"),
    _r("discipline_referral.disposition_expectation", "默认提醒期限(非法定；仅提醒，不决定结果)",
       30, _DAY, "处置情况预期反馈", "Expected acknowledgement of the disposition", True,
       nature=_REMINDER),
    # 4. Delegation of enforcement powers to townships.
    _r("power_delegation.review_after_effective", "《行政处罚法》第24条；市实施方案任务33(赋权一年后评估)",
       12, _MON, "赋权生效一年后评估", "Review one year after the delegation took effect",
       anchor="effective_date"),
    _r("power_delegation.assessment_window", "市实施方案任务33(收集评估意见；默认值)", 20, _WD,
       "收集评估意见", "Collect assessments", True,
       anchor="review_start"),
)
# fmt: on

STATE_COUNCIL_DAY_RULES: frozenset[str] = frozenset(
    r.name for r in _DEFAULT_RULES if r.source.startswith(_SC) and r.counting is _DAY
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
