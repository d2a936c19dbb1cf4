"""Notifier service: domain events in, one notification per recipient out.

Consumes ``lawlink.out.>`` from the durable consumer ``notifier`` (explicit acks, ``ack_wait``,
``max_deliver`` and ``max_ack_pending`` set; DESIGN.md pitfalls). For each batch it stores the
notifications (keyed ``<domain_event_id>:<recipient>``, so a redelivered domain event adds
nothing), publishes each on ``lawlink.notify.<agency>`` through JetStream with that key as
``Nats-Msg-Id``, queues webhook deliveries, and only then acks. A database or NATS failure naks
the batch with a delay; nothing is lost and nothing is sent twice.

HTTP API for the console and operators: ``GET /api/notifications``, ``GET
/api/notifications/unread-count``, ``POST /api/notifications/{id}/read``, ``GET /api/digest``,
``GET /api/deliveries``, ``POST /api/deliveries/{id}/replay``.

Run: ``uvicorn services.notifier.app:app`` (``make run`` does).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contracts import subjects
from contracts.domain import DomainEvent
from contracts.notifications import Notification
from services.connections import ensure_streams
from services.domain_consumer import Prepare, subscribe_domain_events
from services.notifier import store
from services.notifier.config import NotifierSettings
from services.notifier.metrics import notifier_metrics
from services.notifier.recipients import notifications_for
from services.notifier.webhooks import WebhookDispatcher, reset_for_replay
from services.observability import observe
from services.partition import Partition
from services.readmodel import notification_queries as queries
from services.readmodel.db import database_ok, make_engine, require_current_schema
from services.readmodel.notifications import DeliveryPublic
from services.readmodel.service_audit import record_call
from services.resilience import (
    ConnectionKeeper,
    broker_keeper,
    health_body,
    nats_ok,
    stop_broker,
    until_connected,
)
from services.service_auth import Caller, ServiceAuth, app_on_access
from services.service_broker import service_broker

log = logging.getLogger("lawlink.notifier")


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    """Build the notifier app (a function so tests run it on their own database and durable)."""
    settings = settings or NotifierSettings()
    auth = ServiceAuth(settings, server="notifier")  # refuses to start without the token
    kept = service_broker(settings, "notifier")
    broker, keeper, metrics = kept.broker, kept.keeper, kept.metrics
    holder: dict[str, object] = {}

    def engine() -> Engine:
        return holder["engine"]  # type: ignore[return-value]

    notifier_metrics(metrics, engine)
    # For the AsyncAPI document only: notifications go out through JetStream directly (handle).
    broker.publisher(
        "lawlink.notify.*",
        schema=Notification,
        title="lawlink.notify.<agency>",
        description="What this agency must know about a step of one of its cases (also sent to its webhook).",
    )

    def dispatcher() -> WebhookDispatcher:
        return holder["dispatcher"]  # type: ignore[return-value]

    partition = Partition.from_settings(settings)
    prepare_consumer = subscribe_domain_events(
        broker,
        partition=partition,
        durable=settings.notifier_durable,
        handle=_handler(settings, broker, engine, dispatcher),
        log=log,
        batch=settings.notifier_batch,
        ack_wait=settings.notifier_ack_wait_seconds,
        max_deliver=settings.notifier_max_deliver,
        description="Domain events; each becomes one notification per recipient on lawlink.notify.<agency>.",
    )

    app = FastAPI(
        title="Lawlink notifier",
        lifespan=_lifespan(settings, holder, broker, keeper, prepare_consumer, partition),
    )
    observe(app, metrics, auth)
    # Every /api route answers Lawlink's services only (services/service_auth.py).
    api = APIRouter(dependencies=[Depends(auth)])
    api.include_router(_notifications_router(settings, auth, engine))
    api.include_router(_deliveries_router(auth, engine, dispatcher))
    app.include_router(api)
    app.add_api_route("/healthz", _healthz(engine, broker), methods=["GET"])

    app.state.engine = engine
    app.state.dispatcher = dispatcher
    app.state.broker = broker
    app.state.keeper = keeper
    return app


def _handler(
    settings: NotifierSettings,
    broker: NatsBroker,
    engine: Callable[[], Engine],
    dispatcher: Callable[[], WebhookDispatcher],
) -> Callable[[list[DomainEvent]], Awaitable[int]]:
    """The handler of a batch of domain events. Stored first, published second, marked
    published last: a failure anywhere raises, the batch is redelivered, and the stored keys
    and message ids keep anything from being sent twice."""

    def save(notes: list[Notification]) -> store.Recorded:
        with Session(engine()) as session:
            result = store.record(session, notes, now=datetime.now(UTC))
            session.commit()
            return result

    def published(ids: list[str]) -> None:
        with Session(engine()) as session:
            store.mark_published(session, ids, now=datetime.now(UTC))
            session.commit()

    async def handle(events: list[DomainEvent]) -> int:
        """Store, publish and queue the notifications of ``events``; raises on any failure."""
        notes = [n for event in events for n in notifications_for(event, console_url=settings.console_url)]
        result = await anyio.to_thread.run_sync(save, notes)
        js = broker.config.connection_state.stream
        sent: list[str] = []
        for note in result.to_publish:
            await js.publish(
                subjects.notify(note.recipient),
                note.model_dump_json().encode(),
                stream=subjects.STREAM_NOTIFY,
                headers={"Nats-Msg-Id": note.notification_id},
            )
            sent.append(note.notification_id)
        await anyio.to_thread.run_sync(published, sent)
        for delivery_id, agency in result.deliveries:
            dispatcher().submit(delivery_id, agency)
        return len(sent)

    return handle


def _lifespan(
    settings: NotifierSettings,
    holder: dict[str, object],
    broker: NatsBroker,
    keeper: ConnectionKeeper,
    prepare_consumer: Prepare,
    partition: Partition,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start-up and shut-down, filling ``holder`` with the engine and the webhook dispatcher.

    Webhook deliveries left queued by a previous run resume before any new event is consumed;
    on the way out the broker stops first, so no handler submits to a stopped dispatcher.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(require_current_schema, settings.database_url, "notifier")
        engine = holder["engine"] = make_engine(settings.database_url)
        dispatcher = holder["dispatcher"] = WebhookDispatcher(
            engine,
            timeout=settings.webhook_timeout_seconds,
            backoff=settings.webhook_backoff_seconds,
            partition=partition,
        )
        resumed = await dispatcher.start()
        await until_connected(broker.connect(), f"connecting to NATS at {settings.nats_url}")
        await ensure_streams(broker.config.connection_state.stream)
        durable = await prepare_consumer(broker.config.connection_state.stream)
        await broker.start()
        broker_keeper(broker, keeper)
        log.info(
            "notifier consuming %s as durable %r (%s; %d webhook deliveries resumed)",
            subjects.OUT_ALL,
            durable,
            partition,
            resumed,
        )
        try:
            yield
        finally:
            await stop_broker(broker, keeper, settings.shutdown_timeout_seconds)
            await dispatcher.stop()
            engine.dispose()

    return lifespan


def _audit(
    engine: Callable[[], Engine],
    caller: Caller,
    action: str,
    target: str,
    outcome: str,
    detail: str | None = None,
) -> None:
    """One audit row for a call that changes state, whatever its outcome."""
    record_call(
        engine(),
        server="notifier",
        caller=caller,
        action=action,
        target=target,
        outcome=outcome,
        detail=detail,
    )


def _bad(exc: ValueError | LookupError, status: int) -> HTTPException:
    """``exc``'s ``field: reason`` message as the API's error body, so a caller learns which
    parameter was refused."""
    field, _, reason = str(exc).strip("'\"").partition(": ")
    return HTTPException(status, detail={"field": field, "reason": reason or str(exc)})


def _notifications_router(
    settings: NotifierSettings, auth: ServiceAuth, engine: Callable[[], Engine]
) -> APIRouter:
    """The console's bell and digest: an agency's notifications, unread counts, read marks."""
    api = APIRouter()

    @api.get("/api/notifications", response_model=list[queries.NotificationView])
    def get_notifications(
        agency: str,
        role: str | None = None,
        user: str | None = None,
        unread: bool = False,
        limit: int = Query(default=50, ge=1, le=500),
        offset: int = Query(default=0, ge=0),
    ) -> list[queries.NotificationView]:
        """The bell: an agency's notifications visible to a role, newest first."""
        with Session(engine()) as session:
            try:
                return queries.list_notifications(
                    session,
                    agency=agency,
                    role=role,
                    user=user,
                    unread_only=unread,
                    limit=limit,
                    offset=offset,
                )
            except ValueError as exc:
                raise _bad(exc, 422) from None

    @api.get("/api/notifications/unread-count")
    def get_unread_count(agency: str, user: str, role: str | None = None) -> dict[str, int]:
        """The bell's badge."""
        with Session(engine()) as session:
            try:
                return {"unread": queries.unread_count(session, agency=agency, user=user, role=role)}
            except ValueError as exc:
                raise _bad(exc, 422) from None

    @api.post("/api/notifications/{notification_id}/read")
    def post_read(
        notification_id: str, user: str, caller: Caller = Depends(auth.acting)
    ) -> dict[str, object]:
        """Mark one notification read for one user (audited with who asked)."""
        target = f"notification/{notification_id} for {user}"
        with Session(engine()) as session:
            try:
                changed = queries.mark_read(session, notification_id=notification_id, user=user)
            except LookupError as exc:
                _audit(engine, caller, "notification.read", target, "not_found")
                raise _bad(exc, 404) from None
            except ValueError as exc:
                _audit(engine, caller, "notification.read", target, "invalid", str(exc))
                raise _bad(exc, 422) from None
        _audit(engine, caller, "notification.read", target, "ok" if changed else "unchanged")
        return {"id": notification_id, "read": True, "changed": changed}

    @api.get("/api/digest", response_model=queries.Digest)
    def get_digest(agency: str) -> queries.Digest:
        """Due today / overdue for one agency."""
        with Session(engine()) as session:
            return queries.digest(session, agency=agency, console_url=settings.console_url)

    return api


def _deliveries_router(
    auth: ServiceAuth, engine: Callable[[], Engine], dispatcher: Callable[[], WebhookDispatcher]
) -> APIRouter:
    """Operators' view of webhook deliveries and the replay of a failed one."""
    api = APIRouter()

    @api.get("/api/deliveries", response_model=list[DeliveryPublic])
    def get_deliveries(
        status: str | None = None, agency: str | None = None, limit: int = Query(default=200, ge=1, le=10000)
    ) -> list[DeliveryPublic]:
        """Webhook deliveries (``status=failed`` lists what awaits replay)."""
        with Session(engine()) as session:
            try:
                return queries.deliveries(session, status=status, agency=agency, limit=limit)
            except ValueError as exc:
                raise _bad(exc, 422) from None

    @api.post("/api/deliveries/{delivery_id}/replay")
    async def post_replay(delivery_id: int, caller: Caller = Depends(auth.acting)) -> dict[str, object]:
        """Send a failed delivery again (after the agency fixed its endpoint); audited."""
        target = f"delivery/{delivery_id}"

        def reset() -> list[tuple[int, str]]:
            with Session(engine()) as session:
                return reset_for_replay(session, delivery_ids=[delivery_id])

        try:
            queued = await anyio.to_thread.run_sync(reset)
        except LookupError as exc:
            await anyio.to_thread.run_sync(_audit, engine, caller, "delivery.replay", target, "not_found")
            raise _bad(exc, 404) from None
        for queued_id, agency in queued:
            dispatcher().submit(queued_id, agency)
        outcome = "queued" if queued else "unchanged"
        await anyio.to_thread.run_sync(_audit, engine, caller, "delivery.replay", target, outcome)
        return {"id": delivery_id, "queued": bool(queued)}

    return api


def _healthz(engine: Callable[[], Engine], broker: NatsBroker) -> Callable[[], Awaitable[JSONResponse]]:
    """The health check of both things the notifier needs: the bus and the database."""

    async def healthz() -> JSONResponse:
        """200 while the bus and the database answer; 503 naming what does not."""

        checks = {
            "nats": nats_ok(broker._connection),
            "database": await anyio.to_thread.run_sync(database_ok, engine()),
        }
        status, body = health_body(checks)
        return JSONResponse(body, status_code=status)

    return healthz


__getattr__ = app_on_access(globals(), create_app)
