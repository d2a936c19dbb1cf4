"""``GET /api/referrals/{case_id}/content``: a referral's clue content, need-to-know only.

The console calls it (or the same functions) with the signed-in user's identity in headers it
sets itself: ``X-Lawlink-Role``, ``X-Lawlink-Agency``, ``X-Lawlink-Head`` (``true``/``false``).
The API must therefore only be reachable from the console (it trusts those headers); it is not
for agencies.

Answers: 403 to everyone outside the need-to-know circle, 404 when there is no such referral in
the read model, else the decrypted accepted events the caller may see.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contracts.catalog import label
from services.discipline.content import DISCIPLINE_OFFICER, access_for, can_read_content, read_content
from services.discipline.crypto import ContentCipher, cipher_from_env


class ContentEntryOut(BaseModel):
    """One decrypted event of a referral."""

    event_id: str
    type: str
    label_zh: str
    label_en: str
    source_agency: str
    occurred_at: datetime
    content: dict[str, Any]


class ReferralContentOut(BaseModel):
    """The referral's content as the caller may see it."""

    case_id: str
    entries: list[ContentEntryOut]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _forbidden() -> HTTPException:
    return HTTPException(
        403, detail={"field": "X-Lawlink-Role", "reason": "discipline referral content is need-to-know"}
    )


def content_router(engine: Callable[[], Engine], cipher: ContentCipher | None = None) -> APIRouter:
    """The router; ``engine`` returns the read model's engine (set once the app started)."""
    cipher = cipher or cipher_from_env()
    router = APIRouter()

    @router.get("/api/referrals/{case_id}/content", response_model=ReferralContentOut)
    def get_referral_content(
        case_id: str,
        x_lawlink_role: str | None = Header(default=None),
        x_lawlink_agency: str | None = Header(default=None),
        x_lawlink_head: str | None = Header(default=None),
    ) -> ReferralContentOut:
        role = (x_lawlink_role or "").strip()
        agency = (x_lawlink_agency or "").strip() or None
        is_head = _truthy(x_lawlink_head)
        # Nobody outside the two roles can ever read content: answer 403 before looking anything up.
        if role != DISCIPLINE_OFFICER and not is_head:
            raise _forbidden()
        with Session(engine()) as session:
            referral = access_for(session, case_id)
            if referral is None:
                raise HTTPException(
                    404, detail={"field": "case_id", "reason": f"no discipline referral {case_id!r}"}
                )
            if not can_read_content(role, agency, is_head, referral):
                raise _forbidden()
            entries = read_content(session, cipher, case_id, role=role)
        return ReferralContentOut(
            case_id=case_id,
            entries=[
                ContentEntryOut(
                    event_id=e.event_id,
                    type=e.event_type,
                    label_zh=label(e.event_type, "zh"),
                    label_en=label(e.event_type, "en"),
                    source_agency=e.source_agency,
                    occurred_at=e.occurred_at,
                    content=e.content,
                )
                for e in entries
            ],
        )

    return router
