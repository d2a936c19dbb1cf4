"""Time limits as data: what a rule is, so each process's definition can carry its own.

The due-date arithmetic (working-day calendar, settings) is in ``workflows/deadlines.py``; the
limits themselves, with the legal source that fixes each number, are declared by the process
they belong to (``rules`` of its :class:`~contracts.process.Process`), so a reviewer reads a
process's steps and its time limits in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ANCHOR_OCCURRED_AT = "occurred_at"
"""The anchor of most rules: the ``occurred_at`` of the event that opens the period."""

STATE_COUNCIL_310 = "国务院令第310号《行政执法机关移送涉嫌犯罪案件的规定》(2020修订)"
"""The regulation most case-transfer limits come from; its bare "3日" is a setting
(``LAWLINK_STATE_COUNCIL_DAYS``) because it does not say calendar or working days."""

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_ANCHOR_RE = re.compile(r"^[a-z][a-z0-9_]*$")


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


def limit(
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
    """One row of a process's table of time limits (the process is the name's prefix)."""
    return Rule(
        name, name.split(".", 1)[0], source, length, counting, zh, en, setting, anchor=anchor, nature=nature
    )


DAYS, WORKING_DAYS, HOURS, MONTHS = (
    Counting.CALENDAR_DAYS,
    Counting.WORKING_DAYS,
    Counting.HOURS,
    Counting.MONTHS,
)
