"""The load: opening events of the case-transfer process, published as an agency's system does.

Each event goes to JetStream on its agency's subject with ``Nats-Msg-Id`` = its event_id. An
event the bus did not acknowledge (NATS down, a timeout) is sent again, the same event with the
same id, until it is acknowledged or the load's deadline passes: an agency resends what it has
no receipt for, and the bus's de-duplication window makes the resend harmless.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import nats
import nats.errors
from nats.js.errors import NoStreamResponseError

from contracts import subjects
from tests.bench.phases import OPENING_PROCESS
from tests.events import body, event

RESEND_AFTER = 1.0
ACK_TIMEOUT = 2.0


@dataclass
class Load:
    """What the driver sent and what the bus acknowledged: events, and the cases whose every
    event was acknowledged."""

    cases: list[str]
    sent: int = 0
    acknowledged: int = 0
    accepted: set[str] = field(default_factory=set)
    resends: int = 0
    last_accepted_at: float = 0.0


# Each case: the suspected crime that opens it, the team formed, then its report, which starts the head's
# three-day clock (a deadline, so the agency gets a notification).
STEPS = ("crime_suspected", "team_formed", "transfer_report_submitted")

Message = tuple[str, bytes, str]  # event_id, body, subject


def opening_events(run: str, tag: str, n: int) -> dict[str, list[Message]]:
    """For ``n`` new cases ``B<run>-<tag>-<i>``, their events in the order they are sent."""
    out: dict[str, list[Message]] = {}
    for i in range(1, n + 1):
        case_id = f"B{run}-{tag}-{i}"
        out[case_id] = []
        for step in STEPS:
            data = event(OPENING_PROCESS, step, case_id=case_id)
            out[case_id].append(
                (data["event_id"], body(data), subjects.inbound(data["source_agency"], data["type"]))
            )
    return out


async def run_load(
    nats_url: str,
    cases: dict[str, list[Message]],
    *,
    rate: float,
    deadline: float,
    lanes: int = 16,
    load: Load | None = None,
) -> Load:
    """Open ``rate`` cases per second, at most ``lanes`` awaiting an ack; a case's next event
    goes once its previous one was acknowledged, so the bus holds them in order.

    Returns once every event is acknowledged or at ``deadline`` (``time.monotonic()``).
    """
    load = load or Load(cases=list(cases))

    async def quiet(_: Exception) -> None:
        """The outage is the point: its failed reconnects are counted as resends, not logged."""

    nc = await nats.connect(
        nats_url.split(","),
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        name="chaos-agency",
        pending_size=0,
        error_cb=quiet,
    )
    js = nc.jetstream(timeout=ACK_TIMEOUT)
    free = asyncio.Semaphore(lanes)

    async def publish(event_id: str, data: bytes, subject: str) -> bool:
        load.sent += 1
        while time.monotonic() < deadline:
            try:
                await js.publish(subject, data, stream=subjects.STREAM_IN, headers={"Nats-Msg-Id": event_id})
            except (nats.errors.Error, NoStreamResponseError, OSError):
                load.resends += 1
                await asyncio.sleep(RESEND_AFTER)
                continue
            load.acknowledged += 1
            return True
        return False

    async def send(case_id: str, messages: list[Message]) -> None:
        try:
            for message in messages:
                if not await publish(*message):
                    return
            load.accepted.add(case_id)
            load.last_accepted_at = time.monotonic()
        finally:
            free.release()

    started = time.monotonic()
    tasks = []
    try:
        for i, (case_id, messages) in enumerate(cases.items()):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            await free.acquire()
            tasks.append(asyncio.create_task(send(case_id, messages)))
        await asyncio.gather(*tasks)
    finally:
        await nc.close()
    return load
