"""``lawlink demo case-transfer``: one forward case filed after reconsideration, one reverse case.

Both are played through the running stack exactly as agencies would send them (NATS, intake,
Temporal, registry), waiting after each event until the registry shows the new state, so the
timeline a newcomer then opens is complete. Statutory clocks run in real time here; the unit
tests show warnings and breaches on the time-skipping server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.demos.base import SHANGHAI, DemoContext

FORWARD: list[tuple[str, dict[str, Any], str, str]] = [
    ("crime_suspected", {}, "opened", "市场监管局发现涉嫌销售伪劣产品罪"),
    ("team_formed", {}, "team_formed", "组成三人专案组（第5条）"),
    ("transfer_report_submitted", {}, "reported", "专案组提交书面报告，负责人3日内决定"),
    ("head_decided", {}, "approved", "局长批准移送，24小时内移送"),
    ("transferred", {}, "transferred", "移送市公安局，抄送市检察院（第6条材料齐全）"),
    ("police_received", {}, "received", "公安机关签收，3日内决定是否立案"),
    (
        "police_decided",
        {"decision": "refuse", "reasons": "现有证据不足以证明主观明知。", "file_returned": True},
        "police_refused",
        "公安机关不予立案并退回案卷",
    ),
    ("reconsideration_requested", {}, "reconsideration", "市场监管局3日内提请复议（第9条）"),
    ("reconsideration_decided", {}, "filed", "复议决定立案"),
    ("materials_handed_over", {}, "materials_handed_over", "3日内移交涉案物品和材料（第12条）"),
    ("criminal_outcome_reported", {}, "concluded", "公安机关反馈：已移送审查起诉"),
]

REVERSE: list[tuple[str, dict[str, Any], str, str]] = [
    ("non_prosecution_decided", {}, "handover_pending", "东港区检察院不起诉，但应予行政处罚"),
    ("handed_over", {}, "under_review", "刑事检察部门移交行政检察部门，10个工作日审查"),
    ("review_paused", {}, "paused", "被不起诉人申诉，审查期限中止计算"),
    ("review_resumed", {}, "under_review", "申诉审结，按剩余工作日恢复计算"),
    ("opinion_issued", {}, "awaiting_reply", "制发检察意见书，主管机关2个月内书面回复"),
    ("agency_replied", {}, "replied", "东港区市场监管局回复：已作出行政处罚"),
]


async def _play(
    ctx: DemoContext, process: str, case_id: str, steps: list[tuple[str, dict[str, Any], str, str]]
) -> None:
    for name, changes, state, note in steps:
        data = ctx.envelope(process, name, case_id, **changes)
        if name == "opinion_issued":
            # Served as the event reports it: not after the report, not before the review resumed.
            data["payload"]["served_at"] = data["occurred_at"]
        ctx.out.print(f"  [dim]{note}[/]")
        await ctx.send(data, pause=0.1)
        await ctx.wait_for_state(case_id, process, state)


async def play(ctx: DemoContext) -> None:
    """Play the forward case, then the reverse case, and print where to look."""
    forward = ctx.case_id("RZSC")
    ctx.out.print(f"[bold]行刑衔接 · 正向移送（复议后立案）[/] {forward}")
    await _play(ctx, "case_transfer", forward, FORWARD)
    ctx.show_links("case_transfer", forward)

    reverse = ctx.case_id("RZDG")
    ctx.out.print(f"[bold]行刑反向衔接 · 检察院不起诉后移送行政处罚[/] {reverse}")
    await _play(ctx, "reverse_transfer", reverse, REVERSE)
    ctx.show_links("reverse_transfer", reverse)
    ctx.out.print(f"  [green]done[/] {datetime.now(SHANGHAI):%H:%M:%S}")
