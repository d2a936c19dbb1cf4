"""Webhook delivery against local HTTP receivers started by the tests on 127.0.0.1.

Retry delays and the answer timeout are shrunk to fractions of a second (they are settings), so
the whole module runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.discipline.crypto import ContentCipher, cipher_from_env, generate_key, parse_key
from services.notifier import store
from services.notifier.recipients import notifications_for
from services.notifier.webhooks import (
    ATTEMPT_HEADER,
    NOTIFICATION_HEADER,
    SIGNATURE_HEADER,
    WebhookDispatcher,
    reset_for_replay,
    set_webhook,
    verify_signature,
    webhook_secret,
)
from services.readmodel import notification_queries as queries
from services.readmodel.db import make_engine, migrate
from services.readmodel.notifications import Delivery, NotificationRecord, Webhook
from tests.servers import free_port, migrated, serve_asgi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TIMEOUT = 0.4
BACKOFF = (0.05, 0.1)  # three attempts


@dataclass
class Receiver:
    """What the local receiver saw, per path."""

    base: str
    hits: dict[str, list[dict]] = field(default_factory=dict)
    fail_first: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


@pytest_asyncio.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    """An HTTP receiver: ``/ok/<x>`` answers 204, ``/flaky/<x>`` 503 for its first two calls,
    ``/slow/<x>`` answers only after 30 s (longer than any delivery waits)."""
    app = FastAPI()
    port = free_port()
    rec = Receiver(base=f"http://127.0.0.1:{port}")

    @app.post("/{kind}/{name}")
    async def hook(kind: str, name: str, request: Request) -> Response:
        body = await request.body()
        path = f"{kind}/{name}"
        calls = rec.hits.setdefault(path, [])
        entry = {"body": body, "headers": dict(request.headers), "accepted": False}
        calls.append(entry)
        if kind == "slow":
            await asyncio.sleep(30)
        if kind == "flaky" and len(calls) <= 2:
            return Response(status_code=503, content=b"try later")
        entry["accepted"] = True
        return Response(status_code=204)

    server, task = await serve_asgi(app, port)
    yield rec
    server.should_exit = True
    server.force_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    migrate(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def _event(case_id: str, party: str = "rz-scjgj") -> DomainEvent:
    due = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    info = DeadlineInfo(
        deadline_id="case_transfer.head_decision",
        rule="case_transfer.head_decision",
        label_zh="负责人作出是否批准移送决定",
        label_en="Agency head decides whether to approve the transfer",
        source="国务院令第310号 第5条",
        party=party,
        starts_at=due - timedelta(days=3),
        due_at=due,
        warn_at=due - timedelta(days=1),
        counting="calendar_days",
        length=3,
        provisional=False,
        status=DeadlineStatus.OPEN,
        escalate_to=("rz-sfj",),
    )
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        type="deadline.warning",
        occurred_at=datetime.now(UTC),
        process="case_transfer",
        case_id=case_id,
        workflow_id=f"case_transfer/{case_id}",
        seq=4,
        kind=EntryKind.DEADLINE,
        state="opened",
        parties=(party,),
        deadline=info,
    )


def _record(engine: Engine, event: DomainEvent) -> store.Recorded:
    with Session(engine) as session:
        result = store.record(
            session, notifications_for(event, console_url="http://console.test"), now=datetime.now(UTC)
        )
        session.commit()
        return result


async def _deliver(engine: Engine, result: store.Recorded) -> None:
    dispatcher = WebhookDispatcher(engine, timeout=TIMEOUT, backoff=BACKOFF)
    await dispatcher.start()
    for delivery_id, agency in result.deliveries:
        dispatcher.submit(delivery_id, agency)
    await asyncio.wait_for(dispatcher.idle(), 20)
    await dispatcher.stop()


def _delivery(engine: Engine, notification_id: str) -> Delivery:
    with Session(engine) as session:
        return session.exec(select(Delivery).where(Delivery.notification_id == notification_id)).one()


async def test_signature_verifies(engine: Engine, receiver: Receiver) -> None:
    with Session(engine) as session:
        _, secret = set_webhook(session, agency="rz-scjgj", url=receiver.url("ok/sig"))
    event = _event("WH-SIG")
    result = _record(engine, event)
    assert len(result.deliveries) == 1
    await _deliver(engine, result)
    [call] = receiver.hits["ok/sig"]
    headers = call["headers"]
    assert verify_signature(secret, call["body"], headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature(secret, call["body"] + b" ", headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature("another-secret", call["body"], headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature(secret, call["body"], None)
    body = json.loads(call["body"])
    assert body["notification_id"] == headers[NOTIFICATION_HEADER.lower()] == f"{event.event_id}:rz-scjgj"
    assert body["event_type"] == "deadline.warning" and body["due_at"] and body["counting"] == "calendar_days"
    row = _delivery(engine, body["notification_id"])
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 204)


async def test_a_secret_sealed_for_another_agency_is_not_used(engine: Engine, receiver: Receiver) -> None:
    """A sealed secret copied onto another agency's row (or a row from before secrets were
    sealed) sends nothing: the delivery fails, listed for replay, saying how to fix it."""
    with Session(engine) as session:
        set_webhook(session, agency="rz-gaj", url=receiver.url("ok/other"))
        set_webhook(session, agency="rz-scjgj", url=receiver.url("ok/copied"))
        police, market = session.get(Webhook, "rz-gaj"), session.get(Webhook, "rz-scjgj")
        market.secret = police.secret
        session.add(market)
        session.commit()
    event = _event("WH-COPIED")
    result = _record(engine, event)
    await _deliver(engine, result)
    assert receiver.hits.get("ok/copied", []) == []
    row = _delivery(engine, f"{event.event_id}:rz-scjgj")
    assert row.status == "failed" and "lawlink webhooks set rz-scjgj" in (row.last_error or "")


async def test_receiver_failing_twice_then_succeeding_gets_it_exactly_once(
    engine: Engine, receiver: Receiver
) -> None:
    with Session(engine) as session:
        set_webhook(session, agency="rz-scjgj", url=receiver.url("flaky/twice"))
    event = _event("WH-FLAKY")
    result = _record(engine, event)
    await _deliver(engine, result)
    calls = receiver.hits["flaky/twice"]
    assert [c["accepted"] for c in calls] == [False, False, True]
    assert [c["headers"][ATTEMPT_HEADER.lower()] for c in calls] == ["1", "2", "3"]
    assert {c["headers"][NOTIFICATION_HEADER.lower()] for c in calls} == {f"{event.event_id}:rz-scjgj"}
    row = _delivery(engine, f"{event.event_id}:rz-scjgj")
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)
    # The same domain event again (a redelivery): no second notification, no second delivery.
    again = _record(engine, event)
    assert again.added == 0 and again.deliveries == []
    assert len(receiver.hits["flaky/twice"]) == 3


async def test_receiver_that_never_answers_leaves_a_failed_delivery_for_replay(
    engine: Engine, receiver: Receiver
) -> None:
    with Session(engine) as session:
        set_webhook(session, agency="rz-scjgj", url=receiver.url("slow/dead"))
    event = _event("WH-DEAD")
    result = _record(engine, event)
    await _deliver(engine, result)
    notification_id = f"{event.event_id}:rz-scjgj"
    row = _delivery(engine, notification_id)
    assert (row.status, row.attempts) == ("failed", len(BACKOFF) + 1)
    assert "no answer" in (row.last_error or "")
    assert len(receiver.hits["slow/dead"]) == len(BACKOFF) + 1
    with Session(engine) as session:
        failed = queries.failed_deliveries(session, agency="rz-scjgj")
        assert [(d.notification_id, d.attempts) for d in failed] == [(notification_id, 3)]
        # Not lost: the bell still lists it.
        assert notification_id in [n.id for n in queries.list_notifications(session, agency="rz-scjgj")]
        # The agency fixes its endpoint; the operator replays.
        _, secret = set_webhook(session, agency="rz-scjgj", url=receiver.url("ok/fixed"))
        queued = reset_for_replay(session, agency="rz-scjgj")
    assert queued == [(row.id, "rz-scjgj")]
    dispatcher = WebhookDispatcher(engine, timeout=TIMEOUT, backoff=BACKOFF)
    await dispatcher.start(resume=False)
    for delivery_id, agency in queued:
        dispatcher.submit(delivery_id, agency)
    await asyncio.wait_for(dispatcher.idle(), 10)
    await dispatcher.stop()
    row = _delivery(engine, notification_id)
    assert (row.status, row.attempts, row.replays, row.url) == ("delivered", 4, 1, receiver.url("ok/fixed"))
    [call] = receiver.hits["ok/fixed"]
    assert verify_signature(secret, call["body"], call["headers"][SIGNATURE_HEADER.lower()])
    with Session(engine) as session:
        assert queries.failed_deliveries(session) == []


async def test_a_dead_endpoint_never_blocks_other_agencies(engine: Engine, receiver: Receiver) -> None:
    with Session(engine) as session:
        set_webhook(session, agency="rz-scjgj", url=receiver.url("slow/blocking"))
        set_webhook(session, agency="rz-gaj", url=receiver.url("ok/police"))
    dead = [_record(engine, _event(f"WH-BLK-{i}")) for i in range(3)]
    alive = _record(engine, _event("WH-FREE", party="rz-gaj"))
    dispatcher = WebhookDispatcher(engine, timeout=TIMEOUT, backoff=BACKOFF)
    await dispatcher.start()
    started = time.monotonic()
    for result in [*dead, alive]:  # the dead agency's deliveries are queued first
        for delivery_id, agency in result.deliveries:
            dispatcher.submit(delivery_id, agency)
    while "ok/police" not in receiver.hits:
        await asyncio.sleep(0.02)
        assert time.monotonic() - started < 2 * TIMEOUT, "the live agency waited for the dead one"
    await asyncio.wait_for(dispatcher.idle(), 20)
    await dispatcher.stop()
    with Session(engine) as session:
        statuses = {d.agency: d.status for d in queries.deliveries(session, agency="rz-gaj")}
        assert statuses == {"rz-gaj": "delivered"}
        assert {d.status for d in queries.deliveries(session, agency="rz-scjgj")} == {"failed"}


async def test_pending_deliveries_resume_after_a_restart(engine: Engine, receiver: Receiver) -> None:
    with Session(engine) as session:
        set_webhook(session, agency="rz-sfj", url=receiver.url("ok/resume"))
    event = _event("WH-RESUME", party="rz-sfj")
    _record(engine, event)  # stored and pending, but the notifier "died" before delivering
    dispatcher = WebhookDispatcher(engine, timeout=TIMEOUT, backoff=BACKOFF)
    assert await dispatcher.start() == 1
    await asyncio.wait_for(dispatcher.idle(), 10)
    await dispatcher.stop()
    assert _delivery(engine, f"{event.event_id}:rz-sfj").status == "delivered"
    assert len(receiver.hits["ok/resume"]) == 1


def test_bad_registrations_name_the_field(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(ValueError, match="^agency: unknown agency"):
            set_webhook(session, agency="rz-nope", url="https://example.test/hook")
        with pytest.raises(ValueError, match="^url: "):
            set_webhook(session, agency="rz-scjgj", url="ftp://example.test/hook")
        with pytest.raises(LookupError, match="^id: no delivery 999"):
            reset_for_replay(session, delivery_ids=[999])


def test_cli_seals_with_the_dev_stacks_content_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` keeps the key in .lawlink/secrets.env; `lawlink webhooks set` must use it, or
    the notifier (started with that key) could not open the secret."""
    from services.cli import app

    key = generate_key()
    (tmp_path / ".lawlink").mkdir()
    (tmp_path / ".lawlink" / "secrets.env").write_text(f"LAWLINK_CONTENT_KEY={key}\n", encoding="utf-8")
    url = migrated(f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("DATABASE_URL", url)
    # Set, then unset: either way monkeypatch restores the variable afterwards, so the key the CLI
    # loads into os.environ does not leak into later tests (whose data used the test key).
    monkeypatch.setenv("LAWLINK_CONTENT_KEY", "placeholder")
    monkeypatch.delenv("LAWLINK_CONTENT_KEY")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["webhooks", "set", "rz-gaj", "https://rz-gaj.example/lawlink"])
    assert result.exit_code == 0, result.output
    eng = make_engine(url)
    try:
        with Session(eng) as session:
            hook = session.get(Webhook, "rz-gaj")
            assert hook is not None
            assert webhook_secret(hook, ContentCipher(parse_key(key))) in result.output
    finally:
        eng.dispose()


def test_cli_sets_a_webhook_and_shows_the_secret_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.cli import app

    url = migrated(f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no .lawlink/stack.env here
    runner = CliRunner()
    result = runner.invoke(app, ["webhooks", "set", "rz-scjgj", "https://rz-scjgj.example/lawlink"])
    assert result.exit_code == 0, result.output
    eng = make_engine(url)
    try:
        with Session(eng) as session:
            hook = session.get(Webhook, "rz-scjgj")
            assert hook is not None and hook.url == "https://rz-scjgj.example/lawlink"
            secret = webhook_secret(hook, cipher_from_env())
            assert secret in result.output
            # At rest the secret is sealed with LAWLINK_CONTENT_KEY, bound to the agency.
            assert hook.secret.startswith("v1:") and secret not in hook.secret
        listed = runner.invoke(app, ["webhooks", "list"])
        assert listed.exit_code == 0 and "rz-scjgj" in listed.output and secret not in listed.output
        bad = runner.invoke(app, ["webhooks", "set", "rz-nope", "https://x.example"])
        assert bad.exit_code == 2 and "agency: unknown agency" in bad.output
        with Session(eng) as session:
            assert session.exec(select(NotificationRecord)).all() == []
    finally:
        eng.dispose()


def test_cli_replays_are_audited_for_the_os_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI replays through the database, not the notifier's API: it writes the audit row."""
    from services.cli import app
    from services.readmodel.service_audit import calls
    from services.service_auth import os_actor

    url = migrated(f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no .lawlink/stack.env here
    runner = CliRunner()
    missing = runner.invoke(app, ["webhooks", "replay", "999"])
    assert missing.exit_code == 1 and "no delivery 999" in missing.output
    nothing = runner.invoke(app, ["webhooks", "replay", "--agency", "rz-scjgj"])
    assert nothing.exit_code == 0 and "nothing to replay" in nothing.output
    eng = make_engine(url)
    try:
        with Session(eng) as session:
            rows = [(r.server, r.service, r.actor, r.target, r.outcome) for r in calls(session)]
        assert rows == [
            ("cli", "cli", os_actor(), "agency/rz-scjgj", "unchanged"),
            ("cli", "cli", os_actor(), "delivery/999", "not_found"),
        ]
    finally:
        eng.dispose()
