"""One fault under load: start a load, break a component once a third of it is on the bus,
mend it, and count what the load left behind once the stack converged."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import nats.errors
from temporalio.client import Client
from temporalio.service import RPCError

from tests.chaos.faults import Fault
from tests.chaos.load import Load, opening_events, run_load
from tests.chaos.outcome import Outcome, read_outcome
from tests.chaos.stack import ChaosStack


@dataclass(frozen=True)
class Row:
    """One fault's line of the table: ``sent`` and ``accepted`` count events (accepted = the
    bus acknowledged it), ``lost`` and ``duplicated`` count cases."""

    fault: str
    sent: int
    accepted: int
    lost: int
    duplicated: int
    dead_letters: int
    resends: int
    converge_seconds: float | None

    def as_dict(self) -> dict[str, Any]:
        """For the JSON next to the table."""
        return asdict(self)


COLUMNS = ("fault", "sent", "accepted", "lost", "duplicated", "dead letters", "resends", "s to converge")


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (printed, and pasted into the READMEs)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]
    for r in rows:
        converge = "not converged" if r.converge_seconds is None else f"{r.converge_seconds:.1f}"
        cells = [r.fault, r.sent, r.accepted, r.lost, r.duplicated, r.dead_letters, r.resends, converge]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


async def until_share_accepted(load: Load, share: float, task: asyncio.Task[Load]) -> None:
    """Until ``share`` of the load's cases had every event acknowledged (or the load ended)."""
    while len(load.accepted) < share * len(load.cases) and not task.done():
        await asyncio.sleep(0.05)


async def count_outcome(
    nats_url: str, database_url: str, temporal: Client, prefix: str, load: Load
) -> Outcome | None:
    """The current outcome, or None while an engine does not answer yet."""
    try:
        return await read_outcome(
            nats_url=nats_url,
            temporal=temporal,
            database_url=database_url,
            prefix=prefix,
            case_ids=load.cases,
        )
    except (RPCError, nats.errors.Error, OSError, TimeoutError):
        return None


async def until_converged(
    count: Callable[[], Awaitable[Outcome | None]],
    load: Load,
    since: float,
    within: float,
    healthy: Callable[[], None],
) -> tuple[float | None, Outcome | None]:
    """Seconds after ``since`` until every accepted case was complete and intake's backlog empty
    (None: not within ``within``), and the count taken once every service is ``healthy`` again:
    an effect repeated after the cases were complete (a redelivery, a republish) shows up as a
    duplicate there."""
    converged: float | None = None
    outcome: Outcome | None = None
    while time.monotonic() < since + within:
        outcome = await count() or outcome
        if outcome and outcome.intake_backlog == 0 and outcome.complete(load.accepted) == load.accepted:
            converged = time.monotonic() - since
            break
        await asyncio.sleep(0.5)
    await asyncio.to_thread(healthy)
    return converged, await count() or outcome


async def run_fault(
    stack: ChaosStack,
    temporal: Client,
    fault: Fault,
    *,
    run: str,
    tag: str,
    events: int,
    rate: float,
    converge_within: float,
) -> Row:
    """Send ``events`` opening events at ``rate``/s, inject ``fault`` after a third were
    accepted, and wait up to ``converge_within`` seconds after the fault and the load are over
    for every accepted case to be complete and intake's backlog empty.

    Seconds to converge count from whichever ended last, the fault (the component is back) or
    the load (its last event acknowledged).
    """
    cases = opening_events(run, tag, events)
    prefix = f"B{run}-{tag}-"
    load = Load(cases=list(cases))
    count = functools.partial(
        count_outcome, stack.bench.nats_url, stack.bench.database_url, temporal, prefix, load
    )
    before = await count()
    assert before is not None, f"{fault.name}: the stack does not answer before the fault"
    deadline = time.monotonic() + events / rate + fault.outage + converge_within
    sending = asyncio.create_task(
        run_load(stack.bench.nats_url, cases, rate=rate, deadline=deadline, load=load)
    )
    await until_share_accepted(load, 1 / 3, sending)
    await asyncio.to_thread(fault.breaks, stack)
    await asyncio.sleep(fault.outage)
    await asyncio.to_thread(fault.mends, stack)
    mended_at = time.monotonic()
    await sending
    since = max(mended_at, load.last_accepted_at)

    converged, outcome = await until_converged(count, load, since, converge_within, stack.wait_healthy)
    assert outcome is not None, f"{fault.name}: the engines never answered the count"
    return Row(
        fault=fault.name,
        sent=load.sent,
        accepted=load.acknowledged,
        lost=len(load.accepted - outcome.complete(load.accepted)),
        duplicated=len(outcome.duplicated()),
        dead_letters=outcome.dead_letters - before.dead_letters,
        resends=load.resends,
        converge_seconds=None if converged is None else round(converged, 1),
    )
