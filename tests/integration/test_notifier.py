"""The notifier against real NATS JetStream (and, for the full chain, real Temporal + intake +
registry from the ``stack`` fixture): warnings reach the acting agency, escalations the
supervisor, a duplicate domain event yields one notification, and the console's bell and digest
read what was stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response
from nats.js import JetStreamContext
from sqlmodel import Session, col, select

from contracts import subjects
from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.notifier.webhooks import SIGNATURE_HEADER, set_webhook, verify_signature
from services.readmodel import notification_queries as queries
from services.readmodel.db import make_engine
from services.readmodel.notifications import NotificationRecord
from services.readmodel.service_audit import calls
from tests.events import body, event, eventually, new_case_id
from tests.servers import api_headers, free_port, notifier_serving, serve_asgi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


class Running:
    """The notifier under test, on the stack's NATS and database."""

    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url
        self.engine = make_engine(database_url)


@pytest_asyncio.fixture(scope="module")
async def notifier(stack) -> AsyncIterator[Running]:  # noqa: ANN001
    durable = f"notifier-test-{uuid.uuid4().hex[:8]}"
    async with notifier_serving(
        stack.nats_url, stack.database_url, durable, WEBHOOK_BACKOFF=[0.05], WEBHOOK_TIMEOUT=1.0
    ) as url:
        running = Running(url, stack.database_url)
        yield running
    running.engine.dispose()


def _deadline(
    party: str,
    *,
    rule: str = "case_transfer.head_decision",
    escalate_to: tuple[str, ...] = ("rz-sfj",),
    status: DeadlineStatus = DeadlineStatus.OPEN,
    provisional: bool = False,
) -> DeadlineInfo:
    due = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    return DeadlineInfo(
        deadline_id=rule,
        rule=rule,
        label_zh="负责人作出是否批准移送决定",
        label_en="Agency head decides whether to approve the transfer",
        source="国务院令第310号 第5条",
        party=party,
        starts_at=due - timedelta(days=3),
        due_at=due,
        warn_at=due - timedelta(days=1),
        counting="calendar_days",
        length=3,
        provisional=provisional,
        status=status,
        escalate_to=escalate_to,
    )


def _domain_event(
    case_id: str,
    event_type: str,
    seq: int,
    *,
    kind: EntryKind = EntryKind.DEADLINE,
    deadline: DeadlineInfo | None = None,
    payload: dict[str, Any] | None = None,
) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type=event_type,
        occurred_at=datetime.now(UTC),
        process="case_transfer",
        case_id=case_id,
        workflow_id=f"case_transfer/{case_id}",
        seq=seq,
        kind=kind,
        state="opened",
        parties=("rz-scjgj",),
        deadline=deadline,
        payload=payload or {},
    )


async def _publish_out(js: JetStreamContext, ev: DomainEvent, msg_id: str | None = None) -> None:
    await js.publish(
        subjects.outbound(ev.process, ev.case_id),
        ev.model_dump_json().encode(),
        stream=subjects.STREAM_OUT,
        headers={"Nats-Msg-Id": msg_id or ev.msg_id()},
    )


async def _from_stream(
    js: JetStreamContext, agency: str, case_id: str, *, want: int = 1, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Notifications for ``case_id`` kept in LAWLINK_NOTIFY on ``lawlink.notify.<agency>``.

    Reads the stream (not a core subscription) so what counts is what JetStream stored. Returns as
    soon as ``want`` were seen, after ``timeout`` otherwise; reads for a moment more when asked for
    0 so that a late extra message would still be caught.
    """
    got: list[dict[str, Any]] = []
    end = asyncio.get_running_loop().time() + timeout
    while True:
        sub = await js.subscribe(subjects.notify(agency), ordered_consumer=True)
        seen: list[dict[str, Any]] = []
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    break
                data = json.loads(msg.data)
                if data["case_id"] == case_id:
                    seen.append(data)
        finally:
            await sub.unsubscribe()
        got = seen
        if (want and len(got) >= want) or asyncio.get_running_loop().time() > end:
            return got
        await asyncio.sleep(0.3)


async def test_warning_before_a_deadline_reaches_the_acting_agency(notifier: Running, stack) -> None:  # noqa: ANN001
    case_id = new_case_id("NW")
    nc = await nats.connect(stack.nats_url)
    try:
        core = await nc.subscribe(subjects.notify("rz-scjgj"))
        js = nc.jetstream()
        warning = _domain_event(
            case_id, "deadline.warning", 5, deadline=_deadline("rz-scjgj", provisional=True)
        )
        await _publish_out(js, warning)
        while True:  # the live subject an agency listens on
            msg = await core.next_msg(timeout=15)
            data = json.loads(msg.data)
            if data["case_id"] == case_id:
                break
        assert msg.subject == "lawlink.notify.rz-scjgj"
        assert msg.headers and msg.headers.get("Nats-Msg-Id") == f"{warning.event_id}:rz-scjgj"
        assert data["reason"] == "act" and data["event_type"] == "deadline.warning"
        assert data["due_at"].startswith("2026-11-23T16:00") and data["counting"] == "calendar_days"
        assert (
            data["provisional"] is True and "暂定" in data["action_zh"] and "provisional" in data["action_en"]
        )
        assert data["link"] == f"http://console.test/cases/case_transfer/{case_id}"
        assert data["title_zh"].startswith(f"【行刑衔接·{case_id}】时限即将届满")
        stored = await _from_stream(js, "rz-scjgj", case_id)
        assert [n["notification_id"] for n in stored] == [f"{warning.event_id}:rz-scjgj"]
        # The justice bureau supervises only on escalation: a warning is not its business.
        assert await _from_stream(js, "rz-sfj", case_id, want=0, timeout=1.0) == []
    finally:
        await nc.close()


async def test_escalation_reaches_the_supervisor(notifier: Running, stack) -> None:  # noqa: ANN001
    case_id = new_case_id("NE")
    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()
        info = _deadline("rz-scjgj", status=DeadlineStatus.BREACHED)
        breached = _domain_event(case_id, "deadline.breached", 6, deadline=info)
        escalation = _domain_event(
            case_id,
            "escalation.raised",
            7,
            kind=EntryKind.ESCALATION,
            deadline=info,
            payload={"target": "rz-sfj", "rule": info.rule, "party": "rz-scjgj"},
        )
        await _publish_out(js, breached)
        await _publish_out(js, escalation)
        supervisor = await _from_stream(js, "rz-sfj", case_id)
        assert [(n["event_type"], n["reason"]) for n in supervisor] == [("escalation.raised", "supervise")]
        assert "负责人作出是否批准移送决定" in supervisor[0]["action_zh"]
        party = await _from_stream(js, "rz-scjgj", case_id)
        assert [(n["event_type"], n["reason"]) for n in party] == [("deadline.breached", "act")]
    finally:
        await nc.close()


async def test_duplicate_domain_event_yields_one_notification(notifier: Running, stack) -> None:  # noqa: ANN001
    case_id = new_case_id("ND")
    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()
        core = await nc.subscribe(subjects.notify("rz-scjgj"))
        warning = _domain_event(case_id, "deadline.warning", 5, deadline=_deadline("rz-scjgj"))
        await _publish_out(js, warning)
        # The same domain event again, past JetStream's de-duplication (a replayed stream, a
        # republish after the window): only the notifier's own key can keep it to one.
        await _publish_out(js, warning, msg_id=f"replay-{uuid.uuid4()}")
        sentinel = _domain_event(
            case_id, "deadline.set", 8, deadline=_deadline("rz-scjgj", rule="case_transfer.police_decision")
        )
        await _publish_out(js, sentinel)
        stored = await _from_stream(js, "rz-scjgj", case_id, want=2)
        assert sorted(n["event_type"] for n in stored) == ["deadline.set", "deadline.warning"]
        live: list[str] = []
        end = asyncio.get_running_loop().time() + 1.5
        while (left := end - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await core.next_msg(timeout=left)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            data = json.loads(msg.data)
            if data["case_id"] == case_id:
                live.append(data["event_type"])
        assert live.count("deadline.warning") <= 1  # the core subscription may have started late
        with Session(notifier.engine) as session:
            rows = session.exec(select(NotificationRecord).where(NotificationRecord.case_id == case_id)).all()
        assert sorted(r.id for r in rows) == sorted(
            [f"{warning.event_id}:rz-scjgj", f"{sentinel.event_id}:rz-scjgj"]
        )
    finally:
        await nc.close()


async def test_real_workflow_deadline_reaches_the_agency_and_the_bell(notifier: Running, stack) -> None:  # noqa: ANN001
    """The whole chain: an agency event → intake → workflow → deadline.set → notification, then
    the console's bell (mark as read, unread count) and digest on the shared database."""
    case_id = new_case_id("NF")
    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()
        # The head's clock starts with the team's report (art. 5).
        for step in ("crime_suspected", "team_formed", "transfer_report_submitted"):
            data = event("case_transfer", step, case_id=case_id)
            await js.publish(
                subjects.inbound(data["source_agency"], data["type"]),
                body(data),
                stream=subjects.STREAM_IN,
                headers={"Nats-Msg-Id": data["event_id"]},
            )
        got = await _from_stream(js, "rz-scjgj", case_id, timeout=60)
        assert [(n["event_type"], n["deadline_rule"], n["reason"]) for n in got] == [
            ("deadline.set", "case_transfer.head_decision", "act")
        ]
        note = got[0]
        assert note["counting"] == "calendar_days" and note["due_at"] and note["link"].endswith(case_id)
    finally:
        await nc.close()

    read_path = f"/api/notifications/{note['notification_id']}/read"
    async with httpx.AsyncClient(base_url=notifier.url) as anonymous:
        # Only Lawlink's services: no credential, a wrong one, or none for a state change.
        refused = await anonymous.get("/api/notifications", params={"agency": "rz-scjgj"})
        assert refused.status_code == 401 and refused.json()["detail"]["field"] == "Authorization"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        forged = await anonymous.post(
            read_path, params={"user": "wang"}, headers=api_headers("wang", token="w" * 43)
        )
        assert forged.status_code == 401 and "invalid_token" in forged.headers["www-authenticate"]
        unnamed = await anonymous.post(read_path, params={"user": "wang"}, headers=api_headers())
        assert unnamed.status_code == 400 and unnamed.json()["detail"]["field"] == "X-Lawlink-Actor"
    async with httpx.AsyncClient(base_url=notifier.url, headers=api_headers(actor="wang")) as http:
        bell = (
            await http.get("/api/notifications", params={"agency": "rz-scjgj", "user": "wang", "limit": 500})
        ).json()
        mine = [n for n in bell if n["case_id"] == case_id]
        assert len(mine) == 1 and mine[0]["read"] is False
        before = (
            await http.get("/api/notifications/unread-count", params={"agency": "rz-scjgj", "user": "wang"})
        ).json()
        resp = await http.post(f"/api/notifications/{note['notification_id']}/read", params={"user": "wang"})
        assert resp.status_code == 200 and resp.json()["changed"] is True
        again = await http.post(f"/api/notifications/{note['notification_id']}/read", params={"user": "wang"})
        assert again.json()["changed"] is False
        after = (
            await http.get("/api/notifications/unread-count", params={"agency": "rz-scjgj", "user": "wang"})
        ).json()
        assert after["unread"] == before["unread"] - 1
        other = (
            await http.get("/api/notifications/unread-count", params={"agency": "rz-scjgj", "user": "li"})
        ).json()
        assert other["unread"] >= before["unread"]  # read state is per user
        missing = await http.post("/api/notifications/nope/read", params={"user": "wang"})
        assert missing.status_code == 404 and missing.json()["detail"]["field"] == "id"
        # Who marked it read, and that the refusals above changed nothing and were never audited.
        with Session(notifier.engine) as session:
            rows = [
                (r.server, r.service, r.actor, r.target, r.outcome)
                for r in calls(session, action="notification.read")
                if note["notification_id"] in r.target or r.target.startswith("notification/nope ")
            ]
        assert sorted(rows) == sorted(
            [
                ("notifier", "tests", "wang", f"notification/{note['notification_id']} for wang", "ok"),
                (
                    "notifier",
                    "tests",
                    "wang",
                    f"notification/{note['notification_id']} for wang",
                    "unchanged",
                ),
                ("notifier", "tests", "wang", "notification/nope for wang", "not_found"),
            ]
        )
        bad_role = await http.get("/api/notifications", params={"agency": "rz-scjgj", "role": "boss"})
        assert bad_role.status_code == 422 and bad_role.json()["detail"]["field"] == "role"

    # The digest reads the registry's deadline table: the head's 3-day limit is neither due
    # today nor overdue now, is due on its last day, and overdue the day after.
    due_at = datetime.fromisoformat(note["due_at"])
    with Session(notifier.engine) as session:
        for _ in range(50):
            now_digest = queries.digest(session, agency="rz-scjgj")
            if any(
                i.case_id == case_id
                for i in queries.digest(session, agency="rz-scjgj", now=due_at - timedelta(hours=1)).due_today
            ):
                break
            await asyncio.sleep(0.2)
        assert not any(i.case_id == case_id for i in now_digest.due_today + now_digest.overdue)
        last_day = queries.digest(session, agency="rz-scjgj", now=due_at - timedelta(hours=1))
        assert [i.rule for i in last_day.due_today if i.case_id == case_id] == ["case_transfer.head_decision"]
        late = queries.digest(session, agency="rz-scjgj", now=due_at + timedelta(hours=1))
        assert [i.case_id for i in late.overdue if i.case_id == case_id] == [case_id]
        supervisor = queries.digest(session, agency="rz-sfj", now=due_at + timedelta(hours=1))
        assert case_id in [i.case_id for i in supervisor.supervising]
        role_rows = session.exec(
            select(NotificationRecord).where(col(NotificationRecord.case_id) == case_id)
        ).all()
        assert {r.audience for r in role_rows} == {"agency_officer"}


async def test_notifier_pushes_a_signed_webhook_for_a_domain_event(notifier: Running, stack) -> None:  # noqa: ANN001
    """NATS → notifier → the agency's webhook, signed with the secret set for it."""
    received: list[tuple[bytes, str | None]] = []
    hook_app = FastAPI()

    @hook_app.post("/hook")
    async def hook(request: Request) -> Response:
        received.append((await request.body(), request.headers.get(SIGNATURE_HEADER)))
        return Response(status_code=200)

    port = free_port()
    server, task = await serve_asgi(hook_app, port)
    try:
        with Session(notifier.engine) as session:
            _, secret = set_webhook(session, agency="rz-wl-jcy", url=f"http://127.0.0.1:{port}/hook")
        case_id = new_case_id("NH")
        escalation = _domain_event(
            case_id,
            "escalation.raised",
            7,
            kind=EntryKind.ESCALATION,
            deadline=_deadline("rz-wl-gaj", rule="case_transfer.police_decision"),
            payload={"target": "rz-wl-jcy"},
        )
        nc = await nats.connect(stack.nats_url)
        try:
            await _publish_out(nc.jetstream(), escalation)
        finally:
            await nc.close()
        for _ in range(150):
            if received:
                break
            await asyncio.sleep(0.1)
        [(raw, signature)] = received
        assert verify_signature(secret, raw, signature)
        assert json.loads(raw)["notification_id"] == f"{escalation.event_id}:rz-wl-jcy"

        async def delivery_row() -> tuple[str, int]:
            # The notifier records the outcome after the receiver answered: poll, don't race it.
            with Session(notifier.engine) as session:
                [delivery] = queries.deliveries(session, agency="rz-wl-jcy")
            return delivery.status, delivery.attempts

        assert await eventually(delivery_row, lambda row: row[0] != "pending", timeout=10) == ("delivered", 1)

        # An operator's replay through the API names its actor and is audited, even when there
        # is nothing to send again (delivered) or no such delivery.
        async with httpx.AsyncClient(base_url=notifier.url, headers=api_headers(actor="oper")) as http:
            [listed] = (await http.get("/api/deliveries", params={"agency": "rz-wl-jcy"})).json()
            done = await http.post(f"/api/deliveries/{listed['id']}/replay")
            assert done.status_code == 200 and done.json() == {"id": listed["id"], "queued": False}
            assert (await http.post("/api/deliveries/999999/replay")).status_code == 404
        async with httpx.AsyncClient(base_url=notifier.url) as anonymous:
            assert (await anonymous.post(f"/api/deliveries/{listed['id']}/replay")).status_code == 401
        with Session(notifier.engine) as session:
            audited = [
                (r.service, r.actor, r.target, r.outcome) for r in calls(session, action="delivery.replay")
            ]
        assert audited[:2] == [
            ("tests", "oper", "delivery/999999", "not_found"),
            ("tests", "oper", f"delivery/{listed['id']}", "unchanged"),
        ]
    finally:
        server.should_exit = True
        await task


def _bell_db(tmp_path) -> Any:  # noqa: ANN001
    from services.readmodel.db import migrate

    url = f"sqlite:///{tmp_path / 'bell.db'}"
    migrate(url)
    return make_engine(url)


def test_bell_roles_unread_and_republish_bookkeeping(tmp_path) -> None:  # noqa: ANN001
    """Without NATS: what each console role sees, per-user read state, and that a notification
    stored but not acknowledged by JetStream is handed back for publishing (and only then)."""
    from services.notifier import store
    from services.notifier.recipients import notifications_for

    engine = _bell_db(tmp_path)
    try:
        opened = DomainEvent(
            event_id=str(uuid.uuid4()),
            type="jurisdiction_dispute.opened",
            occurred_at=datetime.now(UTC),
            process="jurisdiction_dispute",
            case_id="JD-1",
            workflow_id="jurisdiction_dispute/JD-1",
            seq=1,
            kind=EntryKind.STEP,
            state="negotiating",
            actor="rz-dg-shijiu",
            parties=("rz-dg-shijiu", "rz-dg-qinlou"),
        )
        warning = _domain_event("CT-1", "deadline.warning", 4, deadline=_deadline("rz-dg-sfj"))
        notes = [*notifications_for(opened, console_url=""), *notifications_for(warning, console_url="")]
        now = datetime.now(UTC)
        with Session(engine) as session:
            first = store.record(session, notes, now=now)
            session.commit()
            assert first.added == 2 and len(first.to_publish) == 2
            store.mark_published(session, [first.to_publish[0].notification_id], now=now)
            session.commit()
            again = store.record(session, notes, now=now)
            assert again.added == 0
            assert [n.notification_id for n in again.to_publish] == [first.to_publish[1].notification_id]

            def ids(role: str | None) -> set[str]:
                return {
                    n.event_type for n in queries.list_notifications(session, agency="rz-dg-sfj", role=role)
                }

            assert (
                ids(None)
                == ids("admin")
                == ids("operator")
                == {"jurisdiction_dispute.opened", "deadline.warning"}
            )
            assert ids("coordinator") == {"jurisdiction_dispute.opened", "deadline.warning"}
            assert ids("agency_officer") == {"deadline.warning"}
            assert ids("discipline_officer") == {"deadline.warning"}
            assert queries.unread_count(session, agency="rz-dg-sfj", user="zhao", role="coordinator") == 2
            assert queries.unread_count(session, agency="rz-dg-sfj", user="zhao", role="agency_officer") == 1
            assert queries.mark_all_read(session, agency="rz-dg-sfj", user="zhao", role="agency_officer") == 1
            assert queries.unread_count(session, agency="rz-dg-sfj", user="zhao", role="coordinator") == 1
            unread = queries.list_notifications(session, agency="rz-dg-sfj", user="zhao", unread_only=True)
            assert [n.event_type for n in unread] == ["jurisdiction_dispute.opened"]
            assert queries.unread_count(session, agency="rz-dg-sfj", user="qian") == 2
            with pytest.raises(ValueError, match="^user: "):
                queries.mark_read(session, notification_id=unread[0].id, user="")
            with pytest.raises(ValueError, match="^now: "):
                queries.digest(session, agency="rz-dg-sfj", now=datetime(2026, 11, 20))
            with pytest.raises(ValueError, match="^status: "):
                queries.deliveries(session, status="lost")
            assert unread[0].link == "/cases/jurisdiction_dispute/JD-1"
    finally:
        engine.dispose()
