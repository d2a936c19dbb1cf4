"""``lawlink demo discipline``: a 12345 complaint becomes a confidential discipline referral.

Plays process 3 end to end over NATS, as the agencies' systems would: the hotline proposes a
clue, Donggang's justice bureau confirms it, its head approves, the clue goes to the Donggang
commission, which signs for it, disposes of it (初步核实), reports the outcome, and the justice
bureau records the rectification. The timeline shows every step and state; the clue's content
travels only on the senders' own inbound subjects and is stored encrypted, readable in the
console by the commission's discipline officers and the referring body's head.
"""

from __future__ import annotations

import json
from pathlib import Path

from services.demos.base import EXAMPLES, DemoContext

P = "discipline_referral"
JUSTICE = "rz-dg-sfj"
COMMISSION = "rz-dg-jwjw"


def _official() -> dict:
    clue = json.loads((Path(EXAMPLES) / P / "clue_identified.json").read_text(encoding="utf-8"))
    return {**clue["payload"]["officials"][0], "agency": "rz-dg-zhzfj"}


async def play(ctx: DemoContext) -> None:
    """Run one referral from the hotline complaint to rectification."""
    case_id = ctx.case_id("RZ12345")
    ctx.out.print(f"[bold]问题线索移送纪检监察机关（保密）[/] {case_id}")
    steps = [
        (ctx.envelope("hotline", "complaint_received", case_id, ticket_no=case_id), "proposed"),
        (
            _with(
                ctx.envelope(
                    P,
                    "clue_identified",
                    case_id,
                    source="hotline_complaint",
                    proposal_id=case_id,
                    officials=[_official()],
                    managing_level="district",
                ),
                JUSTICE,
            ),
            "identified",
        ),
        (_with(ctx.envelope(P, "referral_approved", case_id), JUSTICE), "approved"),
        (
            _with(
                ctx.envelope(P, "referred", case_id, commission=COMMISSION, managing_level="district"),
                JUSTICE,
            ),
            "referred",
        ),
        (_with(ctx.envelope(P, "referral_received", case_id), COMMISSION), "received"),
        (_with(ctx.envelope(P, "disposition_decided", case_id), COMMISSION), "verification"),
        (_with(ctx.envelope(P, "outcome_reported", case_id), COMMISSION), "rectifying"),
        (_with(ctx.envelope(P, "rectified", case_id), JUSTICE), "rectified"),
    ]
    for data, state in steps:
        await ctx.send(data)
        await ctx.wait_for_state(case_id, P, state)
        ctx.out.print(f"    state: [green]{state}[/]")
    ctx.out.print(
        "  内容仅加密存储，纪检监察人员及移送机关负责人可在控制台查看 / content stored encrypted, need-to-know only"
    )
    ctx.show_links(P, case_id)


def _with(data: dict, agency: str) -> dict:
    """The example sent by ``agency`` instead of the example's sender."""
    data["source_agency"] = agency
    return data
