"""Process 3 on the time-skipping server: every path of a discipline referral, its deadlines and
reminders, the hotline and case-transfer entry points, and that no clue content is published.

Due dates are computed here by hand (or by :func:`is_workday`, straight from ``chinese_calendar``),
never by ``workflows/deadlines.py``. The holidays crossed: National Day 2025 (Oct 1-8 off, Sunday
Sep 28 and Saturday Oct 11 worked) and Spring Festival 2026 (Feb 15-23 off, Saturdays Feb 14 and
Feb 28 worked).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import chinese_calendar
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from contracts.common import AttachmentKind
from contracts.discipline_referral import PUBLIC_FIELDS, ManagingLevel
from contracts.domain import DomainEvent
from contracts.validation import EventRejected, validate_event
from contracts.workflow_io import CaseStatus
from services.notifier import recipients as rc
from tests.events import body, event, example, new_case_id
from tests.workflow_harness import CollectingPublisher, dumps, run_worker, send, start_case

pytestmark = pytest.mark.timeout(120)

P = "discipline_referral"
WF = "DisciplineReferral"
SH = timezone(timedelta(hours=8))
HEAD = f"{P}.head_approval"
INQUIRY = f"{P}.inquiry_close"
EXPECT = f"{P}.disposition_expectation"


def sh(*args: int) -> datetime:
    """A moment on the Shanghai wall clock."""
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def is_workday(d: date) -> bool:
    """China's official calendar; Monday-Friday for a year nobody has published yet."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


def test_the_calendar_these_tests_count_on() -> None:
    assert not any(is_workday(date(2025, 10, d)) for d in range(1, 9))
    assert is_workday(date(2025, 9, 28)) and is_workday(date(2025, 10, 11))
    assert not any(is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert is_workday(date(2026, 2, 14)) and is_workday(date(2026, 2, 28))


def content_strings() -> set[str]:
    """Every piece of clue content in the committed examples: the leaf strings of payload fields
    that are not public (ids, kinds, dates). None of them may ever appear on the bus."""
    found: set[str] = set()
    # Kinds and levels are enum words that appear on the bus legitimately (a referral's
    # managing_level goes with its commission id); they are not content.
    kinds = {k.value for k in AttachmentKind} | {level.value for level in ManagingLevel}

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if len(value) >= 4 and not value.startswith("rz-") and value not in kinds:
                found.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for process, names in ((P, PUBLIC_FIELDS), ("hotline", PUBLIC_FIELDS)):
        for event_type, public in names.items():
            if not event_type.startswith(process + "."):
                continue
            data = example(process, event_type.split(".", 1)[1])
            for key, value in data["payload"].items():
                if key not in public:
                    walk(value)
    return found


CONTENT = content_strings()


def assert_no_content(published: CollectingPublisher) -> None:
    text = dumps(published.events)
    leaked = sorted(s for s in CONTENT if s in text)
    assert not leaked, f"clue content on the bus: {leaked}"


class Referral:
    """Drives one referral workflow with example events at the test server's current time."""

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], case_id: str) -> None:
        self.env, self.handle, self.case_id = env, handle, case_id

    async def send(self, name: str, process: str = P, at: datetime | None = None, **changes: Any) -> str:
        """Send an example that happened ``at`` (default: the server's now)."""
        when = at or await self.now()
        data = event(process, name, case_id=self.case_id, occurred_at=when.astimezone(SH), **changes)
        result = await send(self.handle, data)
        assert result.accepted and not result.duplicate
        return result.state

    async def refused(
        self, name: str, *, field: str, process: str = P, at: datetime | None = None, **changes: Any
    ) -> str:
        when = at or await self.now()
        data = event(process, name, case_id=self.case_id, occurred_at=when.astimezone(SH), **changes)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await send(self.handle, data)
        cause = info.value.cause
        assert cause.details and cause.details[0]["field"] == field, cause
        return str(cause.message)

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def inquiry(self, **changes: Any) -> str:
        """A talk-or-letter inquiry whose talk happened as it is decided (unless changed)."""
        now = await self.now()
        changes.setdefault("inquiry_on", now.astimezone(SH).isoformat())
        return await self.send("disposition_decided", at=now, disposition="talk_or_letter_inquiry", **changes)

    async def status(self) -> Any:
        return await self.handle.query("status", result_type=CaseStatus)


async def open_referral(env: WorkflowEnvironment, task_queue: str) -> Referral:
    case_id = new_case_id("DR")
    handle = await start_case(env.client, task_queue, WF, P, case_id)
    return Referral(env, handle, case_id)


def rules(published: CollectingPublisher, event_type: str, case_id: str) -> list[str]:
    return [e.deadline.rule for e in published.of_type(event_type, case_id) if e.deadline is not None]


def of_rule(published: CollectingPublisher, case_id: str, rule: str) -> list[DomainEvent]:
    """Every deadline event (and escalation) of ``rule`` for the case, in order."""
    return [
        e
        for e in published.events
        if e.case_id == case_id
        and e.type.startswith(("deadline.", "escalation."))
        and e.deadline
        and e.deadline.rule == rule
    ]


def statuses(published: CollectingPublisher, case_id: str, rule: str) -> list[str]:
    return [f"{e.type}:{e.deadline.status}" for e in of_rule(published, case_id, rule)]  # type: ignore[union-attr]


async def _to_commission(r: Referral) -> None:
    assert await r.send("clue_identified") == "identified"
    assert await r.send("referral_approved") == "approved"
    assert await r.send("referred") == "referred"
    assert await r.send("referral_received") == "received"


@pytest.mark.parametrize(
    ("disposition", "state"),
    [
        ("talk_or_letter_inquiry", "inquiry"),
        ("preliminary_verification", "verification"),
        ("held_for_later", "held"),
        ("closed", "closed_by_commission"),
    ],
)
async def test_full_path_for_each_disposition(time_skipping_env, task_queue, disposition, state) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await _to_commission(r)
        if disposition == "talk_or_letter_inquiry":
            assert await r.inquiry() == state
        else:
            assert await r.send("disposition_decided", disposition=disposition) == state
        if disposition == "held_for_later":
            # A clue held for later may be taken up again with another disposition.
            assert (
                await r.send("disposition_decided", disposition="preliminary_verification") == "verification"
            )
        assert await r.send("outcome_reported") == "rectifying"
        assert await r.send("rectified") == "rectified"

        status = await r.status()
        assert status.closed and status.state == "rectified"
        types = published.types(r.case_id)
        assert types[-1] == "case.closed"
        for step in (
            "opened",
            "approved",
            "sent",
            "accepted",
            "disposed",
            "outcome_received",
            "rectification_recorded",
        ):
            assert f"{P}.{step}" in types
        disposed = published.of_type(f"{P}.disposed", r.case_id)
        assert disposed[0].payload == {"disposition": disposition}
        set_rules = rules(published, "deadline.set", r.case_id)
        assert f"{P}.head_approval" in set_rules and f"{P}.disposition_expectation" in set_rules
        met = rules(published, "deadline.met", r.case_id)
        assert f"{P}.head_approval" in met and f"{P}.disposition_expectation" in met
        if disposition == "talk_or_letter_inquiry":
            assert f"{P}.inquiry_close" in set_rules and f"{P}.inquiry_close" in met
        else:
            assert f"{P}.inquiry_close" not in set_rules
        assert set(published.of_type("deadline.set", r.case_id)[0].parties) >= {"rz-scjgj"}
        assert_no_content(published)


async def test_outcome_without_rectification_concludes(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await _to_commission(r)
        await r.send("disposition_decided", disposition="closed")
        state = await r.send("outcome_reported", rectification_required=False, rectification_items=[])
        assert state == "concluded"
        assert (await r.status()).closed
        outcome = published.of_type(f"{P}.outcome_reported", r.case_id)[0]
        assert outcome.payload == {"rectification_required": False}
        assert_no_content(published)


async def test_head_declines(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified")
        assert await r.send("referral_declined") == "declined"
        status = await r.status()
        assert status.closed and status.state == "declined"
        assert rules(published, "deadline.met", r.case_id) == [f"{P}.head_approval"]
        declined = published.of_type(f"{P}.referral_declined", r.case_id)[0]
        assert declined.kind == "received" and declined.payload == {}
        assert_no_content(published)


async def test_late_head_is_warned_and_escalated_but_still_decides(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified")
        await time_skipping_env.sleep(timedelta(days=20))
        types = published.types(r.case_id)
        assert types.index("deadline.warning") < types.index("deadline.breached")
        escalations = published.of_type("escalation.raised", r.case_id)
        assert [e.payload["target"] for e in escalations] == ["rz-sfj"]
        assert (await r.status()).state == "identified"  # a deadline never decides
        assert await r.send("referral_approved") == "approved"
        late = published.of_type("deadline.met", r.case_id)[-1]
        assert late.payload["late"] is True and late.payload["late_seconds"] > 0


async def test_forwarded_to_another_commission(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified")
        await r.send("referral_approved")
        await r.send("referred")
        state = await r.send(
            "referral_received", within_jurisdiction=False, reasons="按干部管理权限应由东港区办理"
        )
        assert state == "forward_pending"
        forward = [
            e for e in published.of_type("deadline.set", r.case_id) if e.deadline.rule == f"{P}.forward"
        ]
        assert (
            forward
            and forward[0].deadline.party == "rz-jwjw"
            and forward[0].deadline.counting == "working_days"
        )
        assert await r.send("referral_forwarded") == "forwarded"
        # The old commission no longer holds the clue; the new one signs for it.
        msg = await r.refused("referral_received", field="source_agency")
        assert "rz-dg-jwjw" in msg
        assert await r.send("referral_received", agency="rz-dg-jwjw") == "received"
        assert await r.send(
            "disposition_decided", agency="rz-dg-jwjw", disposition="preliminary_verification"
        )
        assert rules(published, "deadline.met", r.case_id).count(f"{P}.forward") == 1
        expectations = [
            e.deadline
            for e in published.of_type("deadline.set", r.case_id)
            if e.deadline.rule == f"{P}.disposition_expectation"
        ]
        assert [d.party for d in expectations] == ["rz-jwjw", "rz-dg-jwjw"]
        cancelled = rules(published, "deadline.cancelled", r.case_id)
        assert cancelled == [f"{P}.disposition_expectation"]
        status = await r.status()
        assert "rz-dg-jwjw" in status.data["commissions"] and status.data["commission"] == "rz-dg-jwjw"
        assert_no_content(published)


async def test_late_forward_escalates_to_city_commission(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send(
            "clue_identified",
            agency="rz-dg-scjgj",
            officials=[{"name": "某某", "position": "队员", "agency": "rz-dg-scjgj"}],
            managing_level="district",
        )
        await r.send("referral_approved", agency="rz-dg-scjgj")
        await r.send("referred", agency="rz-dg-scjgj", commission="rz-dg-jwjw", managing_level="district")
        await r.send(
            "referral_received", agency="rz-dg-jwjw", within_jurisdiction=False, reasons="非本级管理"
        )
        await time_skipping_env.sleep(timedelta(days=12))
        escalations = [
            e
            for e in published.of_type("escalation.raised", r.case_id)
            if e.payload["rule"] == f"{P}.forward"
        ]
        assert [e.payload["target"] for e in escalations] == ["rz-jwjw"]


async def test_returned_closes_the_referral(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await _to_commission(r)
        assert await r.send("referral_returned") == "returned"
        status = await r.status()
        assert status.closed and status.state == "returned"
        assert "deadline.cancelled" in published.types(r.case_id)
        assert_no_content(published)


def midnight_after(d: date) -> datetime:
    """The first instant after day ``d``: a period whose last day is ``d`` is due then."""
    return datetime.combine(d + timedelta(days=1), time(0), tzinfo=SH)


def thirty_days_from(start: datetime) -> datetime:
    """30 calendar days, the first not counted, a last day off moved to the next working day."""
    last = start.astimezone(SH).date() + timedelta(days=30)
    while not is_workday(last):
        last += timedelta(days=1)
    return midnight_after(last)


BREACH_WORDS = ("超过时限", "超期", "已提请监督", "passed", "not met", "supervis", "breach")


async def test_silent_commission_is_reminded_never_decided(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """The 30-day expectation is a reminder: deadline.reminder (status reminded) and a recorded
    reminder, a new period from the due date, and never a breach, an escalation or a word of
    blame in any notification."""
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified")
        await r.send("referral_approved")
        referred_at = await r.now()
        await r.send("referred", at=referred_at)
        await r.send("referral_received")
        await time_skipping_env.sleep(timedelta(days=65))

        first_due = thirty_days_from(referred_at)
        second_due = thirty_days_from(first_due)
        assert second_due < referred_at + timedelta(days=65)
        flow = [t for t in statuses(published, r.case_id, EXPECT) if not t.startswith("deadline.warning")]
        assert flow == [
            "deadline.set:open",
            "deadline.reminder:reminded",
            "deadline.set:open",
            "deadline.reminder:reminded",
            "deadline.set:open",
        ]
        sets = [e.deadline for e in of_rule(published, r.case_id, EXPECT) if e.type == "deadline.set"]
        assert [d.starts_at for d in sets] == [referred_at, first_due, second_due]  # type: ignore[union-attr]
        assert [d.nature for d in sets] == ["reminder"] * 3  # type: ignore[union-attr]
        reminded = [e for e in of_rule(published, r.case_id, EXPECT) if e.type == "deadline.reminder"]
        assert [e.occurred_at for e in reminded] == [first_due, second_due]

        reminders = published.of_type(f"{P}.reminder_sent", r.case_id)
        assert [m.payload for m in reminders] == [
            {"target": "rz-jwjw", "reminder": 1},
            {"target": "rz-jwjw", "reminder": 2},
        ]
        assert [m.occurred_at for m in reminders] == [first_due, second_due]
        assert all(m.kind == "request" for m in reminders)
        types = published.types(r.case_id)
        assert "deadline.breached" not in types and "escalation.raised" not in types
        assert (await r.status()).state == "received"  # a reminder never decides

        # One notification per reminder, to the commission, worded as a reminder.
        notes = [
            (e.type, n)
            for e in published.events
            if e.case_id == r.case_id
            and (e.type == f"{P}.reminder_sent" or (e.deadline and e.deadline.rule == EXPECT))
            for n in rc.notifications_for(e, console_url="http://console.test")
        ]
        reminder_notes = [n for t, n in notes if t in ("deadline.reminder", f"{P}.reminder_sent")]
        assert [(n.event_type, n.recipient, n.reason.value) for n in reminder_notes] == [
            ("deadline.reminder", "rz-jwjw", "act"),
            ("deadline.reminder", "rz-jwjw", "act"),
        ]
        for _, n in notes:
            text = " ".join(x for x in (n.title_zh, n.title_en, n.action_zh or "", n.action_en or ""))
            assert not [w for w in BREACH_WORDS if w in text], text
        assert all("仅提醒" in (n.action_zh or "") for n in reminder_notes)

        assert await r.send("disposition_decided") == "verification"
        met = [e for e in of_rule(published, r.case_id, EXPECT) if e.type == "deadline.met"]
        assert [e.deadline.deadline_id.rsplit("#", 1)[-1] for e in met] == ["0", "1", "2"]  # type: ignore[union-attr]
        assert all(e.payload["late"] is False for e in met)
        status = await r.status()
        assert status.state == "verification"
        assert not [d for d in status.open_deadlines if d.rule == EXPECT]


async def test_refusals_name_the_field_and_reveal_no_content(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.refused("referral_approved", field="type")  # nothing identified yet
        await r.send("clue_identified")
        before = list(published.types(r.case_id))
        messages = [
            await r.refused("referral_approved", field="source_agency", agency="rz-sthjj"),
            await r.refused("clue_identified", field="type"),
        ]
        await r.send("referral_approved")
        # The example clue is about a city-managed official: the city commission, nobody else.
        messages.append(
            await r.refused(
                "referred", field="payload.managing_level", commission="rz-ls-jwjw", managing_level="district"
            )
        )
        messages.append(
            await r.refused(
                "referred", field="payload.commission", commission="rz-ls-jwjw", managing_level=None
            )
        )
        assert "rz-ls-jwjw" in messages[-1] and "rz-jwjw" in messages[-1]
        assert published.types(r.case_id) == [
            *before,
            f"{P}.referral_approved",
            "deadline.met",
            f"{P}.approved",
        ]
        for message in messages:
            assert not [s for s in CONTENT if s in message]


async def test_hotline_complaint_proposes_and_justice_bureau_confirms(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        assert await r.send("complaint_received", process="hotline") == "proposed"
        proposal = published.of_type(f"{P}.clue_proposed", r.case_id)[0]
        # The complaint is about a Donggang district agency: Donggang's justice bureau decides.
        assert proposal.payload == {
            "proposal_id": r.case_id,
            "source": "hotline_complaint",
            "justice_bureau": "rz-dg-sfj",
        }
        received = published.of_type("hotline.complaint_received", r.case_id)[0]
        assert received.payload == {} and received.actor == "rz-12345"
        await r.refused(
            "clue_identified",
            field="source_agency",
            agency="rz-sfj",
            source="hotline_complaint",
            proposal_id=r.case_id,
        )
        await r.refused(
            "clue_identified",
            field="payload.proposal_id",
            agency="rz-dg-sfj",
            source="hotline_complaint",
            proposal_id="OTHER-1",
        )
        state = await r.send(
            "clue_identified",
            agency="rz-dg-sfj",
            source="hotline_complaint",
            proposal_id=r.case_id,
            officials=[{"name": "吴某", "position": "执法队员", "agency": "rz-dg-zhzfj"}],
        )
        assert state == "identified"
        head = [e.deadline for e in published.of_type("deadline.set", r.case_id)][0]
        # A justice bureau that is itself late answers to its government.
        assert head.party == "rz-dg-sfj" and head.escalate_to == ("rz-dg",)
        assert_no_content(published)


async def test_hotline_proposal_dismissed(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("complaint_received", process="hotline")
        assert await r.send("proposal_dismissed", agency="rz-dg-sfj", proposal_id=r.case_id) == "dismissed"
        assert (await r.status()).closed
        assert published.of_type(f"{P}.proposal_dismissed", r.case_id)[0].payload == {
            "proposal_id": r.case_id
        }
        assert_no_content(published)


def test_complaint_outside_enforcement_misconduct_is_refused_with_reason() -> None:
    data = event("hotline", "complaint_received", category="consultation")
    with pytest.raises(EventRejected) as info:
        validate_event(body(data), "rz-12345")
    rejection = info.value.rejection
    assert rejection.field == "payload.category"
    assert "not point to enforcement misconduct" in rejection.reason
    assert validate_event(body(event("hotline", "complaint_received")), "rz-12345").envelope.type


def test_escalation_clue_needs_its_proposal() -> None:
    data = event(P, "clue_identified", agency="rz-sfj", source="case_transfer_escalation")
    with pytest.raises(EventRejected) as info:
        validate_event(body(data), "rz-sfj")
    rejection = info.value.rejection
    assert rejection.field == "payload" and rejection.reason.endswith(
        "proposal_id: required when source is case_transfer_escalation"
    )


async def test_late_case_transfer_proposes_a_clue_the_justice_bureau_confirms(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    ct_case = new_case_id("CT")
    async with run_worker(client, task_queue) as published:
        ct = await start_case(client, task_queue, "CaseTransfer", "case_transfer", ct_case)
        now = await time_skipping_env.get_current_time()
        await send(
            ct, event("case_transfer", "crime_suspected", case_id=ct_case, occurred_at=now.astimezone())
        )
        await send(ct, event("case_transfer", "team_formed", case_id=ct_case, occurred_at=now.astimezone()))
        await send(
            ct,
            event(
                "case_transfer", "transfer_report_submitted", case_id=ct_case, occurred_at=now.astimezone()
            ),
        )
        await time_skipping_env.sleep(timedelta(days=10))
        breached = [
            e
            for e in published.of_type("deadline.breached", ct_case)
            if e.deadline.rule == "case_transfer.head_decision"
        ]
        assert breached, "the head's decision deadline was not breached"
        proposals = published.of_type(f"{P}.clue_proposed", ct_case)
        assert proposals, "the late case transfer emitted no discipline_referral.clue_proposed"
        proposal = proposals[0].payload
        assert proposal["agency"] == "rz-scjgj" and proposal["rule"] == "case_transfer.head_decision"
        assert ct_case in (proposal.get("case_transfer_case_id"), proposal.get("case_id"))
        justice = proposal.get("justice_bureau") or proposal.get("confirm_by")
        assert justice == "rz-sfj"

        r = await open_referral(time_skipping_env, task_queue)
        state = await r.send(
            "clue_identified",
            agency=justice,
            source="case_transfer_escalation",
            proposal_id=proposal["proposal_id"],
            related_process="case_transfer",
            related_case_id=ct_case,
        )
        assert state == "identified"
        opened = published.of_type(f"{P}.opened", r.case_id)[0]
        assert (
            opened.payload["proposal_id"] == proposal["proposal_id"]
            and opened.payload["related_case_id"] == ct_case
        )


# ----- events dated in the past: every period counts from when its step happened --------------


def working_days_before(d: date, n: int) -> date:
    """The n-th working day before ``d``."""
    while n:
        d -= timedelta(days=1)
        n -= is_workday(d)
    return d


def working_days_after(d: date, n: int) -> date:
    """The n-th working day after ``d`` (``d`` itself is not counted)."""
    while n:
        d += timedelta(days=1)
        n -= is_workday(d)
    return d


async def test_clue_identified_seven_working_days_ago_is_breached_on_arrival(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    """The head's 5 working days ran out before Lawlink heard of the clue: breached at once, at
    the true due date, escalated, and no warning for a period already over."""
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        now = (await r.now()).astimezone(SH)
        identified = datetime.combine(working_days_before(now.date(), 7), time(10), tzinfo=SH)
        assert await r.send("clue_identified", at=identified) == "identified"

        due = midnight_after(working_days_after(identified.date(), 5))
        assert due < now
        assert statuses(published, r.case_id, HEAD) == [
            "deadline.set:open",
            "deadline.breached:breached",
            "escalation.raised:breached",
        ]
        head = of_rule(published, r.case_id, HEAD)
        assert head[0].deadline.starts_at == identified and head[0].deadline.due_at == due  # type: ignore[union-attr]
        assert head[0].occurred_at == identified  # the deadline was set when the clue was found
        breach, escalation = head[1], head[2]
        assert breach.occurred_at == due and escalation.occurred_at == due
        assert breach.recorded_at >= now - timedelta(seconds=5)
        assert escalation.payload["target"] == "rz-sfj" and escalation.payload["party"] == "rz-scjgj"
        assert "deadline.warning" not in published.types(r.case_id)
        assert (await r.status()).state == "identified"  # still waits for the head

        approved_at = await r.now()
        assert await r.send("referral_approved", at=approved_at) == "approved"
        met = of_rule(published, r.case_id, HEAD)[-1]
        assert met.type == "deadline.met" and met.payload["late"] is True
        assert met.payload["late_seconds"] == int((approved_at - due).total_seconds())


async def test_approval_in_time_reported_late_across_national_day(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """Identified on Friday 2025-09-26: the 5 working days are Sep 28 (a worked Sunday), 29, 30,
    then Oct 9 and 10 after the National Day holidays, so the head had until the end of
    2025-10-10. Both events reach Lawlink a year later: the breach is recorded at once, dated
    2025-10-11 00:00, and withdrawn by the approval dated 2025-10-10, which was in time."""
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified", at=sh(2025, 9, 26, 10))
        due = sh(2025, 10, 11)
        head = of_rule(published, r.case_id, HEAD)
        assert head[0].deadline.due_at == due  # type: ignore[union-attr]
        assert [e.type for e in head] == ["deadline.set", "deadline.breached", "escalation.raised"]
        assert head[1].occurred_at == due and head[2].occurred_at == due

        assert await r.send("referral_approved", at=sh(2025, 10, 10, 16)) == "approved"
        assert [e.type for e in of_rule(published, r.case_id, HEAD)][3:] == [
            "deadline.met",
            "escalation.withdrawn",
        ]
        met, withdrawn = of_rule(published, r.case_id, HEAD)[3:]
        assert met.occurred_at == sh(2025, 10, 10, 16)
        assert met.payload == {"late": False, "late_seconds": 0, "breach_withdrawn": True}
        assert met.deadline.status == "met" and met.deadline.late_seconds == 0  # type: ignore[union-attr]
        assert withdrawn.payload["target"] == "rz-sfj"
        # Approved on the 10th: the referral is dated after it, never before.
        msg = await r.refused("referred", field="occurred_at", at=sh(2025, 10, 9, 9))
        assert "2025-10-09T09:00+08:00" in msg and "2025-10-10T16:00+08:00" in msg


async def test_inquiry_counts_from_the_talk_across_spring_festival(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    """The talk was on Friday 2026-01-16 and the disposition reported on 2026-02-05, 20 days
    later. 30 days from the talk end on 2026-02-15, a Spring Festival holiday; the holidays run
    to Feb 23, so the inquiry may close until the end of Tuesday 2026-02-24 (counted from the
    report instead it would have been 2026-03-09)."""
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send("clue_identified", at=sh(2026, 1, 5, 9))
        await r.send("referral_approved", at=sh(2026, 1, 6, 9))
        await r.send("referred", at=sh(2026, 1, 7, 9))
        await r.send("referral_received", at=sh(2026, 1, 8, 9))
        talk = sh(2026, 1, 16, 10)
        state = await r.send(
            "disposition_decided",
            at=sh(2026, 2, 5, 10),
            disposition="talk_or_letter_inquiry",
            inquiry_on=talk.isoformat(),
        )
        assert state == "inquiry"
        inquiry = of_rule(published, r.case_id, INQUIRY)
        d = inquiry[0].deadline
        assert d.starts_at == talk and d.anchor == "inquiry_on"  # type: ignore[union-attr]
        assert d.due_at == sh(2026, 2, 25)  # type: ignore[union-attr]
        # Long past when reported: breached at once at the true due date (nobody to escalate to).
        assert [e.type for e in inquiry] == ["deadline.set", "deadline.breached"]
        assert inquiry[1].occurred_at == sh(2026, 2, 25)
        disposed = published.of_type(f"{P}.disposition_decided", r.case_id)[0]
        assert disposed.payload == {"disposition": "talk_or_letter_inquiry", "inquiry_on": talk.isoformat()}

        # Closed on the last day, a working day after the holidays: in time.
        assert await r.send("outcome_reported", at=sh(2026, 2, 24, 15)) == "rectifying"
        met = [e for e in of_rule(published, r.case_id, INQUIRY) if e.type == "deadline.met"][0]
        assert met.payload == {"late": False, "late_seconds": 0, "breach_withdrawn": True}

        # The referral reported eleven months late: each 30-day expectation reminded at its own
        # due date (Feb 6 is a working Friday; the next period runs from Feb 7 to Mar 9).
        reminders = [e for e in of_rule(published, r.case_id, EXPECT) if e.type == "deadline.reminder"]
        assert [e.occurred_at for e in reminders[:2]] == [sh(2026, 2, 7), sh(2026, 3, 10)]
        assert "escalation.raised" not in [e.type for e in of_rule(published, r.case_id, EXPECT)]
        # The disposition of Feb 5 answered the first period; the later ones began only because
        # it was reported late, and are cancelled.
        settled = [
            (e.deadline.deadline_id.rsplit("#", 1)[-1], e.type)  # type: ignore[union-attr]
            for e in of_rule(published, r.case_id, EXPECT)
            if e.type in ("deadline.met", "deadline.cancelled")
        ]
        assert settled[0] == ("0", "deadline.met") and settled[1:]
        assert all(t == "deadline.cancelled" for _, t in settled[1:])
        assert_no_content(published)


async def test_receipt_dated_before_the_referral_is_refused(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        now = (await r.now()).astimezone(SH)
        await r.send("clue_identified", at=now - timedelta(hours=5))
        await r.send("referral_approved", at=now - timedelta(hours=4))
        referred = now - timedelta(hours=2)
        await r.send("referred", at=referred)
        before = list(published.types(r.case_id))
        received = now - timedelta(hours=3)
        msg = await r.refused("referral_received", field="occurred_at", at=received)
        iso = lambda m: m.isoformat(timespec="minutes")  # noqa: E731
        assert iso(received) in msg and iso(referred) in msg
        assert published.types(r.case_id) == before
        assert await r.send("referral_received", at=referred + timedelta(minutes=30)) == "received"


async def test_talk_date_must_fall_while_the_commission_holds_the_clue(time_skipping_env, task_queue) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        now = (await r.now()).astimezone(SH)
        await r.send("clue_identified", at=now - timedelta(days=3))
        await r.send("referral_approved", at=now - timedelta(days=3))
        await r.send("referred", at=now - timedelta(days=2))
        await r.send("referral_received", at=now - timedelta(days=2))
        decided = now - timedelta(hours=1)
        for talk in (now, now - timedelta(days=2, hours=1)):  # after the report; before the receipt
            msg = await r.refused(
                "disposition_decided",
                field="payload.inquiry_on",
                at=decided,
                disposition="talk_or_letter_inquiry",
                inquiry_on=talk.isoformat(),
            )
            assert talk.isoformat(timespec="minutes") in msg
        assert INQUIRY not in [e.deadline.rule for e in published.events if e.deadline]
        assert await r.inquiry(inquiry_on=(now - timedelta(days=1)).isoformat()) == "inquiry"


def test_inquiry_needs_its_talk_date_and_only_an_inquiry_has_one() -> None:
    data = event(P, "disposition_decided", disposition="talk_or_letter_inquiry")
    with pytest.raises(EventRejected) as info:
        validate_event(body(data), "rz-jwjw")
    assert info.value.rejection.field == "payload.inquiry_on"
    assert "required when disposition is talk_or_letter_inquiry" in info.value.rejection.reason
    data = event(P, "disposition_decided", inquiry_on="2026-11-20T10:00:00+08:00")
    with pytest.raises(EventRejected) as info:
        validate_event(body(data), "rz-jwjw")
    assert info.value.rejection.field == "payload.inquiry_on"
    ok = event(
        P, "disposition_decided", disposition="talk_or_letter_inquiry", inquiry_on="2026-11-20T10:00:00+08:00"
    )
    assert validate_event(body(ok), "rz-jwjw").payload.inquiry_on == sh(2026, 11, 20, 10)  # type: ignore[attr-defined]


# ----- the commission of the level that manages the official -----------------------------------

DONGGANG_OFFICIAL = {"name": "某某", "position": "执法队员", "agency": "rz-dg-zhzfj"}


async def test_city_justice_bureau_refers_a_district_managed_official_to_the_district_commission(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue) as published:
        r = await open_referral(time_skipping_env, task_queue)
        await r.send(
            "clue_identified", agency="rz-sfj", officials=[DONGGANG_OFFICIAL], managing_level="district"
        )
        await r.send("referral_approved", agency="rz-sfj")
        # Not the referrer's own territory's commission (the city's), nor another district's.
        for commission in ("rz-jwjw", "rz-ls-jwjw"):
            msg = await r.refused(
                "referred",
                field="payload.commission",
                agency="rz-sfj",
                commission=commission,
                managing_level=None,
            )
            assert "rz-dg-jwjw" in msg and "district" in msg
        msg = await r.refused(
            "referred",
            field="payload.managing_level",
            agency="rz-sfj",
            commission="rz-jwjw",
            managing_level="city",
        )
        assert "district" in msg
        assert (
            await r.send("referred", agency="rz-sfj", commission="rz-dg-jwjw", managing_level=None)
            == "referred"
        )
        sent = published.of_type(f"{P}.sent", r.case_id)[0]
        assert sent.payload == {"commission": "rz-dg-jwjw", "managing_level": "district"}
        # The official's agency never goes on the bus, not even as an id.
        assert "rz-dg-zhzfj" not in dumps([e for e in published.events if e.case_id == r.case_id])
        assert await r.send("referral_received", agency="rz-dg-jwjw") == "received"
        opened = published.of_type(f"{P}.opened", r.case_id)[0]
        assert "managing_level" not in opened.payload and "managing_commission" not in opened.payload
        assert_no_content(published)


async def test_city_managed_official_of_a_district_agency_goes_to_the_city_commission(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    async with run_worker(time_skipping_env.client, task_queue):
        r = await open_referral(time_skipping_env, task_queue)
        official = {"name": "某某", "position": "局长", "agency": "rz-dg-scjgj"}
        await r.send("clue_identified", agency="rz-dg-scjgj", officials=[official], managing_level="city")
        await r.send("referral_approved", agency="rz-dg-scjgj")
        msg = await r.refused(
            "referred",
            field="payload.commission",
            agency="rz-dg-scjgj",
            commission="rz-dg-jwjw",
            managing_level=None,
        )
        assert "rz-jwjw" in msg and "city" in msg
        assert await r.send("referred", agency="rz-dg-scjgj", commission="rz-jwjw") == "referred"


def test_district_managed_official_must_work_in_a_district() -> None:
    data = event(P, "clue_identified", managing_level="district")  # the example's official is city-level
    with pytest.raises(EventRejected) as info:
        validate_event(body(data), "rz-scjgj")
    rejection = info.value.rejection
    assert rejection.field == "payload.managing_level"
    assert "赵某明" not in rejection.reason and "rz-scjgj" not in rejection.reason
    missing = event(P, "clue_identified")
    del missing["payload"]["managing_level"]
    with pytest.raises(EventRejected) as info:
        validate_event(body(missing), "rz-scjgj")
    assert info.value.rejection.field == "payload.managing_level"
    # A city-managed official never goes to a district commission, whatever the clue says.
    wrong = event(P, "referred", commission="rz-dg-jwjw", managing_level="city")
    with pytest.raises(EventRejected) as info:
        validate_event(body(wrong), "rz-scjgj")
    assert info.value.rejection.field == "payload"
    assert "commission" in info.value.rejection.reason
