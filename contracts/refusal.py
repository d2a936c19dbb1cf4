"""The one shape of "not now": what a workflow (or a rule it shares with the console) says when
an event or a person's action is not valid in the case's present state."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """The field to correct and why: ``reason`` in English, for the sender's system and the
    English page; ``reason_zh`` in Chinese where a person reads it in the console."""

    field: str
    reason: str
    reason_zh: str | None = None
