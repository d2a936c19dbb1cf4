"""The coordinator inbox as a paged list: its filters from the URL and the template context.

The inbox page's handler passes :func:`inbox_view`'s mapping to ``inbox.html``, which then shows
the pager, the total and sortable columns; the same filters as before (agency, state, overdue,
search), the search now over titles, document numbers, parties and case ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from contracts.agencies import agencies
from services.console import lists, read
from services.console.auth import CurrentUser

# The inbox's views: every open dispute of the office, the user's own claims, nobody's yet.
INBOX_VIEWS = ("all", "mine", "unclaimed")


def inbox_view(engine: Engine, user: CurrentUser, params: Mapping[str, str], lang: str) -> dict[str, Any]:
    """The rows of one page of ``user``'s inbox and everything ``inbox.html`` needs around them.

    Raises:
        BadInput: naming a parameter the inbox cannot use, in Chinese and English.
    """
    paging = lists.paging(params, sorts=list(read.INBOX_SORTS), default_sort="due", default_order="asc")
    agency = lists.choice(params, "agency", sorted(agencies()))
    state = lists.choice(params, "state", sorted(read.OPEN_STATES))
    overdue = lists.flag(params, "overdue")
    q = lists.text(params, "q", 100)
    view = lists.choice(params, "view", list(INBOX_VIEWS)) or "all"
    with Session(engine) as session:
        found = read.inbox_page(
            session,
            office=user.agency,
            now=datetime.now(UTC),
            calendar=read.work_calendar(),
            paging=paging,
            agency=agency or None,
            state=state or None,
            overdue_only=overdue,
            search=q or None,
            claimed_by=user.username if view == "mine" else None,
            unclaimed=view == "unclaimed",
        )
    return {
        "rows": found.rows,
        "pg": found,
        "links": lists.links("/inbox", params, paging, due="asc", case_id="asc"),
        "lt": lists.list_translator(lang),
        "agency": agency,
        "state": state,
        "overdue": overdue,
        "q": q,
        "view": view,
        "views": INBOX_VIEWS,
    }
