"""Reading cases for a user: which they may open, and a case page's context (timeline,
deadlines, referral content, the coordinators' written reasons, delegated townships, and whether
a delegation's yearly review waits for this user's decision). The lists of cases are
:mod:`services.console.case_list`'s.

Building the case readers also registers the console's wording filters (``due_text``) on the
templates every page renders with, so list pages and case pages name a due date alike.
"""

from __future__ import annotations

import enum
import logging
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import Request
from sqlmodel import Session, select

from contracts.agencies import get_agency
from contracts.catalog import EVENT_TYPES
from services.console import access, lists, read
from services.console.actions import task_offers
from services.console.auth import (
    CurrentUser,
)
from services.console.case_facts import Reader, Step, is_system, model_of, raw_json
from services.console.svg import timeline_svg
from services.console.web import (
    TEMPLATES,
    Console,
    NotFound,
    _content_value,
)
from services.delegations.read_model import DelegatedItem
from services.delegations.reviews import decidable_by
from services.discipline.content import Referral, access_for, read_content
from services.discipline.crypto import ContentDecryptError, ContentKeyError, cipher_from_env
from services.i18n import agency_label, enum_label, field_label, install_filters
from services.readmodel import queries
from services.readmodel.accounts import Role
from services.readmodel.models import Case, Deadline

log = logging.getLogger("lawlink.console")
DELEGATION = "power_delegation"
# The permission the yearly review's form asks for (services.console.routes_reviews).
REVIEW_PERMISSION = "delegation.review"
# The case page's timeline rows per page, and how many of the first entries it draws and reads
# the facts and reasons from: a case of thousands of entries stays one bounded read.
TIMELINE_PER_PAGE = 100
DRAWN = 1000
install_filters(TEMPLATES.env)
# Lists of disputes (the inbox) offer claim/release by the same rule as the dispute page.
TEMPLATES.env.globals["dispute_offers"] = task_offers

# What a coordinator or a party wrote down with a step: the payload fields that carry the text.
WRITTEN_FIELDS: dict[str, tuple[str, ...]] = {
    "jurisdiction_dispute.coordination_requested": ("reason",),
    "jurisdiction_dispute.coordination_accepted": ("note",),
    "jurisdiction_dispute.coordination_rejected": ("reason",),
    "jurisdiction_dispute.opinion_requested": ("note",),
    "jurisdiction_dispute.extended": ("reason",),
    "jurisdiction_dispute.jurisdiction_designated": ("reason",),
    "jurisdiction_dispute.referred_to_government": ("reason",),
    "jurisdiction_dispute.interim_agency_named": ("measures", "reason"),
    "jurisdiction_dispute.unclaimed": ("reason",),
    "jurisdiction_dispute.reassigned": ("reason",),
    "jurisdiction_dispute.designation_acknowledged": ("note",),
}
_AGENCY_ID = re.compile(r"\b[a-z]{2}(?:-[a-z0-9]+)+\b")


@dataclass(frozen=True)
class Written:
    """One written reason or note: the step it came with, and its texts by field."""

    entry: Any
    texts: tuple[tuple[str, str], ...]


def written_reasons(entries: Iterable[Any]) -> list[Written]:
    """The reasons and notes written with a case's steps, oldest first (empty ones left out)."""
    out: list[Written] = []
    for e in entries:
        fields = WRITTEN_FIELDS.get(e.type, ())
        texts = tuple(
            (f, str(e.payload.get(f)).strip()) for f in fields if str(e.payload.get(f) or "").strip()
        )
        if texts:
            out.append(Written(entry=e, texts=texts))
    return out


def with_names(text: str, lang: str) -> str:
    """``text`` with every registered agency id replaced by the agency's name (workflow texts
    name agencies by id)."""
    return _AGENCY_ID.sub(
        lambda m: agency_label(m.group(0), lang) if get_agency(m.group(0)) else m.group(0), text
    )


def _enum_of(event_type: str, key: str) -> type[enum.Enum] | None:
    """The enum a payload field of ``event_type`` holds (itself or as list items), if any."""
    spec = EVENT_TYPES.get(event_type)
    info = spec.payload.model_fields.get(key) if spec is not None else None
    if info is None:
        return None
    candidates = [info.annotation, *typing.get_args(info.annotation)]
    for c in candidates:
        for t in [c, *typing.get_args(c)]:
            if isinstance(t, type) and issubclass(t, enum.Enum):
                return t
    return None


def content_text(event_type: str, key: str, value: Any, lang: str) -> str:
    """One field of referral content in words: enum values by their labels, agency ids by name."""
    kind = _enum_of(event_type, key)
    if kind is not None:
        values = value if isinstance(value, list) else [value]
        return "；".join(enum_label(kind.__name__, str(v), lang) for v in values) if values else "—"
    if isinstance(value, str) and get_agency(value) is not None:
        return agency_label(value, lang)
    return _content_value(value, lang)


# Who may also read a timeline row's payload as the workflow published it (JSON).
RAW_PAYLOAD_ROLES: frozenset[Role] = frozenset({Role.OPERATOR, Role.ADMIN})


@dataclass(frozen=True)
class Row:
    """One timeline row as the case page draws it: the entry, whether it is bookkeeping (folded
    by default), its payload's fields in words and, for operators, the raw payload."""

    entry: Any
    system: bool
    fields: tuple[Any, ...]
    raw: str | None


def timeline_rows(entries: Iterable[Any], reader: Reader, raw: bool) -> list[Row]:
    """The case page's timeline rows, in the entries' order."""
    return [
        Row(
            entry=e,
            system=is_system(e.kind, e.type),
            fields=reader.row_fields(Step(e.type, e.process, e.kind, e.payload, e.occurred_at)),
            raw=raw_json(e.payload) if raw and e.payload else None,
        )
        for e in entries
    ]


def case_steps(entries: Iterable[Any], content: Iterable[Any] | None, process: str) -> list[Step]:
    """The steps the facts are read from: the timeline, and a referral's decrypted content
    (its inbound events in full; the timeline carries only their public part), oldest first."""
    steps = [Step(e.type, e.process, e.kind, e.payload, e.occurred_at) for e in entries]
    steps += [Step(c.event_type, process, "received", c.content, c.occurred_at) for c in content or []]
    return sorted(steps, key=lambda s: s.occurred_at)


@dataclass(frozen=True)
class CaseViews:
    """The case readers the case, agency and dispute pages share (bound to one console)."""

    load_case: Callable[[Session, Request, CurrentUser, str, str], Case]
    case_context: Callable[[Request, CurrentUser, str, str], dict[str, Any]]


def deadline_parties(session: Session, workflow_id: str) -> set[str]:
    """The agencies a time limit of the case falls on (they may open it while it runs)."""
    return {
        p for p in session.exec(select(Deadline.party).where(Deadline.workflow_id == workflow_id)).all() if p
    }


def referral_of(session: Session, case: Case) -> Referral | None:
    """Who may read a confidential case's content (None for any other case)."""
    return access_for(session, case.case_id) if access.is_confidential(case) else None


def load_case(
    web: Console, session: Session, request: Request, user: CurrentUser, process: str, case_id: str
) -> Case:
    """The case, if ``user`` may open it; 404 when there is none, 403 (audited) when out of scope."""
    found = queries.find_cases(session, case_id=case_id, process=process)
    if not found:
        raise NotFound(f"{process} case {case_id}", what_zh=f"案件 {case_id}")
    case = found[0]
    if not access.can_open_case(
        user, case, deadline_parties(session, case.workflow_id), referral_of(session, case)
    ):
        raise web.forbid(request, user, "case.view", case.workflow_id, "case outside the role's scope")
    return case


def referral_content(session: Session, user: CurrentUser, case: Case) -> list[Any] | None:
    """The clue's decrypted content from the encrypted store (None: store unreadable)."""
    try:
        return read_content(session, cipher_from_env(), case.case_id, role=user.role.value)
    except (ContentKeyError, ContentDecryptError) as exc:
        log.warning("referral content of %s unavailable: %s", case.case_id, exc)
        return None


def review_open(session: Session, user: CurrentUser, case: Case) -> bool:
    """Has ``user`` a review of this delegation to decide now? The case page then links to the
    form, by the same rule the form offers itself with."""
    return (
        case.process == DELEGATION
        and access.allowed(user, REVIEW_PERMISSION)
        and bool(decidable_by(session, [case.workflow_id], user.agency))
    )


@dataclass(frozen=True)
class CaseRead:
    """What a case page reads of one case for one user: ``entries`` the timeline drawn (and the
    facts read) from, ``shown`` this page of its rows, ``total`` the rows in all."""

    case: Case
    readable: bool
    page: int
    entries: list[Any]
    shown: list[Any]
    total: int
    deadlines: list[Any]
    content: list[Any] | None
    townships: list[str]
    review_open: bool


def _timeline(
    session: Session, user: CurrentUser, case: Case, page: int, readable: bool
) -> tuple[list[Any], list[Any], int]:
    """The drawn entries, this page's rows and the rows' total: the rows a page at a time (a long
    case has thousands); the drawing, the facts and the written reasons from the first DRAWN
    entries, which hold the case's opening and its decisions."""
    if not readable:
        return [], [], 0
    shown, total = queries.timeline_page(
        session,
        case_id=case.case_id,
        process=case.process,
        offset=(page - 1) * TIMELINE_PER_PAGE,
        limit=TIMELINE_PER_PAGE,
    )
    drawn = (
        shown
        if total <= TIMELINE_PER_PAGE
        else queries.timeline(session, case_id=case.case_id, process=case.process, limit=DRAWN)
    )
    # When things happened (agency systems sync late; each row also shows when it was
    # recorded), then the workflow's order for steps of the same moment.
    entries, rows = (
        sorted(
            (e for e in found if access.can_read_entry(user, case, e.type)),
            key=lambda e: (e.occurred_at, e.seq),
        )
        for found in (drawn, shown)
    )
    return entries, rows, total


def _townships(session: Session, user: CurrentUser, case: Case) -> list[str]:
    """The townships a delegation grants powers to that ``user`` may open."""
    if case.process != DELEGATION:
        return []
    found = session.exec(
        select(DelegatedItem.township).where(DelegatedItem.workflow_id == case.workflow_id).distinct()
    ).all()
    return sorted(t for t in found if access.can_view_township(user, t))


def read_case(web: Console, request: Request, user: CurrentUser, process: str, case_id: str) -> CaseRead:
    """One case as ``user`` may see it, read in one session."""
    with Session(web.engine) as session:
        case = load_case(web, session, request, user, process, case_id)
        readable = access.can_read_content(user, case, referral_of(session, case))
        page = lists.number(request.query_params, "tl_page", 1, 1, lists.MAX_PAGE)
        entries, shown, total = _timeline(session, user, case, page, readable)
        return CaseRead(
            case=case,
            readable=readable,
            page=page,
            entries=entries,
            shown=shown,
            total=total,
            deadlines=queries.deadlines(session, case_id=case_id, process=process) if readable else [],
            content=referral_content(session, user, case)
            if readable and access.is_confidential(case)
            else None,
            townships=_townships(session, user, case),
            review_open=review_open(session, user, case),
        )


def _timeline_context(request: Request, user: CurrentUser, found: CaseRead, reader: Reader) -> dict[str, Any]:
    """The timeline table's part of the case page: its rows, pages and folded system rows."""
    rows = timeline_rows(found.shown, reader, raw=user.role in RAW_PAYLOAD_ROLES)
    paging = lists.Paging(found.page, TIMELINE_PER_PAGE, "time", "asc")
    return {
        "rows": rows,
        "timeline_pg": paging.of(rows, found.total),
        "timeline_links": lists.links(request.url.path, request.query_params, paging, prefix="tl_"),
        "drawn_partly": found.total > DRAWN,
        "drawn": DRAWN,
        "system_rows": sum(r.system for r in rows),
        "show_system": request.query_params.get("system") == "1",
    }


def case_context(
    web: Console, request: Request, user: CurrentUser, process: str, case_id: str
) -> dict[str, Any]:
    """Everything the case page (and the case's JSON) shows of one case to ``user``."""
    now = datetime.now(UTC)
    found = read_case(web, request, user, process, case_id)
    case, entries, deadlines, content = found.case, found.entries, found.deadlines, found.content
    calendar = read.work_calendar()
    lang = web.lang_of(request, user)
    reader = Reader(lang)
    return {
        "case": case,
        "readable": found.readable,
        "confidential": access.is_confidential(case),
        "entries": entries,
        "deadlines": deadlines,
        "live_deadlines": [
            (d, read.remaining(d, now, calendar)) for d in deadlines if d.status in read.LIVE_DEADLINE
        ],
        "svg": timeline_svg(entries, deadlines, process=process, now=now, closed=case.closed, lang=lang),
        "now": now,
        "content": content,
        "is_dispute": case.process == read.DISPUTE,
        "townships": found.townships,
        "review_open": found.review_open,
        "review_done": request.query_params.get("done") == "review",
        "written": written_reasons(entries),
        # What the case is about, for those who may read it (need-to-know: a referral's
        # content only when it was decrypted for this user).
        "substance": reader.substance(process, case_steps(entries, content, process))
        if found.readable
        else None,
        **_timeline_context(request, user, found, reader),
        "lt": lists.list_translator(lang),
        "content_fields": lambda c: reader.record(c.content, model_of(c.event_type), process),
        "with_names": lambda text: with_names(str(text or ""), lang),
        "field_label": lambda name: field_label(name, lang),
    }


def case_views(web: Console) -> CaseViews:
    """Case readers over ``web``'s database, checking what the user may see."""
    return CaseViews(load_case=partial(load_case, web), case_context=partial(case_context, web))
