"""What a load left behind, counted per case where each effect lands: Temporal, the bus, the
read model and the notifier.

A case should have exactly one workflow, each of its domain events once on ``LAWLINK_OUT``,
each timeline row once in the registry and exactly one notification. It is *lost* when
anything is missing, *duplicated* when anything is there more than once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import nats
from sqlalchemy import text
from temporalio.client import Client

from contracts import subjects
from services.connections import DEAD_LETTER_STREAM, INTAKE_DURABLE
from services.readmodel.db import make_engine
from tests.bench.phases import OPENING_PROCESS

WORKFLOW_TYPE = "CaseTransfer"
# What a case opened by tests/chaos/load.py STEPS leaves (workflows/case_transfer.py): each
# inbound event and the step it moves, and the head's deadline; each once on the bus and once as a
# timeline row. The deadline is the one notification (to the agency that must act).
EXPECTED_TIMELINE = frozenset(
    {
        "case_transfer.crime_suspected",
        "case_transfer.opened",
        "case_transfer.team_formed",
        "case_transfer.team_assigned",
        "case_transfer.transfer_report_submitted",
        "case_transfer.awaiting_head_decision",
        "deadline.set",
    }
)
EXPECTED_DOMAIN_EVENTS = len(EXPECTED_TIMELINE)
EXPECTED_NOTIFICATIONS = 1


@dataclass
class CaseCounts:
    """How many of each effect one case has."""

    workflows: int = 0
    bus_events: int = 0
    timeline: Counter[str] = field(default_factory=Counter)
    notifications: int = 0

    def duplicated(self) -> bool:
        """Anything there more than once."""
        return (
            self.workflows > 1
            or self.bus_events > EXPECTED_DOMAIN_EVENTS
            or any(n > 1 for n in self.timeline.values())
            or sum(self.timeline.values()) > EXPECTED_DOMAIN_EVENTS
            or self.notifications > EXPECTED_NOTIFICATIONS
        )

    def complete(self) -> bool:
        """Nothing missing: the workflow, every domain event, every timeline row and the
        notification are there (once or more; :meth:`duplicated` tells the more)."""
        return (
            self.workflows >= 1
            and self.bus_events >= EXPECTED_DOMAIN_EVENTS
            and set(self.timeline) >= EXPECTED_TIMELINE
            and self.notifications >= EXPECTED_NOTIFICATIONS
        )


@dataclass
class Outcome:
    """Every case of one load, and what the stack as a whole still holds back."""

    cases: dict[str, CaseCounts]
    intake_backlog: int
    dead_letters: int

    def complete(self, case_ids: set[str]) -> set[str]:
        """Those of ``case_ids`` with nothing missing."""
        return {c for c in case_ids if self.cases[c].complete()}

    def duplicated(self) -> set[str]:
        """Every case with something twice."""
        return {c for c, counts in self.cases.items() if counts.duplicated()}


async def read_outcome(
    *, nats_url: str, temporal: Client, database_url: str, prefix: str, case_ids: list[str]
) -> Outcome:
    """Count every effect of the cases ``case_ids`` (all starting with ``prefix``); the intake
    backlog is every intake replica's (one consumer each, services/partition.py)."""
    cases = {case_id: CaseCounts() for case_id in case_ids}
    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND WorkflowId STARTS_WITH '{OPENING_PROCESS}/{prefix}'"
    async for execution in temporal.list_workflows(query):
        case_id = execution.id.split("/", 1)[1]
        if case_id in cases:
            cases[case_id].workflows += 1

    nc = await nats.connect(nats_url.split(","), allow_reconnect=False)
    try:
        js = nc.jetstream()
        out = await js.stream_info(subjects.STREAM_OUT, subjects_filter=f"lawlink.out.{OPENING_PROCESS}.*")
        for subject, n in (out.state.subjects or {}).items():
            case_id = subject.rsplit(".", 1)[1]
            if case_id in cases:
                cases[case_id].bus_events += n
        backlog = sum(
            info.num_pending + info.num_ack_pending
            for info in await js.consumers_info(subjects.STREAM_IN)
            if info.name == INTAKE_DURABLE or info.name.startswith(f"{INTAKE_DURABLE}-")
        )
        dead = await js.stream_info(DEAD_LETTER_STREAM)
    finally:
        await nc.close()

    timeline, notes = _read_model(database_url, prefix)
    for (case_id, kind), n in timeline.items():
        if case_id in cases:
            cases[case_id].timeline[kind] += n
    for case_id, n in notes.items():
        if case_id in cases:
            cases[case_id].notifications += n
    return Outcome(
        cases=cases,
        intake_backlog=backlog,
        dead_letters=dead.state.messages,
    )


def _read_model(database_url: str, prefix: str) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Timeline rows per (case, type) and notifications per case, straight from the database."""
    params = {"process": OPENING_PROCESS, "like": f"{prefix}%"}
    engine = make_engine(database_url)
    try:
        with engine.connect() as db:
            timeline = {
                (case_id, kind): n
                for case_id, kind, n in db.execute(
                    text(
                        "SELECT case_id, type, COUNT(*) FROM timeline_entry"
                        " WHERE process = :process AND case_id LIKE :like GROUP BY case_id, type"
                    ),
                    params,
                )
            }
            notes: dict[str, int] = defaultdict(int)
            for case_id, n in db.execute(
                text(
                    "SELECT case_id, COUNT(*) FROM notification"
                    " WHERE process = :process AND case_id LIKE :like GROUP BY case_id"
                ),
                params,
            ):
                notes[case_id] = n
    finally:
        engine.dispose()
    return timeline, notes
