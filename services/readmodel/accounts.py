"""The console's own tables: accounts, server-side sessions and the audit trail.

These are the only rows the console writes (DESIGN.md: one direction). Sessions are kept
server-side, behind a signed cookie, so that logging out or disabling an account ends every
session at once instead of waiting for a cookie to expire. The language preference lives on the
account, so the switch follows the official from one computer to the next.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from services.readmodel.models import UTCDateTime


class Role(StrEnum):
    """What a console user may do (DESIGN.md, security)."""

    COORDINATOR = "coordinator"  # 协调人（司法局）: decides jurisdiction disputes
    OPERATOR = "operator"  # 运维值守: watches timelines, deadlines, dead letters
    AGENCY_OFFICER = "agency_officer"  # 机关经办人: sees only its own agency's cases
    DISCIPLINE_OFFICER = "discipline_officer"  # 纪检监察人员: reads discipline referral content
    ADMIN = "admin"  # 管理员: accounts and the audit trail


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.COORDINATOR: ("协调人", "Coordinator"),
    Role.OPERATOR: ("值守人员", "Operator"),
    Role.AGENCY_OFFICER: ("机关经办人", "Agency officer"),
    Role.DISCIPLINE_OFFICER: ("纪检监察人员", "Discipline officer"),
    Role.ADMIN: ("管理员", "Administrator"),
}

LANGS: tuple[str, ...] = ("zh", "en")


class ConsoleUser(SQLModel, table=True):
    """One person who signs in. ``agency`` binds agency officers (and names a coordinator's
    office); ``is_head`` marks an agency's head, who may read its own discipline referrals."""

    __tablename__ = "console_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, unique=True, index=True)
    display_name: str = Field(max_length=50)
    role: str = Field(max_length=30)
    agency: str | None = Field(default=None, max_length=40)
    is_head: bool = Field(default=False)
    password_hash: str = Field(max_length=200)
    lang: str = Field(default="zh", max_length=5)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries ``id`` signed with the session secret; the CSRF
    token of every form is bound to the session."""

    __tablename__ = "console_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="console_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ip: str | None = Field(default=None, max_length=64)


class AuditEntry(SQLModel, table=True):
    """Who did what, when, from where, and how it ended (allowed, refused, forbidden...)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_at", "at"),
        Index("ix_audit_entry_username", "username"),
        # The audit page filters by outcome or action and reads newest first.
        Index("ix_audit_entry_outcome_id", "outcome", "id"),
        Index("ix_audit_entry_action_id", "action", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    username: str | None = Field(default=None, max_length=40)
    role: str | None = Field(default=None, max_length=30)
    action: str = Field(max_length=80)
    target: str | None = Field(default=None, max_length=200)
    ip: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=20)
    detail: str | None = Field(default=None, max_length=2000)
