"""A day's review and operations work in a real browser on the real stack: a reviewer of the
granting government's level opens a delegation's yearly review from the case page, is told in
Chinese which field a bad submission got wrong, then decides every item (kept, adjusted,
revoked with a reason) through the workflow's own Update and sees the notice; an operator
replays chosen dead letters only once the replay is confirmed, through the registry, and the
replayed letters leave the default list.

The delegation's review period is shortened as ``lawlink demo delegation`` does (the workflow
started with ``LAWLINK_DELEGATION_REVIEW_PERIOD_SECONDS``); everything else is the real path:
the agencies' events over NATS through intake, the projection by the registry. The browser and
the sign-in are ``test_console_more``'s; the console here sends review decisions to the stack's
Temporal and replays dead letters through the stack's registry.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import nats
import pytest_asyncio
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.common import WorkflowIDConflictPolicy

from contracts import subjects
from contracts.workflow_io import CaseStart
from services.console.actions import TemporalDisputeActions
from services.console.app import create_app
from services.console.auth import create_user
from services.console.review_actions import TemporalReviewActions
from services.console.settings import ConsoleSettings
from services.delegations.read_model import DelegatedItem
from services.readmodel.db import make_engine, migrate
from services.readmodel.models import Case, DeadLetter, TimelineEntry
from services.settings import rule_settings_from_env
from tests.e2e.test_console_more import (  # noqa: F401 - fixtures used by name, marks by pytest
    PASSWORD,
    Console,
    _eventually,
    _sign_in,
    browser,
    console,
    pytestmark,
)
from tests.events import event, new_case_id, publish
from tests.servers import SERVICE_TOKEN, free_port, serve_asgi
from workflows.deadlines import SHANGHAI
from workflows.power_delegation import REVIEW_PERIOD_SETTING

P = "power_delegation"
# username -> (role, agency, display name)
OPS_USERS: dict[str, tuple[str, str | None, str]] = {
    "ops-reviewer": ("coordinator", "rz-dg-sfj", "孙立"),  # Donggang's justice bureau decides
    "ops-oper": ("operator", None, "李静"),
}
REVIEW_PERIOD_SECONDS = 2


def add_users(engine: Engine, users: dict[str, tuple[str, str | None, str]]) -> None:
    """The test's accounts (kept when a rerun on the same stack finds them)."""
    with Session(engine) as session:
        for username, (role, agency, name) in users.items():
            try:
                create_user(
                    session, username=username, password=PASSWORD, role=role, agency=agency, display_name=name
                )
            except ValueError:
                pass
        session.commit()


async def delegation_under_review(stack: Any, engine: Engine) -> str:
    """A delegation to 石臼街道 granted by Donggang, accepted, and under its yearly review."""
    case_id = new_case_id("DLGREV")
    # Started as the demo starts it (only the start input carries the review period); intake's
    # start then finds this run and hands it the grant.
    await stack.temporal.start_workflow(
        "PowerDelegation",
        CaseStart(
            process=P,
            case_id=case_id,
            rule_settings={**rule_settings_from_env(), REVIEW_PERIOD_SETTING: str(REVIEW_PERIOD_SECONDS)},
        ),
        id=f"{P}/{case_id}",
        task_queue=stack.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    today = datetime.now(SHANGHAI).date().isoformat()
    nc = await nats.connect(stack.nats_url)
    try:
        await publish(nc, event(P, "delegation_granted", case_id=case_id, effective_date=today))
        await _eventually(
            engine,
            lambda s: s.exec(select(DelegatedItem).where(DelegatedItem.case_id == case_id)).first(),
            "the granted items",
        )
        await publish(nc, event(P, "delegation_accepted", case_id=case_id))
    finally:
        await nc.close()

    def under_review(session: Session) -> bool:
        case = session.get(Case, f"{P}/{case_id}")
        return case is not None and case.state == "under_review"

    await _eventually(engine, under_review, "the review to start", timeout=60)
    return case_id


def seed_letters(engine: Engine, count: int) -> list[tuple[int, str]]:
    """``count`` dead letters as intake leaves them: a dispute raised that could not be handed
    to its workflow. Their stream sequence is beyond any the test stream holds, so a replay
    sends the stored body. Returns (letter id, case id), oldest first."""
    made: list[tuple[int, str]] = []
    with Session(engine) as session:
        for _ in range(count):
            data = event("jurisdiction_dispute", "dispute_raised", case_id=new_case_id("DLREPLAY"))
            row = DeadLetter(
                stream_seq=10**12 + secrets.randbelow(10**9),
                subject=subjects.inbound(data["source_agency"], data["type"]),
                deliveries=3,
                last_error="Temporal unavailable: deadline exceeded",
                event_id=data["event_id"],
                body=json.dumps(data, ensure_ascii=False),
                recorded_at=datetime.now(UTC),
            )
            session.add(row)
            session.commit()
            assert row.id is not None
            made.append((row.id, data["case_id"]))
    return made


@pytest_asyncio.fixture(scope="module")
async def ops_console(stack: Any) -> AsyncIterator[Console]:
    """A console whose review decisions go to the stack's Temporal and whose replays go to the
    stack's registry (with the service credential the registry requires)."""
    migrate(stack.database_url)
    engine = make_engine(stack.database_url)
    add_users(engine, OPS_USERS)
    settings = ConsoleSettings(
        DATABASE_URL=stack.database_url,
        NATS_URL=stack.nats_url,
        REGISTRY_URL=stack.registry_url,
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
        LAWLINK_ENV="test",
        LAWLINK_SESSION_SECRET=secrets.token_urlsafe(32),
    )
    app = create_app(
        settings,
        actions=TemporalDisputeActions(settings, client=stack.temporal),
        reviews=TemporalReviewActions(settings, client=stack.temporal),
        live=False,  # no refresh redraws the form or the list under the test's clicks
    )
    port = free_port()
    server, task = await serve_asgi(app, port)
    yield Console(f"http://127.0.0.1:{port}", engine)
    server.should_exit = True
    await task
    engine.dispose()


def _items(engine: Engine, case_id: str) -> dict[str, DelegatedItem]:
    with Session(engine) as session:
        rows = session.exec(select(DelegatedItem).where(DelegatedItem.case_id == case_id)).all()
        return {r.code: r for r in rows}


async def test_a_reviewer_decides_the_yearly_review_opened_from_the_case_page(
    stack: Any,
    ops_console: Console,
    browser: Any,  # noqa: F811 - the fixture
) -> None:
    case_id = await delegation_under_review(stack, ops_console.engine)
    page = await _sign_in(browser, ops_console.url, "ops-reviewer")
    try:
        await page.goto(f"/cases/{P}/{case_id}")
        link = page.locator("#review-link")
        assert await link.inner_text() == "作出评估决定"
        await link.click()
        await page.wait_for_url(f"**/delegations/{case_id}/review")
        form = page.locator("#form-review")
        await page.fill("#review-document-no", "东政字〔2027〕88号")
        await form.get_by_label("继续赋权 ZH-0107").check()
        await form.get_by_label("调整 ZH-0215").check()
        await form.locator('textarea[name="new_scope.ZH-0215"]').fill("街道辖区全域")
        # SC-0032 left without a conclusion: answered at once, in Chinese, next to the field.
        await page.locator("#btn-review").click()
        error = page.locator('.field-error[data-field="outcome.SC-0032"]')
        await error.wait_for()
        assert await error.inner_text() == "事项 SC-0032 的评估结论：必填"
        assert await form.get_by_label("调整 ZH-0215").is_checked()  # what was typed stays
        assert await page.locator("#review-document-no").input_value() == "东政字〔2027〕88号"
        assert {i.state for i in _items(ops_console.engine, case_id).values()} == {"under_review"}

        await form.get_by_label("收回 SC-0032").check()
        await form.locator('textarea[name="reason.SC-0032"]').fill("评估为难以承接，收回原部门")
        await page.locator("#btn-review").click()
        notice = page.locator("#review-done")
        await notice.wait_for(timeout=20000)
        assert await notice.inner_text() == "评估决定已提交，页面将随事件更新"
        assert page.url.endswith(f"/cases/{P}/{case_id}?done=review")

        def concluded(session: Session) -> TimelineEntry | None:
            return session.exec(
                select(TimelineEntry).where(
                    TimelineEntry.workflow_id == f"{P}/{case_id}",
                    TimelineEntry.type == f"{P}.review_concluded",
                )
            ).first()

        # The workflow took the decision as given, item by item (with the shortened year the
        # next review may already have started, so the kept items' state is not asserted).
        entry = await _eventually(ops_console.engine, concluded, "the review's conclusion")
        decisions = {d["item_code"]: d for d in entry.payload["decisions"]}
        assert {c: d["outcome"] for c, d in decisions.items()} == {
            "ZH-0107": "keep",
            "ZH-0215": "adjust",
            "SC-0032": "revoke",
        }
        assert entry.payload["document_no"] == "东政字〔2027〕88号"
        assert decisions["SC-0032"]["reason"] == "评估为难以承接，收回原部门"
        items = _items(ops_console.engine, case_id)
        assert items["ZH-0215"].scope == "街道辖区全域"
        assert items["SC-0032"].state in ("returning", "returned")
    finally:
        await page.context.close()


async def test_an_operator_replays_chosen_dead_letters_only_once_confirmed(
    stack: Any,
    ops_console: Console,
    browser: Any,  # noqa: F811 - the fixture
) -> None:
    (first, first_case), (second, second_case), (kept, _) = seed_letters(ops_console.engine, 3)
    page = await _sign_in(browser, ops_console.url, "ops-oper")
    try:
        await page.goto("/dashboard")
        listed = page.locator("#dead-letters-table tr[data-letter]")
        await page.get_by_label(f"选择死信 #{first}").check()
        await page.get_by_label(f"选择死信 #{second}").check()
        # Not confirmed: the browser asks for the confirmation and sends nothing.
        confirm = page.locator('input[name="confirm"][form="replay-selected"]')
        await page.locator("#btn-replay-selected").click()
        assert await confirm.evaluate("e => !e.validity.valid && e.validationMessage.length > 0")
        assert "done=" not in page.url and await page.locator("#replay-done").count() == 0
        with Session(ops_console.engine) as session:
            ours = session.exec(select(DeadLetter).where(col(DeadLetter.id).in_([first, second, kept]))).all()
            assert [d.replay_count for d in ours] == [0, 0, 0]

        await confirm.check()
        await page.locator("#btn-replay-selected").click()
        await page.locator("#replay-done", has_text="已重新投递 2 条死信").wait_for()
        shown = await listed.evaluate_all("rows => rows.map(r => r.dataset.letter)")
        assert str(kept) in shown and str(first) not in shown and str(second) not in shown
        await page.locator("#dl-pending-toggle", has_text="显示已重投的死信").click()
        await page.locator(f'#dead-letters-table tr[data-letter="{first}"]').wait_for()
        shown = await listed.evaluate_all("rows => rows.map(r => r.dataset.letter)")
        assert {str(first), str(second), str(kept)} <= set(shown)
    finally:
        await page.context.close()

    # The registry sent them to intake again, which started the disputes they raise.
    for case_id in (first_case, second_case):
        await _eventually(
            ops_console.engine,
            lambda s, c=case_id: s.get(Case, f"jurisdiction_dispute/{c}"),
            f"the replayed dispute {case_id}",
        )
    with Session(ops_console.engine) as session:
        counts = {
            d.id: d.replay_count
            for d in session.exec(select(DeadLetter).where(col(DeadLetter.id).in_([first, second, kept])))
        }
    assert counts == {first: 1, second: 1, kept: 0}
