"""``lawlink demo <name>``: play example cases through the running stack.

Each demo is a module here with ``async def play(ctx: DemoContext) -> None``; register it in
``DEMOS``. Demos publish real events over NATS (as an agency would) and, where a person would act
in the console, call the same Temporal Updates the console calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.demos import case_transfer, case_transfer_opening, delegation, discipline, dispute
from services.demos.base import DemoContext

Demo = Callable[[DemoContext], Awaitable[None]]

DEMOS: dict[str, Demo] = {
    "opening": case_transfer_opening.play,
    "case-transfer": case_transfer.play,
    "dispute": dispute.play,
    "delegation": delegation.play,
    "discipline": discipline.play,
}
