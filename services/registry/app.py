"""Registry service: projects domain events into the read model and serves it as JSON.

Consumes ``lawlink.out.>`` (every step of every case, including each agency event its workflow
accepted, so refused events never reach a timeline) in batches from a durable consumer, and the
max-deliveries advisories of intake's consumer, which it records as dead letters.

Run: ``uvicorn services.registry.app:app``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, NotFoundError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from contracts import subjects
from contracts.domain import DomainEvent
from services.connections import DEAD_LETTER_STREAM, INTAKE_ERRORS_BUCKET, ensure_streams
from services.discipline.consumer import register_content_consumer
from services.discipline.crypto import ContentCipher, cipher_from_env
from services.discipline.sealed_inbound import erase_inbound
from services.domain_consumer import Prepare, subscribe_domain_events
from services.observability import observe
from services.partition import Partition
from services.readmodel import queries
from services.readmodel.db import database_ok, make_engine, require_current_schema
from services.readmodel.models import (
    CasePublic,
    DeadLetter,
    DeadLetterPublic,
    DeadlinePublic,
    TimelineEntryPublic,
)
from services.readmodel.projection import project
from services.readmodel.service_audit import record_call
from services.registry.dead_letters import open_body, record_body
from services.registry.metrics import ReadModelMetrics
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
from services.settings import StackSettings

log = logging.getLogger("lawlink.registry")

BATCH = 200
# The largest ``offset`` the case list takes (see get_cases).
MAX_OFFSET = 1_000_000_000


def create_app(settings: StackSettings | None = None, *, consume: bool = True) -> FastAPI:
    """Build the registry app (a function so tests can run it on their own database).

    ``consume=False`` serves the API without consuming NATS (API tests, read replicas).
    """
    settings = settings or StackSettings()
    auth = ServiceAuth(settings, server="registry")  # refuses to start without the token
    kept = service_broker(settings, "registry")
    broker, keeper, metrics = kept.broker, kept.keeper, kept.metrics
    holder: dict[str, Engine] = {}

    def engine() -> Engine:
        return holder["engine"]

    def reader() -> Engine:
        return holder["reader"]

    partition = Partition.from_settings(settings)
    prepare_projection = subscribe_domain_events(
        broker,
        partition=partition,
        durable="registry",
        handle=_projector(engine, ReadModelMetrics(metrics, engine)),
        log=log,
        batch=BATCH,
        description="Domain events projected into the read model.",
    )
    dead_letter_cipher = cipher_from_env()  # the content key: dead letters of referrals are sealed
    _subscribe_dead_letters(broker, engine, dead_letter_cipher)
    register_content_consumer(broker, engine)  # referral content from lawlink.in, encrypted (process 3)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(require_current_schema, settings.database_url, "registry")
        holder["engine"] = make_engine(settings.database_url)
        # The read API's queries each stand alone: no transaction to open and roll back around
        # them (two round trips of every read on PostgreSQL), on the same pool.
        holder["reader"] = holder["engine"].execution_options(isolation_level="AUTOCOMMIT")
        if consume:
            await _start_consuming(settings, broker, keeper, prepare_projection, partition)
        try:
            yield
        finally:
            if consume:
                await stop_broker(broker, keeper, settings.shutdown_timeout_seconds)
            holder["engine"].dispose()

    app = FastAPI(title="Lawlink registry", lifespan=lifespan)
    observe(app, metrics, auth)
    # Every /api route answers Lawlink's services only (services/service_auth.py).
    api = APIRouter(dependencies=[Depends(auth)])
    api.include_router(_cases_router(settings, reader))
    api.include_router(_dead_letters_router(auth, engine, broker, dead_letter_cipher))
    app.include_router(api)
    app.add_api_route("/healthz", _healthz(engine, broker, consume), methods=["GET"])
    app.state.engine = engine
    app.state.broker = broker
    app.state.keeper = keeper
    return app


def _projector(
    engine: Callable[[], Engine], read_model_metrics: ReadModelMetrics
) -> Callable[[list[DomainEvent]], Awaitable[None]]:
    """The handler of a batch of domain events: projected in one transaction on a worker
    thread, so the event loop keeps taking messages while the database writes."""

    def write(events: list[DomainEvent]) -> int:
        with Session(engine()) as session:
            added = project(session, events)
            session.commit()
            return added

    async def handle(events: list[DomainEvent]) -> None:
        await anyio.to_thread.run_sync(write, events)
        read_model_metrics.projected(events)

    return handle


async def _start_consuming(
    settings: StackSettings,
    broker: NatsBroker,
    keeper: ConnectionKeeper,
    prepare_projection: Prepare,
    partition: Partition,
) -> None:
    """Connect, make sure the streams and the projection's consumer exist, then start taking
    messages: in that order, so no subscriber starts on a stream that is not there yet."""
    await until_connected(broker.connect(), f"connecting to NATS at {settings.nats_url}")
    await ensure_streams(broker.config.connection_state.stream)
    await prepare_projection(broker.config.connection_state.stream)
    await broker.start()
    broker_keeper(broker, keeper)
    log.info(
        "registry projecting %s into %s (%s)",
        subjects.OUT_ALL,
        settings.database_url.split("@")[-1],
        partition,
    )


def _subscribe_dead_letters(
    broker: NatsBroker, engine: Callable[[], Engine], dead_letter_cipher: ContentCipher
) -> None:
    """Record each max-deliveries advisory of intake's consumer as a dead letter, with the
    message it names, so an operator can list and replay what intake gave up on."""

    @broker.subscriber(
        ">",
        stream=JStream(DEAD_LETTER_STREAM, declare=False),
        durable="registry-dead-letters",
        config=ConsumerConfig(ack_wait=30, max_deliver=20, max_ack_pending=10),
        pull_sub=PullSub(batch_size=10, timeout=1.0),
        ack_policy=AckPolicy.MANUAL,
        include_in_schema=False,
    )
    async def on_max_deliveries(msg: NatsMessage) -> None:
        try:
            advisory = json.loads(msg.body)
            seq = int(advisory["stream_seq"])
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # Only the server publishes advisories; an unreadable one cannot get better.
            log.error("unreadable max-deliveries advisory skipped: %r", exc)
            await msg.ack()
            return
        js = broker.config.connection_state.stream
        try:
            original = await js.get_msg(advisory.get("stream", subjects.STREAM_IN), seq)
        except NotFoundError:
            log.error("dead letter %s is no longer in the stream", seq)
            await msg.ack()
            return
        last_error = await _last_error(js, seq)
        # Never parsed whole: the body may be what made the message fail (see dead_letters).
        kept = record_body(original.data, original.subject or "", seq, dead_letter_cipher)
        letter = DeadLetter(
            stream_seq=seq,
            subject=(original.subject or "")[:200],
            deliveries=int(advisory.get("deliveries", 0)),
            last_error=last_error[:2000] if last_error else None,
            event_id=kept.event_id,
            body=kept.body,
            recorded_at=datetime.now(UTC),
        )
        try:
            await anyio.to_thread.run_sync(_record_dead_letter, engine(), letter)
        except Exception:  # the database, not the letter: try again shortly
            log.exception("could not record dead letter %s; it will be redelivered", seq)
            await msg.nack(delay=5.0)
            return
        if kept.sealed:
            # The sealed row is now the only copy; the plaintext leaves the stream.
            await erase_inbound(js, seq)
        log.warning(
            "dead letter: stream seq %s on %s after %s deliveries: %s",
            seq,
            original.subject,
            advisory.get("deliveries"),
            last_error,
        )
        await msg.ack()


async def _last_error(js: JetStreamContext, seq: int) -> str | None:
    """Intake's last error for stream message ``seq``, if it left one; a dead letter without
    it is still recorded, so any failure to read it counts as none."""
    try:
        kv = await js.key_value(INTAKE_ERRORS_BUCKET)
        return (await kv.get(str(seq))).value.decode()
    except (KeyNotFoundError, NotFoundError, Exception):  # noqa: BLE001 - the error text is a nicety
        return None


def _record_dead_letter(engine: Engine, letter: DeadLetter) -> None:
    """Store ``letter`` unless its stream message is recorded already: the advisory may be
    redelivered, and a message has one dead letter however often it is reported."""
    with Session(engine) as session:
        if session.exec(select(DeadLetter).where(DeadLetter.stream_seq == letter.stream_seq)).first():
            return
        session.add(letter)
        session.commit()


def _cases_router(settings: StackSettings, engine: Callable[[], Engine]) -> APIRouter:
    """The read model's cases, timelines and deadlines; read-only, as only the projection writes them."""
    api = APIRouter()

    @api.get("/api/cases", response_model=list[CasePublic])
    def get_cases(
        process: str | None = None,
        state: str | None = None,
        agency: str | None = None,
        limit: int = Query(default=100, ge=1, le=1000),
        # SQL engines hold OFFSET in a signed 64-bit integer; bigger overflows in the driver (a
        # 500). No read model holds a billion cases, so anything above is refused as a 422.
        offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    ) -> list[CasePublic]:
        with Session(engine()) as session:
            return queries.list_cases(
                session, process=process, state=state, agency=agency, limit=limit, offset=offset
            )

    @api.get("/api/cases/{case_id}")
    def get_case(case_id: str, process: str | None = None) -> dict:
        with Session(engine()) as session:
            return _case_body(session, settings, case_id, process)

    @api.get("/api/cases/{case_id}/timeline", response_model=list[TimelineEntryPublic])
    def get_timeline(
        case_id: str,
        process: str | None = None,
        limit: int = Query(default=10000, ge=1, le=100000),
        offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    ) -> Response:
        """A case's entries in the order they happened; ``offset``/``limit`` read a long case a
        page at a time, and ``X-Total-Count`` says how many it has. The query writes the body from
        the stored rows, in the response model's shape, so it goes out as it is."""
        with Session(engine()) as session:
            body, total = queries.timeline_page_json(
                session, case_id=case_id, process=process, offset=offset, limit=limit
            )
            if not total and not queries.find_cases(session, case_id=case_id, process=process):
                raise HTTPException(404, detail={"field": "case_id", "reason": f"no case {case_id!r}"})
        return Response(
            body,
            media_type="application/json",
            headers={"X-Total-Count": str(total)},
        )

    @api.get("/api/cases/{case_id}/deadlines", response_model=list[DeadlinePublic])
    def get_deadlines(case_id: str, process: str | None = None) -> list[DeadlinePublic]:
        with Session(engine()) as session:
            return queries.deadlines(session, case_id=case_id, process=process)

    @api.get("/api/deadlines", response_model=list[DeadlinePublic])
    def get_open_deadlines(
        provisional: bool | None = None,
        status: str | None = None,
        party: str | None = None,
        limit: int = Query(default=1000, ge=1, le=100000),
    ) -> list[DeadlinePublic]:
        with Session(engine()) as session:
            return queries.open_deadlines(
                session, provisional=provisional, status=status, party=party, limit=limit
            )

    return api


def _case_body(session: Session, settings: StackSettings, case_id: str, process: str | None) -> dict:
    """One case with its deadlines and its Temporal UI link; 404 when no case has the id, 409
    when several processes do (the caller must name the process)."""
    found = queries.find_cases(session, case_id=case_id, process=process)
    if not found:
        raise HTTPException(404, detail={"field": "case_id", "reason": f"no case {case_id!r}"})
    if len(found) > 1:
        raise HTTPException(
            409,
            detail={
                "field": "process",
                "reason": "several processes carry this case id",
                "processes": sorted(c.process for c in found),
            },
        )
    case = found[0]
    return {
        "case": CasePublic.model_validate(case, from_attributes=True).model_dump(mode="json"),
        "deadlines": [
            d.model_dump(mode="json")
            for d in queries.deadlines(session, case_id=case_id, process=case.process)
        ],
        "temporal_ui_url": f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{case.workflow_id}",
    }


def _dead_letters_router(
    auth: ServiceAuth, engine: Callable[[], Engine], broker: NatsBroker, dead_letter_cipher: ContentCipher
) -> APIRouter:
    """Listing dead letters and replaying one; a replay changes state, so it names its actor."""
    api = APIRouter()

    @api.get("/api/dead-letters", response_model=list[DeadLetterPublic])
    def get_dead_letters() -> list[DeadLetter]:
        with Session(engine()) as session:
            return queries.dead_letters(session)

    @api.post("/api/dead-letters/{letter_id}/replay", response_model=DeadLetterPublic)
    async def replay_dead_letter(letter_id: int, caller: Caller = Depends(auth.acting)) -> DeadLetter:
        """Send a dead letter to intake again (after its cause was fixed); audited, whatever the outcome."""

        def audit(outcome: str, detail: str | None = None) -> None:
            record_call(
                engine(),
                server="registry",
                caller=caller,
                action="dead_letter.replay",
                target=f"dead_letter/{letter_id}",
                outcome=outcome,
                detail=detail,
            )

        try:
            letter = await _replay_letter(engine(), broker, dead_letter_cipher, letter_id)
        except HTTPException as exc:
            audit("not_found" if exc.status_code == 404 else "refused", str(exc.detail))
            raise
        except Exception as exc:
            audit("failed", repr(exc))
            raise
        audit("ok", f"replay #{letter.replay_count} on {letter.subject}")
        return letter

    return api


async def _replay_letter(
    engine: Engine, broker: NatsBroker, dead_letter_cipher: ContentCipher, letter_id: int
) -> DeadLetter:
    """Publish dead letter ``letter_id`` on its subject again and count the replay; each
    replay has its own message id, so JetStream does not drop it as a duplicate."""
    with Session(engine) as session:
        letter = session.get(DeadLetter, letter_id)
        if letter is None:
            raise HTTPException(404, detail={"field": "id", "reason": f"no dead letter {letter_id}"})
        js = broker.config.connection_state.stream
        # The whole message from the stream (the stored body may be cut or sealed); the
        # stored body only once the stream has aged the message out.
        try:
            data = (await js.get_msg(subjects.STREAM_IN, letter.stream_seq)).data or b""
        except NotFoundError:
            data = open_body(letter.body, letter.stream_seq, dead_letter_cipher).encode()
        await js.publish(
            letter.subject,
            data,
            stream=subjects.STREAM_IN,
            headers={"Nats-Msg-Id": f"replay:{letter.id}:{letter.replay_count + 1}"},
        )
        letter.replay_count += 1
        letter.replayed_at = datetime.now(UTC)
        session.add(letter)
        session.commit()
        session.refresh(letter)
        return letter


def _healthz(
    engine: Callable[[], Engine], broker: NatsBroker, consume: bool
) -> Callable[[], Awaitable[JSONResponse]]:
    """The health check: the read model always, the bus only when this registry consumes it."""

    async def healthz() -> JSONResponse:
        """200 while the bus (when consuming) and the read model answer; 503 naming what does not."""
        checks = {"database": await anyio.to_thread.run_sync(database_ok, engine())}
        if consume:
            checks["nats"] = nats_ok(broker._connection)
        status, body = health_body(checks)
        return JSONResponse(body, status_code=status)

    return healthz


__getattr__ = app_on_access(globals(), create_app)
