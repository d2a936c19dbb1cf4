"""One refusal type for an action sent to a workflow as a Temporal Update.

The coordinator's decisions on a dispute and the reviewer's decision on a delegation both ask
the workflow, whose validator may refuse with the field to correct and the reason; Temporal
itself may be unreachable, or the case gone. Either way nothing changed, and the page shows the
reason next to the field, in the reader's language.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

# Said when a refusal carries no Chinese of its own (Temporal unreachable, an unexpected error).
FALLBACK_ZH: dict[str, str] = {
    "temporal": "工作流服务暂时无法连接，操作未执行，请稍后再试",
    "case_id": "没有可办理的该案件",
}
GENERIC_ZH = "工作流未接受此操作，案件未作任何改变"


class ActionRefused(Exception):
    """An action the workflow (or Temporal) did not take: ``field`` names what to correct,
    ``reason`` says why in English and ``reason_zh`` in Chinese where it is known."""

    def __init__(self, field: str, reason: str, reason_zh: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.reason_zh = reason_zh

    def text(self, lang: str) -> str:
        """The reason in ``lang``; a refusal without Chinese of its own gets a Chinese sentence
        that says what happened (the English detail stays on the English page)."""
        if lang != "zh":
            return self.reason
        return self.reason_zh or FALLBACK_ZH.get(self.field, GENERIC_ZH)


def validator_refusal(exc: WorkflowUpdateFailedError, error_type: str) -> tuple[str, str, str | None] | None:
    """``(field, reason, reason_zh)`` of an Update its validator refused with ``error_type``,
    or None for any other failure (which is then not a business refusal)."""
    cause = exc.cause
    if not isinstance(cause, ApplicationError) or cause.type != error_type:
        return None
    details: Any = cause.details[0] if cause.details else {}
    if not isinstance(details, dict):
        details = {}
    zh = details.get("reason_zh")
    return str(details.get("field", "$")), str(details.get("reason", cause.message)), zh if zh else None


def case_gone(exc: RPCError) -> bool:
    """Whether Temporal refused because the case's workflow does not exist or has ended."""
    return exc.status == RPCStatusCode.NOT_FOUND or "already completed" in str(exc)
