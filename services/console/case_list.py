"""The case list: its filters from the URL, one page of rows as the page and the API show them,
and the export of the whole filtered list (CSV or Excel, Chinese headers, streamed).

Rows follow the case page's need-to-know: a referral the user may not read is listed (it exists,
in this state) without its title or agencies, in the page and in the exports alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contracts.agencies import agencies
from contracts.catalog import PROCESSES
from services.console import access, lists, read
from services.console.auth import CurrentUser
from services.discipline.content import Referral, access_for
from services.i18n import agency_label, process_label, state_label
from services.readmodel.models import Case
from workflows.deadlines import SHANGHAI

_STATE = re.compile(r"^[a-z0-9_]{1,60}$")
EXPORT_HEADERS = ("流程", "案件编号", "标题", "状态", "已办结", "机关", "当事机关", "下一届满", "更新时间")


@dataclass(frozen=True)
class CaseQuery:
    """A case list as the URL asks for it."""

    filters: read.CaseFilters
    paging: lists.Paging
    export: str  # "", "csv" or "xlsx"


def parse(params: Mapping[str, str]) -> CaseQuery:
    """The filters, page and sort of ``params``; a value the list cannot use is refused, naming it.

    Raises:
        BadInput: naming the parameter, in Chinese and English.
    """
    state = lists.text(params, "state", 60)
    if state and not _STATE.match(state):
        raise lists.bad("state", f"无效的状态 {state!r}", f"not a state: {state!r}")
    filters = read.CaseFilters(
        process=lists.choice(params, "process", sorted(PROCESSES)),
        state=state,
        agency=lists.choice(params, "agency", sorted(agencies())),
        due_after=lists.day(params, "due_after"),
        due_before=lists.day(params, "due_before"),
        overdue=lists.flag(params, "overdue"),
        q=lists.text(params, "q", 100),
    )
    if filters.due_after and filters.due_before and filters.due_after > filters.due_before:
        raise lists.bad(
            "due_before",
            "截止日期早于起始日期",
            "the 'due on or before' day is earlier than the 'on or after' day",
        )
    paging = lists.paging(params, sorts=list(read.CASE_SORTS), default_sort="updated")
    return CaseQuery(filters, paging, lists.choice(params, "format", lists.EXPORT_FORMATS))


class _Readable:
    """Need-to-know per row, asking the read model once per referral."""

    def __init__(self, session: Session, user: CurrentUser) -> None:
        self.session, self.user = session, user

    def __call__(self, case: Case) -> bool:
        referral: Referral | None = (
            access_for(self.session, case.case_id) if access.is_confidential(case) else None
        )
        return access.can_read_content(self.user, case, referral)


def _row(item: read.CaseListRow, readable: bool) -> dict[str, Any]:
    c = item.case
    return {
        "process": c.process,
        "case_id": c.case_id,
        "state": c.state,
        "closed": c.closed,
        "agency": c.agency if readable else None,
        "parties": list(c.parties or []) if readable else [],
        "title": c.title if readable else None,
        "confidential": access.is_confidential(c),
        "updated_at": c.updated_at,
        "next_due_at": item.next_due_at if readable else None,
        "next_due_counting": item.next_due_counting if readable else None,
        "workflow_id": c.workflow_id,
        "readable": readable,
    }


def page_of(engine: Engine, user: CurrentUser, query: CaseQuery) -> lists.Page[dict[str, Any]]:
    """One page of ``user``'s case list."""
    with Session(engine) as session:
        scope = read.case_scope(session, user)
        found = read.case_page(session, scope, query.filters, query.paging, now=datetime.now(UTC))
        readable = _Readable(session, user)
        rows = [_row(item, readable(item.case)) for item in found.rows]
    return query.paging.of(rows, found.total)


def _due_cell(row: dict[str, Any]) -> Any:
    due: datetime | None = row["next_due_at"]
    if due is None:
        return None
    if row["next_due_counting"] == "hours":
        return due.astimezone(SHANGHAI).replace(tzinfo=None)
    return read.last_day(due)


def _export_rows(engine: Engine, user: CurrentUser, query: CaseQuery) -> Iterator[list[Any]]:
    with Session(engine) as session:
        scope = read.case_scope(session, user)
        readable = _Readable(session, user)
        for item in read.iter_cases(session, scope, query.filters, query.paging, now=datetime.now(UTC)):
            row = _row(item, readable(item.case))
            yield [
                process_label(row["process"], "zh"),
                row["case_id"],
                row["title"],
                state_label(row["process"], row["state"], "zh"),
                "是" if row["closed"] else "否",
                agency_label(row["agency"], "zh") if row["agency"] else None,
                "、".join(agency_label(a, "zh") for a in row["parties"]) or None,
                _due_cell(row),
                row["updated_at"].astimezone(SHANGHAI).replace(tzinfo=None),
            ]


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value


def export(engine: Engine, user: CurrentUser, query: CaseQuery) -> StreamingResponse:
    """The whole filtered list as a download, written while it is sent."""
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    rows = _export_rows(engine, user, query)
    if query.export == "csv":
        body = lists.csv_stream(EXPORT_HEADERS, ([_csv_value(v) for v in r] for r in rows))
        media, name = lists.CSV_MEDIA_TYPE, f"案件列表-{stamp}.csv"
    else:
        body = lists.xlsx_stream("案件列表", EXPORT_HEADERS, rows)
        media, name = lists.XLSX_MEDIA_TYPE, f"案件列表-{stamp}.xlsx"
    return StreamingResponse(body, media_type=media, headers=lists.attachment_headers(name))


def filter_summary(query: CaseQuery) -> str:
    """The filters of an export as the audit trail records them."""
    f = query.filters
    parts = {
        "process": f.process,
        "state": f.state,
        "agency": f.agency,
        "due_after": f.due_after.isoformat() if f.due_after else "",
        "due_before": f.due_before.isoformat() if f.due_before else "",
        "overdue": "1" if f.overdue else "",
        "q": f.q,
        "sort": f"{query.paging.sort} {query.paging.order}",
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)
