"""The encrypted store of referral content and the need-to-know rule.

Two tables (migration ``0003_referral_content``):

- ``referral_content``: one row per inbound event of a confidential process, keyed by
  ``event_id``, holding the payload as AES-GCM ciphertext. Filled by the ``lawlink.in`` consumer
  (``services/discipline/consumer.py``), never from ``lawlink.out``, which carries no content.
- ``referral_access``: who may read a referral, projected from its domain events (the referring
  body, the justice bureau that confirms a proposal, the commissions that had the clue). Fed only
  by accepted events, so a forged or refused event cannot grant anyone access.

Content of an event is shown only once its ``event_id`` is in the timeline (the workflow accepted
it): content stored for a refused event is never shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, Session, SQLModel, col, select

from contracts.agencies import AgencyKind, get_agency, supervisor_of
from contracts.discipline_referral import COMMISSION_INTERNAL_TYPES
from contracts.domain import DomainEvent, EntryKind
from contracts.envelope import Envelope
from contracts.workflow_io import workflow_id
from services.discipline.crypto import ContentCipher, Sealed
from services.readmodel.models import TimelineEntry, UTCDateTime
from services.readmodel.projectors import PROJECTORS

PROCESS = "discipline_referral"
DISCIPLINE_OFFICER = "discipline_officer"


def referral_workflow_id(case_id: str) -> str:
    """The workflow id of a referral (``<process>/<case_id>``, as intake builds it)."""
    return workflow_id(PROCESS, case_id)


class ReferralContent(SQLModel, table=True):
    """One event's confidential payload, encrypted; readable only through :func:`read_content`."""

    __tablename__ = "referral_content"
    __table_args__ = (Index("ix_referral_content_workflow", "workflow_id", "occurred_at"),)

    event_id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=110)
    case_id: str = Field(max_length=64)
    event_type: str = Field(max_length=80)
    source_agency: str = Field(max_length=40)
    referring_agency: str | None = Field(default=None, max_length=40)
    nonce: bytes = Field(sa_column=Column(LargeBinary(16), nullable=False))
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ReferralAccess(SQLModel, table=True):
    """Who is in the need-to-know circle of one referral."""

    __tablename__ = "referral_access"

    workflow_id: str = Field(primary_key=True, max_length=110)
    case_id: str = Field(max_length=64, index=True)
    referring_agency: str | None = Field(default=None, max_length=40)
    confirming_agency: str | None = Field(default=None, max_length=40)
    commissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


@dataclass(frozen=True)
class Referral:
    """What the need-to-know rule looks at (a plain value, so the console can build one too)."""

    referring_agency: str | None
    confirming_agency: str | None = None
    commissions: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_row(cls, row: ReferralAccess) -> Referral:
        return cls(row.referring_agency, row.confirming_agency, tuple(row.commissions))


def _city_commission() -> str | None:
    found = supervisor_of("rz-gov", AgencyKind.DISCIPLINE)
    return found.id if found is not None else None


def can_read_content(role: str, user_agency: str | None, is_head: bool, referral: Referral) -> bool:
    """The need-to-know rule (DESIGN.md, security): may this person read the clue's content?

    Yes for:
      * a discipline officer of a commission the clue was referred or forwarded to, or of the
        city commission (it leads and supervises every district commission in Rizhao);
      * the head of the referring body, and the head of the justice bureau asked to confirm a
        proposed clue (it must read the complaint to decide).
    No for everyone else, including operators, coordinators, admins, other officers of the
    referring body and discipline officers not bound to a commission: the console shows them
    that a referral exists and its state, nothing more.
    """
    if not user_agency:
        return False
    if role == DISCIPLINE_OFFICER:
        agency = get_agency(user_agency)
        if agency is None or agency.kind is not AgencyKind.DISCIPLINE:
            return False
        return user_agency in referral.commissions or user_agency == _city_commission()
    if is_head:
        return user_agency in {a for a in (referral.referring_agency, referral.confirming_agency) if a}
    return False


def can_read_entry(role: str, event_type: str) -> bool:
    """Within a readable referral, the commission's internal disposition is for discipline
    officers only; the referrer sees it as a state (DOMAIN.md process 3, step 5)."""
    return role == DISCIPLINE_OFFICER or event_type not in COMMISSION_INTERNAL_TYPES


def store_content(session: Session, cipher: ContentCipher, env: Envelope, *, process: str) -> bool:
    """Encrypt and keep one inbound event's payload; returns False when it was already stored.

    Idempotent by ``event_id`` (a redelivered message stores nothing twice). The caller commits.
    """
    event_id = str(env.event_id)
    if session.get(ReferralContent, event_id) is not None:
        return False
    workflow_id = f"{process}/{env.case_id}"
    plaintext = json.dumps(env.payload, ensure_ascii=False, sort_keys=True).encode()
    sealed = cipher.seal(plaintext, workflow_id=workflow_id, event_id=event_id)
    referring = env.source_agency if env.type == f"{PROCESS}.clue_identified" else None
    session.add(
        ReferralContent(
            event_id=event_id,
            workflow_id=workflow_id,
            case_id=env.case_id,
            event_type=env.type,
            source_agency=env.source_agency,
            referring_agency=referring,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
            occurred_at=env.occurred_at,
            created_at=datetime.now(UTC),
        )
    )
    return True


def access_for(session: Session, case_id: str) -> Referral | None:
    """The referral's need-to-know circle, or None when the read model has no such referral."""
    row = session.get(ReferralAccess, referral_workflow_id(case_id))
    return Referral.from_row(row) if row is not None else None


@dataclass(frozen=True)
class ContentEntry:
    """One decrypted event of a referral, as the content API returns it."""

    event_id: str
    event_type: str
    source_agency: str
    occurred_at: datetime
    content: dict[str, Any]


def read_content(session: Session, cipher: ContentCipher, case_id: str, *, role: str) -> list[ContentEntry]:
    """Decrypt the accepted events of one referral that ``role`` may see (call only after
    :func:`can_read_content` said yes). Rows whose event the workflow did not accept are skipped."""
    workflow_id = referral_workflow_id(case_id)
    accepted = set(
        session.exec(select(TimelineEntry.event_id).where(TimelineEntry.workflow_id == workflow_id)).all()
    )
    rows = session.exec(
        select(ReferralContent)
        .where(ReferralContent.workflow_id == workflow_id)
        .order_by(col(ReferralContent.occurred_at), col(ReferralContent.event_id))
    ).all()
    entries = []
    for row in rows:
        if row.event_id not in accepted or not can_read_entry(role, row.event_type):
            continue
        plain = cipher.open(Sealed(row.nonce, row.ciphertext), workflow_id=workflow_id, event_id=row.event_id)
        entries.append(
            ContentEntry(row.event_id, row.event_type, row.source_agency, row.occurred_at, json.loads(plain))
        )
    return entries


def project_access(session: Session, event: DomainEvent) -> None:
    """Keep ``referral_access`` in step with the referral's accepted events (a PROJECTORS hook).

    Only ids from the public part of the events are used; each update is a set-union or a
    first-writer-wins assignment, so arrival order and replays do not matter.
    """
    if event.process != PROCESS:
        return
    row = session.get(ReferralAccess, event.workflow_id)
    if row is None:
        row = ReferralAccess(workflow_id=event.workflow_id, case_id=event.case_id, commissions=[])
        session.add(row)
    payload = event.payload
    commissions = list(row.commissions)
    if event.kind == EntryKind.RECEIVED and event.type == f"{PROCESS}.clue_identified":
        row.referring_agency = row.referring_agency or event.actor
    elif event.type == f"{PROCESS}.clue_proposed" and isinstance(payload.get("justice_bureau"), str):
        row.confirming_agency = row.confirming_agency or payload["justice_bureau"]
    elif event.kind == EntryKind.RECEIVED and event.type == f"{PROCESS}.referred":
        commissions.append(payload.get("commission"))
    elif event.kind == EntryKind.RECEIVED and event.type == f"{PROCESS}.referral_forwarded":
        commissions.append(payload.get("forwarded_to"))
    merged = sorted({c for c in commissions if isinstance(c, str)})
    if merged != row.commissions:
        row.commissions = merged


PROJECTORS.append(project_access)
