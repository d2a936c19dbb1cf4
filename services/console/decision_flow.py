"""What a decision's POST does after the workflow answered, so reloading never sends it again
(POST-redirect-GET): a refusal is shown by the GET the POST redirects to; an accepted decision
waits a moment for the registry's projection, so the page redirected to already shows it.

The refusal (both languages, by field) and what the user typed travel in a short-lived cookie,
signed with the session's CSRF token and scoped to the page's path, so another browser or a
later session can neither read nor forge it, and reloading the page never sends the decision
again. The page that reads it deletes it, so it is shown once.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.console.auth import CurrentUser
from services.readmodel.models import Case

COOKIE = "lawlink_refused"
MAX_AGE_SECONDS = 600
# Typed text is carried back only while the cookie stays well under the browsers' 4 KB.
VALUES_MAX = 2500
PROJECTION_WAIT_SECONDS = 3.0


class RefusalCookie:
    """One page's refusal cookie: ``salt`` keeps one page's cookie from being read as another's."""

    def __init__(self, salt: str, *, secure: bool) -> None:
        self._salt = salt
        self._secure = secure

    def _signer(self, user: CurrentUser) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(user.csrf_token, salt=self._salt)

    def carry(
        self,
        response: Response,
        user: CurrentUser,
        path: str,
        key: str,
        errors: dict[str, tuple[str, str]],
        values: dict[str, str],
        extra: dict[str, Any] | None = None,
    ) -> Response:
        """Set the cookie on ``response`` (the redirect to ``path``); ``key`` names the decision
        refused, ``errors`` maps each field to its (zh, en) reason; ``extra`` is what else the
        page needs to show the form as it was (a multiple choice, say)."""
        data: dict[str, Any] = {
            **(extra or {}),
            "key": key,
            "errors": {f: list(pair) for f, pair in errors.items()},
        }
        if len(str(values)) < VALUES_MAX:
            data["values"] = values
        response.set_cookie(
            COOKIE,
            self._signer(user).dumps(data),
            max_age=MAX_AGE_SECONDS,
            path=path,
            httponly=True,
            samesite="lax",
            secure=self._secure,
        )
        return response

    def carried(self, request: Request, user: CurrentUser, key: str) -> dict[str, Any] | None:
        """The refusal the last POST redirected with, when it is this user's and about ``key``:
        ``{"errors": {field: [zh, en]}, "values": {...}}``."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._signer(user).loads(raw, max_age=MAX_AGE_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("errors"), dict):
            return None
        return data

    @staticmethod
    def forget(request: Request, response: Response, path: str) -> None:
        """Delete the cookie once its page has shown it."""
        if request.cookies.get(COOKIE):
            response.delete_cookie(COOKIE, path=path)


def wait_for_projection(engine: Engine, workflow_id: str, seq_before: int) -> None:
    """Block (in a worker thread) until the case's read-model row moved past ``seq_before``, or
    :data:`PROJECTION_WAIT_SECONDS` passed: the decision's events may still be on their way."""
    end = time.monotonic() + PROJECTION_WAIT_SECONDS
    while time.monotonic() < end:
        with Session(engine) as session:
            row = session.get(Case, workflow_id)
            if row is not None and row.last_seq > seq_before:
                return
        time.sleep(0.1)
