"""What the console's pages show, read from the read model (never written here).

Each function answers one page's question in the process's own terms: which disputes need a
decision and how many working days are left, what an agency must do next, how many deadlines
each agency has breached. Visibility (who may see which case) is applied by the callers through
:mod:`services.console.access`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from contracts.agencies import agencies
from contracts.jurisdiction_dispute import CLOSED_STATES, COORDINATOR_STATES, OPEN_STATES
from contracts.jurisdiction_dispute import State as DisputeState
from services.calendar_store import load_schedules
from services.console import access
from services.console.auth import CurrentUser
from services.console.paging import Page, Paging, day_end, day_start
from services.delegations.read_model import DelegatedItem
from services.discipline.content import DISCIPLINE_OFFICER, Referral, ReferralAccess
from services.discipline.content import can_read_content as discipline_rule
from services.disputes.inbox import DisputeTask, DisputeTaskPublic
from services.readmodel import queries
from services.readmodel.accounts import AuditEntry
from services.readmodel.case_index import NO_DUE, CaseAgency, CaseIndex, matches
from services.readmodel.models import Case, DeadLetter, Deadline, DeadlinePublic, TimelineEntry
from services.readmodel.notification_queries import ROLE_SEES
from services.readmodel.notifications import NotificationRead, NotificationRecord
from workflows import deadlines as dl

DISPUTE = "jurisdiction_dispute"
LIVE_DEADLINE = ("open", "breached", "reminded")
# States in which a dispute waits for the coordinating office (the inbox).
INBOX_STATES: frozenset[str] = frozenset(
    COORDINATOR_STATES | {DisputeState.COORDINATION_REQUESTED, DisputeState.REFERRED}
)


def work_calendar() -> dl.WorkCalendar:
    """China's calendar with the schedules operators loaded (``lawlink calendar load``)."""
    try:
        schedules = load_schedules()
    except ValueError:
        schedules = ()
    extra = {
        s.year: dl.parse_year_schedule(
            {"year": s.year, "holidays": list(s.holidays), "workdays": list(s.workdays)}
        )
        for s in schedules
    }
    return dl.WorkCalendar(extra=extra)


def last_day(due_at: datetime) -> date:
    """The last day of a period (``due_at`` is the first instant after it), in Shanghai."""
    return (due_at - timedelta(microseconds=1)).astimezone(dl.SHANGHAI).date()


@dataclass(frozen=True)
class Remaining:
    """How long until a deadline, in the unit its rule counts."""

    amount: int
    unit: str  # working_days_left | calendar_days_left | hours_left
    overdue: bool
    today: bool


def remaining(d: DeadlinePublic | Deadline, now: datetime, calendar: dl.WorkCalendar) -> Remaining:
    """Working days where the rule counts them, hours for hour rules, calendar days otherwise.

    Only a duty is ever overdue: a window that ran out lapsed, and a reminder is not a breach.
    """
    overdue = d.status == "breached" or (d.due_at <= now and d.nature == "duty")
    if d.counting == "hours":
        hours = int((d.due_at - now).total_seconds() // 3600)
        return Remaining(hours, "hours_left", overdue, False)
    today = now.astimezone(dl.SHANGHAI).date()
    end = last_day(d.due_at)
    if d.counting == "working_days":
        amount = dl.working_days_between(today, end, calendar)
        unit = "working_days_left"
    else:
        amount = (end - today).days
        unit = "calendar_days_left"
    return Remaining(amount, unit, overdue, end == today and not overdue)


@dataclass
class DisputeRow:
    """One line of the coordinator inbox: the dispute task plus its soonest live deadline."""

    task: DisputeTaskPublic
    deadline: DeadlinePublic | None
    remaining: Remaining | None

    @property
    def case_id(self) -> str:
        """The dispute's business key."""
        return self.task.case_id


@dataclass
class DisputeDetail:
    """What the dispute page shows beside the timeline."""

    opened: dict[str, Any] = field(default_factory=dict)
    opinions: list[TimelineEntry] = field(default_factory=list)
    requests: list[TimelineEntry] = field(default_factory=list)
    claimed_by: str | None = None
    claimed_by_name: str | None = None
    extended: bool = False
    designated: str | None = None


def dispute_detail(session: Session, case_id: str) -> DisputeDetail:
    """Claims, opinions and the claim holder, from the dispute's own domain events."""
    rows = session.exec(
        select(TimelineEntry)
        .where(TimelineEntry.process == DISPUTE, TimelineEntry.case_id == case_id)
        .order_by(col(TimelineEntry.seq))
    ).all()
    out = DisputeDetail()
    for row in rows:
        if row.type == f"{DISPUTE}.opened":
            out.opened = dict(row.payload)
        elif row.type == f"{DISPUTE}.opinion_submitted":
            out.opinions.append(row)
        elif row.type == f"{DISPUTE}.opinion_requested":
            out.requests.append(row)
        elif row.type == f"{DISPUTE}.claimed":
            out.claimed_by = row.payload.get("coordinator")
            out.claimed_by_name = row.payload.get("coordinator_name")
        elif row.type == f"{DISPUTE}.unclaimed":
            out.claimed_by = out.claimed_by_name = None
        elif row.type == f"{DISPUTE}.extended":
            out.extended = True
        elif row.type == f"{DISPUTE}.jurisdiction_designated":
            out.designated = row.payload.get("agency")
    return out


def _live_deadlines(session: Session, workflow_ids: list[str]) -> dict[str, list[Deadline]]:
    out: dict[str, list[Deadline]] = defaultdict(list)
    if not workflow_ids:
        return out
    rows = session.exec(
        select(Deadline)
        .where(col(Deadline.workflow_id).in_(workflow_ids), col(Deadline.status).in_(LIVE_DEADLINE))
        .order_by(col(Deadline.due_at))
    ).all()
    for row in rows:
        out[row.workflow_id].append(row)
    return out


@dataclass
class Dashboard:
    """The operator's overview; the deadline and dead-letter lists are one page each."""

    counts: list[tuple[str, str, int]]
    due_today: Page[DeadlinePublic]
    due_week: Page[DeadlinePublic]
    breached_by_agency: list[tuple[str | None, int]]
    events_per_hour: list[tuple[str, int]]
    dead_letters: Page[DeadLetter]


@dataclass(frozen=True)
class DashboardPaging:
    """Which page of each of the dashboard's lists."""

    today: Paging
    week: Paging
    letters: Paging
    pending_letters_only: bool = False


def dashboard(session: Session, *, now: datetime, paging: DashboardPaging) -> Dashboard:
    """Counts by process and state, deadlines falling due, breaches by agency, throughput."""
    counts = [
        (p, s, n)
        for p, s, n in session.exec(
            select(Case.process, Case.state, func.count())
            .group_by(Case.process, Case.state)
            .order_by(Case.process, Case.state)
        ).all()
    ]
    today = now.astimezone(dl.SHANGHAI).date()
    today_end = day_end(today)
    week_end = day_end(today + timedelta(days=6))
    due_today = deadlines_due(session, after=None, until=today_end, paging=paging.today)
    due_week = deadlines_due(session, after=today_end, until=week_end, paging=paging.week)
    breached = session.exec(
        select(Deadline.party, func.count()).where(Deadline.status == "breached").group_by(Deadline.party)
    ).all()
    breached_by_agency = sorted(((p, n) for p, n in breached), key=lambda r: (-r[1], r[0] or ""))
    since = now - timedelta(hours=24)
    times = session.exec(
        select(TimelineEntry.occurred_at).where(col(TimelineEntry.occurred_at) >= since)
    ).all()
    per_hour = Counter(t.astimezone(dl.SHANGHAI).replace(minute=0, second=0, microsecond=0) for t in times)
    first_hour = since.astimezone(dl.SHANGHAI).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hours = [first_hour + timedelta(hours=i) for i in range(24)]
    events_per_hour = [(h.strftime("%H:00"), per_hour.get(h, 0)) for h in hours]
    rows, total = queries.dead_letter_page(
        session,
        include_replayed=not paging.pending_letters_only,
        offset=paging.letters.offset,
        limit=paging.letters.per_page,
    )
    letters = paging.letters.of(rows, total)
    return Dashboard(counts, due_today, due_week, breached_by_agency, events_per_hour, letters)


def agency_todo(session: Session, agency: str) -> list[Deadline]:
    """What ``agency`` must do next: its open or breached deadlines, soonest first."""
    return list(
        session.exec(
            select(Deadline)
            .where(Deadline.party == agency, col(Deadline.status).in_(LIVE_DEADLINE))
            .order_by(col(Deadline.due_at))
        ).all()
    )


def dispute_is_open(state: str) -> bool:
    """True while a dispute has not ended."""
    return state in OPEN_STATES


def township_item_counts(session: Session) -> dict[str, dict[str, int]]:
    """Delegated items per township and item state (the township list's columns)."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    rows = session.exec(
        select(DelegatedItem.township, DelegatedItem.state, func.count()).group_by(
            DelegatedItem.township, DelegatedItem.state
        )
    ).all()
    for township, state, count in rows:
        out[township][state] = int(count)
    return dict(out)


def days_until(when: datetime | None, now: datetime) -> int | None:
    """Calendar days from today to ``when``'s day in Shanghai (negative once passed; None: no date).

    A review date is a calendar date set by the delegation (one year after it took effect), so
    it is counted in calendar days, not working days.
    """
    if when is None:
        return None
    return (when.astimezone(dl.SHANGHAI).date() - now.astimezone(dl.SHANGHAI).date()).days


# ----- paged lists -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseScope:
    """Which cases a user's list holds: every case, or those involving one of ``agencies``, plus
    the referrals whose need-to-know circle the user is in (``referrals``; None: every referral)."""

    everything: bool
    agencies: frozenset[str] = frozenset()
    referrals: frozenset[str] | None = frozenset()


def case_scope(session: Session, user: CurrentUser) -> CaseScope:
    """The cases ``user`` may see listed: the same rule as opening one
    (:func:`services.console.access.can_open_case`), as a set of agencies the index is asked for."""
    scope = access.scope_of(user, "cases.list")
    if scope is None:
        return CaseScope(everything=False)
    if scope is access.Scope.ALL:
        return CaseScope(everything=True)
    known = agencies()
    reached = frozenset(a for a in known if access.covers(user, scope, (a,)))
    if reached == frozenset(known):
        return CaseScope(everything=True)
    referrals: frozenset[str] | None = frozenset()
    if user.agency and (user.role.value == DISCIPLINE_OFFICER or user.is_head):
        if discipline_rule(user.role.value, user.agency, user.is_head, Referral(None, None, ())):
            referrals = None  # a commission that reads every referral (the city's)
        else:
            rows = session.exec(select(ReferralAccess)).all()
            referrals = frozenset(
                r.workflow_id
                for r in rows
                if discipline_rule(user.role.value, user.agency, user.is_head, Referral.from_row(r))
            )
    return CaseScope(everything=False, agencies=reached, referrals=referrals)


@dataclass(frozen=True)
class CaseFilters:
    """The case list's filters, as the URL gives them."""

    process: str = ""
    state: str = ""
    agency: str = ""
    due_after: date | None = None
    due_before: date | None = None
    overdue: bool = False
    q: str = ""


CASE_SORTS: dict[str, Any] = {
    "updated": Case.updated_at,
    "due": CaseIndex.next_due_at,
    "agency": Case.agency,
    "case_id": Case.case_id,
    "opened": Case.opened_at,
}


def _case_where(
    session: Session, scope: CaseScope, filters: CaseFilters, now: datetime, *, joined: bool = False
) -> list[Any]:
    """The conditions of a case list, each on ``case`` itself: the index tables are asked in
    sub-queries, so the planner drives from whichever set is smallest and checks the others
    (joined, SQLite probed the search hits once per case of the agency: a quadratic plan).
    With ``case_index`` ``joined`` (sorted by due date), the due-date conditions go on it, so
    the due-date index gives the rows in order."""
    where: list[Any] = []
    if not scope.everything:
        involved = select(CaseAgency.workflow_id).where(col(CaseAgency.agency).in_(sorted(scope.agencies)))
        reach = [col(Case.workflow_id).in_(involved)]
        if scope.referrals is None:
            reach.append(col(Case.confidential).is_(True))
        elif scope.referrals:
            reach.append(col(Case.workflow_id).in_(sorted(scope.referrals)))
        where.append(or_(*reach))
    if filters.process:
        where.append(Case.process == filters.process)
    if filters.state:
        where.append(Case.state == filters.state)
    if filters.agency:
        where.append(
            col(Case.workflow_id).in_(
                select(CaseAgency.workflow_id).where(CaseAgency.agency == filters.agency)
            )
        )
    due: list[Any] = []
    if filters.due_after is not None:
        due += [
            col(CaseIndex.next_due_at) > day_start(filters.due_after),
            col(CaseIndex.next_due_at) < NO_DUE,
        ]
    if filters.due_before is not None:
        due.append(col(CaseIndex.next_due_at) <= day_end(filters.due_before))
    if filters.overdue:
        due.append(col(CaseIndex.next_due_at) <= now)
    if due and joined:
        where += due
    elif due:
        where.append(col(Case.workflow_id).in_(select(CaseIndex.workflow_id).where(*due)))
    if filters.q:
        found = matches(session.get_bind().dialect.name, filters.q)
        if found is not None:
            where.append(col(Case.workflow_id).in_(select(CaseIndex.workflow_id).where(found)))
    return where


def _case_select(session: Session, scope: CaseScope, filters: CaseFilters, sort: str, now: datetime) -> Any:
    query = select(Case)
    joined = sort == "due"
    if joined:
        query = query.join(CaseIndex, col(CaseIndex.workflow_id) == col(Case.workflow_id))
    return query.where(*_case_where(session, scope, filters, now, joined=joined))


def _case_order(paging: Paging) -> list[Any]:
    column = col(CASE_SORTS[paging.sort])
    direction = column.asc() if paging.order == "asc" else column.desc()
    tie = col(Case.workflow_id).asc() if paging.order == "asc" else col(Case.workflow_id).desc()
    return [direction, tie]


def _with_due(session: Session, cases: list[Case]) -> list[CaseListRow]:
    """``cases`` with their next due dates (one query for the lot)."""
    found: dict[str, tuple[datetime, str | None]] = {}
    ids = [c.workflow_id for c in cases]
    if ids:
        for workflow_id, due, counting in session.exec(
            select(CaseIndex.workflow_id, CaseIndex.next_due_at, CaseIndex.next_due_counting).where(
                col(CaseIndex.workflow_id).in_(ids)
            )
        ):
            found[workflow_id] = (due, counting)
    return [_list_row(c, *found.get(c.workflow_id, (None, None))) for c in cases]


def case_page(
    session: Session, scope: CaseScope, filters: CaseFilters, paging: Paging, *, now: datetime
) -> Page[CaseListRow]:
    """One page of the cases ``scope`` reaches that pass ``filters``, with the total and each
    case's next duty's due date."""
    where = _case_where(session, scope, filters, now)
    total = int(session.exec(select(func.count()).select_from(Case).where(*where)).one())
    query = _case_select(session, scope, filters, paging.sort, now)
    cases = list(
        session.exec(query.order_by(*_case_order(paging)).offset(paging.offset).limit(paging.per_page))
    )
    return paging.of(_with_due(session, cases), total)


def iter_cases(
    session: Session, scope: CaseScope, filters: CaseFilters, paging: Paging, *, now: datetime
) -> Iterator[CaseListRow]:
    """Every case of the filtered list in its order, read in batches (the exports)."""
    query = _case_select(session, scope, filters, paging.sort, now).order_by(*_case_order(paging))
    batch: list[Case] = []
    for case in session.exec(query.execution_options(yield_per=500)):
        batch.append(case)
        if len(batch) >= 500:
            yield from _with_due(session, batch)
            batch = []
    yield from _with_due(session, batch)


@dataclass(frozen=True)
class CaseListRow:
    """A case of a list and its next duty's due date (None: nothing pending)."""

    case: Case
    next_due_at: datetime | None
    next_due_counting: str | None


def _list_row(case: Case, due: datetime | None, counting: str | None) -> CaseListRow:
    if due is None or due >= NO_DUE:
        return CaseListRow(case, None, None)
    return CaseListRow(case, due, counting)


INBOX_SORTS: dict[str, Any] = {
    "due": DisputeTask.due_at,
    "updated": DisputeTask.updated_at,
    "case_id": DisputeTask.case_id,
}


def inbox_page(
    session: Session,
    *,
    office: str | None,
    now: datetime,
    calendar: dl.WorkCalendar,
    paging: Paging,
    agency: str | None = None,
    state: str | None = None,
    overdue_only: bool = False,
    search: str | None = None,
    claimed_by: str | None = None,
    unclaimed: bool = False,
) -> Page[DisputeRow]:
    """One page of the coordinator inbox, with its total: sorted
    by due date (rows without one last), last change or case id; ``search`` finds titles,
    document numbers, parties and case ids; ``agency`` a party; ``claimed_by`` one
    coordinator's disputes ("mine"), ``unclaimed`` those nobody holds."""
    query = select(DisputeTask)
    where: list[Any] = []
    if office:
        where.append(or_(DisputeTask.coordinator_office == office, DisputeTask.referred_to == office))
    if state:
        where.append(DisputeTask.state == state)
    else:
        where.append(col(DisputeTask.state).not_in(sorted(CLOSED_STATES)))
    if overdue_only:
        where += [col(DisputeTask.due_at).is_not(None), col(DisputeTask.due_at) < now]
    if claimed_by:
        where.append(DisputeTask.claimed_by == claimed_by)
    if unclaimed:
        where.append(col(DisputeTask.claimed_by).is_(None))
    if agency:
        where.append(
            col(DisputeTask.workflow_id).in_(
                select(CaseAgency.workflow_id).where(CaseAgency.agency == agency)
            )
        )
    if search:
        found = matches(session.get_bind().dialect.name, search)
        if found is not None:
            where.append(col(DisputeTask.workflow_id).in_(select(CaseIndex.workflow_id).where(found)))
    total = int(session.exec(select(func.count()).select_from(DisputeTask).where(*where)).one())
    column = col(INBOX_SORTS[paging.sort])
    order = [column.asc() if paging.order == "asc" else column.desc(), col(DisputeTask.workflow_id)]
    if paging.sort == "due":
        order.insert(0, column.is_(None))
    tasks = [
        DisputeTaskPublic.model_validate(
            {**row.model_dump(), "overdue": row.due_at is not None and row.due_at < now}
        )
        for row in session.exec(
            query.where(*where).order_by(*order).offset(paging.offset).limit(paging.per_page)
        )
    ]
    return paging.of(_dispute_rows(session, tasks, now, calendar), total)


def _dispute_rows(
    session: Session, tasks: list[DisputeTaskPublic], now: datetime, calendar: dl.WorkCalendar
) -> list[DisputeRow]:
    live = _live_deadlines(session, [t.workflow_id for t in tasks])
    rows: list[DisputeRow] = []
    for task in tasks:
        deadlines = live.get(task.workflow_id, [])
        chosen = next((d for d in deadlines if task.due_at is not None and d.due_at == task.due_at), None)
        chosen = chosen or (deadlines[0] if deadlines else None)
        public = DeadlinePublic.model_validate(chosen, from_attributes=True) if chosen is not None else None
        left = remaining(public, now, calendar) if public is not None else None
        rows.append(DisputeRow(task=task, deadline=public, remaining=left))
    return rows


def deadlines_due(
    session: Session, *, after: datetime | None, until: datetime, paging: Paging
) -> Page[DeadlinePublic]:
    """Open deadlines whose period ends in (``after``, ``until``], soonest first (the dashboard's
    "due today" and "due this week"), one page with the total."""
    where: list[Any] = [Deadline.status == "open", col(Deadline.due_at) <= until]
    if after is not None:
        where.append(col(Deadline.due_at) > after)
    total = int(session.exec(select(func.count()).select_from(Deadline).where(*where)).one())
    column = col(Deadline.due_at)
    rows = session.exec(
        select(Deadline)
        .where(*where)
        .order_by(column.asc() if paging.order == "asc" else column.desc(), col(Deadline.id))
        .offset(paging.offset)
        .limit(paging.per_page)
    ).all()
    return paging.of([DeadlinePublic.model_validate(r, from_attributes=True) for r in rows], total)


@dataclass(frozen=True)
class AuditFilters:
    """The audit page's filters."""

    username: str = ""
    outcome: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_page(session: Session, filters: AuditFilters, paging: Paging) -> Page[AuditEntry]:
    """One page of the audit trail, newest first (or oldest), with the total."""
    where: list[Any] = []
    if filters.username:
        where.append(AuditEntry.username == filters.username)
    if filters.outcome:
        where.append(AuditEntry.outcome == filters.outcome)
    if filters.action:
        where.append(AuditEntry.action == filters.action)
    if filters.date_from is not None:
        where.append(col(AuditEntry.at) >= day_start(filters.date_from))
    if filters.date_to is not None:
        where.append(col(AuditEntry.at) < day_end(filters.date_to))
    total = int(session.exec(select(func.count()).select_from(AuditEntry).where(*where)).one())
    column = col(AuditEntry.id)
    rows = session.exec(
        select(AuditEntry)
        .where(*where)
        .order_by(column.asc() if paging.order == "asc" else column.desc())
        .offset(paging.offset)
        .limit(paging.per_page)
    ).all()
    return paging.of(list(rows), total)


def audit_choices(session: Session) -> tuple[list[str], list[str]]:
    """The outcomes and actions the audit trail holds (the filters' options)."""
    outcomes = session.exec(select(AuditEntry.outcome).distinct().order_by(AuditEntry.outcome)).all()
    actions = session.exec(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    return list(outcomes), list(actions)


def notification_total(session: Session, *, agency: str, role: str, user: str, unread_only: bool) -> int:
    """How many notifications the list of ``agency`` holds for ``role`` (the pager's total)."""
    query = (
        select(func.count())
        .select_from(NotificationRecord)
        .where(
            NotificationRecord.agency == agency,
            col(NotificationRecord.audience).in_(sorted(a.value for a in ROLE_SEES.get(role, frozenset()))),
        )
    )
    if unread_only:
        read_ids = select(NotificationRead.notification_id).where(NotificationRead.user == user)
        query = query.where(col(NotificationRecord.id).not_in(read_ids))
    return int(session.exec(query).one())
