"""A month of known cases, played through the real workflows on the time-skipping server,
projected by the real registry projection into SQLite and (with TEST_DATABASE_URL) PostgreSQL,
and every supervision figure checked against what the month held.

The month is the first whole month after the server's clock (the time-skipping server starts
at the wall clock and only moves forward); steps meant to be on time follow each other within
hours, steps meant to be late come days after their limit, so the outcome of every deadline
holds whatever the month's holidays are.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts.domain import DomainEvent
from contracts.jurisdiction_dispute import ClaimInput, DesignateInput, ExtendInput
from services.disputes import client as dc
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
from services.statistics.export import to_xlsx
from services.statistics.figures import compute
from services.statistics.model import Period, Statistics
from services.temporal_codec import lawlink_data_converter
from tests.events import event, new_case_id
from tests.servers import binary, postgres_schema
from tests.workflow_harness import CollectingPublisher, run_worker, send, start_case
from workflows import deadlines as dl

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

AGENCY, OTHER = "rz-scjgj", "rz-sthjj"  # two city agencies (the examples' police is rz-gaj)
POLICE, PROCURATORATE = "rz-gaj", "rz-jcy"
OFFICE = "rz-sfj"
REFUSE = {
    "decision": "refuse",
    "reasons": "现有证据不能证明当事人明知产品不合格，不予立案。",
    "file_returned": True,
}
UPHOLD = {"outcome": "uphold", "reasons": "复议认为原不予立案决定正确，予以维持。"}
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@dataclass
class Month:
    """What the played month left: its period, every domain event, and the clock at the end."""

    period: Period
    events: list[DomainEvent]
    now: datetime
    dispute_opened: dict[str, datetime]
    dispute_closed: dict[str, datetime]


class Player:
    """Plays cases on one worker, moving the shared clock forward between steps."""

    def __init__(self, env: WorkflowEnvironment, task_queue: str, published: CollectingPublisher) -> None:
        self.env, self.task_queue, self.published = env, task_queue, published
        self.handles: list[WorkflowHandle[Any, Any]] = []

    async def start(self, workflow: str, process: str, prefix: str) -> tuple[str, WorkflowHandle[Any, Any]]:
        case_id = new_case_id(prefix)
        handle = await start_case(self.env.client, self.task_queue, workflow, process, case_id)
        self.handles.append(handle)
        return case_id, handle

    async def step(
        self,
        handle: WorkflowHandle[Any, Any],
        process: str,
        name: str,
        case_id: str,
        *,
        agency: str | None = None,
        after: timedelta = timedelta(hours=1),
        **changes: Any,
    ) -> str:
        await self.env.sleep(after)
        if name == "explanation_requested" and "served_at" not in changes:
            changes["served_at"] = (await self.env.get_current_time()).isoformat()
        result = await send(handle, event(process, name, case_id=case_id, agency=agency, **changes))
        assert result.accepted, (name, result)
        return result.state

    async def transfer(self, steps: list[tuple[str, dict[str, Any]]], agency: str = AGENCY) -> str:
        case_id, handle = await self.start("CaseTransfer", "case_transfer", "ST")
        for name, changes in steps:
            changes = dict(changes)
            after = changes.pop("_after", timedelta(hours=1))
            sender = changes.pop("_agency", None)
            if sender is None and name in _AGENCY_STEPS:
                sender = agency
            await self.step(handle, "case_transfer", name, case_id, agency=sender, after=after, **changes)
        return case_id


_AGENCY_STEPS = {
    "crime_suspected",
    "team_formed",
    "transfer_report_submitted",
    "head_decided",
    "transferred",
    "reconsideration_requested",
    "supervision_requested",
    "materials_handed_over",
    "returned_for_penalty",
    "administrative_case_closed",
}
REPORTED = [("crime_suspected", {}), ("team_formed", {}), ("transfer_report_submitted", {})]
RECEIVED = [*REPORTED, ("head_decided", {}), ("transferred", {}), ("police_received", {})]
DAYS = timedelta(days=1)


async def play_month() -> Month:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=lawlink_data_converter()
    )
    try:
        now = (await env.get_current_time()).astimezone(dl.SHANGHAI)
        first = (now.date().replace(day=1) + timedelta(days=32)).replace(day=1)
        await env.sleep(datetime.combine(first, time(9), tzinfo=dl.SHANGHAI) - now)
        task_queue = f"stats-{uuid.uuid4()}"
        opened: dict[str, datetime] = {}
        closed: dict[str, datetime] = {}
        async with run_worker(env.client, task_queue) as published:
            p = Player(env, task_queue, published)
            # A: everything on time, filed, concluded.
            await p.transfer(
                [
                    *RECEIVED,
                    ("police_decided", {}),
                    ("materials_handed_over", {}),
                    ("criminal_outcome_reported", {}),
                ]
            )
            # I: a reverse transfer; the agency replies to the opinion within hours.
            case_id, handle = await p.start("ReverseTransfer", "reverse_transfer", "SV")
            for name in ("non_prosecution_decided", "handed_over"):
                await p.step(handle, "reverse_transfer", name, case_id)
            served = (await env.get_current_time()) + timedelta(hours=1)
            await p.step(handle, "reverse_transfer", "opinion_issued", case_id, served_at=served.isoformat())
            await p.step(handle, "reverse_transfer", "agency_replied", case_id)
            # B: the head decides 9 days after the report (3 allowed, however a holiday rolls
            # the last day) and the transfer comes 2 days after approval (24 h allowed).
            await p.transfer(
                [
                    *REPORTED,
                    ("head_decided", {"_after": 9 * DAYS}),
                    ("transferred", {"_after": 2 * DAYS}),
                    ("police_received", {}),
                    ("police_decided", {}),
                    ("materials_handed_over", {}),
                    ("criminal_outcome_reported", {}),
                ]
            )
            # C: another agency's head refuses the transfer.
            await p.transfer(
                [*REPORTED, ("head_decided", {"decision": "refuse", "reasons": "证据不足，不予移送。"})],
                agency=OTHER,
            )
            # D: the police refuse; reconsideration asked and the refusal upheld; handled
            # administratively.
            await p.transfer(
                [
                    *RECEIVED,
                    ("police_decided", REFUSE),
                    ("reconsideration_requested", {}),
                    ("reconsideration_decided", UPHOLD),
                    ("returned_for_penalty", {}),
                ]
            )
            # E: the police refuse; the procuratorate supervises and orders filing; filed.
            await p.transfer(
                [
                    *RECEIVED,
                    ("police_decided", REFUSE),
                    ("supervision_requested", {}),
                    ("explanation_requested", {}),
                    ("police_explained", {}),
                    ("filing_ordered", {}),
                    ("police_decided", {}),
                    ("materials_handed_over", {}),
                    ("criminal_outcome_reported", {}),
                ]
            )
            # F: a dispute settled by agreement.
            case_id, handle = await p.start("JurisdictionDispute", "jurisdiction_dispute", "SD")
            await p.step(handle, "jurisdiction_dispute", "dispute_raised", case_id)
            opened[case_id] = await env.get_current_time()
            await p.step(handle, "jurisdiction_dispute", "agreement_reached", case_id, after=2 * DAYS)
            closed[case_id] = await env.get_current_time()
            # G: a dispute the coordinator designates, with one extension.
            case_id, handle = await p.start("JurisdictionDispute", "jurisdiction_dispute", "SD")
            await p.step(handle, "jurisdiction_dispute", "dispute_raised", case_id)
            opened[case_id] = await env.get_current_time()
            await p.step(handle, "jurisdiction_dispute", "coordination_requested", case_id)
            await p.step(handle, "jurisdiction_dispute", "coordination_accepted", case_id)
            coordinator = {
                "coordinator": "u-coord-1",
                "coordinator_name": "张明",
                "coordinator_agency": OFFICE,
            }
            await dc.claim(env.client, case_id, ClaimInput(**coordinator))
            await env.sleep(DAYS)
            await dc.extend(
                env.client, case_id, ExtendInput(**coordinator, working_days=5, reason="需补充调查")
            )
            await env.sleep(DAYS)
            await dc.designate(
                env.client, case_id, DesignateInput(**coordinator, agency="rz-hyfzj", reason="最先立案")
            )
            await p.step(handle, "jurisdiction_dispute", "designation_acknowledged", case_id)
            closed[case_id] = await env.get_current_time()
            # J: approved, never transferred: the 24-hour limit is breached and stays open.
            await p.transfer([*REPORTED, ("head_decided", {})])
            await env.sleep(2 * DAYS)
            # H: a discipline-referral clue, awaiting its head's approval.
            case_id, handle = await p.start("DisciplineReferral", "discipline_referral", "SR")
            await p.step(handle, "discipline_referral", "clue_identified", case_id)
            end = await env.get_current_time()
            for handle in p.handles:
                if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("month played")
            events = list(published.events)
        return Month(
            period=Period.month(first.year, first.month),
            events=events,
            now=end,
            dispute_opened=opened,
            dispute_closed=closed,
        )
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="module")
async def month() -> AsyncIterator[Month]:
    yield await play_month()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """SQLite, and PostgreSQL (a schema of its own) when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stats.db'}"
        return
    with postgres_schema(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


def _projected(url: str, events: list[DomainEvent]) -> Any:
    """The month projected in shuffled batches (arrival order must not matter)."""
    migrate(url)
    engine = make_engine(url)
    shuffled = list(events)
    random.Random(20).shuffle(shuffled)
    with Session(engine) as session:
        for start in range(0, len(shuffled), 37):
            project(session, shuffled[start : start + 37])
            session.commit()
    return engine


def _values(stats: Statistics, section: str) -> dict[str, Any]:
    return {f.key: f.value for f in stats.section(section).figures}


def _due_in_month(month: Month, rule: str) -> int:
    """How many deadlines of ``rule`` the workflows set with a due date inside the month (a
    working-day limit set late in the month may run into the next, depending on holidays)."""
    return sum(
        1
        for e in month.events
        if e.type == "deadline.set"
        and e.deadline
        and e.deadline.rule == rule
        and e.deadline.due_at < month.period.end_at
    )


def test_every_figure_of_the_month(month: Month, database_url: str) -> None:
    engine = _projected(database_url, month.events)
    try:
        with Session(engine) as session:
            stats = compute(session, month.period, include_referrals=True, now=month.now)
            scoped = compute(session, month.period, agency=OTHER, now=month.now)
            police = compute(session, month.period, agency=POLICE, now=month.now)
    finally:
        engine.dispose()

    ct = _values(stats, "case_transfer")
    assert ct == {
        "crimes_suspected": 6,  # A B C D E J
        "head_approved": 5,
        "head_refused": 1,  # C
        "transfers": 4,  # A B D E
        "transfer_within_24h_rate": 0.75,  # B late
        "police_filed": 3,  # A B E
        "police_refused": 2,  # D E
        "filing_rate": 0.75,  # of A B D E, D was never filed
        "reconsiderations_requested": 1,
        "reconsideration_filed": 0,
        "reconsideration_upheld": 1,
        "supervision_requested": 1,
        "supervision_opened": 0,
        "filing_ordered": 1,
        "supervision_concluded": 0,
        "reverse_transfers": 1,
        "agency_replies": 1,
        "agency_replies_on_time_rate": 1.0,
        "agency_replies_overdue": 0,
    }
    rate = stats.section("case_transfer").figure("transfer_within_24h_rate")
    assert (rate.numerator, rate.denominator) == (3, 4)
    by_agency = stats.section("case_transfer").table("by_agency")
    assert [r.key for r in by_agency.rows] == [AGENCY, OTHER]  # never the police: they own no case
    mine = by_agency.row(AGENCY)
    assert mine is not None and mine.values == {
        "label": "日照市市场监督管理局",
        "crimes_suspected": 5,
        "transfers": 4,
        "head_refused": 0,
        "transfer_within_24h_rate": 0.75,
        "police_filed": 3,
        "police_refused": 2,
        "filing_rate": 0.75,
        "reconsiderations_requested": 1,
        "supervision_requested": 1,
    }
    other = by_agency.row(OTHER)
    assert other is not None and (other.values["crimes_suspected"], other.values["head_refused"]) == (1, 1)
    assert other.values["filing_rate"] is None  # nothing transferred: no rate, not 0%
    assert by_agency.total is not None and by_agency.total.values["crimes_suspected"] == 6

    pending = _due_in_month(month, "discipline_referral.head_approval")
    review = _due_in_month(month, "reverse_transfer.review")  # met on time, whenever due
    dl_values = _values(stats, "deadlines")
    fallen = 25 + review + 2 + 1
    assert dl_values == {
        "due": 28 + review + pending,
        "met_on_time": 25 + review,
        "met_late": 2,  # B's head decision and transfer: met late, still counted as breached
        "breached_open": 1,  # J's transfer
        "breached_closed": 0,
        "pending": pending,
        "breached": 3,
        "on_time_rate": round((25 + review) / fallen, 4),
        "used_ratio_median": dl_values["used_ratio_median"],
        "used_ratio_p90": dl_values["used_ratio_p90"],
    }
    assert 0 < dl_values["used_ratio_median"] <= dl_values["used_ratio_p90"] < 1  # 2 late of 27
    by_rule = stats.section("deadlines").table("by_rule")
    head = by_rule.row("case_transfer.head_decision")
    assert head is not None
    assert (head.values["due"], head.values["met_on_time"], head.values["met_late"]) == (6, 5, 1)
    transfer = by_rule.row("case_transfer.transfer_after_approval")
    assert transfer is not None
    assert [transfer.values[k] for k in ("due", "met_on_time", "met_late", "breached_open")] == [5, 3, 1, 1]
    assert transfer.values["on_time_rate"] == 0.6
    # Transfers an hour after approval use 1/24 of the 24 hours; B's, two days after, 2.0.
    assert transfer.values["used_ratio_median"] == round(1 / 24, 4)
    assert transfer.values["used_ratio_p90"] == round(1 / 24 + (2 - 1 / 24) * 0.7, 4)
    assert by_rule.row("case_transfer.reconsideration_request") is None  # a window, not a duty
    who = stats.section("deadlines").table("by_agency")
    agency_row, police_row = who.row(AGENCY), who.row(POLICE)
    assert agency_row is not None and police_row is not None
    assert (agency_row.values["met_late"], agency_row.values["breached_open"]) == (2, 1)
    assert (police_row.values["met_late"], police_row.values["breached_open"]) == (0, 0)
    assert police_row.values["on_time_rate"] == 1.0

    disputes = _values(stats, "disputes")
    days = sorted(
        dl.working_days_between(
            month.dispute_opened[k].astimezone(dl.SHANGHAI).date(),
            month.dispute_closed[k].astimezone(dl.SHANGHAI).date(),
            dl.WorkCalendar(),
        )
        for k in month.dispute_opened
    )
    assert disputes == {
        "raised": 2,
        "raised_positive": 2,
        "raised_negative": 0,
        "resolved": 2,
        "resolved_agreement": 1,  # F
        "resolved_designation": 1,  # G
        "resolved_government": 0,
        "rejected": 0,
        "working_days_median": (days[0] + days[1]) / 2,
        "working_days_p90": round(days[0] + (days[1] - days[0]) * 0.9, 4),
        "extensions_used": 1,
    }

    assert _values(stats, "referrals") == {"opened": 1}
    referrals = stats.section("referrals")
    assert [(r.key, r.values["count"]) for r in referrals.table("by_state").rows] == [("identified", 1)]
    assert [(r.key, r.values["count"]) for r in referrals.table("by_source").rows] == [
        ("case_file_review", 1)
    ]

    # The month's column of every trend equals the period's figure.
    mk = month.period.key
    for section, key in (
        ("case_transfer", "crimes_suspected"),
        ("case_transfer", "transfer_within_24h_rate"),
        ("deadlines", "on_time_rate"),
        ("deadlines", "due"),
    ):
        points = {p.month: p.value for p in stats.section(section).series_of(key).points}
        assert points[mk] == stats.section(section).figure(key).value, (section, key)
        assert len(points) == 12
    earlier = [p.value for p in stats.section("case_transfer").series_of("transfers").points[:-1]]
    assert earlier == [0] * 11

    # An agency officer's view: only that agency's cases and deadlines; no referrals section.
    assert not scoped.has_section("referrals")
    assert _values(scoped, "case_transfer")["crimes_suspected"] == 1
    assert _values(scoped, "case_transfer")["transfers"] == 0
    assert _values(scoped, "deadlines")["due"] == 1
    assert [r.key for r in scoped.section("case_transfer").table("by_agency").rows] == [OTHER]
    # receipt 4, decision 4, reconsideration 1, explanation 1, filing after the order 1
    assert _values(police, "deadlines")["due"] == 11 and _values(police, "deadlines")["met_late"] == 0
    assert _values(police, "case_transfer")["crimes_suspected"] == 0

    # The Excel file holds the same numbers.
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(to_xlsx(stats)))
    assert book.sheetnames == ["行刑衔接", "办理时限", "管辖争议", "问题线索移送纪检监察机关", "赋权乡镇街道"]
    sheet = book["行刑衔接"]
    cells = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert cells["发现涉嫌犯罪案件"] == 6 and cells["立案率"] == 0.75
