"""The audit rows of state-changing API calls (registry and notifier share the table)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.readmodel.models import ServiceAuditEntry
from services.service_auth import Caller


def record_call(
    engine: Engine,
    *,
    server: str,
    caller: Caller,
    action: str,
    target: str,
    outcome: str,
    detail: str | None = None,
) -> None:
    """Write one audit row in its own transaction, so a failed call is recorded too."""
    with Session(engine) as session:
        session.add(
            ServiceAuditEntry(
                at=datetime.now(UTC),
                server=server,
                service=caller.service,
                actor=(caller.actor or "")[:80],
                action=action,
                target=target[:200],
                outcome=outcome,
                detail=detail[:500] if detail else None,
            )
        )
        session.commit()


def calls(session: Session, *, action: str | None = None, limit: int = 200) -> list[ServiceAuditEntry]:
    """The newest audit rows first, optionally of one action."""
    query = select(ServiceAuditEntry)
    if action is not None:
        query = query.where(ServiceAuditEntry.action == action)
    return list(session.exec(query.order_by(col(ServiceAuditEntry.id).desc()).limit(limit)))
