"""A dead letter as the operator needs to judge it before replaying: which agency sent which
event for which case, and the body as it arrived — except a confidential process's, whose body
is never shown in the console (need-to-know; the stream keeps it sealed)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from contracts.validation import peek_ids
from services.console.access import CONFIDENTIAL
from services.readmodel.models import DeadLetter

# Pretty-printing a huge body would make the page heavy; the operator sees its start.
BODY_SHOWN_CHARS = 8000


@dataclass(frozen=True)
class LetterView:
    """One dead letter's row: what it is about, and its body when it may be shown."""

    letter: DeadLetter
    agency: str | None
    event_type: str | None
    process: str | None
    case_id: str | None
    event_id: str | None
    body: str | None  # None: confidential, or nothing readable

    @property
    def confidential(self) -> bool:
        """A confidential process's letter: its body stays hidden."""
        return self.process in CONFIDENTIAL


def letter_view(letter: DeadLetter) -> LetterView:
    """What the subject (``lawlink.in.<agency>.<process>.<type>``) and a bounded peek at the body
    say about ``letter``; the body pretty-printed when it is JSON and may be shown."""
    parts = letter.subject.split(".")
    agency = parts[2] if len(parts) == 5 and parts[:2] == ["lawlink", "in"] else None
    raw = letter.body.encode("utf-8", errors="replace")
    ids = peek_ids(raw)
    event_type = ids.get("type") or (".".join(parts[3:]) if agency else None)
    process = event_type.split(".", 1)[0] if event_type else None
    body: str | None = None
    if process not in CONFIDENTIAL:
        try:
            body = json.dumps(json.loads(letter.body), ensure_ascii=False, indent=2)
        except ValueError:
            body = letter.body
        body = body[:BODY_SHOWN_CHARS] + ("…" if len(body) > BODY_SHOWN_CHARS else "")
    return LetterView(
        letter=letter,
        agency=ids.get("source_agency") or agency,
        event_type=event_type,
        process=process,
        case_id=ids.get("case_id"),
        event_id=ids.get("event_id") or letter.event_id,
        body=body,
    )
