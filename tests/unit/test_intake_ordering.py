"""Intake hands one case's events to Temporal in arrival order, and other cases' in parallel.

The NATS consumer works on many messages at once. Without per-case ordering a case's second
event could overtake the signal-with-start of its first and be refused "no open case"; that
is what made the dead-letter integration test flaky on a clean CI clone.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from contracts.workflow_io import ReceiveResult
from services.intake.core import Intake, Outcome
from tests.events import event


class _SlowTemporal:
    """Starts take a while; an update for a case that has not started yet is 'not found'."""

    def __init__(self, start_delay: float) -> None:
        self.start_delay = start_delay
        self.started: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def start_workflow(self, _type: str, _arg: Any, *, id: str, **_: Any) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(self.start_delay)
        self.in_flight -= 1
        self.calls.append(("start", id))
        self.started.add(id)

    def get_workflow_handle(self, wid: str) -> _Handle:
        return _Handle(self, wid)


class _Handle:
    def __init__(self, temporal: _SlowTemporal, wid: str) -> None:
        self._temporal = temporal
        self._wid = wid

    async def execute_update(self, *_: Any, **__: Any) -> ReceiveResult:
        if self._wid not in self._temporal.started:
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
        self._temporal.calls.append(("update", self._wid))
        return ReceiveResult(accepted=True, duplicate=False, state="team_formed")


class _NoJetStream:
    async def publish(self, *_: Any, **__: Any) -> None:
        raise AssertionError("nothing should be rejected")


def _intake(temporal: _SlowTemporal) -> Intake:
    return Intake(temporal, _NoJetStream(), "lawlink", {})  # type: ignore[arg-type]


def _raw(name: str, case_id: str) -> bytes:
    return json.dumps(event("case_transfer", name, case_id=case_id), ensure_ascii=False).encode()


async def test_a_cases_second_event_waits_for_the_start_of_its_first() -> None:
    temporal = _SlowTemporal(start_delay=0.2)
    intake = _intake(temporal)
    first = asyncio.create_task(intake.submit(_raw("crime_suspected", "RZ-ORDER-1"), "rz-scjgj"))
    await asyncio.sleep(0)  # the opening event arrives first
    second = asyncio.create_task(intake.submit(_raw("team_formed", "RZ-ORDER-1"), "rz-scjgj"))
    results = await asyncio.gather(first, second)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    assert [kind for kind, _ in temporal.calls] == ["start", "update"]
    assert intake._case_locks == {}  # no lock outlives the messages that used it


async def test_different_cases_are_not_serialised() -> None:
    temporal = _SlowTemporal(start_delay=0.2)
    intake = _intake(temporal)
    await asyncio.gather(
        *(intake.submit(_raw("crime_suspected", f"RZ-PAR-{n}"), "rz-scjgj") for n in range(5))
    )
    assert temporal.max_in_flight == 5


async def test_a_held_later_event_gives_way_when_an_earlier_one_of_its_case_comes_back() -> None:
    """After an intake dies holding a case's opening, the opening returns after ``ack_wait``,
    behind the case's next event, which fails "no open case" and waits out its back-off
    holding the case. It gives the case up as soon as the earlier event queues for it; an
    event of another case, or a later one, does not cut its pause short."""
    intake = _intake(_SlowTemporal(start_delay=0))
    stop = asyncio.Event()
    later = _raw("team_formed", "RZ-BACK-1")
    held, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:  # the consumer's task of the later event, holding its case
        async with intake.case_order(later, 20):
            held.set()
            await release.wait()

    holding = asyncio.create_task(holder())
    await held.wait()
    other = asyncio.create_task(_hold(intake, _raw("crime_suspected", "RZ-BACK-2"), 5))
    newer = asyncio.create_task(_hold(intake, _raw("transfer_report_submitted", "RZ-BACK-1"), 30))
    assert not await intake.pause_unless_overtaken(later, 20, 0.2, stop)
    earlier = asyncio.create_task(_hold(intake, _raw("crime_suspected", "RZ-BACK-1"), 10))
    started = asyncio.get_running_loop().time()
    assert await intake.pause_unless_overtaken(later, 20, 30.0, stop)
    assert asyncio.get_running_loop().time() - started < 5
    release.set()
    await asyncio.gather(holding, other, newer, earlier)
    assert intake._queued == {} and intake._case_locks == {}


async def test_a_pause_ends_when_intake_stops() -> None:
    intake = _intake(_SlowTemporal(start_delay=0))
    stop = asyncio.Event()
    raw = _raw("team_formed", "RZ-STOP-1")
    asyncio.get_running_loop().call_later(0.1, stop.set)
    started = asyncio.get_running_loop().time()
    assert not await intake.pause_unless_overtaken(raw, 7, 30.0, stop)
    assert asyncio.get_running_loop().time() - started < 5


async def _hold(intake: Intake, raw: bytes, seq: int) -> None:
    async with intake.case_order(raw, seq):
        await asyncio.sleep(0)
