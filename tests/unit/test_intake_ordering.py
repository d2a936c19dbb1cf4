"""Intake hands one case's events to Temporal in arrival order, and other cases' in parallel.

The NATS consumer works on many messages at once. Without per-case ordering a case's second
event could overtake the signal-with-start of its first and be refused "no open case"; that
is what made the dead-letter integration test flaky on a clean CI clone.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.workflow_io import ReceiveResult
from services.intake.core import CaseNotReady, Intake, Outcome, Patience, WaitsForEarlier
from tests.events import event
from workflows.case_base import REFUSED_ERROR_TYPE


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


class _Recording:
    """Intake's JetStream, keeping the refusals it publishes."""

    def __init__(self) -> None:
        self.published: list[bytes] = []

    async def publish(self, _subject: str, body: bytes, **__: Any) -> None:
        self.published.append(body)


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
    assert intake._turns.turns == {}  # no lock outlives the messages that used it


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
    assert intake._queued == {} and intake._turns.turns == {}


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


def _consumer(intake: Intake, backoff: tuple[float, ...] = (0.5, 0.5, 0.5, 0.5)) -> Any:
    """Intake's NATS consumer around ``intake``, with only what its case ordering reads."""
    from services.intake.app import _Runtime

    runtime = _Runtime(
        settings=SimpleNamespace(intake_backoff_seconds=backoff),  # type: ignore[arg-type]
        broker=None,  # type: ignore[arg-type]
        keeper=None,  # type: ignore[arg-type]
        counted=None,  # type: ignore[arg-type]
        partition=None,  # type: ignore[arg-type]
        durable="intake",
        consumer=None,  # type: ignore[arg-type]
        rule_settings={},
    )
    runtime.state["intake"] = intake
    return runtime


def _delivered(raw: bytes, times: int) -> Any:
    return SimpleNamespace(
        body=raw, raw_message=SimpleNamespace(metadata=SimpleNamespace(num_delivered=times))
    )


async def _take(runtime: Any, intake: Intake, raw: bytes, seq: int, delivered: int) -> Exception | None:
    """One delivery through the consumer's case ordering, as ``take_held`` runs it."""

    async def attempt() -> Exception | None:
        try:
            await intake.submit(raw, "rz-scjgj", patience=Patience(final=False))
        except Exception as exc:  # noqa: BLE001 - the consumer's classification
            return exc
        return None

    return await runtime._take_in_case_order(_delivered(raw, delivered), seq, attempt)


async def test_a_redelivered_event_waits_for_an_opening_that_comes_back_after_it() -> None:
    """Both a case's opening and its next event were out with an intake that died; they come
    back each after its own ``ack_wait``, the next event first. On its second delivery it must
    wait for the opening (holding its case and giving way to it), not be nak'ed: a nak per
    delivery ran out its deliveries before the opening returned, and it was refused
    "no open case"."""
    temporal = _SlowTemporal(start_delay=0.05)
    intake = _intake(temporal)
    runtime = _consumer(intake)
    later = asyncio.create_task(_take(runtime, intake, _raw("team_formed", "RZ-BACK-3"), 20, delivered=2))
    await asyncio.sleep(0.3)  # the next event has failed "no open case" and waits
    assert not later.done()
    opening = await _take(runtime, intake, _raw("crime_suspected", "RZ-BACK-3"), 10, delivered=2)
    assert opening is None
    assert await asyncio.wait_for(later, 5) is None
    assert [kind for kind, _ in temporal.calls] == ["start", "update"]
    assert intake._queued == {} and intake._turns.turns == {}


async def test_a_redelivered_event_of_its_own_failure_is_not_held() -> None:
    """Only a case not open yet is waited for on later deliveries; any other failure of a
    redelivered event goes back to JetStream at once, to its back-off and dead letter."""
    temporal = _SlowTemporal(start_delay=0)
    temporal.started.add("case_transfer/RZ-FAIL-1")

    async def failing(*_: Any, **__: Any) -> ReceiveResult:
        raise TimeoutError("the workflow did not answer")

    intake = _intake(temporal)
    runtime = _consumer(intake, backoff=(30.0,))
    handle = temporal.get_workflow_handle("case_transfer/RZ-FAIL-1")
    temporal.get_workflow_handle = lambda _wid: handle  # type: ignore[method-assign]
    handle.execute_update = failing  # type: ignore[method-assign]
    started = asyncio.get_running_loop().time()
    failure = await _take(runtime, intake, _raw("team_formed", "RZ-FAIL-1"), 30, delivered=2)
    assert failure is not None and "did not answer" in str(failure)
    assert asyncio.get_running_loop().time() - started < 5


class _InOrderTemporal(_SlowTemporal):
    """Refuses a case's step that comes before the one it follows, as the workflow's
    validator does ("form the team first"); records the steps in the order taken."""

    ORDER = ("crime_suspected", "team_formed", "transfer_report_submitted")

    def __init__(self) -> None:
        super().__init__(start_delay=0.05)
        self.taken: list[str] = []
        self.seen: set[str] = set()
        self.outcomes: dict[str, WorkflowUpdateFailedError] = {}

    async def start_workflow(self, _type: Any, arg: Any, *, id: str, **kw: Any) -> None:
        await super().start_workflow(_type, arg, id=id, **kw)
        self.taken.append(arg.opening.type.split(".", 1)[1])

    def get_workflow_handle(self, wid: str) -> Any:
        temporal = self

        class _Ordered(_Handle):
            async def execute_update(self, _update: Any, env: Any, *, id: str, **__: Any) -> ReceiveResult:
                """As Temporal does for an Update the workflow accepted and then refused in
                its handler (one taken in the task of the opening event), the outcome stays
                with the Update's id: the same id gets the same answer again."""
                if wid not in temporal.started:
                    raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
                if id in temporal.outcomes:
                    raise temporal.outcomes[id]
                if str(env.event_id) in temporal.seen:
                    return ReceiveResult(accepted=True, duplicate=True, state=temporal.taken[-1])
                step = env.type.split(".", 1)[1]
                expected = temporal.ORDER[len(temporal.taken)]
                if step != expected:
                    temporal.outcomes[id] = _refused("type", f"{step} before {expected}")
                    raise temporal.outcomes[id]
                temporal.taken.append(step)
                temporal.seen.add(str(env.event_id))
                return ReceiveResult(accepted=True, duplicate=False, state=step)

        return _Ordered(self, wid)


def _refused(field: str, reason: str) -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(
        ApplicationError(reason, {"field": field, "reason": reason}, type=REFUSED_ERROR_TYPE)
    )


async def test_a_case_turn_goes_to_the_earliest_stream_sequence_not_the_first_to_arrive() -> None:
    """An intake died holding a case's opening and its third step; the second step, delivered
    afresh, waits for the opening. The two come back together, the opening first: the case's
    turn must go to the opening, then the second step, then the third, although the third
    queued for the case before the waiting second step gave way (it was refused "form the
    team first" when the case went by arrival)."""
    temporal = _InOrderTemporal()
    intake = _intake(temporal)
    runtime = _consumer(intake)
    second = asyncio.create_task(_take(runtime, intake, _raw("team_formed", "RZ-TURN-1"), 20, delivered=1))
    await asyncio.sleep(0.3)  # it found no case and waits, holding the case
    opening = asyncio.create_task(
        _take(runtime, intake, _raw("crime_suspected", "RZ-TURN-1"), 10, delivered=2)
    )
    third = asyncio.create_task(
        _take(runtime, intake, _raw("transfer_report_submitted", "RZ-TURN-1"), 30, delivered=2)
    )
    assert await asyncio.wait_for(asyncio.gather(opening, second, third), 10) == [None, None, None]
    assert temporal.taken == list(_InOrderTemporal.ORDER)
    assert intake._queued == {} and intake._turns.turns == {}


async def test_a_refusal_waits_while_an_earlier_message_is_pending_and_is_answered_once_none_is() -> None:
    """A step its workflow refuses may only be early: the step before it is still out (with an
    intake that died). While the stream has an earlier message unhandled it waits; once every
    earlier message is handled the refusal is final and answered at once."""
    temporal = _InOrderTemporal()
    temporal.started.add("case_transfer/RZ-TURN-2")
    temporal.taken.append("crime_suspected")
    jetstream = _Recording()
    published = jetstream.published
    intake = Intake(temporal, jetstream, "lawlink", {})  # type: ignore[arg-type]
    raw = _raw("transfer_report_submitted", "RZ-TURN-2")
    pending = True

    async def earlier_pending() -> bool:
        return pending

    with pytest.raises(WaitsForEarlier, match="an earlier event is still pending"):
        await intake.submit(raw, "rz-scjgj", patience=Patience(final=False, earlier_pending=earlier_pending))
    assert published == []
    pending = False
    result = await intake.submit(
        raw, "rz-scjgj", patience=Patience(final=False, earlier_pending=earlier_pending)
    )
    assert result.outcome is Outcome.REJECTED
    assert result.rejection is not None and result.rejection.field == "type"
    assert len(published) == 1 and b"before team_formed" in published[0]
    # On its last delivery the refusal is answered whatever may still be pending.
    pending = True
    last = await intake.submit(
        raw, "rz-scjgj", patience=Patience(final=True, earlier_pending=earlier_pending)
    )
    assert last.outcome is Outcome.REJECTED


async def test_an_event_refused_for_now_is_taken_once_the_step_before_it_has_come() -> None:
    """A case's third step reaches its workflow first (the second is still out with an intake
    that died) and is refused for now; the second comes and is taken; the third, tried again,
    is taken too, although the workflow's first answer to it stays under its Update id."""
    temporal = _InOrderTemporal()
    temporal.started.add("case_transfer/RZ-TURN-3")
    temporal.taken.append("crime_suspected")

    async def pending() -> bool:
        return "team_formed" not in temporal.taken

    intake = _intake(temporal)
    third = _raw("transfer_report_submitted", "RZ-TURN-3")
    with pytest.raises(WaitsForEarlier):
        await intake.submit(third, "rz-scjgj", patience=Patience(final=False, earlier_pending=pending))
    second = await intake.submit(
        _raw("team_formed", "RZ-TURN-3"), "rz-scjgj", patience=Patience(final=False, earlier_pending=pending)
    )
    assert second.outcome is Outcome.ACCEPTED
    again = await intake.submit(third, "rz-scjgj", patience=Patience(final=False, earlier_pending=pending))
    assert again.outcome is Outcome.ACCEPTED
    assert temporal.taken == list(_InOrderTemporal.ORDER)
    # Sent once more (its acknowledgement lost), it is a duplicate, not a second report.
    repeated = await intake.submit(third, "rz-scjgj", patience=Patience(final=False, earlier_pending=pending))
    assert repeated.outcome is Outcome.DUPLICATE


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # Temporal's answer while the case's workflow task keeps failing (a worker died holding it).
        (RPCError("workflow task is failing", RPCStatusCode.FAILED_PRECONDITION, b""), "waits"),
        (RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b""), "closed"),
    ],
    ids=["workflow task failing", "closed"],
)
async def test_an_open_case_whose_workflow_task_fails_is_not_refused_as_closed(
    error: RPCError, expected: str
) -> None:
    """The cluster test's killed worker left cases whose workflow task timed out; Temporal turned
    their Updates away with FAILED_PRECONDITION, which intake took for a closed case and refused
    the events for good. Only a case whose run has completed is closed."""
    temporal = _SlowTemporal(start_delay=0)
    temporal.started.add("case_transfer/RZ-BUSY-1")
    handle = temporal.get_workflow_handle("case_transfer/RZ-BUSY-1")
    temporal.get_workflow_handle = lambda _wid: handle  # type: ignore[method-assign]

    async def answer(*_: Any, **__: Any) -> ReceiveResult:
        raise error

    handle.execute_update = answer  # type: ignore[method-assign]
    jetstream = _Recording()
    published = jetstream.published
    intake = Intake(temporal, jetstream, "lawlink", {})  # type: ignore[arg-type]
    raw = _raw("team_formed", "RZ-BUSY-1")
    if expected == "waits":
        with pytest.raises(CaseNotReady):
            await intake.submit(raw, "rz-scjgj")
        assert published == []
    else:
        result = await intake.submit(raw, "rz-scjgj")
        assert result.rejection is not None and "is closed" in result.rejection.reason
