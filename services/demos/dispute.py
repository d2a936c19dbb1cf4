"""``lawlink demo dispute``: a positive jurisdiction dispute from the first event to the
designated agency taking the case.

The agencies' steps are published on NATS as their systems would send them; the coordinator's
steps (claim, ask for opinions, designate) go through ``services.disputes.client``, the same
Updates the console's buttons call.
"""

from __future__ import annotations

from contracts.jurisdiction_dispute import ClaimInput, DesignateInput, RequestOpinionsInput
from services.demos.base import DemoContext
from services.disputes import client as disputes

PROCESS = "jurisdiction_dispute"
COORDINATOR = {"coordinator": "u-coord-1", "coordinator_name": "张明", "coordinator_agency": "rz-sfj"}


async def play(ctx: DemoContext) -> None:
    """Raise, fail to agree, coordinate with opinions, designate the first to file, acknowledge."""
    case_id = ctx.case_id("RZJD")
    ctx.out.print(f"[bold]管辖争议协调 · Jurisdiction dispute[/] {case_id}")
    await ctx.send(ctx.envelope(PROCESS, "dispute_raised", case_id))
    await ctx.wait_for_state(case_id, PROCESS, "negotiating")
    ctx.out.print("  协商期 5 个工作日；双方未达成一致，市场监管局提请协调")
    await ctx.send(ctx.envelope(PROCESS, "coordination_requested", case_id))
    await ctx.wait_for_state(case_id, PROCESS, "coordination_requested")
    await ctx.send(ctx.envelope(PROCESS, "coordination_accepted", case_id))
    await ctx.wait_for_state(case_id, PROCESS, "coordinating")

    status = await disputes.dispute_status(ctx.temporal, case_id)
    suggestion = status.data.get("suggestion") or {}
    ctx.out.print(f"  最先立案建议 · first-to-file suggestion: [green]{suggestion.get('agency')}[/]")
    ctx.out.print(f"    {suggestion.get('reason_zh')}")

    result = await disputes.claim(ctx.temporal, case_id, ClaimInput(**COORDINATOR))
    ctx.out.print(f"  ✓ 协调人认领 claimed by {result.claimed_by}")
    result = await disputes.request_opinions(
        ctx.temporal,
        case_id,
        RequestOpinionsInput(
            **COORDINATOR, agencies=["rz-hyfzj", "rz-scjgj"], note="请于七个工作日内提交书面意见"
        ),
    )
    ctx.out.print(f"  ✓ 征求书面意见 opinions requested (next due {result.due_at})")
    await ctx.send(ctx.envelope(PROCESS, "opinion_submitted", case_id))
    scjgj = ctx.envelope(
        PROCESS,
        "opinion_submitted",
        case_id,
        opinion="涉案产品已进入市场流通，建议由本局管辖。",
        legal_basis="《食品安全法》第一百二十二条",
    )
    scjgj["source_agency"] = "rz-scjgj"
    await ctx.send(scjgj)
    await ctx.wait_for_state(case_id, PROCESS, "coordinating")

    result = await disputes.designate(
        ctx.temporal,
        case_id,
        DesignateInput(
            **COORDINATOR,
            agency=str(suggestion.get("agency") or "rz-hyfzj"),
            reason="依《行政处罚法》第二十五条由最先立案的市海洋发展局管辖；市场监管局移交已取得的证据。",
        ),
    )
    ctx.out.print(f"  ✓ 指定管辖 designated {result.designated_agency}; 待确认 (due {result.due_at})")
    await ctx.send(ctx.envelope(PROCESS, "designation_acknowledged", case_id))
    await ctx.wait_for_state(case_id, PROCESS, "resolved")
    ctx.out.print("  ✓ 被指定机关已确认接收 · acknowledged, case moved")
    ctx.show_links(PROCESS, case_id)
