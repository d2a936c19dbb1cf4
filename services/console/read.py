"""What the console's pages show, read from the read model (never written here).

Each function answers one page's question in the process's own terms: which disputes need a
decision and how many working days are left, what an agency must do next, how many deadlines
each agency has breached. Visibility (who may see which case) is applied by the callers through
:mod:`services.console.access`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from contracts.jurisdiction_dispute import COORDINATOR_STATES, OPEN_STATES
from contracts.jurisdiction_dispute import State as DisputeState
from services.calendar_store import load_schedules
from services.delegations.read_model import DelegatedItem
from services.disputes.inbox import DisputeTaskPublic, list_inbox
from services.registry.models import Case, DeadLetter, Deadline, DeadlinePublic, TimelineEntry
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


def inbox(
    session: Session,
    *,
    office: str | None,
    now: datetime,
    calendar: dl.WorkCalendar,
    agency: str | None = None,
    state: str | None = None,
    overdue_only: bool = False,
    search: str | None = None,
) -> list[DisputeRow]:
    """Open disputes waiting for the coordinating ``office`` (the dispute inbox's rows from
    issue 4's ``dispute_task`` table), soonest deadline first, with the days left counted the
    way the rule counts them.

    Args:
        office: the coordinator's agency (None: every office).
        agency: only disputes this agency is a party to.
        state: only this state.
        overdue_only: only disputes whose next deadline has passed.
        search: part of a case id.
    """
    tasks = list_inbox(
        session,
        agency=office,
        state=state or None,
        overdue=True if overdue_only else None,
        now=now,
        limit=1000,
    )
    if search:
        needle = search.strip().lower()
        tasks = [t for t in tasks if needle in t.case_id.lower()]
    if agency:
        tasks = [t for t in tasks if agency in t.parties]
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


@dataclass
class Dashboard:
    """The operator's overview."""

    counts: list[tuple[str, str, int]]
    due_today: list[DeadlinePublic]
    due_week: list[DeadlinePublic]
    breached_by_agency: list[tuple[str | None, int]]
    events_per_hour: list[tuple[str, int]]
    dead_letters: list[DeadLetter]


def dashboard(session: Session, *, now: datetime) -> Dashboard:
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
    week_end = today + timedelta(days=6)
    horizon = datetime.combine(
        week_end + timedelta(days=1), datetime.min.time(), tzinfo=dl.SHANGHAI
    ) + timedelta(days=1)
    open_rows = session.exec(
        select(Deadline)
        .where(Deadline.status == "open", col(Deadline.due_at) <= horizon)
        .order_by(col(Deadline.due_at))
    ).all()
    due_today: list[DeadlinePublic] = []
    due_week: list[DeadlinePublic] = []
    for row in open_rows:
        day = last_day(row.due_at)
        public = DeadlinePublic.model_validate(row, from_attributes=True)
        if day <= today:
            due_today.append(public)
        elif day <= week_end:
            due_week.append(public)
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
    letters = list(session.exec(select(DeadLetter).order_by(col(DeadLetter.id).desc()).limit(200)).all())
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


def cases_of(
    session: Session,
    *,
    visible: Callable[[Case, frozenset[str]], bool] | None = None,
    process: str | None = None,
    state: str | None = None,
    search: str | None = None,
    limit: int = 200,
) -> list[Case]:
    """Cases, newest change first; with ``visible``, only those it accepts (it is given the case
    and the agencies that owe a deadline in it)."""
    query = select(Case)
    if process:
        query = query.where(Case.process == process)
    if state:
        query = query.where(Case.state == state)
    if search:
        query = query.where(col(Case.case_id).contains(search.strip()))
    query = query.order_by(col(Case.updated_at).desc())
    if visible is None:
        return list(session.exec(query.limit(limit)).all())
    owing: dict[str, set[str]] = defaultdict(set)
    for workflow_id, party in session.exec(select(Deadline.workflow_id, Deadline.party)).all():
        if party:
            owing[workflow_id].add(party)
    out: list[Case] = []
    for case in session.exec(query).all():
        if visible(case, frozenset(owing.get(case.workflow_id, ()))):
            out.append(case)
            if len(out) >= limit:
                break
    return out


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
