"""The foundation's proof: one suspected crime opens a case-transfer workflow."""

from __future__ import annotations

from services.demos.base import DemoContext


async def play(ctx: DemoContext) -> None:
    """Open one case and wait until the registry shows it."""
    case_id = ctx.case_id("RZSC")
    ctx.out.print(f"[bold]案件移送 · 立案前[/] {case_id}")
    await ctx.send(ctx.envelope("case_transfer", "crime_suspected", case_id))
    await ctx.wait_for_state(case_id, "case_transfer", "opened")
    ctx.show_links("case_transfer", case_id)
