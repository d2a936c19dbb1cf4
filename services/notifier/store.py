"""Writes of the notifier: notifications (idempotent), their publication marks, new deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from contracts.notifications import Notification
from services.readmodel.notifications import Delivery, DeliveryStatus, NotificationRecord, Webhook


@dataclass
class Recorded:
    """What :func:`record` did: what still has to be published, which deliveries are new."""

    added: int = 0
    to_publish: list[Notification] = field(default_factory=list)
    deliveries: list[tuple[int, str]] = field(default_factory=list)  # (delivery id, agency)


def record(session: Session, notifications: Sequence[Notification], *, now: datetime) -> Recorded:
    """Insert the notifications not seen before; never a second row for the same key.

    A notification already stored but not yet marked published is returned for publishing again
    (the notifier died between commit and publish); JetStream's Nats-Msg-Id de-duplication makes
    that republish harmless. A delivery is created only with the notification's first insert,
    so a redelivered domain event never calls a webhook twice. The caller commits.
    """
    result = Recorded()
    if not notifications:
        return result
    ids = list(dict.fromkeys(n.notification_id for n in notifications))
    existing = {
        r.id: r for r in session.exec(select(NotificationRecord).where(col(NotificationRecord.id).in_(ids)))
    }
    recipients = list({n.recipient for n in notifications})
    hooks = {
        w.agency: w
        for w in session.exec(
            select(Webhook).where(col(Webhook.agency).in_(recipients), col(Webhook.enabled).is_(True))
        )
    }
    seen: set[str] = set()
    new_deliveries: list[Delivery] = []
    for note in notifications:
        if note.notification_id in seen:
            continue
        seen.add(note.notification_id)
        row = existing.get(note.notification_id)
        if row is None:
            row = NotificationRecord(
                id=note.notification_id,
                domain_event_id=note.domain_event_id,
                event_type=note.event_type,
                process=note.process,
                case_id=note.case_id,
                agency=note.recipient,
                reason=note.reason.value,
                audience=note.audience.value,
                state=note.state,
                title_zh=note.title_zh[:400],
                title_en=note.title_en[:400],
                action_zh=note.action_zh[:600] if note.action_zh else None,
                action_en=note.action_en[:600] if note.action_en else None,
                due_at=note.due_at,
                counting=note.counting,
                provisional=note.provisional,
                link=note.link,
                confidential=note.confidential,
                body=note.model_dump(mode="json"),
                occurred_at=note.occurred_at,
                created_at=now,
            )
            session.add(row)
            result.added += 1
            hook = hooks.get(note.recipient)
            if hook is not None:
                delivery = Delivery(
                    notification_id=note.notification_id,
                    agency=note.recipient,
                    url=hook.url,
                    status=DeliveryStatus.PENDING.value,
                    created_at=now,
                    updated_at=now,
                )
                session.add(delivery)
                new_deliveries.append(delivery)
        if row.published_at is None:
            result.to_publish.append(note)
    session.flush()
    result.deliveries = [(d.id, d.agency) for d in new_deliveries if d.id is not None]
    return result


def mark_published(session: Session, notification_ids: Sequence[str], *, now: datetime) -> None:
    """Remember that JetStream acknowledged these notifications. The caller commits."""
    if not notification_ids:
        return
    for row in session.exec(
        select(NotificationRecord).where(col(NotificationRecord.id).in_(list(notification_ids)))
    ):
        if row.published_at is None:
            row.published_at = now
            session.add(row)
