"""One refusal type, and one sender, for an action sent to a workflow as a Temporal Update.

The coordinator's decisions on a dispute and the reviewer's decision on a delegation both ask
the workflow, whose validator may refuse with the field to correct and the reason; Temporal
itself may be unreachable, or the case gone. Either way nothing changed, and the page shows the
reason next to the field, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from services.field_refusal import FieldRefusal
from services.settings import StackSettings

T = TypeVar("T")

# Said when a refusal carries no Chinese of its own (Temporal unreachable, an unexpected error).
FALLBACK_ZH: dict[str, str] = {
    "temporal": "工作流服务暂时无法连接，操作未执行，请稍后再试",
    "case_id": "没有可办理的该案件",
}
GENERIC_ZH = "工作流未接受此操作，案件未作任何改变"


class ActionRefused(FieldRefusal):
    """An action the workflow (or Temporal) did not take: ``field`` names what to correct."""

    def chinese_fallback(self) -> str:
        """A Chinese sentence that says what happened (the English detail stays on the English
        page)."""
        return FALLBACK_ZH.get(self.field, GENERIC_ZH)


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


class UpdateSender:
    """Sends a page's actions to a case's workflow as Temporal Updates, connecting on the first
    (the console's pages work without Temporal). Whatever stops one is an :class:`ActionRefused`
    the page shows (nothing changed), never a 500 that loses what the user typed."""

    def __init__(self, settings: StackSettings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client

    async def _connect(self) -> Client:
        if self._client is None:
            from services.connections import connect_temporal

            self._client = await connect_temporal(self._settings)
        return self._client

    async def send(
        self,
        update: Callable[[Client], Awaitable[T]],
        *,
        field: str,
        refused_zh: str | None = None,
        unreachable_zh: str | None = None,
    ) -> T:
        """Run ``update`` on the client: the workflow's refusal names ``field`` (``refused_zh``
        its Chinese where the workflow gives none), Temporal out of reach names ``temporal``."""
        try:
            client = await self._connect()
        except (RuntimeError, OSError, RPCError) as exc:
            raise ActionRefused("temporal", f"Temporal is not reachable: {exc}", unreachable_zh) from exc
        try:
            return await update(client)
        except ActionRefused:
            raise
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            raise ActionRefused(field, message, refused_zh) from exc
        except RPCError as exc:
            raise ActionRefused("temporal", str(exc), unreachable_zh) from exc
