"""The notifier's tables in the shared database: notifications, who read them, webhooks, deliveries.

Registered in ``services/readmodel/tables.py`` so Alembic (revision ``0006_notifications``) sees
them. Every write is keyed so a redelivered domain event changes nothing: a notification's
primary key is ``<domain_event_id>:<recipient>``, a delivery is unique per notification.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.readmodel.models import UTCDateTime


def _tz(nullable: bool = False, index: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class NotificationRecord(SQLModel, table=True):
    """One notification to one agency (the bell's rows; ``body`` is what was published)."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_agency_created", "agency", "created_at"),
        Index("ix_notification_case", "process", "case_id"),
    )

    id: str = Field(primary_key=True, max_length=120)
    domain_event_id: str = Field(index=True, max_length=64)
    event_type: str = Field(max_length=80)
    process: str = Field(max_length=40)
    case_id: str = Field(max_length=64)
    agency: str = Field(max_length=40)
    reason: str = Field(max_length=20)
    audience: str = Field(max_length=30)
    state: str = Field(max_length=60)
    title_zh: str = Field(max_length=400)
    title_en: str = Field(max_length=400)
    action_zh: str | None = Field(default=None, max_length=600)
    action_en: str | None = Field(default=None, max_length=600)
    due_at: datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    counting: str | None = Field(default=None, max_length=20)
    provisional: bool | None = None
    link: str = Field(max_length=400)
    confidential: bool = False
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = Field(sa_column=_tz())
    created_at: datetime = Field(sa_column=_tz())
    published_at: datetime | None = Field(default=None, sa_column=_tz(nullable=True))


class NotificationRead(SQLModel, table=True):
    """That one console user has read one notification (unread counts are per user)."""

    __tablename__ = "notification_read"

    notification_id: str = Field(primary_key=True, max_length=120)
    user: str = Field(primary_key=True, max_length=80)
    read_at: datetime = Field(sa_column=_tz())


class Webhook(SQLModel, table=True):
    """An agency's endpoint; the secret signs every delivery (shown once when it is set)."""

    __tablename__ = "webhook"

    agency: str = Field(primary_key=True, max_length=40)
    url: str = Field(max_length=1000)
    secret: str = Field(max_length=200)
    enabled: bool = True
    created_at: datetime = Field(sa_column=_tz())
    updated_at: datetime = Field(sa_column=_tz())


class DeliveryStatus(StrEnum):
    """Where a webhook delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed; listed for replay


class Delivery(SQLModel, table=True):
    """One notification on its way to one agency's webhook, with every attempt counted."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", name="uq_delivery_notification"),
        Index("ix_delivery_status_agency", "status", "agency"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: str = Field(max_length=120)
    agency: str = Field(max_length=40)
    url: str = Field(max_length=1000)
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=20)
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    replays: int = 0
    created_at: datetime = Field(sa_column=_tz())
    updated_at: datetime = Field(sa_column=_tz())
    delivered_at: datetime | None = Field(default=None, sa_column=_tz(nullable=True))


class DeliveryPublic(SQLModel):
    """A delivery as the API and CLI show it."""

    id: int
    notification_id: str
    agency: str
    url: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    replays: int
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
