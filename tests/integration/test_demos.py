"""Every ``lawlink demo`` plays through the real stack (NATS, intake, Temporal, registry).

A demo sends the examples a newcomer first sees and waits, after each, for the state the
process's definition leads to: a definition or an example changed under a demo fails here (the
refused step leaves the case short of the state and the demo's wait runs out), not in front of
a newcomer running it. The delegation's review year is shortened as the demo's own setting
allows."""

from __future__ import annotations

from io import StringIO

import nats
import pytest
from rich.console import Console

from services.demos import DEMOS
from services.demos.base import DemoContext
from tests.servers import api_headers
from workflows.power_delegation import REVIEW_PERIOD_SETTING

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

# What each demo prints once its last wait is over (its case in its final state).
ENDS = {
    "opening": "lawlink timeline RZSC-DEMO-",
    "case-transfer": "done",
    "dispute": "acknowledged, case moved",
    "delegation": "(returned)",
    "discipline": "state: rectified",
}


def test_every_demo_is_played_here() -> None:
    assert set(ENDS) == set(DEMOS)


@pytest.mark.parametrize("name", sorted(DEMOS))
async def test_the_demo_plays_through_the_stack(stack, name: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv(REVIEW_PERIOD_SETTING, "3")
    nc = await nats.connect(stack.nats_url)
    buffer = StringIO()
    try:
        ctx = DemoContext(
            nc=nc,
            temporal=stack.temporal,
            registry_url=stack.registry_url,
            registry_headers=api_headers(),
            console_url="http://console.test",
            task_queue=stack.task_queue,
            out=Console(file=buffer, width=200),
        )
        await DEMOS[name](ctx)
    finally:
        await nc.close()
    printed = buffer.getvalue()
    assert ENDS[name] in printed, printed
