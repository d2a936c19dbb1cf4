"""The reviewer's decision on a delegation's yearly review, sent as the ``decide_review`` Update.

The workflow's validator checks who decides and that the decision covers exactly the items
under review, item by item; it refuses in English with the field to correct
(``reviewer``, ``type``, ``decisions[n].item_code``...). :class:`ActionRefused` carries that
field, the English reason and a Chinese one for the console's zh-CN page. A delegation that does
not exist or has ended is a refusal too (nothing was decided); anything else (a bug, Temporal
failing mid-call) is raised as it is, so it is never mistaken for a business refusal.
"""

from __future__ import annotations

import re

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from contracts.agencies import get_agency
from contracts.envelope import CASE_ID_PATTERN
from contracts.power_delegation import PROCESS, ReviewDecisionIn, ReviewDecisionResult
from contracts.workflow_io import workflow_id as case_workflow_id
from services.update_refusals import ActionRefused, case_gone, validator_refusal
from workflows.case_base import REFUSED_ERROR_TYPE
from workflows.power_delegation import PowerDelegationWorkflow

_CASE_ID = re.compile(CASE_ID_PATTERN)
_DECISION_FIELD = re.compile(r"^decisions\[(\d+)\]\.(item_code|new_scope|reason)$")
_AGENCY_ID = re.compile(r"\b[a-z]{2}(?:-[a-z0-9]+)+\b")
REFUSED_FALLBACK_ZH = "工作流未接受该评估决定，赋权事项未作任何改变"


def workflow_id(case_id: str) -> str:
    """The delegation's workflow id (``power_delegation/<case_id>``)."""
    return case_workflow_id(PROCESS, case_id)


def _names(reason: str, leave_out: str) -> str:
    """The registered agencies an English reason names (except ``leave_out``), by Chinese name."""
    found = [
        a.name_zh
        for a in (get_agency(m) for m in dict.fromkeys(_AGENCY_ID.findall(reason)) if m != leave_out)
        if a is not None
    ]
    return "或".join(found)


def reason_zh(field: str, reason: str, data: ReviewDecisionIn) -> str:
    """The workflow's refusal in Chinese, chosen by the field it names.

    The workflow says each rule in English only; the field tells which rule it was, and the
    decision sent tells which item (``decisions[n]`` is the n-th decision of ``data``).
    """
    if field == "reviewer":
        who = get_agency(data.reviewer)
        deciders = _names(reason, data.reviewer)
        return f"{who.name_zh if who else data.reviewer}不是本次评估的决定机关；" + (
            f"本赋权的评估由{deciders}作出决定"
            if deciders
            else "评估由作出赋权的政府同级司法局或编办作出决定"
        )
    if field == "type":
        return "当前没有等待决定的评估（评估尚未开始，或已作出决定）"
    if field == "decisions":
        missing = reason.rsplit(":", 1)[-1].strip() if ":" in reason else ""
        return "评估中的事项须逐项作出决定" + (f"，尚未决定：{missing}" if missing else "")
    match = _DECISION_FIELD.match(field)
    if match is not None:
        n, leaf = int(match.group(1)), match.group(2)
        code = data.decisions[n].item_code if n < len(data.decisions) else f"第 {n + 1} 项"
        if leaf == "new_scope":
            return f"事项 {code} 调整范围的，须写明调整后的实施范围"
        if leaf == "reason":
            return f"事项 {code} 收回的，须说明收回理由"
        if "twice" in reason:
            return f"事项 {code} 重复作出决定，每个事项只能决定一次"
        return f"事项 {code} 不在本次评估范围内"
    return REFUSED_FALLBACK_ZH


async def decide_review(client: Client, case_id: str, data: ReviewDecisionIn) -> ReviewDecisionResult:
    """Send the decision to the delegation's current run; ``data.decision_id`` is the Update id,
    so the same form sent twice is one decision (the second answer says ``duplicate``).

    Raises:
        ActionRefused: the workflow's validator refused it, or there is no running delegation
            ``case_id``.
    """
    if not _CASE_ID.match(case_id):
        raise ActionRefused("case_id", f"{case_id!r} is not a valid case id", f"{case_id} 不是有效的案件编号")
    handle = client.get_workflow_handle(workflow_id(case_id))
    try:
        return await handle.execute_update(PowerDelegationWorkflow.decide_review, data, id=data.decision_id)
    except WorkflowUpdateFailedError as exc:
        refused = validator_refusal(exc, REFUSED_ERROR_TYPE)
        if refused is not None:
            field, reason, _ = refused
            raise ActionRefused(field, reason, reason_zh(field, reason, data)) from None
        raise
    except RPCError as exc:
        if case_gone(exc):
            raise ActionRefused(
                "case_id",
                f"no running delegation {case_id!r}",
                f"没有进行中的赋权 {case_id}（不存在或已结束）",
            ) from None
        raise
