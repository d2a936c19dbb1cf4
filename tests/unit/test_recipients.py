"""The recipient table: every domain event type has a row, and each row tells the right agencies.

``EXPECTED`` restates, independently of the table, who must hear about each type (as
``reason:selector``). A new domain event type in the catalog fails
``test_every_domain_event_type_has_a_row`` until the notifier's table has a row for it, and
``test_expected_recipients`` until this file says what that row should be.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.catalog import CONFIDENTIAL_PROCESSES, DOMAIN_EVENT_TYPES, PROCESSES
from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from contracts.notifications import Audience, Reason
from services.notifier import recipients as rc

EXPECTED: dict[str, set[str]] = {
    "deadline.set": {"act:deadline_party"},
    "deadline.warning": {"act:deadline_party"},
    "deadline.breached": {"act:deadline_party"},
    "deadline.met": set(),
    "deadline.cancelled": {"inform:deadline_party"},
    "deadline.recomputed": {"act:deadline_party"},
    "deadline.lapsed": {"inform:deadline_party"},
    "deadline.reminder": {"act:deadline_party"},
    "escalation.raised": {"supervise:escalation_target"},
    "escalation.withdrawn": {"inform:escalation_target"},
    "case.closed": {"inform:parties"},
    "case_transfer.crime_suspected": set(),
    "case_transfer.team_formed": set(),
    "case_transfer.transfer_report_submitted": set(),
    "case_transfer.head_decided": set(),
    "case_transfer.transferred": set(),
    "case_transfer.police_received": set(),
    "case_transfer.police_forwarded": set(),
    "case_transfer.police_decided": set(),
    "case_transfer.reconsideration_requested": set(),
    "case_transfer.supervision_requested": set(),
    "case_transfer.reconsideration_decided": set(),
    "case_transfer.police_explained": set(),
    "case_transfer.filing_ordered": set(),
    "case_transfer.supervision_concluded": set(),
    "case_transfer.materials_handed_over": set(),
    "case_transfer.criminal_outcome_reported": set(),
    "case_transfer.administrative_case_closed": set(),
    "case_transfer.returned_for_penalty": set(),
    "case_transfer.opened": set(),
    "case_transfer.team_assigned": set(),
    "case_transfer.awaiting_head_decision": set(),
    "case_transfer.transfer_approved": set(),
    "case_transfer.transfer_refused_by_head": {"inform:payload:visible_to"},
    "case_transfer.sent_to_police": {"act:payload:police", "inform:payload:procuratorate_copy"},
    "case_transfer.accepted_by_police": {"inform:case_agency"},
    "case_transfer.forward_pending": {"inform:case_agency"},
    "case_transfer.forwarded_to_competent": {"act:payload:forwarded_to", "inform:case_agency"},
    "case_transfer.case_filed": {"inform:case_agency", "inform:parties:procuratorate"},
    "case_transfer.filing_refused": {"inform:case_agency", "inform:parties:procuratorate"},
    "case_transfer.reconsideration_pending": set(),
    "case_transfer.refusal_upheld": {"inform:case_agency"},
    "case_transfer.supervision_started": {"act:payload:procuratorate"},
    "case_transfer.supervision_opened": set(),
    "case_transfer.explanation_requested": set(),
    "case_transfer.explanation_pending": {"inform:case_agency"},
    "case_transfer.reconsideration_concluded": {"inform:case_agency", "inform:parties:procuratorate"},
    "case_transfer.supervision_ended": {"inform:case_agency"},
    "case_transfer.explanation_received": {"act:parties:procuratorate", "inform:case_agency"},
    "case_transfer.filing_order_issued": {"inform:case_agency"},
    "case_transfer.refusal_final": {"inform:case_agency"},
    "case_transfer.materials_complete": {"inform:parties:police"},
    "discipline_referral.clue_proposed": {"act:payload:confirm_by,justice_bureau"},
    "reverse_transfer.non_prosecution_decided": set(),
    "reverse_transfer.handed_over": set(),
    "reverse_transfer.review_paused": set(),
    "reverse_transfer.review_resumed": set(),
    "reverse_transfer.review_extended": set(),
    "reverse_transfer.opinion_issued": set(),
    "reverse_transfer.review_ended": set(),
    "reverse_transfer.agency_replied": set(),
    "reverse_transfer.police_no_crime_found": set(),
    "reverse_transfer.police_returned": set(),
    "reverse_transfer.agency_accepted": set(),
    "reverse_transfer.opened": {"inform:payload:agency"},
    "reverse_transfer.under_review": set(),
    "reverse_transfer.clock_paused": set(),
    "reverse_transfer.clock_resumed": set(),
    "reverse_transfer.clock_extended": set(),
    "reverse_transfer.awaiting_reply": set(),
    "reverse_transfer.return_pending": set(),
    "reverse_transfer.awaiting_acceptance": {"act:parties:administrative+township"},
    "jurisdiction_dispute.dispute_raised": set(),
    "jurisdiction_dispute.opened": {"coordinate:coordinator"},
    "jurisdiction_dispute.agreement_reached": set(),
    "jurisdiction_dispute.coordination_requested": {"inform:parties"},
    "jurisdiction_dispute.coordination_accepted": {"inform:parties"},
    "jurisdiction_dispute.taken_into_coordination": {"inform:parties"},
    "jurisdiction_dispute.coordination_rejected": set(),
    "jurisdiction_dispute.claimed": {"inform:parties"},
    "jurisdiction_dispute.unclaimed": {"coordinate:coordinator"},
    "jurisdiction_dispute.reassigned": {"coordinate:coordinator"},
    "jurisdiction_dispute.opinion_requested": set(),
    "jurisdiction_dispute.opinion_submitted": {"coordinate:coordinator"},
    "jurisdiction_dispute.extended": {"inform:parties"},
    "jurisdiction_dispute.jurisdiction_designated": {"inform:parties"},
    "jurisdiction_dispute.referred_to_government": {"act:payload:government", "inform:parties"},
    "jurisdiction_dispute.interim_agency_named": {"act:payload:agency", "inform:parties"},
    "jurisdiction_dispute.designation_acknowledged": set(),
    "discipline_referral.clue_identified": set(),
    "discipline_referral.proposal_dismissed": set(),
    "discipline_referral.referral_approved": set(),
    "discipline_referral.referral_declined": set(),
    "discipline_referral.referred": set(),
    "discipline_referral.referral_received": set(),
    "discipline_referral.referral_forwarded": set(),
    "discipline_referral.referral_returned": set(),
    "discipline_referral.disposition_decided": set(),
    "discipline_referral.outcome_reported": set(),
    "discipline_referral.rectified": set(),
    "hotline.complaint_received": set(),
    "discipline_referral.opened": set(),
    "discipline_referral.approved": set(),
    "discipline_referral.declined": set(),
    "discipline_referral.dismissed": set(),
    "discipline_referral.returned": set(),
    "discipline_referral.rectification_recorded": set(),
    "discipline_referral.sent": {"act:payload:commission"},
    "discipline_referral.accepted": {"inform:referrer"},
    "discipline_referral.forward_pending": {"inform:referrer"},
    "discipline_referral.forwarded": {"act:payload:commission", "inform:referrer"},
    "discipline_referral.disposed": {"inform:referrer"},
    "discipline_referral.reminder_sent": set(),  # deadline.reminder asks the commission
    "discipline_referral.outcome_received": {"act:referrer", "inform:referrer"},
    "power_delegation.delegation_granted": set(),
    "power_delegation.delegation_accepted": set(),
    "power_delegation.review_decided": set(),
    "power_delegation.item_revoked_early": set(),
    "power_delegation.handover_acknowledged": set(),
    "power_delegation.item_case_recorded": set(),
    "power_delegation.case_handed_over": set(),
    "power_delegation.assessment_submitted": {"inform:parties:justice"},
    "power_delegation.opened": {
        "act:payload:township",
        "inform:payload:items[].original_department,original_department",
    },
    "power_delegation.effect_scheduled": {
        "inform:case_agency",
        "inform:payload:items[].original_department,original_department",
    },
    "power_delegation.items_effective": {"inform:parties"},
    "power_delegation.review_started": {"act:payload:assessors", "inform:payload:reviewers"},
    "power_delegation.assessments_complete": {"act:parties:justice", "inform:case_agency"},
    "power_delegation.review_concluded": {"inform:parties"},
    "power_delegation.item_returned": {"act:payload:to", "act:parties:township"},
    "power_delegation.handover_completed": {"inform:parties:township", "inform:case_agency"},
}

CONSOLE = "http://console.test"


def _event(
    event_type: str,
    *,
    process: str = "case_transfer",
    kind: EntryKind = EntryKind.STEP,
    actor: str | None = None,
    parties: tuple[str, ...] = (),
    payload: dict | None = None,
    deadline: DeadlineInfo | None = None,
    case_id: str = "RZSC-2026-0015",
) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type=event_type,
        occurred_at=datetime(2026, 11, 20, 1, 30, tzinfo=UTC),
        process=process,
        case_id=case_id,
        workflow_id=f"{process}/{case_id}",
        seq=3,
        kind=kind,
        state="opened",
        actor=actor,
        parties=parties,
        deadline=deadline,
        payload=payload or {},
    )


def _deadline(
    party: str | None = "rz-scjgj",
    *,
    escalate_to: tuple[str, ...] = ("rz-sfj",),
    counting: str = "calendar_days",
    provisional: bool = False,
    due_at: datetime = datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
) -> DeadlineInfo:
    # 2026-11-23 16:00 UTC is 2026-11-24 00:00 in Shanghai: the limit ends with 2026-11-23.
    return DeadlineInfo(
        deadline_id="case_transfer.head_decision",
        rule="case_transfer.head_decision",
        label_zh="负责人作出是否批准移送决定",
        label_en="Agency head decides whether to approve the transfer",
        source="国务院令第310号 第5条",
        party=party,
        starts_at=due_at - timedelta(days=3),
        due_at=due_at,
        warn_at=due_at - timedelta(days=1),
        counting=counting,
        length=3,
        provisional=provisional,
        status=DeadlineStatus.OPEN,
        escalate_to=escalate_to,
    )


def _who(event: DomainEvent) -> dict[str, Reason]:
    return {agency: who.reason for agency, who in rc.recipients_for(event)}


def test_every_domain_event_type_has_a_row() -> None:
    missing = rc.missing_rows()
    assert not missing, (
        f"domain event types without a recipient row in services/notifier/recipients.py: {missing}"
    )


def test_missing_rows_reports_a_new_type() -> None:
    assert rc.missing_rows([*DOMAIN_EVENT_TYPES, "case_transfer.brand_new_step"]) == [
        "case_transfer.brand_new_step"
    ]


@pytest.mark.parametrize("event_type", sorted(DOMAIN_EVENT_TYPES))
def test_expected_recipients(event_type: str) -> None:
    assert event_type in EXPECTED, f"say in EXPECTED who must hear about {event_type}"
    row = rc.RECIPIENTS.get(event_type)
    assert row is not None, f"{event_type} has no recipient row"
    assert {f"{w.reason.value}:{w.pick.name}" for w in row} == EXPECTED[event_type]


def test_no_stale_rows_for_processes_the_catalog_knows() -> None:
    """A row for a type the catalog does not (or no longer) publish is a typo or a leftover.

    Rows of a process whose contracts module has not landed yet are allowed."""
    known = set(PROCESSES) | {"deadline", "escalation", "case"}
    stale = [t for t in rc.RECIPIENTS if t.split(".", 1)[0] in known and t not in DOMAIN_EVENT_TYPES]
    assert not stale, f"rows for unknown types: {stale}"


def test_every_row_with_an_action_says_it_in_both_languages() -> None:
    for event_type, row in rc.RECIPIENTS.items():
        for who in row:
            assert (who.action_zh is None) == (who.action_en is None), event_type
            if who.reason is Reason.ACT:
                assert who.action_zh and who.action_en, f"{event_type}: an ACT rule must say what to do"


def test_warning_reaches_the_acting_party_with_the_due_date() -> None:
    event = _event("deadline.warning", kind=EntryKind.DEADLINE, parties=("rz-scjgj",), deadline=_deadline())
    notes = rc.notifications_for(event, console_url=CONSOLE)
    assert [(n.recipient, n.reason) for n in notes] == [("rz-scjgj", Reason.ACT)]
    note = notes[0]
    assert note.notification_id == f"{event.event_id}:rz-scjgj"
    assert (
        note.due_at == event.deadline.due_at
        and note.counting == "calendar_days"
        and note.provisional is False
    )
    assert "2026-11-23" in note.action_zh and "（3日）" in note.action_zh  # the console's words
    assert "the end of 2026-11-23" in note.action_en and "3 calendar days" in note.action_en
    assert note.title_zh.startswith("【行刑衔接·RZSC-2026-0015】时限即将届满")
    assert note.link == f"{CONSOLE}/cases/case_transfer/RZSC-2026-0015"
    assert note.audience is Audience.AGENCY_OFFICER


def test_provisional_and_working_day_due_dates_are_said_so() -> None:
    info = _deadline(counting="working_days", provisional=True)
    zh, en = rc.due_texts(info)
    assert "工作日" in zh and "暂定" in zh
    assert "working days" in en and "provisional" in en


def test_hour_limits_show_the_instant() -> None:
    info = _deadline(counting="hours", due_at=datetime(2026, 11, 21, 2, 30, tzinfo=UTC))
    zh, en = rc.due_texts(info)
    assert zh.startswith("2026-11-21 10:30前") and en.startswith("2026-11-21 10:30 (Asia/Shanghai)")


def test_deadline_without_party_goes_to_every_party() -> None:
    event = _event(
        "deadline.set",
        process="jurisdiction_dispute",
        kind=EntryKind.DEADLINE,
        parties=("rz-scjgj", "rz-zhzfj"),
        deadline=_deadline(party=None),
    )
    assert _who(event) == {"rz-scjgj": Reason.ACT, "rz-zhzfj": Reason.ACT}


def test_escalation_reaches_the_supervisor_only() -> None:
    event = _event(
        "escalation.raised",
        kind=EntryKind.ESCALATION,
        parties=("rz-scjgj",),
        deadline=_deadline(),
        payload={"target": "rz-sfj", "rule": "case_transfer.head_decision"},
    )
    notes = rc.notifications_for(event, console_url=CONSOLE)
    assert [(n.recipient, n.reason) for n in notes] == [("rz-sfj", Reason.SUPERVISE)]
    assert "负责人作出是否批准移送决定" in notes[0].action_zh


def test_transfer_tells_the_police_to_act_and_copies_the_procuratorate_not_the_sender() -> None:
    event = _event(
        "case_transfer.sent_to_police",
        actor="rz-scjgj",
        parties=("rz-scjgj", "rz-gaj", "rz-jcy"),
        payload={"police": "rz-gaj", "procuratorate_copy": "rz-jcy", "penalty_already_imposed": False},
    )
    assert _who(event) == {"rz-gaj": Reason.ACT, "rz-jcy": Reason.INFORM}


def test_one_notification_per_agency_with_the_strongest_reason() -> None:
    event = _event(
        "power_delegation.item_returned",
        process="power_delegation",
        kind=EntryKind.REQUEST,
        actor="rz-dg",
        parties=("rz-dg", "rz-dg-shijiu", "rz-scjgj"),
        payload={"to": "rz-dg-shijiu", "item_code": "X1"},
    )
    # The township is picked twice (payload "to" and TOWNSHIP): one notification, one reason.
    notes = rc.notifications_for(event, console_url=CONSOLE)
    assert [n.recipient for n in notes] == ["rz-dg-shijiu"]
    assert len({n.notification_id for n in notes}) == len(notes)


def test_unknown_agency_ids_and_odd_payloads_are_ignored() -> None:
    event = _event(
        "case_transfer.sent_to_police",
        actor="rz-scjgj",
        parties=("rz-scjgj",),
        payload={"police": "not-an-agency", "procuratorate_copy": {"nested": 1}},
    )
    assert rc.notifications_for(event, console_url=CONSOLE) == []


def test_dispute_coordinator_is_the_district_justice_bureau_or_the_city_one() -> None:
    local = _event(
        "jurisdiction_dispute.opened",
        process="jurisdiction_dispute",
        actor="rz-dg-shijiu",
        parties=("rz-dg-shijiu", "rz-dg-qinlou"),
    )
    notes = rc.notifications_for(local, console_url=CONSOLE)
    assert [(n.recipient, n.reason, n.audience) for n in notes] == [
        ("rz-dg-sfj", Reason.COORDINATE, Audience.COORDINATOR)
    ]
    mixed = _event(
        "jurisdiction_dispute.opinion_submitted",
        process="jurisdiction_dispute",
        actor="rz-scjgj",
        parties=("rz-scjgj", "rz-dg-shijiu"),
    )
    assert _who(mixed) == {"rz-sfj": Reason.COORDINATE}
    named = _event(
        "jurisdiction_dispute.opened",
        process="jurisdiction_dispute",
        actor="rz-scjgj",
        parties=("rz-scjgj", "rz-dg-shijiu"),
        payload={"coordinator_office": "rz-ls-sfj"},
    )
    assert _who(named) == {"rz-ls-sfj": Reason.COORDINATE}


def test_confidential_notifications_carry_ids_and_states_only(monkeypatch: pytest.MonkeyPatch) -> None:
    if "discipline_referral" not in CONFIDENTIAL_PROCESSES:
        # The referral process may not be in the catalog yet; the rule must hold as soon as it is.
        monkeypatch.setattr(rc, "CONFIDENTIAL_PROCESSES", frozenset({"discipline_referral"}))
    secret = {"case_title": "某局局长滥用职权线索", "official_name": "张某", "facts": "收受财物"}
    event = _event(
        "case.closed",
        process="discipline_referral",
        actor="rz-jwjw",
        case_id="DR-2026-0001",
        parties=("rz-sfj", "rz-jwjw"),
        payload=secret,
    )
    notes = rc.notifications_for(event, console_url=CONSOLE)
    assert [(n.recipient, n.confidential) for n in notes] == [("rz-sfj", True)]
    dumped = json.dumps([n.model_dump(mode="json") for n in notes], ensure_ascii=False)
    for value in secret.values():
        assert value not in dumped
    assert notes[0].case_title is None and "DR-2026-0001" in notes[0].title_zh


def test_non_confidential_notifications_carry_the_case_title() -> None:
    event = _event(
        "case.closed",
        actor="rz-scjgj",
        parties=("rz-scjgj", "rz-gaj"),
        payload={"case_title": "某公司销售伪劣产品案"},
    )
    assert rc.notifications_for(event, console_url=CONSOLE)[0].case_title == "某公司销售伪劣产品案"


def test_a_type_without_a_row_still_notifies_by_its_kind() -> None:
    event = _event(
        "case_transfer.brand_new_deadline_step",
        kind=EntryKind.DEADLINE,
        parties=("rz-scjgj",),
        deadline=_deadline(),
    )
    assert _who(event) == {"rz-scjgj": Reason.ACT}
    step = _event("case_transfer.brand_new_step", actor="rz-gaj", parties=("rz-scjgj", "rz-gaj"))
    assert _who(step) == {"rz-scjgj": Reason.INFORM}


def test_referral_outcome_asks_the_referrer_to_rectify_only_when_required() -> None:
    parties = ("rz-12345", "rz-dg-sfj", "rz-dg-jwjw")  # a hotline complaint the justice bureau referred
    required = _event(
        "discipline_referral.outcome_received",
        process="discipline_referral",
        actor="rz-dg-jwjw",
        parties=parties,
        payload={"rectification_required": True},
    )
    assert _who(required) == {"rz-dg-sfj": Reason.ACT}
    not_required = _event(
        "discipline_referral.outcome_received",
        process="discipline_referral",
        actor="rz-dg-jwjw",
        parties=parties,
        payload={"rectification_required": False},
    )
    assert _who(not_required) == {"rz-dg-sfj": Reason.INFORM}
    note = rc.notifications_for(required, console_url=CONSOLE)[0]
    assert note.confidential is True and note.audience is Audience.AGENCY_OFFICER


def test_referred_clue_reaches_the_commission_as_discipline_officers_notification() -> None:
    event = _event(
        "discipline_referral.sent",
        process="discipline_referral",
        actor="rz-scjgj",
        parties=("rz-scjgj", "rz-jwjw"),
        payload={"commission": "rz-jwjw"},
    )
    notes = rc.notifications_for(event, console_url=CONSOLE)
    assert [(n.recipient, n.reason, n.audience, n.confidential) for n in notes] == [
        ("rz-jwjw", Reason.ACT, Audience.DISCIPLINE_OFFICER, True)
    ]


def test_clue_proposals_reach_the_justice_bureau_from_both_sources() -> None:
    late_transfer = _event(
        "discipline_referral.clue_proposed",
        kind=EntryKind.ESCALATION,
        parties=("rz-scjgj",),
        deadline=_deadline(),
        payload={"confirm_by": "rz-sfj", "agency": "rz-scjgj"},
    )
    assert _who(late_transfer) == {"rz-sfj": Reason.ACT}
    hotline = _event(
        "discipline_referral.clue_proposed",
        process="discipline_referral",
        kind=EntryKind.ESCALATION,
        actor="rz-12345",
        parties=("rz-12345", "rz-dg-sfj"),
        payload={"proposal_id": "HL-1", "justice_bureau": "rz-dg-sfj"},
    )
    notes = rc.notifications_for(hotline, console_url=CONSOLE)
    assert [(n.recipient, n.reason, n.confidential) for n in notes] == [("rz-dg-sfj", Reason.ACT, True)]
