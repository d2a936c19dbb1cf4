"""The coordinator inbox as a paged list: its filters from the URL, one page of rows, and the
template context.

The inbox page's handler passes :func:`inbox_view`'s mapping to ``inbox.html``, which then shows
the pager, the total and sortable columns; ``/api/inbox`` answers the same page of the same query
(:func:`parse` and :func:`page_of`), so a link copied from the page and the JSON list agree. The
filters: agency (a party), state, overdue, search (titles, document numbers, parties and case
ids) and the view (all, mine, unclaimed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from contracts.agencies import agencies
from services.console import lists, read
from services.console.auth import CurrentUser
from services.console.paging import Page, Paging

# The inbox's views: every open dispute of the office, the user's own claims, nobody's yet.
INBOX_VIEWS = ("all", "mine", "unclaimed")


@dataclass(frozen=True)
class InboxQuery:
    """An inbox page as the URL asks for it."""

    paging: Paging
    agency: str
    state: str
    overdue: bool
    q: str
    view: str


def parse(params: Mapping[str, str]) -> InboxQuery:
    """The filters, view, page and sort of ``params``.

    Raises:
        BadInput: naming a parameter the inbox cannot use, in Chinese and English.
    """
    return InboxQuery(
        paging=lists.paging(params, sorts=list(read.INBOX_SORTS), default_sort="due", default_order="asc"),
        agency=lists.choice(params, "agency", sorted(agencies())),
        state=lists.choice(params, "state", sorted(read.OPEN_STATES)),
        overdue=lists.flag(params, "overdue"),
        q=lists.text(params, "q", 100),
        view=lists.choice(params, "view", list(INBOX_VIEWS)) or "all",
    )


def page_of(engine: Engine, user: CurrentUser, query: InboxQuery) -> Page[read.DisputeRow]:
    """One page of the open disputes waiting for ``user``'s office, with the total."""
    with Session(engine) as session:
        return read.inbox_page(
            session,
            office=user.agency,
            now=datetime.now(UTC),
            calendar=read.work_calendar(),
            paging=query.paging,
            agency=query.agency or None,
            state=query.state or None,
            overdue_only=query.overdue,
            search=query.q or None,
            claimed_by=user.username if query.view == "mine" else None,
            unclaimed=query.view == "unclaimed",
        )


def row_json(row: read.DisputeRow) -> dict[str, Any]:
    """One inbox row as ``/api/inbox`` lists it: the task, its next deadline's rule and time left."""
    return {
        **row.task.model_dump(mode="json"),
        "rule": row.deadline.rule if row.deadline else None,
        "left": row.remaining.amount if row.remaining else None,
        "unit": row.remaining.unit if row.remaining else None,
    }


def inbox_view(engine: Engine, user: CurrentUser, params: Mapping[str, str], lang: str) -> dict[str, Any]:
    """The rows of one page of ``user``'s inbox and everything ``inbox.html`` needs around them.

    Raises:
        BadInput: naming a parameter the inbox cannot use, in Chinese and English.
    """
    query = parse(params)
    found = page_of(engine, user, query)
    return {
        "rows": found.rows,
        "pg": found,
        "links": lists.links("/inbox", params, query.paging, due="asc", case_id="asc"),
        "lt": lists.list_translator(lang),
        "agency": query.agency,
        "state": query.state,
        "overdue": query.overdue,
        "q": query.q,
        "view": query.view,
        "views": INBOX_VIEWS,
    }
