"""``lawlink demo delegation``: a township delegation through one review, with a shortened year.

The real review comes twelve months after the items take effect. A demo cannot wait a year,
so this one starts the delegation workflow with ``LAWLINK_DELEGATION_REVIEW_PERIOD_SECONDS``
(default 120 s, or the value in the demo's environment) and says so on screen. Everything else
is the real path: agencies' events go over NATS through intake, and the reviewer's decision is
the same ``decide_review`` Update the console sends.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime
from typing import Any

from temporalio.common import WorkflowIDConflictPolicy

from contracts.power_delegation import (
    ItemDecision,
    ReviewDecisionIn,
    ReviewDecisionResult,
    ReviewOutcome,
)
from contracts.workflow_io import CaseStart
from services.delegations.client import decide_review
from services.demos.base import SHANGHAI, DemoContext
from services.settings import rule_settings_from_env
from workflows.power_delegation import REVIEW_PERIOD_SETTING, PowerDelegationWorkflow, review_period_override

PROCESS = "power_delegation"
DEFAULT_DEMO_PERIOD_SECONDS = 120
TOWNSHIP = "rz-dg-shijiu"


def demo_period_seconds() -> int:
    """The shortened review period: the environment's setting if given, else two minutes.

    Raises:
        ValueError: naming the setting, when it is not a whole number of seconds in range.
    """
    settings = {
        REVIEW_PERIOD_SETTING: os.environ.get(REVIEW_PERIOD_SETTING, str(DEFAULT_DEMO_PERIOD_SECONDS))
    }
    period = review_period_override(settings)
    assert period is not None
    return int(period.total_seconds())


async def play(ctx: DemoContext) -> None:
    """Grant three items, record cases, review after the shortened period, return one item."""
    case_id = ctx.case_id("RZDG-FQ")
    seconds = demo_period_seconds()
    workflow_id = f"{PROCESS}/{case_id}"
    await _start_with_short_period(ctx, case_id, workflow_id, seconds)
    await _grant_and_record_cases(ctx, case_id)
    await _assess(ctx, case_id, seconds)
    result = await _decide_review(ctx, case_id)
    ctx.out.print(f"    保留 ZH-0107，调整 ZH-0215，收回 {', '.join(result.returned)} → state {result.state}")

    await ctx.send(ctx.envelope(PROCESS, "case_handed_over", case_id))
    await ctx.send(ctx.envelope(PROCESS, "handover_acknowledged", case_id))
    items = await _wait_for_item_state(ctx, workflow_id, "SC-0032", "returned")
    await _show_items(ctx, workflow_id, items, seconds)
    ctx.show_links(PROCESS, case_id)


async def _start_with_short_period(ctx: DemoContext, case_id: str, workflow_id: str, seconds: int) -> None:
    """Say on screen that the review period is shortened, then start the workflow with it.

    The workflow is started here, not by intake, because only its start input carries the
    review period; intake's start then finds this run and hands it the grant as a signal.
    """
    ctx.out.print(f"[bold]赋权乡镇街道 · 一年评估[/] {case_id}")
    ctx.out.print(
        f"  [yellow]演示设置：评估周期缩短为 {seconds} 秒（{REVIEW_PERIOD_SETTING}={seconds}）；"
        f"正式运行为生效后12个月。[/]"
    )
    ctx.out.print(
        f"  [yellow]Demo setting: the review comes {seconds} s after the items take effect "
        f"instead of 12 months.[/]"
    )
    # Intake's id and input shape, without the opening event: the grant comes through intake.
    await ctx.temporal.start_workflow(
        PowerDelegationWorkflow.run,
        CaseStart(
            process=PROCESS,
            case_id=case_id,
            rule_settings={**rule_settings_from_env(), REVIEW_PERIOD_SETTING: str(seconds)},
        ),
        id=workflow_id,
        task_queue=ctx.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def _grant_and_record_cases(ctx: DemoContext, case_id: str) -> None:
    """Grant the items effective today, have the township accept them, and record its cases:
    the counters the review later weighs (handled, overturned, complained about)."""
    today = datetime.now(SHANGHAI).date().isoformat()
    await ctx.send(ctx.envelope(PROCESS, "delegation_granted", case_id, effective_date=today))
    await ctx.wait_for_state(case_id, PROCESS, "granted")
    await ctx.send(ctx.envelope(PROCESS, "delegation_accepted", case_id))
    await ctx.wait_for_state(case_id, PROCESS, "active")

    ctx.out.print("  乡镇办案记录 / township case events:")
    for code, activity in (
        ("ZH-0107", "handled"),
        ("ZH-0107", "handled"),
        ("ZH-0215", "handled"),
        ("SC-0032", "overturned"),
        ("SC-0032", "complaint"),
    ):
        await ctx.send(
            ctx.envelope(
                PROCESS,
                "item_case_recorded",
                case_id,
                item_code=code,
                activity=activity,
                case_no=f"石臼综执罚〔{datetime.now(SHANGHAI).year}〕{uuid.uuid4().hex[:4]}号",
            ),
            pause=0.2,
        )


async def _assess(ctx: DemoContext, case_id: str, seconds: int) -> None:
    """Wait out the shortened period, then send the assessments a decision waits for: the
    township's and those of the departments whose items it took over."""
    ctx.out.print(f"  等待评估启动（{seconds} 秒）/ waiting for the review ({seconds} s) ...")
    await ctx.wait_for_state(case_id, PROCESS, "under_review", timeout=seconds + 60)

    ratings = [{"item_code": c, "rating": "competent"} for c in ("ZH-0107", "ZH-0215", "SC-0032")]
    await ctx.send(
        ctx.envelope(PROCESS, "assessment_submitted", case_id, assessor_role="township", ratings=ratings)
        | {"source_agency": TOWNSHIP}
    )
    await ctx.send(
        ctx.envelope(PROCESS, "assessment_submitted", case_id, ratings=ratings[:2])
        | {"source_agency": "rz-dg-zhzfj"}
    )
    await ctx.send(ctx.envelope(PROCESS, "assessment_submitted", case_id))
    await ctx.wait_for_state(case_id, PROCESS, "assessed")


async def _decide_review(ctx: DemoContext, case_id: str) -> ReviewDecisionResult:
    """Keep one item, adjust one, revoke one, through the same ``decide_review`` Update the
    console sends, so the demo exercises the reviewer's real path."""
    ctx.out.print(
        "  司法局作出评估决定（控制台同一 Update）/ the justice bureau decides (the console's Update):"
    )
    decision = ReviewDecisionIn(
        decision_id=str(uuid.uuid4()),
        reviewer="rz-dg-sfj",
        document_no="东政字〔2027〕88号",
        decisions=(
            ItemDecision(item_code="ZH-0107", outcome=ReviewOutcome.KEEP),
            ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.ADJUST, new_scope="街道辖区全域"),
            ItemDecision(
                item_code="SC-0032", outcome=ReviewOutcome.REVOKE, reason="评估为难以承接，收回原部门"
            ),
        ),
    )
    return await decide_review(ctx.temporal, case_id, decision)


async def _show_items(ctx: DemoContext, workflow_id: str, items: dict[str, Any], seconds: int) -> None:
    """Print each item's state and counters and the next review, which the shortened period
    puts minutes away rather than a year."""
    ctx.out.print("  赋权事项 / delegated items:")
    for code, item in items.items():
        ctx.out.print(
            f"    {code}  {item['name_zh']}  ({item['state']})  原部门 {item['original_department']}"
            f"  计数 {item['counters']}"
        )
    handle = ctx.temporal.get_workflow_handle(workflow_id)
    data = (await handle.query(PowerDelegationWorkflow.status)).data["delegation"]
    ctx.out.print(f"  下次评估 / next review: {data['next_review_at']} (demo period, {seconds} s)")


async def _wait_for_item_state(
    ctx: DemoContext, workflow_id: str, code: str, state: str, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll the workflow's status query until an item reaches ``state``; returns all items."""
    handle = ctx.temporal.get_workflow_handle(workflow_id)
    end = asyncio.get_running_loop().time() + timeout
    while True:
        status = await handle.query(PowerDelegationWorkflow.status)
        items: dict[str, Any] = status.data["delegation"]["items"]
        if items[code]["state"] == state:
            return items
        if asyncio.get_running_loop().time() > end:
            raise TimeoutError(f"item {code} of {workflow_id} did not reach {state!r} in {timeout}s")
        await asyncio.sleep(0.3)
