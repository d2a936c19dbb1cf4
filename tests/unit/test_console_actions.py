"""Only valid actions: what the dispute page offers comes from the workflow's own rules, a refusal
redirects to a page a reload does not resend, reasons are shown, a lead reassigns."""

# ruff: noqa: F811 - the tests take the fixtures imported from tests.unit.console_day

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from contracts.agencies import AgencyKind, agencies
from contracts.dispute_rules import DisputeFacts, check_designate
from contracts.jurisdiction_dispute import DESIGNABLE_KINDS, ClaimInput, DesignateInput, ReassignInput, State
from services.console.actions import offers_for
from services.disputes import client as dc
from services.disputes.inbox import DisputeTask
from services.readmodel.accounts import AuditEntry
from services.readmodel.projection import project
from services.update_refusals import ActionRefused
from tests.events import new_case_id
from tests.unit.console_day import PARTIES, _who, day, dispute, people  # noqa: F401 - fixtures
from tests.unit.test_console_app import Env, csrf
from tests.unit.test_jurisdiction_dispute import accepted, coord, refused, status
from tests.workflow_harness import run_worker


def forms(page: str) -> set[str]:
    """The decisions a page offers (the actions its forms post to)."""
    return set(re.findall(r'action="/disputes/[^/"]+/([a-z_]+)"', page))


def options(page: str, select_id: str) -> list[str]:
    block = page[page.index(f'id="{select_id}"') :]
    return re.findall(r'<option value="([^"]+)"', block[: block.index("</select>")])


def test_negotiation_offers_no_claim_and_says_why(people: dict[str, TestClient]) -> None:
    page = people["coord"].get("/disputes/JD-NEGO").text
    assert forms(page) == set()
    assert 'id="why-no-action"' in page and "协商中" in page


def test_an_unclaimed_dispute_offers_only_the_claim(people: dict[str, TestClient]) -> None:
    page = people["coord"].get("/disputes/JD-OPEN").text
    assert forms(page) == {"claim"}


def test_the_holder_gets_every_open_decision_and_only_agencies_the_rule_accepts(
    people: dict[str, TestClient],
) -> None:
    page = people["coord"].get("/disputes/JD-MINE").text
    assert forms(page) == {"unclaim", "request_opinions", "extend", "designate", "refer"}
    # A justice bureau designates a party only (the 39 other agencies would be refused).
    assert options(page, "designate-agency") == list(PARTIES)
    assert forms(people["coord2"].get("/disputes/JD-MINE").text) == set()  # claimed by someone else


def test_after_designation_no_decision_is_offered(people: dict[str, TestClient]) -> None:
    page = people["coord"].get("/disputes/JD-DONE").text
    assert forms(page) == set()


def test_after_a_referral_the_office_no_longer_decides(people: dict[str, TestClient]) -> None:
    assert forms(people["coord"].get("/disputes/JD-GOV").text) == set()


def test_a_government_is_offered_every_designable_agency_and_nothing_else() -> None:
    facts = DisputeFacts(
        case_id="JD-X",
        state=State.REFERRED,
        closed=False,
        kind="positive",
        parties=PARTIES,
        office="rz-sfj",
        government="rz-gov",
        claimed_by="gov-1",
    )
    offered = offers_for(facts, username="gov-1", agency="rz-gov", acts=True, leads=False, admin=False)
    expected = {a.id for a in agencies().values() if a.kind in DESIGNABLE_KINDS} | set(PARTIES)
    assert set(offered.designate) == expected
    assert not any(agencies()[a].kind is AgencyKind.POLICE for a in offered.designate if a not in PARTIES)


STATES = [s.value for s in State if s is not State.NEW]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("holder", [None, "coord", "other"])
def test_what_is_offered_is_exactly_what_the_workflows_rule_accepts(state: str, holder: str | None) -> None:
    """Every agency offered for designation passes the workflow's check, every one left out fails it."""
    facts = DisputeFacts(
        case_id="JD-X",
        state=state,
        closed=state in ("agreed", "coordination_rejected", "resolved"),
        kind="positive",
        parties=PARTIES,
        office="rz-sfj",
        government="rz-gov",
        claimed_by=holder,
        designation_open=True,
    )
    offered = offers_for(facts, username="coord", agency="rz-sfj", acts=True, leads=False, admin=False)
    for agency in agencies():
        data = DesignateInput(coordinator="coord", coordinator_agency="rz-sfj", agency=agency, reason="理由")
        accepted_by_rule = check_designate(facts, data) is None
        assert (agency in offered.designate) == accepted_by_rule, (state, holder, agency)
    assert offered.claim == (holder is None and state in ("coordinating", "opinions_requested"))


def test_a_refused_action_redirects_and_a_reload_sends_nothing(
    day: Env, people: dict[str, TestClient]
) -> None:
    coord = people["coord"]
    day.actions.refuse = ActionRefused("agency", "rz-gaj is not a party", "rz-gaj 不是本争议的当事机关")
    try:
        resp = coord.post(
            "/disputes/JD-MINE/designate",
            data={"csrf_token": csrf(coord, "/disputes/JD-MINE"), "agency": "rz-scjgj", "reason": "我的理由"},
        )
    finally:
        day.actions.refuse = None
    assert resp.status_code == 303 and resp.headers["location"] == "/disputes/JD-MINE?refused=designate"
    calls = len(day.actions.calls)
    shown = coord.get(resp.headers["location"])
    assert shown.status_code == 200 and 'id="action-refused"' in shown.text
    assert 'data-field="agency">日照市公安局 不是本争议的当事机关' in shown.text
    assert "我的理由" in shown.text  # what was typed comes back with the refusal
    again = coord.get(resp.headers["location"])  # the reload is a GET: nothing is sent again
    assert len(day.actions.calls) == calls and 'id="action-refused"' not in again.text
    forged = TestClient(day.app, follow_redirects=False)
    forged.cookies.set("lawlink_refused", resp.cookies.get("lawlink_refused") or "x")
    assert forged.get("/disputes/JD-MINE?refused=designate").status_code == 303  # signed-out: sign in


def test_written_reasons_are_shown_on_the_dispute_and_case_pages(people: dict[str, TestClient]) -> None:
    for path in ("/disputes/JD-DONE", "/cases/jurisdiction_dispute/JD-DONE"):
        page = people["coord"].get(path).text
        reasons = page[page.index('id="written-reasons"') :]
        for text in ("协商五日未果", "予以受理", "需补充调取执法记录", "违法行为发生地在其辖区"):
            assert text in reasons, (path, text)


def test_every_button_names_its_case(people: dict[str, TestClient]) -> None:
    for path in ("/disputes/JD-MINE", "/disputes/JD-OPEN"):
        page = people["coord"].get(path).text
        buttons = re.findall(r"<button[^>]*>", page[page.index('id="actions"') :])
        assert buttons and all(re.search(r'aria-label="[^"]*JD-(MINE|OPEN)"', b) for b in buttons), buttons


# ----- reassignment -------------------------------------------------------------------------------


def test_a_lead_reassigns_a_claimed_dispute_with_a_reason_and_it_is_audited(
    day: Env, people: dict[str, TestClient]
) -> None:
    lead, plain = people["lead"], people["coord2"]
    page = lead.get("/disputes/JD-MINE").text
    assert "reassign" in forms(page) and "coord" not in options(page, "reassign-to")  # not to the holder
    assert "reassign" not in forms(plain.get("/disputes/JD-MINE").text)
    resp = lead.post(
        "/disputes/JD-MINE/reassign",
        data={
            "csrf_token": csrf(lead, "/disputes/JD-MINE"),
            "to_coordinator": "coord2",
            "reason": "原协调人休假",
        },
    )
    assert resp.status_code == 303
    action, case_id, data = day.actions.calls[-1]
    assert (action, case_id) == ("reassign", "JD-MINE") and isinstance(data, ReassignInput)
    assert (data.coordinator, data.to_coordinator, data.to_coordinator_name, data.reason) == (
        "lead",
        "coord2",
        "coord2-name",
        "原协调人休假",
    )
    with Session(day.engine) as session:
        row = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())).first()  # type: ignore[union-attr]
    assert row is not None and (row.action, row.outcome, row.username) == ("dispute.reassign", "ok", "lead")
    denied = plain.post(
        "/disputes/JD-MINE/reassign",
        data={"csrf_token": csrf(plain, "/disputes/JD-MINE"), "to_coordinator": "coord2", "reason": "想接手"},
    )
    assert denied.status_code == 403
    admin = people["admin"]
    assert "reassign" in forms(admin.get("/disputes/JD-MINE").text)
    resp = admin.post(
        "/disputes/JD-MINE/reassign",
        data={
            "csrf_token": csrf(admin, "/disputes/JD-MINE"),
            "to_coordinator": "coord-en",
            "reason": "人员调整",
        },
    )
    assert resp.status_code == 303 and day.actions.calls[-1][2].as_admin is True
    stranger = lead.post(
        "/disputes/JD-MINE/reassign",
        data={"csrf_token": csrf(lead, "/disputes/JD-MINE"), "to_coordinator": "officer", "reason": "x"},
    )
    assert stranger.status_code == 422 and "须为本协调机构的协调人" in stranger.text


def test_a_reassignment_moves_the_inbox_row_and_the_page_to_the_new_holder(
    day: Env, people: dict[str, TestClient]
) -> None:
    with Session(day.engine) as session:
        steps = [("claimed", "coordinating", _who("coord"))]
        reassigned: dict[str, Any] = {
            **_who("lead"),
            "to_coordinator": "coord2",
            "to_coordinator_name": "coord2-name",
            "reason": "休假",
        }
        project(session, dispute("JD-MOVE", [*steps, ("reassigned", "coordinating", reassigned)]))
        session.commit()
        row = session.get(DisputeTask, "jurisdiction_dispute/JD-MOVE")
        assert row is not None and (row.claimed_by, row.claimed_by_name) == ("coord2", "coord2-name")
    page = people["coord2"].get("/disputes/JD-MOVE").text
    assert re.search(r'id="claimed-by">coord2-name<', page)
    assert "休假" in page[page.index('id="written-reasons"') :]


async def test_the_workflow_reassigns_only_a_claimed_dispute_with_reasons(
    time_skipping_env, task_queue
) -> None:  # noqa: ANN001
    client = time_skipping_env.client
    case_id = new_case_id("JD")
    async with run_worker(client, task_queue) as published:
        handle = await accepted(client, task_queue, case_id)
        lead = {**coord("u-lead"), "to_coordinator": "u-coord-2", "to_coordinator_name": "李华"}
        await refused(
            published,
            case_id,
            handle,
            dc.reassign(client, case_id, ReassignInput(**lead, reason="休假")),
            "coordinator",
            "nobody holds the claim",
        )
        await dc.claim(client, case_id, ClaimInput(**coord()))
        await refused(
            published,
            case_id,
            handle,
            dc.reassign(client, case_id, ReassignInput(**lead, reason="")),
            "reason",
            "a reassignment needs written reasons",
        )
        result = await dc.reassign(client, case_id, ReassignInput(**lead, reason="休假"))
        assert result.claimed_by == "u-coord-2"
        assert (await status(handle)).data["claimed_by"] == "u-coord-2"
        assert published.types(case_id).count("jurisdiction_dispute.reassigned") == 1
        with pytest.raises(ActionRefused) as info:  # the old holder no longer decides
            await dc.designate(client, case_id, DesignateInput(**coord(), agency="rz-scjgj", reason="理由"))
        assert info.value.field == "coordinator" and info.value.reason_zh and "李华" in info.value.reason_zh


def test_list_pages_offer_the_claim_by_the_same_rule(day: Env) -> None:
    """The inbox's rows ask ``dispute_offers`` (a template global): no claim during negotiation,
    none for a dispute another coordinator holds."""
    from services.console.auth import CurrentUser
    from services.console.web import TEMPLATES
    from services.readmodel.accounts import Role

    user = CurrentUser(
        id=1,
        username="coord",
        display_name="c",
        role=Role.COORDINATOR,
        agency="rz-sfj",
        is_head=False,
        lang="zh",
        session_id="s",
        csrf_token="t",
    )
    offers = TEMPLATES.env.globals["dispute_offers"]
    with Session(day.engine) as session:
        rows = {r.case_id: r for r in session.exec(select(DisputeTask)).all()}
    assert offers(rows["JD-NEGO"], user).claim is False
    assert offers(rows["JD-OPEN"], user).claim is True
    assert offers(rows["JD-MINE"], user).unclaim is True
    other = CurrentUser(**{**user.__dict__, "username": "coord2"})
    assert offers(rows["JD-MINE"], other).claim is False


def test_the_inbox_has_mine_unclaimed_and_all_views_and_offers_only_valid_actions(
    people: dict[str, TestClient],
) -> None:
    coord = people["coord"]

    def rows(view: str) -> dict[str, str]:
        page = coord.get(f"/inbox?view={view}" if view else "/inbox").text
        found = {}
        for case_id in re.findall(r'<tr data-case="([^"]+)"', page):
            row = page[page.index(f'<tr data-case="{case_id}"') :]
            found[case_id] = row[: row.index("</tr>")]
        return found

    everything, mine, unclaimed = rows(""), rows("mine"), rows("unclaimed")
    assert {"JD-NEGO", "JD-OPEN", "JD-MINE"} <= set(everything)
    assert "JD-MINE" in mine and {"JD-NEGO", "JD-OPEN"} <= set(unclaimed) and not set(mine) & set(unclaimed)
    assert "JD-OPEN" not in mine and all("coord-name" in row for row in mine.values())
    assert 'aria-label="退回认领 JD-MINE"' in everything["JD-MINE"]
    assert 'aria-label="认领 JD-OPEN"' in everything["JD-OPEN"]
    assert "<form" not in everything["JD-NEGO"]  # in negotiation the office cannot claim yet
    bad = coord.get("/inbox?view=someone")
    assert bad.status_code == 422
