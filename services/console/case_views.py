"""Reading cases for a user: which they may open, the case list rows, and a case page's context
(timeline, deadlines, referral content, delegated townships)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlmodel import Session, select

from services.console import access, read
from services.console.auth import (
    CurrentUser,
)
from services.console.svg import timeline_svg
from services.console.web import (
    Console,
    NotFound,
)
from services.delegations.read_model import DelegatedItem
from services.discipline.content import Referral, access_for, read_content
from services.discipline.crypto import ContentDecryptError, ContentKeyError, cipher_from_env
from services.registry import queries
from services.registry.models import Case, Deadline

log = logging.getLogger("lawlink.console")
DELEGATION = "power_delegation"


@dataclass(frozen=True)
class CaseViews:
    """The case readers the case, agency and dispute pages share (bound to one console)."""

    load_case: Callable[[Session, Request, CurrentUser, str, str], Case]
    case_rows: Callable[[CurrentUser, str | None, str | None, str | None], list[dict[str, Any]]]
    case_context: Callable[[Request, CurrentUser, str, str], dict[str, Any]]


def case_views(web: Console) -> CaseViews:
    """Case readers over ``web``'s database, checking what the user may see."""
    engine, lang_of, forbid = web.engine, web.lang_of, web.forbid

    def deadline_parties(session: Session, workflow_id: str) -> set[str]:
        return {
            p
            for p in session.exec(select(Deadline.party).where(Deadline.workflow_id == workflow_id)).all()
            if p
        }

    def load_case(session: Session, request: Request, user: CurrentUser, process: str, case_id: str) -> Case:
        found = queries.find_cases(session, case_id=case_id, process=process)
        if not found:
            raise NotFound(f"{process} case {case_id}")
        case = found[0]
        if not access.can_open_case(
            user, case, deadline_parties(session, case.workflow_id), referral_of(session, case)
        ):
            raise forbid(request, user, "case.view", case.workflow_id, "case outside the role's scope")
        return case

    def referral_of(session: Session, case: Case) -> Referral | None:
        return access_for(session, case.case_id) if access.is_confidential(case) else None

    def case_rows(
        user: CurrentUser, process: str | None, state: str | None, search: str | None
    ) -> list[dict[str, Any]]:
        with Session(engine) as session:
            cases = read.cases_of(
                session,
                visible=None
                if access.reaches_everything(user, "cases.list")
                else lambda case, owing: access.can_open_case(user, case, owing, referral_of(session, case)),
                process=process or None,
                state=state or None,
                search=search or None,
            )
            out = []
            for c in cases:
                readable = access.can_read_content(user, c, referral_of(session, c))
                out.append(
                    {
                        "process": c.process,
                        "case_id": c.case_id,
                        "state": c.state,
                        "closed": c.closed,
                        "agency": c.agency if readable else None,
                        "title": c.title if readable else None,
                        "confidential": access.is_confidential(c),
                        "updated_at": c.updated_at,
                        "workflow_id": c.workflow_id,
                        "readable": readable,
                    }
                )
            return out

    def case_context(request: Request, user: CurrentUser, process: str, case_id: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        content: list[Any] | None = None
        with Session(engine) as session:
            case = load_case(session, request, user, process, case_id)
            readable = access.can_read_content(user, case, referral_of(session, case))
            entries = queries.timeline(session, case_id=case_id, process=process) if readable else []
            # When things happened (agency systems sync late; each row also shows when it was
            # recorded), then the workflow's order for steps of the same moment.
            entries = sorted(
                (e for e in entries if access.can_read_entry(user, case, e.type)),
                key=lambda e: (e.occurred_at, e.seq),
            )
            deadlines = queries.deadlines(session, case_id=case_id, process=process) if readable else []
            if readable and access.is_confidential(case):
                content = referral_content(session, user, case)
            townships: list[str] = []
            if case.process == DELEGATION:
                found = session.exec(
                    select(DelegatedItem.township)
                    .where(DelegatedItem.workflow_id == case.workflow_id)
                    .distinct()
                ).all()
                townships = sorted(t for t in found if access.can_view_township(user, t))
        calendar = read.work_calendar()
        live = [(d, read.remaining(d, now, calendar)) for d in deadlines if d.status in read.LIVE_DEADLINE]
        svg = timeline_svg(
            entries, deadlines, process=process, now=now, closed=case.closed, lang=lang_of(request, user)
        )
        return {
            "case": case,
            "readable": readable,
            "confidential": access.is_confidential(case),
            "entries": entries,
            "deadlines": deadlines,
            "live_deadlines": live,
            "svg": svg,
            "now": now,
            "content": content,
            "is_dispute": case.process == read.DISPUTE,
            "townships": townships,
        }

    def referral_content(session: Session, user: CurrentUser, case: Case) -> list[Any] | None:
        """The clue's decrypted content from issue 5's encrypted store (None: store unreadable)."""
        try:
            return read_content(session, cipher_from_env(), case.case_id, role=user.role.value)
        except (ContentKeyError, ContentDecryptError) as exc:
            log.warning("referral content of %s unavailable: %s", case.case_id, exc)
            return None

    return CaseViews(load_case=load_case, case_rows=case_rows, case_context=case_context)
