"""What the console asks of notifications: the bell, unread counts, mark as read, the daily digest,
and the webhook deliveries an operator may replay.

Plain functions on a SQLModel session of the shared database, so the console calls them
directly (no HTTP hop); the notifier's own API (``services.notifier.app``) serves the same.

Roles are the console's (DESIGN.md security): ``admin`` and ``operator`` see every notification of
their agency; ``coordinator`` also sees those addressed to coordinators; ``discipline_officer``
also those of confidential referrals addressed to discipline officers; ``agency_officer`` the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, func, select

from contracts.catalog import CONFIDENTIAL_PROCESSES
from contracts.notifications import Audience
from services.readmodel.models import Deadline
from services.readmodel.notifications import (
    Delivery,
    DeliveryPublic,
    DeliveryStatus,
    NotificationRead,
    NotificationRecord,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

_ALL = frozenset(Audience)
ROLE_SEES: Mapping[str, frozenset[Audience]] = MappingProxyType(
    {
        "admin": _ALL,
        "operator": _ALL,
        "coordinator": frozenset({Audience.COORDINATOR, Audience.AGENCY_OFFICER}),
        "discipline_officer": frozenset({Audience.DISCIPLINE_OFFICER, Audience.AGENCY_OFFICER}),
        "agency_officer": frozenset({Audience.AGENCY_OFFICER}),
    }
)


class NotificationView(BaseModel):
    """A notification as the bell shows it to one user."""

    model_config = ConfigDict(frozen=True)

    id: str
    agency: str
    reason: str
    audience: str
    event_type: str
    process: str
    case_id: str
    state: str
    title_zh: str
    title_en: str
    action_zh: str | None
    action_en: str | None
    due_at: datetime | None
    counting: str | None
    provisional: bool | None
    link: str
    confidential: bool
    occurred_at: datetime
    created_at: datetime
    read: bool


class DigestItem(BaseModel):
    """One deadline in the daily digest."""

    model_config = ConfigDict(frozen=True)

    process: str
    case_id: str
    deadline_id: str
    rule: str
    label_zh: str
    label_en: str
    party: str | None
    due_at: datetime
    counting: str
    provisional: bool
    status: str
    link: str
    confidential: bool


class Digest(BaseModel):
    """An agency's day: what falls due today, what is overdue, which overdue deadlines it supervises."""

    model_config = ConfigDict(frozen=True)

    agency: str
    day: str  # YYYY-MM-DD on the Shanghai calendar
    generated_at: datetime
    due_today: list[DigestItem]
    overdue: list[DigestItem]
    supervising: list[DigestItem]


def _audiences(role: str | None) -> frozenset[Audience]:
    if role is None:
        return _ALL
    try:
        return ROLE_SEES[role]
    except KeyError:
        raise ValueError(f"role: unknown role {role!r}; one of {', '.join(sorted(ROLE_SEES))}") from None


def _visible(agency: str, role: str | None) -> Any:
    return select(NotificationRecord).where(
        NotificationRecord.agency == agency,
        col(NotificationRecord.audience).in_([a.value for a in _audiences(role)]),
    )


def _read_ids(session: Session, user: str | None, ids: list[str]) -> set[str]:
    if user is None or not ids:
        return set()
    rows = session.exec(
        select(NotificationRead.notification_id).where(
            NotificationRead.user == user, col(NotificationRead.notification_id).in_(ids)
        )
    )
    return set(rows)


def list_notifications(
    session: Session,
    *,
    agency: str,
    role: str | None = None,
    user: str | None = None,
    unread_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[NotificationView]:
    """The bell: an agency's notifications visible to ``role``, newest first, with ``read`` for ``user``.

    Raises:
        ValueError: naming ``role`` when it is not a console role.
    """
    query = _visible(agency, role)
    if unread_only and user is not None:
        read = select(NotificationRead.notification_id).where(NotificationRead.user == user)
        query = query.where(col(NotificationRecord.id).not_in(read))
    query = (
        query.order_by(col(NotificationRecord.created_at).desc(), col(NotificationRecord.id))
        .offset(offset)
        .limit(limit)
    )
    rows = list(session.exec(query))
    read_ids = _read_ids(session, user, [r.id for r in rows])
    return [
        NotificationView.model_validate({**r.model_dump(exclude={"body"}), "read": r.id in read_ids})
        for r in rows
    ]


def unread_count(session: Session, *, agency: str, user: str, role: str | None = None) -> int:
    """How many of the agency's notifications visible to ``role`` ``user`` has not read (the bell's badge)."""
    read = select(NotificationRead.notification_id).where(NotificationRead.user == user)
    query = (
        select(func.count())
        .select_from(NotificationRecord)
        .where(
            NotificationRecord.agency == agency,
            col(NotificationRecord.audience).in_([a.value for a in _audiences(role)]),
            col(NotificationRecord.id).not_in(read),
        )
    )
    return int(session.exec(query).one())


def get_notification(session: Session, *, notification_id: str) -> NotificationRecord | None:
    """One notification by id (``<domain_event_id>:<agency>``)."""
    return session.get(NotificationRecord, notification_id)


def mark_read(session: Session, *, notification_id: str, user: str, now: datetime | None = None) -> bool:
    """Mark one notification read for ``user``; commits. False if it was already read.

    The console must check that the user's agency is the notification's ``agency`` first.

    Raises:
        LookupError: naming ``id`` when there is no such notification.
        ValueError: naming ``user`` when it is empty.
    """
    if not user:
        raise ValueError("user: must not be empty")
    if session.get(NotificationRecord, notification_id) is None:
        raise LookupError(f"id: no notification {notification_id!r}")
    if session.get(NotificationRead, (notification_id, user)) is not None:
        return False
    session.add(
        NotificationRead(notification_id=notification_id, user=user, read_at=now or datetime.now(UTC))
    )
    session.commit()
    return True


def mark_all_read(
    session: Session, *, agency: str, user: str, role: str | None = None, now: datetime | None = None
) -> int:
    """Mark every unread notification of the agency visible to ``role`` read for ``user``; commits."""
    if not user:
        raise ValueError("user: must not be empty")
    read = select(NotificationRead.notification_id).where(NotificationRead.user == user)
    ids = list(
        session.exec(
            select(NotificationRecord.id).where(
                NotificationRecord.agency == agency,
                col(NotificationRecord.audience).in_([a.value for a in _audiences(role)]),
                col(NotificationRecord.id).not_in(read),
            )
        )
    )
    stamp = now or datetime.now(UTC)
    for notification_id in ids:
        session.add(NotificationRead(notification_id=notification_id, user=user, read_at=stamp))
    session.commit()
    return len(ids)


def _item(row: Deadline, console_url: str) -> DigestItem:
    link = (
        console_link(console_url, row.process, row.case_id)
        if console_url
        else f"/cases/{row.process}/{row.case_id}"
    )
    return DigestItem(
        process=row.process,
        case_id=row.case_id,
        deadline_id=row.deadline_id,
        rule=row.rule,
        label_zh=row.label_zh,
        label_en=row.label_en,
        party=row.party,
        due_at=row.due_at,
        counting=row.counting,
        provisional=row.provisional,
        status=row.status,
        link=link,
        confidential=row.process in CONFIDENTIAL_PROCESSES,
    )


def digest(session: Session, *, agency: str, now: datetime | None = None, console_url: str = "") -> Digest:
    """The daily digest of ``agency`` from the registry's deadline table.

    * due today: open deadlines of the agency whose limit ends before the next Shanghai midnight;
    * overdue: breached ones, and open ones already past due (the breach may not be projected yet);
    * supervising: overdue deadlines of other parties that escalate to this agency.

    Args:
        now: the moment of the digest (aware); defaults to the current time.
        console_url: prefix for links; relative ``/cases/...`` links when empty.

    Raises:
        ValueError: naming ``now`` when it is a naive datetime.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware")
    local = now.astimezone(SHANGHAI)
    end_of_day = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    live = ["open", "breached"]
    own = session.exec(
        select(Deadline)
        .where(Deadline.party == agency, col(Deadline.status).in_(live), col(Deadline.due_at) <= end_of_day)
        .order_by(col(Deadline.due_at))
    ).all()
    due_today = [_item(r, console_url) for r in own if r.status == "open" and r.due_at > now]
    overdue = [_item(r, console_url) for r in own if r.status == "breached" or r.due_at <= now]
    late = session.exec(
        select(Deadline)
        .where(col(Deadline.status).in_(live), col(Deadline.due_at) <= now)
        .order_by(col(Deadline.due_at))
    ).all()
    supervising = [
        _item(r, console_url) for r in late if agency in (r.escalate_to or []) and r.party != agency
    ]
    return Digest(
        agency=agency,
        day=local.date().isoformat(),
        generated_at=now,
        due_today=due_today,
        overdue=overdue,
        supervising=supervising,
    )


def deliveries(
    session: Session, *, status: str | None = None, agency: str | None = None, limit: int = 200
) -> list[DeliveryPublic]:
    """Webhook deliveries, newest first (``status``: pending, delivered or failed).

    Raises:
        ValueError: naming ``status`` when it is not a delivery status.
    """
    query = select(Delivery)
    if status is not None:
        if status not in {s.value for s in DeliveryStatus}:
            raise ValueError(f"status: expected one of pending, delivered, failed, got {status!r}")
        query = query.where(Delivery.status == status)
    if agency is not None:
        query = query.where(Delivery.agency == agency)
    rows = session.exec(query.order_by(col(Delivery.id).desc()).limit(limit)).all()
    return [DeliveryPublic.model_validate(r, from_attributes=True) for r in rows]


def failed_deliveries(session: Session, *, agency: str | None = None) -> list[DeliveryPublic]:
    """Deliveries whose every attempt failed: the list an operator replays from."""
    return deliveries(session, status=DeliveryStatus.FAILED.value, agency=agency, limit=10000)


def console_link(console_url: str, process: str, case_id: str) -> str:
    """The console page of a case."""
    return f"{console_url.rstrip('/')}/cases/{process}/{case_id}"
