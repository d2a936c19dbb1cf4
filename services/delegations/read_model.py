"""The ``delegated_item`` table: one row per delegated power item, newest report wins.

Fed by the domain events of the ``power_delegation`` workflow: every step that changes items
carries their full snapshots (``payload["items"]``, :class:`contracts.power_delegation.DelegatedItemView`),
so the projector needs no memory of earlier events. A row only takes a snapshot whose workflow
sequence number is newer than the one it holds, so redelivered or reordered events change
nothing, and replaying the stream rebuilds the same rows (as for the generic tables).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, Session, SQLModel, col, select

from contracts.domain import DomainEvent
from contracts.power_delegation import PROCESS, DelegatedItemView
from services.readmodel.models import UTCDateTime
from services.readmodel.projectors import PROJECTORS


class DelegatedItemBase(SQLModel):
    """What every reader sees of a delegated item."""

    township: str = Field(max_length=40)
    case_id: str = Field(max_length=64, description="The delegation's business key")
    workflow_id: str = Field(max_length=110)
    code: str = Field(max_length=40, description="赋权事项目录编码")
    name_zh: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=300)
    original_department: str = Field(max_length=40)
    scope: str | None = Field(default=None, max_length=1000)
    state: str = Field(max_length=20)


class DelegatedItem(DelegatedItemBase, table=True):
    """Keyed by ``<workflow_id>|<code>``; ``updated_seq`` keeps the newest snapshot."""

    __tablename__ = "delegated_item"
    __table_args__ = (
        Index("ix_delegated_item_township_state", "township", "state"),
        Index("ix_delegated_item_case", "case_id"),
        Index("ix_delegated_item_next_review", "next_review_at"),
    )

    id: str = Field(primary_key=True, max_length=160)
    effective_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    next_review_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    counters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_seq: int = 0
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DelegatedItemPublic(DelegatedItemBase):
    """A delegated item as the API and console return it."""

    effective_at: datetime | None
    next_review_at: datetime | None
    counters: dict[str, Any]
    updated_at: datetime


def project_delegated_items(session: Session, event: DomainEvent) -> None:
    """Upsert every item snapshot a ``power_delegation`` event carries.

    A snapshot that does not match the contract is skipped with its neighbours kept: the
    generic timeline still records the event, and one malformed item must not block a
    township's other rows.
    """
    if event.process != PROCESS:
        return
    snapshots = event.payload.get("items")
    if not isinstance(snapshots, list):
        return
    for raw in snapshots:
        try:
            view = DelegatedItemView.model_validate(raw)
        except ValidationError:
            continue
        key = f"{event.workflow_id}|{view.code}"
        row = session.get(DelegatedItem, key)
        if row is None:
            row = DelegatedItem(
                id=key,
                township=view.township,
                case_id=event.case_id,
                workflow_id=event.workflow_id,
                code=view.code,
                name_zh=view.name_zh,
                original_department=view.original_department,
                state=view.state.value,
                updated_at=event.occurred_at,
            )
            session.add(row)
        elif event.seq <= row.updated_seq:
            continue
        row.updated_seq = event.seq
        row.name_zh = view.name_zh
        row.name_en = view.name_en
        row.original_department = view.original_department
        row.township = view.township
        row.scope = view.scope
        row.state = view.state.value
        row.effective_at = view.effective_at
        row.next_review_at = view.next_review_at
        row.counters = view.counters.model_dump()
        row.updated_at = event.occurred_at


PROJECTORS.append(project_delegated_items)


def items_by_township(
    session: Session, township: str, *, include_returned: bool = True
) -> list[DelegatedItemPublic]:
    """A township's delegated items, soonest review first (items with no review date last).

    Args:
        session: A read-model session.
        township: The township's agency id (``rz-dg-shijiu``).
        include_returned: False leaves out items already back with their department.
    """
    query = select(DelegatedItem).where(DelegatedItem.township == township)
    if not include_returned:
        query = query.where(DelegatedItem.state != "returned")
    rows = session.exec(
        query.order_by(
            col(DelegatedItem.next_review_at).is_(None),
            col(DelegatedItem.next_review_at),
            col(DelegatedItem.case_id),
            col(DelegatedItem.code),
        )
    ).all()
    return [DelegatedItemPublic.model_validate(r, from_attributes=True) for r in rows]
