"""Tests of the statutory time limits and the working-day calendar (workflows/deadlines.py)."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.deadlines import (
    RULES,
    SHANGHAI,
    STATE_COUNCIL_DAY_RULES,
    Counting,
    Due,
    Rule,
    WorkCalendar,
    YearSchedule,
    add_working_days,
    compute_due,
    env_var_for,
    load_rules,
    parse_year_schedule,
    working_days_between,
)

CAL = WorkCalendar()
PROCESSES = {
    "case_transfer",
    "reverse_transfer",
    "jurisdiction_dispute",
    "discipline_referral",
    "power_delegation",
}


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def rule(counting: Counting, length: int) -> Rule:
    return Rule("test.rule", "test", "test source", length, counting, "测试", "test")


def schedule_2027() -> YearSchedule:
    # A made-up 2027 schedule: New Year on Friday Jan 1, Spring Festival off Feb 8-12
    # (Mon-Fri), Sunday Feb 7 and Saturday Feb 20 worked.
    return parse_year_schedule(
        {
            "year": 2027,
            "holidays": ["2027-01-01", *[f"2027-02-{d:02d}" for d in range(8, 13)]],
            "workdays": ["2027-02-07", "2027-02-20"],
        }
    )


# ----- the package data the tests rely on ---------------------------------------------------


def test_package_data_national_day_2025_and_spring_festival_2026() -> None:
    """Pin chinese_calendar's data so a package upgrade that changes it fails loudly here."""
    off_2025 = [date(2025, 10, d) for d in range(1, 9)]
    assert not any(chinese_calendar.is_workday(d) for d in off_2025)
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # Sunday, worked
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # Saturday, worked
    off_2026 = [date(2026, 2, d) for d in range(15, 24)]
    assert not any(chinese_calendar.is_workday(d) for d in off_2026)
    assert chinese_calendar.is_workday(date(2026, 2, 14))  # Saturday, worked
    assert chinese_calendar.is_workday(date(2026, 2, 28))  # Saturday, worked
    assert chinese_calendar.is_workday(date(2026, 2, 24))


def test_shanghai_offset_matches_the_tz_database() -> None:
    """SHANGHAI is a fixed +08:00; pin that Asia/Shanghai has no other offset in our range."""
    zone = ZoneInfo("Asia/Shanghai")
    d = datetime(2000, 1, 1, tzinfo=UTC)
    while d.year < 2040:
        assert d.astimezone(zone).utcoffset() == d.astimezone(SHANGHAI).utcoffset()
        d += timedelta(days=7, hours=1)
    assert sh(2025, 10, 1).isoformat() == "2025-10-01T00:00:00+08:00"


# ----- the rule table ---------------------------------------------------------------------


def test_every_rule_has_source_labels_and_matching_name() -> None:
    assert RULES
    for name, r in RULES.items():
        assert r.name == name
        assert r.process in PROCESSES
        assert name.startswith(r.process + ".")
        assert r.source.strip() and r.label_zh.strip() and r.label_en.strip()
        assert r.length >= 1
        assert isinstance(r.counting, Counting)


@pytest.mark.parametrize(
    ("name", "length", "counting", "setting"),
    [
        ("case_transfer.head_decision", 3, Counting.CALENDAR_DAYS, False),
        ("case_transfer.transfer_after_approval", 24, Counting.HOURS, False),
        ("case_transfer.police_forward", 24, Counting.HOURS, False),
        ("case_transfer.police_decision", 3, Counting.CALENDAR_DAYS, False),
        ("case_transfer.reconsideration_request", 3, Counting.CALENDAR_DAYS, False),
        ("case_transfer.supervision_request", 3, Counting.CALENDAR_DAYS, False),
        ("case_transfer.reconsideration_decision", 3, Counting.CALENDAR_DAYS, False),
        ("case_transfer.refer_after_reconsideration", 3, Counting.CALENDAR_DAYS, False),
        ("case_transfer.police_explanation", 7, Counting.CALENDAR_DAYS, False),
        ("case_transfer.filing_after_order", 15, Counting.CALENDAR_DAYS, False),
        ("case_transfer.materials_handover", 3, Counting.CALENDAR_DAYS, False),
        ("reverse_transfer.internal_handover", 3, Counting.WORKING_DAYS, False),
        ("reverse_transfer.review", 10, Counting.WORKING_DAYS, False),
        ("reverse_transfer.review_extension", 10, Counting.WORKING_DAYS, False),
        ("reverse_transfer.agency_reply", 2, Counting.MONTHS, False),
        ("reverse_transfer.police_return", 3, Counting.CALENDAR_DAYS, True),
        ("jurisdiction_dispute.negotiation", 5, Counting.WORKING_DAYS, True),
        ("jurisdiction_dispute.coordination_acceptance", 3, Counting.WORKING_DAYS, True),
        ("jurisdiction_dispute.opinion", 7, Counting.WORKING_DAYS, True),
        ("jurisdiction_dispute.designation", 15, Counting.WORKING_DAYS, True),
        ("jurisdiction_dispute.extension", 10, Counting.WORKING_DAYS, True),
        ("jurisdiction_dispute.acknowledgement", 2, Counting.WORKING_DAYS, True),
        ("discipline_referral.head_approval", 5, Counting.WORKING_DAYS, True),
        ("discipline_referral.forward", 5, Counting.WORKING_DAYS, False),
        ("discipline_referral.inquiry_close", 30, Counting.CALENDAR_DAYS, False),
        ("discipline_referral.disposition_expectation", 30, Counting.CALENDAR_DAYS, True),
        ("power_delegation.review_after_effective", 12, Counting.MONTHS, False),
        ("power_delegation.assessment_window", 20, Counting.WORKING_DAYS, True),
    ],
)
def test_rule_table_matches_domain(name: str, length: int, counting: Counting, setting: bool) -> None:
    r = RULES[name]
    assert (r.length, r.counting, r.setting) == (length, counting, setting)


def test_state_council_rules_cite_order_310() -> None:
    assert "case_transfer.head_decision" in STATE_COUNCIL_DAY_RULES
    assert "case_transfer.police_explanation" not in STATE_COUNCIL_DAY_RULES  # MPS rules
    for name in STATE_COUNCIL_DAY_RULES:
        assert "国务院令第310号" in RULES[name].source
        assert RULES[name].counting is Counting.CALENDAR_DAYS


def test_rule_rejects_bad_definitions() -> None:
    with pytest.raises(ValueError, match="length"):
        rule(Counting.HOURS, 0)
    with pytest.raises(ValueError, match="source"):
        Rule("test.rule", "test", " ", 1, Counting.HOURS, "测试", "test")
    with pytest.raises(ValueError, match="name"):
        Rule("other.rule", "test", "s", 1, Counting.HOURS, "测试", "test")
    # A counting that arrives as a plain string (deserialised input) is normalised.
    assert Rule("test.rule", "test", "s", 1, "hours", "测试", "test").counting is Counting.HOURS


# ----- settings -----------------------------------------------------------------------------


def test_load_rules_defaults_equal_rules_and_ignore_unrelated_env() -> None:
    assert load_rules({}) == RULES
    assert load_rules({"PATH": "/bin", "LAWLINK_DB_URL": "x"}) == RULES


def test_env_override_of_a_setting() -> None:
    var = env_var_for("discipline_referral.head_approval")
    assert var == "LAWLINK_RULE_DISCIPLINE_REFERRAL__HEAD_APPROVAL"
    rules = load_rules({var: " 7 "})
    assert rules["discipline_referral.head_approval"].length == 7
    assert rules["discipline_referral.head_approval"].counting is Counting.WORKING_DAYS
    # Nothing else moves, and the defaults table is untouched.
    assert {k: v for k, v in rules.items() if k != "discipline_referral.head_approval"} == {
        k: v for k, v in RULES.items() if k != "discipline_referral.head_approval"
    }
    assert RULES["discipline_referral.head_approval"].length == 5


@pytest.mark.parametrize("value", ["", "abc", "0", "-3", "2.5", "1e3", "99999", "٣"])
def test_env_override_bad_value_names_the_variable(value: str) -> None:
    var = "LAWLINK_RULE_JURISDICTION_DISPUTE__NEGOTIATION"
    with pytest.raises(ValueError, match=var):
        load_rules({var: value})


def test_env_override_unknown_rule_names_the_variable() -> None:
    with pytest.raises(ValueError, match="LAWLINK_RULE_CASE_TRANSFER__NO_SUCH_STEP"):
        load_rules({"LAWLINK_RULE_CASE_TRANSFER__NO_SUCH_STEP": "3"})


def test_env_override_of_a_statutory_rule_is_refused() -> None:
    var = "LAWLINK_RULE_CASE_TRANSFER__HEAD_DECISION"
    with pytest.raises(ValueError, match=f"{var}.*not a setting"):
        load_rules({var: "5"})


def test_state_council_days_switch_to_working_days() -> None:
    rules = load_rules({"LAWLINK_STATE_COUNCIL_DAYS": "working"})
    for name in STATE_COUNCIL_DAY_RULES:
        assert rules[name].counting is Counting.WORKING_DAYS
    assert rules["case_transfer.police_explanation"].counting is Counting.CALENDAR_DAYS
    assert rules["case_transfer.transfer_after_approval"].counting is Counting.HOURS
    assert load_rules({"LAWLINK_STATE_COUNCIL_DAYS": "calendar"}) == RULES
    with pytest.raises(ValueError, match="LAWLINK_STATE_COUNCIL_DAYS"):
        load_rules({"LAWLINK_STATE_COUNCIL_DAYS": "weekdays"})


def test_switch_and_override_combine() -> None:
    rules = load_rules(
        {
            "LAWLINK_STATE_COUNCIL_DAYS": "working",
            "LAWLINK_RULE_REVERSE_TRANSFER__POLICE_RETURN": "2",
        }
    )
    r = rules["reverse_transfer.police_return"]
    assert (r.length, r.counting) == (2, Counting.WORKING_DAYS)


# ----- working days -------------------------------------------------------------------------


def test_working_days_across_national_day_2025() -> None:
    # Tuesday Sep 30 is the last working day before the holiday (Oct 1-8 off).
    assert add_working_days(date(2025, 9, 30), 1, CAL) == (date(2025, 10, 9), False)
    assert add_working_days(date(2025, 9, 30), 2, CAL) == (date(2025, 10, 10), False)
    # Saturday Oct 11 is an adjusted working day and counts; Sunday Oct 12 does not.
    assert add_working_days(date(2025, 9, 30), 3, CAL) == (date(2025, 10, 11), False)
    assert add_working_days(date(2025, 9, 30), 4, CAL) == (date(2025, 10, 13), False)
    # Sunday Sep 28 is worked: Friday Sep 26 + 1 working day is that Sunday.
    assert add_working_days(date(2025, 9, 26), 1, CAL) == (date(2025, 9, 28), False)
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 13), CAL) == 4
    assert working_days_between(date(2025, 9, 26), date(2025, 10, 1), CAL) == 3


def test_working_days_across_spring_festival_2026() -> None:
    # Friday Feb 13 -> Saturday Feb 14 (worked) -> holiday Feb 15-23 -> Tuesday Feb 24.
    assert add_working_days(date(2026, 2, 13), 1, CAL) == (date(2026, 2, 14), False)
    assert add_working_days(date(2026, 2, 13), 2, CAL) == (date(2026, 2, 24), False)
    # Feb 24-27 (Tue-Fri), then Saturday Feb 28 is worked.
    assert add_working_days(date(2026, 2, 13), 6, CAL) == (date(2026, 2, 28), False)
    assert add_working_days(date(2026, 2, 13), 7, CAL) == (date(2026, 3, 2), False)
    assert CAL.is_working_day(date(2026, 2, 28)) == (True, False)
    assert CAL.is_working_day(date(2026, 2, 16)) == (False, False)


def test_add_zero_and_negative_working_days() -> None:
    assert add_working_days(date(2025, 10, 1), 0, CAL) == (date(2025, 10, 1), False)
    with pytest.raises(ValueError):
        add_working_days(date(2025, 10, 1), -1, CAL)


def test_working_days_between_sign_and_zero() -> None:
    d = date(2025, 10, 13)
    assert working_days_between(d, d, CAL) == 0
    assert working_days_between(date(2025, 10, 13), date(2025, 9, 30), CAL) == -4
    # Days off are not counted when going back either.
    assert working_days_between(date(2025, 10, 9), date(2025, 10, 8), CAL) == -1
    assert working_days_between(date(2025, 10, 8), date(2025, 10, 7), CAL) == 0


def test_working_day_due_ends_on_adjusted_saturday() -> None:
    due = compute_due(sh(2025, 9, 30, 15), RULES["reverse_transfer.internal_handover"], CAL)
    # 3 working days after Sep 30: Oct 9, 10, 11 (Saturday, worked).
    assert due == Due(sh(2025, 10, 12), sh(2025, 10, 10), False, Counting.WORKING_DAYS)


# ----- calendar days ------------------------------------------------------------------------


def test_calendar_day_deadline_ending_on_holiday_extends() -> None:
    # Report on Sep 29: 3 days -> Oct 2 (holiday) -> extended to Thursday Oct 9.
    due = compute_due(sh(2025, 9, 29, 10), RULES["case_transfer.head_decision"], CAL)
    assert due.due_at == sh(2025, 10, 10)
    assert due.provisional is False
    assert due.counting is Counting.CALENDAR_DAYS
    # Warning: the working day before Oct 9 is Sep 30, after the start.
    assert due.warn_at == sh(2025, 9, 30)


def test_calendar_day_deadline_on_a_working_day_is_not_moved() -> None:
    # Monday Oct 13 2025 + 3 = Thursday Oct 16; the start day is not counted.
    due = compute_due(sh(2025, 10, 13, 9), RULES["case_transfer.police_decision"], CAL)
    assert due.due_at == sh(2025, 10, 17)
    assert due.warn_at == sh(2025, 10, 15)


def test_calendar_day_deadline_ending_on_weekend_extends_to_monday() -> None:
    # Wednesday Oct 15 2025 + 3 = Saturday Oct 18 -> Monday Oct 20.
    due = compute_due(sh(2025, 10, 15, 9), RULES["case_transfer.police_decision"], CAL)
    assert due.due_at == sh(2025, 10, 21)
    assert due.warn_at == sh(2025, 10, 17)


def test_calendar_day_deadline_ending_on_worked_sunday_is_not_moved() -> None:
    # Thursday Sep 25 2025 + 3 = Sunday Sep 28, an adjusted working day.
    due = compute_due(sh(2025, 9, 25, 9), RULES["case_transfer.police_decision"], CAL)
    assert due.due_at == sh(2025, 9, 29)
    assert due.warn_at == sh(2025, 9, 26)


def test_state_council_working_days_changes_the_deadline() -> None:
    rules = load_rules({"LAWLINK_STATE_COUNCIL_DAYS": "working"})
    due = compute_due(sh(2025, 10, 15, 9), rules["case_transfer.police_decision"], CAL)
    # Oct 16, 17, 20 (Mon).
    assert due.due_at == sh(2025, 10, 21)
    assert due.counting is Counting.WORKING_DAYS
    due = compute_due(sh(2025, 10, 13, 9), rules["case_transfer.police_decision"], CAL)
    assert due.due_at == sh(2025, 10, 17)


def test_start_is_read_in_shanghai_time() -> None:
    # 17:00 UTC on Oct 12 is 01:00 on Monday Oct 13 in Shanghai.
    start = datetime(2025, 10, 12, 17, tzinfo=UTC)
    due = compute_due(start, RULES["case_transfer.police_decision"], CAL)
    assert due.due_at == sh(2025, 10, 17)
    assert due.due_at.tzinfo is SHANGHAI


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        compute_due(datetime(2025, 10, 13, 9), RULES["case_transfer.police_decision"], CAL)


# ----- hours --------------------------------------------------------------------------------


def test_24_hour_rule() -> None:
    start = sh(2025, 9, 30, 16, 30)
    due = compute_due(start, RULES["case_transfer.transfer_after_approval"], CAL)
    # Hours run through holidays and nights.
    assert due == Due(sh(2025, 10, 1, 16, 30), sh(2025, 10, 1, 10, 30), False, Counting.HOURS)
    utc_start = datetime(2025, 9, 30, 8, 30, tzinfo=UTC)
    assert compute_due(utc_start, RULES["case_transfer.police_forward"], CAL).due_at == due.due_at


# ----- months -------------------------------------------------------------------------------


def test_months_rule_same_day_rolls_off_the_weekend() -> None:
    # Two months after March 10 is Saturday May 10: the period ends on Monday May 12 (民法典 art. 203).
    due = compute_due(sh(2025, 3, 10, 14), RULES["reverse_transfer.agency_reply"], CAL)
    assert due.due_at == sh(2025, 5, 13)
    assert due.warn_at == sh(2025, 5, 9)  # Friday, the working day before Monday May 12
    assert due.counting is Counting.MONTHS
    fixed = load_rules({"LAWLINK_MONTH_LIMITS": "fixed"})["reverse_transfer.agency_reply"]
    assert compute_due(sh(2025, 3, 10, 14), fixed, CAL).due_at == sh(2025, 5, 11)


def test_month_setting_names_the_variable() -> None:
    with pytest.raises(ValueError, match="LAWLINK_MONTH_LIMITS='sometimes'"):
        load_rules({"LAWLINK_MONTH_LIMITS": "sometimes"})


def test_months_rule_clamps_jan_31_to_month_end() -> None:
    one_month = replace(rule(Counting.MONTHS, 1), rolls=False)
    assert compute_due(sh(2025, 1, 31, 9), one_month, CAL).due_at == sh(2025, 3, 1)  # Feb 28
    assert compute_due(sh(2024, 1, 31, 9), one_month, CAL).due_at == sh(2024, 3, 1)  # Feb 29
    two_months = replace(rule(Counting.MONTHS, 2), rolls=False)
    assert compute_due(sh(2025, 12, 31, 9), two_months, CAL).due_at == sh(2026, 3, 1)
    # Rolling (the default): Feb 28 2026 is a Saturday worked for the Spring Festival and stays;
    # May 31 2025 (from Mar 31) opens the Dragon Boat holiday (May 31-Jun 2): Tuesday Jun 3.
    assert compute_due(sh(2025, 12, 31, 9), rule(Counting.MONTHS, 2), CAL).due_at == sh(2026, 3, 1)
    assert compute_due(sh(2025, 3, 31, 9), rule(Counting.MONTHS, 2), CAL).due_at == sh(2025, 6, 4)


def test_months_rule_rolls_off_national_day() -> None:
    # Two months after Aug 1 2025 is Oct 1, inside the 2025 National Day holiday (Oct 1-8): the
    # period ends on Thursday Oct 9, the first working day after it.
    due = compute_due(sh(2025, 8, 1, 9), RULES["reverse_transfer.agency_reply"], CAL)
    assert due.due_at == sh(2025, 10, 10)
    assert due.warn_at == sh(2025, 9, 30)
    fixed = load_rules({"LAWLINK_MONTH_LIMITS": "fixed"})["reverse_transfer.agency_reply"]
    assert compute_due(sh(2025, 8, 1, 9), fixed, CAL).due_at == sh(2025, 10, 2)


def test_yearly_review() -> None:
    due = compute_due(sh(2025, 7, 1), RULES["power_delegation.review_after_effective"], CAL)
    assert due.due_at == sh(2026, 7, 2)
    assert due.warn_at == sh(2026, 6, 30)


# ----- warnings -----------------------------------------------------------------------------


def test_warn_one_working_day_before_across_weekend() -> None:
    # Thursday Oct 16 2025 + 5 working days = Thursday Oct 23; warn from Wednesday Oct 22.
    due = compute_due(sh(2025, 10, 16, 11), RULES["jurisdiction_dispute.negotiation"], CAL)
    assert due.due_at == sh(2025, 10, 24)
    assert due.warn_at == sh(2025, 10, 22)
    # Ending on Monday Oct 27 (Oct 20 + 5): warn from Friday Oct 24, skipping the weekend.
    due = compute_due(sh(2025, 10, 20, 11), RULES["jurisdiction_dispute.negotiation"], CAL)
    assert due.due_at == sh(2025, 10, 28)
    assert due.warn_at == sh(2025, 10, 24)


def test_warn_skips_holidays() -> None:
    # Ending on Thursday Oct 9 2025: the working day before is Tuesday Sep 30.
    due = compute_due(sh(2025, 9, 26, 9), rule(Counting.WORKING_DAYS, 4), CAL)
    assert due.due_at == sh(2025, 10, 10)  # Sep 28 (Sun, worked), 29, 30, Oct 9
    assert due.warn_at == sh(2025, 9, 30)


def test_too_short_to_warn() -> None:
    # 1 working day: the working day before the last day is the start day, already begun.
    due = compute_due(sh(2025, 10, 13, 9), rule(Counting.WORKING_DAYS, 1), CAL)
    assert due.due_at == sh(2025, 10, 15)
    assert due.warn_at is None
    # Starting exactly at midnight, the start day's 00:00 is not before the start: warn then.
    due = compute_due(sh(2025, 10, 13), rule(Counting.WORKING_DAYS, 1), CAL)
    assert due.warn_at == sh(2025, 10, 13)


# ----- unknown years and loaded schedules ----------------------------------------------------


def test_unknown_year_falls_back_to_monday_friday() -> None:
    cal = WorkCalendar()
    assert cal.knows(2026) and not cal.knows(2027)
    assert cal.is_working_day(date(2027, 1, 1)) == (True, True)  # Friday, no data: a guess
    assert cal.is_working_day(date(2027, 1, 2)) == (False, True)
    assert cal.is_working_day(date(2003, 6, 2)) == (True, True)  # before the package's data
    assert add_working_days(date(2026, 12, 30), 3, cal) == (date(2027, 1, 4), True)
    assert add_working_days(date(2026, 12, 28), 2, cal) == (date(2026, 12, 30), False)


def test_unknown_year_deadline_is_provisional() -> None:
    due = compute_due(sh(2026, 12, 30, 10), RULES["jurisdiction_dispute.negotiation"], CAL)
    # Dec 31, then Mon-Fri in 2027: Jan 1, 4, 5, 6.
    assert due.due_at == sh(2027, 1, 7)
    assert due.warn_at == sh(2027, 1, 5)
    assert due.provisional is True
    # Consulting only 2026 days stays official.
    due = compute_due(sh(2026, 12, 1, 10), RULES["jurisdiction_dispute.negotiation"], CAL)
    assert due.provisional is False


def test_months_rule_into_unknown_year_is_provisional_only_through_its_warning() -> None:
    due = compute_due(sh(2026, 3, 1, 10), RULES["power_delegation.review_after_effective"], CAL)
    assert due.due_at == sh(2027, 3, 2)
    assert due.warn_at == sh(2027, 2, 26)  # Friday before Monday Mar 1 (fallback)
    assert due.provisional is True


def test_loaded_schedule_makes_unknown_year_official() -> None:
    cal = WorkCalendar({2027: schedule_2027()})
    assert cal.knows(2027)
    assert cal.is_working_day(date(2027, 1, 1)) == (False, False)
    assert cal.is_working_day(date(2027, 2, 7)) == (True, False)  # worked Sunday
    assert cal.is_working_day(date(2027, 2, 10)) == (False, False)
    assert cal.is_working_day(date(2027, 2, 13)) == (False, False)  # ordinary Saturday
    due = compute_due(sh(2026, 12, 30, 10), RULES["jurisdiction_dispute.negotiation"], cal)
    # Dec 31, then Jan 4, 5, 6, 7 (Jan 1 off).
    assert due.due_at == sh(2027, 1, 8)
    assert due.warn_at == sh(2027, 1, 6)
    assert due.provisional is False
    # Across the loaded Spring Festival: Feb 5 (Fri) -> Feb 7 (Sun, worked) -> Feb 15.
    assert add_working_days(date(2027, 2, 5), 2, cal) == (date(2027, 2, 15), False)
    # A calendar-day deadline ending in the loaded holiday is extended past it.
    due = compute_due(sh(2027, 2, 6, 9), RULES["case_transfer.police_decision"], cal)
    # Saturday Feb 6 + 3 = Tuesday Feb 9, a loaded holiday; Feb 10-12 are off and Feb 13-14
    # an ordinary weekend, so the last day is Monday Feb 15.
    assert due.due_at == sh(2027, 2, 16)
    # Warned from the worked Sunday Feb 7, the last working day before it.
    assert due.warn_at == sh(2027, 2, 7)


def test_extra_year_overrides_the_package() -> None:
    # An operator correction for 2026: Monday Mar 2 off.
    fix = YearSchedule(2026, holidays=(date(2026, 3, 2),))
    cal = WorkCalendar({2026: fix})
    assert cal.is_working_day(date(2026, 3, 2)) == (False, False)
    # The extra year replaces the package's year entirely.
    assert cal.is_working_day(date(2026, 2, 16)) == (True, False)
    with pytest.raises(ValueError, match=r"extra\[2025\]"):
        WorkCalendar({2025: fix})


def test_calendar_never_raises_far_out() -> None:
    cal = WorkCalendar()
    for year in (1900, 2003, 2027, 2050, 2999):
        assert cal.is_working_day(date(year, 3, 3))[1] is True
        assert cal.knows(year) is False


# ----- parse_year_schedule ------------------------------------------------------------------


def test_parse_year_schedule_sorts_dates() -> None:
    s = parse_year_schedule(
        {"year": 2027, "holidays": ["2027-10-01", "2027-01-01"], "workdays": ["2027-09-26"]}
    )
    assert s == YearSchedule(2027, (date(2027, 1, 1), date(2027, 10, 1)), (date(2027, 9, 26),))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"holidays": [], "workdays": []}, "year"),
        ({"year": 2027, "workdays": []}, "holidays"),
        ({"year": 2027, "holidays": []}, "workdays"),
        ({"year": "2027", "holidays": [], "workdays": []}, "year"),
        ({"year": True, "holidays": [], "workdays": []}, "year"),
        ({"year": 2027, "holidays": "2027-01-01", "workdays": []}, "holidays"),
        ({"year": 2027, "holidays": ["2027-02-30"], "workdays": []}, r"holidays\[0\]"),
        ({"year": 2027, "holidays": ["2027-1-1"], "workdays": []}, r"holidays\[0\]"),
        ({"year": 2027, "holidays": ["20270101"], "workdays": []}, r"holidays\[0\]"),
        ({"year": 2027, "holidays": [20270101], "workdays": []}, r"holidays\[0\]"),
        ({"year": 2027, "holidays": ["2027-01-01", "2026-12-31"], "workdays": []}, r"holidays\[1\]"),
        ({"year": 2027, "holidays": [], "workdays": ["2028-01-08"]}, r"workdays\[0\]"),
        ({"year": 2027, "holidays": [], "workdays": ["2027-02-08"]}, r"workdays\[0\].*Monday"),
        ({"year": 2027, "holidays": ["2027-01-01", "2027-01-01"], "workdays": []}, r"holidays\[1\]"),
        ({"year": 2027, "holidays": ["2027-02-07"], "workdays": ["2027-02-07"]}, "holidays/workdays"),
        ({"year": 2027, "holidays": [], "workdays": [], "holiday": []}, "holiday"),
        (["2027-01-01"], "schedule"),
    ],
)
def test_parse_year_schedule_errors_name_the_field(data: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        parse_year_schedule(data)  # type: ignore[arg-type]


def test_year_schedule_checks_itself() -> None:
    with pytest.raises(ValueError, match="holidays"):
        YearSchedule(2027, holidays=(date(2026, 12, 31),))
    with pytest.raises(ValueError, match="both"):
        YearSchedule(2027, holidays=(date(2027, 2, 7),), workdays=(date(2027, 2, 7),))


# ----- properties ---------------------------------------------------------------------------

_OFFSETS = st.sampled_from([SHANGHAI, UTC, timezone(timedelta(hours=-10)), timezone(timedelta(hours=14))])
_STARTS = st.builds(
    lambda d, t, tz: datetime.combine(d, t, tzinfo=tz),
    st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    st.times(),
    _OFFSETS,
)
_SWITCHED = load_rules({"LAWLINK_STATE_COUNCIL_DAYS": "working"})
_ALL_RULES = [*RULES.values(), *(_SWITCHED[n] for n in sorted(STATE_COUNCIL_DAY_RULES))]
_CALENDARS = st.sampled_from([WorkCalendar(), WorkCalendar({2027: schedule_2027()})])


@settings(max_examples=300, deadline=None)
@given(start=_STARTS, r=st.sampled_from(_ALL_RULES), cal=_CALENDARS)
def test_compute_due_is_total_and_ordered(start: datetime, r: Rule, cal: WorkCalendar) -> None:
    due = compute_due(start, r, cal)
    assert due.due_at > start
    assert due.warn_at is None or start <= due.warn_at < due.due_at
    assert due.due_at.tzinfo is SHANGHAI
    assert due.warn_at is None or due.warn_at.tzinfo is SHANGHAI
    assert due.counting is r.counting
    if r.counting is not Counting.HOURS:
        assert due.due_at.time() == time(0)
        last = due.due_at.date() - timedelta(days=1)
        if r.counting is not Counting.MONTHS:
            assert cal.is_working_day(last)[0]
        if due.warn_at is not None:
            assert cal.is_working_day(due.warn_at.date())[0]
            # The warning day is the last working day before the last day.
            assert due.warn_at.date() < last
            assert working_days_between(due.warn_at.date(), last - timedelta(days=1), cal) == 0
    # Deterministic: the same inputs give the same answer, even on a fresh calendar.
    assert compute_due(start, r, WorkCalendar(cal.extra)) == due


@settings(max_examples=300, deadline=None)
@given(start=_STARTS)
def test_every_rule_never_raises(start: datetime) -> None:
    for r in RULES.values():
        due = compute_due(start, r, CAL)
        assert due.due_at > start
        assert due.warn_at is None or start <= due.warn_at < due.due_at


@settings(max_examples=300, deadline=None)
@given(d=st.dates(date(2020, 1, 1), date(2030, 12, 31)), n=st.integers(0, 40), cal=_CALENDARS)
def test_add_working_days_inverts_working_days_between(d: date, n: int, cal: WorkCalendar) -> None:
    end, provisional = add_working_days(d, n, cal)
    assert working_days_between(d, end, cal) == n
    assert working_days_between(end, d, cal) == -n
    if n:
        assert end > d and cal.is_working_day(end)[0]
    # Provisional exactly when a day passed over lies in a year without data.
    passed_years = range((d + timedelta(days=1)).year, end.year + 1) if n else range(0)
    assert provisional is any(not cal.knows(y) for y in passed_years)


@settings(max_examples=200, deadline=None)
@given(start=_STARTS, n=st.integers(1, 60))
def test_working_day_rule_counts_n_working_days(start: datetime, n: int) -> None:
    due = compute_due(start, rule(Counting.WORKING_DAYS, n), CAL)
    local_day = start.astimezone(SHANGHAI).date()
    last = due.due_at.date() - timedelta(days=1)
    assert working_days_between(local_day, last, CAL) == n
