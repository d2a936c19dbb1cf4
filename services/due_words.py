"""When a deadline falls due, in the words officials use: one wording for notifications, the
daily digest and every console page, so no two places name different days for one limit.

A day limit's ``due_at`` is the first instant after it (00:00 of the next day, Asia/Shanghai);
printing that instant reads a day late, so day limits name their last day "by end of day". Hour
limits, and a day limit that does not end at midnight, name the instant itself.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def due_words(due_at: datetime, counting: str | None) -> tuple[str, str]:
    """(zh, en) of when a limit falls due: "2026-12-09当日结束前" for a day limit due at the
    midnight that starts the 10th, "2026-12-10 14:30前" for an instant."""
    local = due_at.astimezone(SHANGHAI)
    if local.time() == time(0) and counting != "hours":
        last = (local - timedelta(days=1)).date()
        return f"{last:%Y-%m-%d}当日结束前", f"the end of {last:%Y-%m-%d}"
    return f"{local:%Y-%m-%d %H:%M}前", f"{local:%Y-%m-%d %H:%M} (Asia/Shanghai)"
