"""A page of a list: which rows, how many in all, and the days a date filter spans.

Kept apart from :mod:`services.console.lists` (the URL parameters and exports), which needs the
web layer, so the read queries (:mod:`services.console.read`) can return pages without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar

from workflows.deadlines import SHANGHAI

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and where it sits in the whole."""

    rows: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the list has (one, even when empty)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers the pager links: the first, the last, and those near this one (None: a gap)."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        out: list[int | None] = []
        for n in sorted(x for x in wanted if 1 <= x <= self.pages):
            if out and out[-1] is not None and n - out[-1] > 1:  # type: ignore[operator]
                out.append(None)
            out.append(n)
        return out


@dataclass(frozen=True)
class Paging:
    """Which page, how long, sorted how."""

    page: int
    per_page: int
    sort: str
    order: str  # asc | desc

    @property
    def offset(self) -> int:
        """Rows before the page asked for."""
        return (self.page - 1) * self.per_page

    def of(self, rows: list[T], total: int) -> Page[T]:
        """The page these rows are."""
        return Page(rows, total, self.page, self.per_page)


def day_start(d: date) -> datetime:
    """Midnight at the start of ``d`` in Shanghai."""
    return datetime.combine(d, time.min, tzinfo=SHANGHAI)


def day_end(d: date) -> datetime:
    """Midnight at the end of ``d`` in Shanghai (the first instant after it)."""
    return day_start(d + timedelta(days=1))
