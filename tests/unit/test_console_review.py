"""The yearly delegation review's decision form: the items under review with their counts since
the last review, offered only to a coordinator of the deciding body; bad input answered at once
in Chinese by the field; a workflow refusal shown by a GET after a redirect (a reload sends
nothing); an accepted decision redirects to the case page and is audited.

The console's tests fake the Temporal seam (:class:`services.console.review_actions.ReviewActions`);
the last test drives the real workflow on the time-skipping server through the same client the
console uses, so the refusals the fake stands for are the workflow's own.
"""

# ruff: noqa: F811 - the workflow test takes the delegation_env fixture imported below

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from contracts.domain import DomainEvent, EntryKind
from contracts.power_delegation import (
    DelegatedItemView,
    ItemCounters,
    ItemDecision,
    ItemState,
    ReviewDecisionIn,
    ReviewDecisionResult,
    ReviewOutcome,
)
from services.console.app import create_app
from services.console.review_actions import TemporalReviewActions
from services.console.settings import ConsoleSettings
from services.delegations.client import REFUSED_FALLBACK_ZH, reason_zh
from services.readmodel.models import Case
from services.readmodel.projection import project
from services.update_refusals import ActionRefused
from tests.events import new_case_id
from tests.unit.test_console_app import FakeActions, csrf
from tests.unit.test_console_townships import Env, console_over
from tests.unit.test_power_delegation import (  # noqa: F401 - delegation_env is a fixture
    decision,
    delegation_env,
    delegation_worker,
    eventually,
    granted_and_accepted,
    reviews,
    until_next_review,
)

NOW = datetime.now(UTC)
P = "power_delegation"
TOWN = "rz-dg-shijiu"
UNDER_REVIEW, NO_REVIEW, TO_DECIDE = "DLG-R1", "DLG-R2", "DLG-R3"
REVIEWERS = ["rz-dg-sfj", "rz-dg-bianban"]

USERS: dict[str, tuple[str, str | None, bool]] = {
    "coord-dg": ("coordinator", "rz-dg-sfj", False),
    "coord-dg-en": ("coordinator", "rz-dg-sfj", False),
    "coord": ("coordinator", "rz-sfj", False),  # the city's justice bureau: not this review's
    "coord-ls": ("coordinator", "rz-ls-sfj", False),  # another district's
    "oper": ("operator", None, False),
    "town": ("agency_officer", TOWN, False),
    "admin": ("admin", None, False),
}


def _item(code: str, name: str, department: str, state: ItemState, **counters: int) -> dict[str, Any]:
    return DelegatedItemView(
        code=code,
        name_zh=name,
        original_department=department,
        township=TOWN,
        scope="限于街道辖区内居住小区" if code == "ZH-0215" else None,
        state=state,
        effective_at=NOW - timedelta(days=370),
        counters=ItemCounters(**counters),
    ).model_dump(mode="json")


def _event(case_id: str, seq: int, type_: str, state: str, payload: dict[str, Any]) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type=type_,
        occurred_at=NOW - timedelta(hours=10 - seq),
        process=P,
        case_id=case_id,
        workflow_id=f"{P}/{case_id}",
        seq=seq,
        kind=EntryKind.STEP,
        state=state,
        actor="rz-dg",
        parties=("rz-dg", TOWN, "rz-dg-zhzfj", "rz-dg-scjgj", *REVIEWERS),
        payload={"title": f"东政发〔2026〕{seq}号 赋权 石臼街道", "township": TOWN, **payload},
    )


def _delegation(case_id: str, review: bool) -> list[DomainEvent]:
    state = ItemState.UNDER_REVIEW if review else ItemState.ACTIVE
    items = [
        # Running totals; the review looks at the period's counts the review_started event gives.
        _item(
            "ZH-0107", "对在城市道路上擅自摆摊设点的行政处罚", "rz-dg-zhzfj", state, handled=9, complaint=4
        ),
        _item("ZH-0215", "对擅自占用城市绿地的行政处罚", "rz-dg-zhzfj", state, handled=2),
        _item("SC-0032", "对无照经营的行政处罚", "rz-dg-scjgj", ItemState.ACTIVE, handled=1),
    ]
    events = [_event(case_id, 1, f"{P}.opened", "granted", {"items": items})]
    if review:
        period = {
            "ZH-0107": {"handled": 3, "refused": 1, "overturned": 0, "complaint": 2},
            "ZH-0215": {"handled": 2, "refused": 0, "overturned": 1, "complaint": 0},
        }
        started = {"cycle": 1, "period_counters": period, "reviewers": REVIEWERS, "items": items[:2]}
        events.append(_event(case_id, 2, f"{P}.review_started", "under_review", started))
    return events


class FakeReviews:
    """Stands in for Temporal: records each decision, refuses when told to, and on acceptance
    projects the review's conclusion as the registry would (so the redirect waits for nothing)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ReviewDecisionIn]] = []
        self.refuse: ActionRefused | None = None
        self.engine: Any = None

    async def decide(self, case_id: str, data: ReviewDecisionIn) -> ReviewDecisionResult:
        self.calls.append((case_id, data))
        if self.refuse is not None:
            raise self.refuse
        returned = tuple(d.item_code for d in data.decisions if d.outcome is ReviewOutcome.REVOKE)
        with Session(self.engine) as session:
            seq = session.get(Case, f"{P}/{case_id}").last_seq + 1
            project(session, [_event(case_id, seq, f"{P}.review_concluded", "active", {"items": []})])
            session.commit()
        return ReviewDecisionResult(accepted=True, duplicate=False, state="active", returned=returned)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    folder = tmp_path_factory.mktemp("console-review")
    events = [*_delegation(UNDER_REVIEW, True), *_delegation(NO_REVIEW, False), *_delegation(TO_DECIDE, True)]
    _, engine = console_over(folder, events, USERS)
    fake = FakeReviews()
    fake.engine = engine
    settings = ConsoleSettings(
        DATABASE_URL=f"sqlite:///{folder / 'console.db'}", LAWLINK_SESSION_SECRET="t" * 32, LAWLINK_ENV="test"
    )
    app = create_app(settings, actions=FakeActions(), reviews=fake, live=False)
    app.state.fake_reviews = fake
    with TestClient(app):
        yield Env(app, engine)
    engine.dispose()


@pytest.fixture(scope="module")
def clients(env: Env) -> dict[str, TestClient]:
    made = {name: env.client(name) for name in USERS}
    english = made["coord-dg-en"]
    english.post("/lang", data={"lang": "en", "csrf_token": csrf(english, "/inbox"), "next": "/"})
    return made


def fake(env: Env) -> FakeReviews:
    return env.app.state.fake_reviews


def form_of(client: TestClient, case_id: str) -> tuple[str, dict[str, str]]:
    """The review page and the hidden fields its form posts (CSRF token, decision id)."""
    page = client.get(f"/delegations/{case_id}/review").text
    hidden = dict(re.findall(r'<input type="hidden" name="(csrf_token|decision_id)" value="([^"]+)"', page))
    return page, hidden


def post(client: TestClient, case_id: str, hidden: dict[str, str], fields: dict[str, str]) -> Any:
    """Post the review form as the browser does: every item the page listed, then the fields."""
    data: dict[str, Any] = {**hidden, **fields, "item": ["ZH-0107", "ZH-0215"]}
    return client.post(f"/delegations/{case_id}/review", data=data)


def test_the_form_lists_every_item_under_review_with_its_counts_since_the_last_review(
    clients: dict[str, TestClient],
) -> None:
    page, hidden = form_of(clients["coord-dg"], UNDER_REVIEW)
    assert 'id="form-review"' in page and 'name="document_no"' in page
    rows = page[page.index('id="review-items"') : page.index('id="form-review"')]
    assert 'data-item="ZH-0107"' in rows and 'data-item="ZH-0215"' in rows
    assert "对在城市道路上擅自摆摊设点的行政处罚" in rows and "日照市东港区综合行政执法局" in rows
    assert 'data-item="SC-0032"' not in page  # in force, not under review: nothing to decide
    # The period's counts (3 handled, 2 complaints), not the running totals (9, 4).
    zh0107 = rows[rows.index('data-item="ZH-0107"') :]
    assert "办理 3 · 不予处罚/受理 1 · 被撤销变更 0 · 投诉举报 2" in zh0107[: zh0107.index("</tr>")]
    assert "限于街道辖区内居住小区" in rows  # the scope an adjustment would change
    for code in ("ZH-0107", "ZH-0215"):
        for outcome, label in (("keep", "继续赋权"), ("adjust", "调整"), ("revoke", "收回")):
            assert (
                f'name="outcome.{code}" value="{outcome}"' in page and f'aria-label="{label} {code}"' in page
            )
        assert f'name="new_scope.{code}"' in page and f'name="reason.{code}"' in page
    assert "日照市东港区司法局" in page and "第 1 轮评估" in page
    # Each drawing of the form is a new decision; the one drawn is sent with it.
    assert re.fullmatch(r"[0-9a-f]{32}", hidden["decision_id"])
    assert form_of(clients["coord-dg"], UNDER_REVIEW)[1]["decision_id"] != hidden["decision_id"]


def test_the_form_is_offered_only_to_a_coordinator_of_the_deciding_body(
    clients: dict[str, TestClient],
) -> None:
    city = clients["coord"].get(f"/delegations/{UNDER_REVIEW}/review")
    assert city.status_code == 200 and 'id="form-review"' not in city.text
    why = city.text[city.text.index('id="why-no-review"') :]
    assert "本次评估由日照市东港区司法局或中共日照市东港区委机构编制委员会办公室作出决定" in why[:300]
    none = clients["coord-dg"].get(f"/delegations/{NO_REVIEW}/review")
    assert none.status_code == 200 and 'id="form-review"' not in none.text
    assert "该赋权当前没有等待决定的评估事项" in none.text
    # The township page links the form next to the delegation under review, for its deciders only.
    township = clients["coord-dg"].get(f"/townships/{TOWN}").text
    links = re.findall(
        r'<a href="(/delegations/[^"]+/review)" class="review-link" aria-label="([^"]+)">([^<]+)</a>',
        township,
    )
    assert {(href, text) for href, _, text in links} == {
        (f"/delegations/{UNDER_REVIEW}/review", "作出评估决定"),
        (f"/delegations/{TO_DECIDE}/review", "作出评估决定"),
    }
    assert f"作出评估决定 {UNDER_REVIEW} ZH-0215" in {label for _, label, _ in links}
    for other in ("coord", "oper", "town"):
        assert 'class="review-link"' not in clients[other].get(f"/townships/{TOWN}").text, other


def test_bad_input_is_answered_in_chinese_next_to_the_field_and_sends_nothing(
    env: Env, clients: dict[str, TestClient]
) -> None:
    calls, before = len(fake(env).calls), len(env.audit())
    coord = clients["coord-dg"]
    _, hidden = form_of(coord, UNDER_REVIEW)
    resp = post(
        coord,
        UNDER_REVIEW,
        hidden,
        {"document_no": "", "outcome.ZH-0107": "keep", "reason.ZH-0215": "难以承接"},
    )
    assert resp.status_code == 422
    doc = re.search(
        r'<span class="field-error" role="alert" data-field="document_no">([^<]+)</span>', resp.text
    )
    assert doc and doc.group(1) == "文号：至少须填写 1 个字"
    outcome = re.search(r'data-field="outcome.ZH-0215">([^<]+)</span>', resp.text)
    assert outcome and outcome.group(1) == "事项 ZH-0215 的评估结论：必填"
    assert "String should" not in resp.text and "Field required" not in resp.text
    assert 'value="keep" checked' in resp.text and "难以承接" in resp.text  # what was typed stays
    english = clients["coord-dg-en"]
    _, hidden = form_of(english, UNDER_REVIEW)
    resp = post(
        english,
        UNDER_REVIEW,
        hidden,
        {"document_no": "", "outcome.ZH-0107": "keep", "outcome.ZH-0215": "keep"},
    )
    assert resp.status_code == 422 and "Document no. needs at least 1 character(s)" in resp.text
    assert len(fake(env).calls) == calls  # nothing reached the workflow
    rows = env.audit()[before:]
    assert [(r.action, r.outcome) for r in rows if r.outcome != "ok"] == [
        ("delegation.review", "invalid")
    ] * 2


def test_a_refusal_redirects_to_the_form_which_shows_it_once(
    env: Env, clients: dict[str, TestClient]
) -> None:
    coord = clients["coord-dg"]
    _, hidden = form_of(coord, UNDER_REVIEW)
    fields = {
        "document_no": "东政字〔2027〕88号",
        "outcome.ZH-0107": "revoke",
        "reason.ZH-0107": "投诉较多，收回原部门",
        "outcome.ZH-0215": "adjust",
    }
    fake(env).refuse = ActionRefused(
        "decisions[1].new_scope",
        "an adjustment must state the new scope",
        "事项 ZH-0215 调整范围的，须写明调整后的实施范围",
    )
    calls, before = len(fake(env).calls), len(env.audit())
    try:
        resp = post(coord, UNDER_REVIEW, hidden, fields)
    finally:
        fake(env).refuse = None
    assert (
        resp.status_code == 303
        and resp.headers["location"] == f"/delegations/{UNDER_REVIEW}/review?refused=1"
    )
    sent = fake(env).calls[-1][1]
    assert sent.decision_id == hidden["decision_id"] and sent.reviewer == "rz-dg-sfj"
    row = env.audit()[before]
    assert (row.action, row.outcome, row.target) == ("delegation.review", "refused", f"{P}/{UNDER_REVIEW}")
    shown = coord.get(resp.headers["location"]).text
    notice = shown[shown.index('id="review-refused"') :]
    assert "事项 ZH-0215 调整范围的，须写明调整后的实施范围" in notice[:400] and "must state" not in shown
    assert re.search(r'data-field="new_scope.ZH-0215">事项 ZH-0215 调整范围的', shown)  # by the field
    assert 'value="东政字〔2027〕88号"' in shown and "投诉较多，收回原部门" in shown  # typed text kept
    reloaded = coord.get(resp.headers["location"]).text
    assert 'id="review-refused"' not in reloaded and 'id="form-review"' in reloaded
    assert len(fake(env).calls) == calls + 1  # the reloads sent nothing


def test_an_accepted_decision_redirects_to_the_case_page_and_is_audited(
    env: Env, clients: dict[str, TestClient]
) -> None:
    coord = clients["coord-dg"]
    _, hidden = form_of(coord, TO_DECIDE)
    before = len(env.audit())
    fields = {
        "document_no": "东政字〔2027〕89号",
        "outcome.ZH-0107": "keep",
        "reason.ZH-0107": "留在框中的文字",  # not a revocation: not sent
        "outcome.ZH-0215": "adjust",
        "new_scope.ZH-0215": "街道辖区全域",
    }
    resp = post(coord, TO_DECIDE, hidden, fields)
    assert resp.status_code == 303 and resp.headers["location"] == f"/cases/{P}/{TO_DECIDE}?done=review"
    case_id, sent = fake(env).calls[-1]
    assert case_id == TO_DECIDE and sent.decision_id == hidden["decision_id"]
    assert (sent.reviewer, sent.document_no) == ("rz-dg-sfj", "东政字〔2027〕89号")
    assert sent.decisions == (
        ItemDecision(item_code="ZH-0107", outcome=ReviewOutcome.KEEP),
        ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.ADJUST, new_scope="街道辖区全域"),
    )
    row = env.audit()[before:][-1]
    assert (row.username, row.action, row.outcome, row.target) == (
        "coord-dg",
        "delegation.review",
        "ok",
        f"{P}/{TO_DECIDE}",
    )
    assert "东政字〔2027〕89号" in row.detail and "state active" in row.detail
    # The same form sent again carries the same decision id: the workflow takes it once.
    post(coord, TO_DECIDE, hidden, fields)
    assert fake(env).calls[-1][1].decision_id == sent.decision_id


@pytest.mark.parametrize("who", ["oper", "town", "admin", "coord-ls"])
def test_other_roles_and_districts_are_refused_and_audited(
    env: Env, clients: dict[str, TestClient], who: str
) -> None:
    client = clients[who]
    calls = len(fake(env).calls)
    token = csrf(client, "/notifications")
    for method in ("GET", "POST"):
        before = len(env.audit())
        data = {"csrf_token": token, "document_no": "x", "item": "ZH-0107", "outcome.ZH-0107": "keep"}
        resp = client.request(
            method, f"/delegations/{UNDER_REVIEW}/review", data=data if method == "POST" else None
        )
        assert resp.status_code == 403, (who, method)
        assert [(r.username, r.outcome) for r in env.audit()[before:]] == [(who, "forbidden")]
    assert len(fake(env).calls) == calls


# ----- the real workflow, through the console's client ------------------------------------------


@pytest.mark.timeout(120)
async def test_the_workflow_takes_keep_and_revoke_and_refuses_an_adjustment_without_scope(
    delegation_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = delegation_env
    seam = TemporalReviewActions(ConsoleSettings(LAWLINK_ENV="test"), client=env.client)
    case_id = new_case_id("DLG")
    keep = ItemDecision(item_code="ZH-0107", outcome=ReviewOutcome.KEEP)
    revoke = ItemDecision(item_code="SC-0032", outcome=ReviewOutcome.REVOKE, reason="评估为难以承接")
    async with delegation_worker(env.client, task_queue, case_id) as published:
        await granted_and_accepted(env, task_queue, case_id)
        with pytest.raises(ActionRefused) as early:
            await seam.decide(
                case_id, decision(keep, ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.KEEP), revoke)
            )
        assert early.value.field == "type" and early.value.reason_zh.startswith("当前没有等待决定的评估")
        await until_next_review(env, case_id)
        await eventually(lambda: reviews(published, case_id))

        no_scope = ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.ADJUST)
        with pytest.raises(ActionRefused) as refused:
            await seam.decide(case_id, decision(keep, no_scope, revoke))
        assert refused.value.field == "decisions[1].new_scope"
        assert refused.value.reason_zh == "事项 ZH-0215 调整范围的，须写明调整后的实施范围"
        assert refused.value.text("en") == "an adjustment must state the new scope"
        with pytest.raises(ActionRefused) as city:
            await seam.decide(case_id, decision(keep, revoke, reviewer="rz-sfj"))
        assert city.value.field == "reviewer"
        assert city.value.reason_zh == (
            "日照市司法局不是本次评估的决定机关；"
            "本赋权的评估由日照市东港区司法局或中共日照市东港区委机构编制委员会办公室作出决定"
        )
        with pytest.raises(ActionRefused) as partial:
            await seam.decide(case_id, decision(keep, revoke))
        assert partial.value.field == "decisions" and partial.value.reason_zh.endswith("尚未决定：ZH-0215")
        assert not published.of_type("power_delegation.review_concluded", case_id)  # refusals changed nothing

        also_keep = ItemDecision(item_code="ZH-0215", outcome=ReviewOutcome.KEEP)
        unknown = ItemDecision(item_code="XX-1", outcome=ReviewOutcome.KEEP)
        no_reason = ItemDecision(item_code="SC-0032", outcome=ReviewOutcome.REVOKE, reason=" ")
        for bad, field, zh in (
            (
                decision(keep, also_keep, revoke, keep),
                "decisions[3].item_code",
                "事项 ZH-0107 重复作出决定，每个事项只能决定一次",
            ),
            (decision(keep, also_keep, unknown), "decisions[2].item_code", "事项 XX-1 不在本次评估范围内"),
            (
                decision(keep, also_keep, no_reason),
                "decisions[2].reason",
                "事项 SC-0032 收回的，须说明收回理由",
            ),
        ):
            with pytest.raises(ActionRefused) as info:
                await seam.decide(case_id, bad)
            assert (info.value.field, info.value.reason_zh) == (field, zh)
        result = await seam.decide(case_id, decision(keep, also_keep, revoke))
        assert result.accepted and not result.duplicate and result.returned == ("SC-0032",)
        concluded = await eventually(lambda: published.of_type("power_delegation.review_concluded", case_id))
        outcomes = {d["item_code"]: d["outcome"] for d in concluded[0].payload["decisions"]}
        assert outcomes == {"ZH-0107": "keep", "ZH-0215": "keep", "SC-0032": "revoke"}
    # The delegation's run was ended with the test's worker: a decision now names the case.
    with pytest.raises(ActionRefused) as ended:
        await seam.decide(case_id, decision(keep, also_keep, revoke))
    assert ended.value.field == "case_id" and "没有进行中的赋权" in ended.value.reason_zh
    with pytest.raises(ActionRefused) as missing:
        await seam.decide("DLG-NOSUCH", decision(keep))
    assert missing.value.field == "case_id"


def test_a_refusal_the_client_has_no_words_for_still_says_in_chinese_that_nothing_changed() -> None:
    data = decision(ItemDecision(item_code="ZH-0107", outcome=ReviewOutcome.KEEP))
    assert reason_zh("payload.something_new", "a rule added later", data) == REFUSED_FALLBACK_ZH
    assert re.search(r"[\u4e00-\u9fff]", REFUSED_FALLBACK_ZH)
