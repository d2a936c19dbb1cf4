"""Intake service: the front door for agency events, over NATS and HTTP.

NATS: a durable pull consumer on ``lawlink.in.*.*.*`` (agency, process, event) with explicit ack policy, ``ack_wait``,
``max_deliver`` and ``max_ack_pending`` sized to the handler's concurrency (DESIGN.md pitfalls).
A message is acked only after Temporal took it or after its rejection was published; while
Temporal or NATS is unreachable the message is held and retried (no delivery is spent, see
``take_held``); a failure of the event's own naks with back-off, and after ``max_deliver``
JetStream's advisory turns it into a dead letter (the registry records it, with the last error kept here in a KV bucket).

HTTP: ``POST /v1/events`` validates the same way, answers 4xx with the same error body, or
publishes the event on its agency's subject and answers 202.

Run: ``uvicorn services.intake.app:app`` (``lawlink dev`` does it for you).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from contracts import subjects
from contracts.validation import EventRejected, Rejection, size_reason
from services.connections import (
    INTAKE_DURABLE,
    INTAKE_ERRORS_BUCKET,
    connect_temporal,
    ensure_streams,
    nats_connect_kwargs,
)
from services.intake.core import CachedSchedules, Intake, Outcome, TransientError
from services.resilience import (
    ConnectionKeeper,
    broker_keeper,
    health_body,
    kept_in_progress,
    may_be_unreachable,
    nats_ok,
    retry_while_unreachable,
    stop_broker,
    temporal_ok,
)
from services.settings import IntakeSettings
from workflows.deadlines import load_rules

log = logging.getLogger("lawlink.intake")

RULE_SETTING_PREFIXES = (
    "LAWLINK_RULE_",
    "LAWLINK_STATE_COUNCIL_DAYS",
    "LAWLINK_MONTH_LIMITS",
    "LAWLINK_DELEGATION_REVIEW_PERIOD_SECONDS",
)


def rule_settings_from_env() -> dict[str, str]:
    """The operator's deadline settings, handed to every new workflow (see workflows/deadlines)."""
    return {k: v for k, v in os.environ.items() if k.startswith(RULE_SETTING_PREFIXES)}


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the intake app (a function so tests can run several with their own settings)."""
    settings = settings or IntakeSettings()
    # Every new workflow resolves its deadlines from these settings; a typo must stop intake at
    # start-up with the variable's name, not fail each workflow task later.
    rule_settings = rule_settings_from_env()
    load_rules(rule_settings)
    # No dependency injection and no per-message INFO lines: the handler needs only the message
    # itself, and resolving it through fast-depends ran a thread hop per message, the largest item
    # in intake's profile under load (tests/bench/README.md). Failures are still logged below.
    keeper = ConnectionKeeper(
        name="intake", base=settings.nats_reconnect_wait_seconds, cap=settings.nats_reconnect_max_wait_seconds
    )
    broker = NatsBroker(
        settings.nats_url,
        apply_types=False,
        log_level=logging.DEBUG,
        **nats_connect_kwargs(settings),  # type: ignore[arg-type]
        closed_cb=keeper.on_closed,
    )
    state: dict[str, object] = {}
    stopped = asyncio.Event()

    @broker.subscriber(
        subjects.IN_ALL,
        stream=JStream(subjects.STREAM_IN, declare=False),
        durable=INTAKE_DURABLE,
        config=ConsumerConfig(
            ack_wait=settings.intake_ack_wait_seconds,
            max_deliver=settings.intake_max_deliver,
            max_ack_pending=settings.intake_concurrency * 2,
        ),
        pull_sub=PullSub(batch_size=settings.intake_concurrency, timeout=1.0),
        max_workers=settings.intake_concurrency,
        ack_policy=AckPolicy.MANUAL,
        decoder=_whole_message,
        title="lawlink.in.<agency>.<process>.<step>",
        description="Agency events (the Envelope). Publish with header Nats-Msg-Id = event_id.",
    )
    async def on_event(msg: NatsMessage) -> None:
        await take_held(msg)

    async def take_once(msg: NatsMessage) -> Exception | None:
        """One attempt at the message: None once it is taken or refused, else the failure."""
        intake: Intake = state["intake"]  # type: ignore[assignment]
        raw = msg.raw_message
        try:
            try:
                agency, subject_type = subjects.parse_inbound(raw.subject)
            except subjects.InvalidSubject as bad:
                # Refused for its subject alone: the subject's agency is the sender the envelope
                # is checked against, and falling back to the envelope's would let anyone act in
                # another agency's name.
                await intake.publish_rejection(
                    msg.body, bad.agency, Rejection.single({}, "subject", str(bad))
                )
            else:
                await intake.submit(msg.body, agency, subject_type)
        except Exception as exc:  # noqa: BLE001 - classified by take_held
            return exc
        return None

    async def engine_down() -> list[str]:
        """Which of the engines intake needs do not answer right now (empty: both do)."""
        client = state.get("temporal")
        down = [] if nats_ok(broker._connection) else ["nats"]
        if not await temporal_ok(client, settings.health_timeout_seconds):  # type: ignore[arg-type]
            down.append("temporal")
        return down

    async def take_held(msg: NatsMessage) -> None:
        """Take the message, holding it while Temporal or NATS is unreachable.

        An outage is not the event's fault, so it must not spend the message's deliveries: the
        message stays with this handler (``in_progress`` extends its ``ack_wait``) and is retried
        with jittered back-off until the engine answers, then taken; it never reaches
        ``max_deliver`` or the dead letters. A failure while both engines answer (the event's
        own: a workflow failing its update, a timeout of a wedged case, a bug) is nak'ed with the
        configured back-off and becomes a dead letter after ``max_deliver``.

        Trade-off: a held message occupies one of the consumer's ``intake_concurrency`` slots.
        Only an engine outage holds messages, and then no other case could be taken either; a
        single stuck workflow does not (the engines answer), so it costs one slot for at most
        ``intake_update_timeout_seconds`` per delivery. While held, messages wait in the stream,
        and at most ``max_ack_pending`` of them are out with intake.
        """
        raw = msg.raw_message
        seq = raw.metadata.sequence.stream

        async def down(exc: Exception) -> list[str]:
            return await engine_down() if may_be_unreachable(exc) else []

        def held(exc: Exception, unreachable: list[str], delay: float) -> None:
            log.warning(
                "stream seq %s held: %s unreachable (%s); retrying in %.1f s",
                seq,
                " and ".join(unreachable),
                exc,
                delay,
            )

        async with kept_in_progress(raw.in_progress, max(settings.intake_ack_wait_seconds / 3, 0.2)):
            exc = await retry_while_unreachable(
                lambda: take_once(msg),
                down,
                stopped=stopped,
                base=0.5,
                cap=settings.intake_engine_retry_max_seconds,
                on_hold=held,
            )
        if exc is None:
            await msg.ack()
            return
        delivered = raw.metadata.num_delivered
        backoff = settings.intake_backoff_seconds
        delay = backoff[min(delivered - 1, len(backoff) - 1)]
        reason = str(exc) if isinstance(exc, TransientError) else f"{type(exc).__name__}: {exc}"
        log.warning(
            "delivery %s of stream seq %s failed: %s", delivered, raw.metadata.sequence.stream, reason
        )
        await _remember_error(state, raw.metadata.sequence.stream, reason)
        await msg.nack(delay=delay)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await broker.connect()
        js = broker.config.connection_state.stream  # the JetStream context FastStream made
        await ensure_streams(js)
        state["errors"] = await js.create_key_value(
            KeyValueConfig(bucket=INTAKE_ERRORS_BUCKET, history=1, ttl=7 * 24 * 3600)
        )
        client = await connect_temporal(settings)
        state["temporal"] = client
        state["intake"] = Intake(
            client,
            js,
            settings.task_queue,
            rule_settings,
            update_timeout=settings.intake_update_timeout_seconds,
            calendar=CachedSchedules(),
            max_future=timedelta(seconds=settings.intake_max_future_seconds),
            max_envelope_bytes=settings.max_envelope_bytes,
        )
        await broker.start()
        broker_keeper(broker, keeper)
        log.info("intake consuming %s as durable %r", subjects.IN_ALL, INTAKE_DURABLE)
        try:
            yield
        finally:
            # Held messages stop waiting and are nak'ed; the drain is bounded (an outage would
            # make it wait for a reconnect that may never come).
            stopped.set()
            await stop_broker(broker, keeper, settings.shutdown_timeout_seconds)

    app = FastAPI(title="Lawlink intake", lifespan=lifespan)
    app.state.broker = broker
    app.state.keeper = keeper

    @app.post("/v1/events", status_code=202)
    async def post_event(request: Request) -> JSONResponse:
        """Take one envelope over HTTP: 202 once it is on the bus, 4xx naming the field.

        The body is read only up to the envelope limit: a bigger one is answered 413 (naming its
        size) without being held in memory, so no body can exhaust intake or reach the bus.
        """
        intake: Intake = state["intake"]  # type: ignore[assignment]
        sender = request.headers.get("x-lawlink-agency")
        try:
            raw = await _read_bounded(request, settings.max_envelope_bytes)
        except _BodyTooLarge as exc:
            rejection = Rejection.single({}, "$", size_reason(exc.size, settings.max_envelope_bytes))
            return JSONResponse(rejection.model_dump(mode="json"), status_code=413)
        try:
            event = intake.check(raw, sender)
        except EventRejected as exc:
            await intake.publish_rejection(raw, sender, exc.rejection)
            status = 403 if exc.rejection.field == "source_agency" else 422
            return JSONResponse(exc.rejection.model_dump(mode="json"), status_code=status)
        env = event.envelope
        js = broker.config.connection_state.stream
        ack = await js.publish(
            subjects.inbound(env.source_agency, env.type),
            raw,
            stream=subjects.STREAM_IN,
            headers={"Nats-Msg-Id": str(env.event_id)},
        )
        return JSONResponse(
            {
                "event_id": str(env.event_id),
                "status": Outcome.DUPLICATE if ack.duplicate else "queued",
                "subject": subjects.inbound(env.source_agency, env.type),
                "stream_seq": ack.seq,
            },
            status_code=202,
        )

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """200 while NATS and Temporal both answer; 503 naming the one that does not."""
        down = await engine_down()
        status, body = health_body({"nats": "nats" not in down, "temporal": "temporal" not in down})
        return JSONResponse(body, status_code=status)

    return app


class _BodyTooLarge(Exception):
    """An HTTP body over the envelope limit; ``size`` is None when it was cut off unread."""

    def __init__(self, size: int | None) -> None:
        super().__init__(size)
        self.size = size


# A client that is still sending when it is answered may see a reset instead of the 413; a body
# up to this size is read to its end (and dropped) first, a bigger one has its connection closed.
_DRAIN_BYTES = 4 * 1024 * 1024


async def _read_bounded(request: Request, limit: int) -> bytes:
    """The request body, or :class:`_BodyTooLarge` once it is known to exceed ``limit`` bytes.

    A declared Content-Length over the limit is refused before any byte is kept; a body without
    one (chunked) is refused as soon as the bytes received pass the limit.
    """
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else None
    if size is not None and size > limit:
        if size <= _DRAIN_BYTES:
            async for _ in request.stream():
                pass
        raise _BodyTooLarge(size)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge(None)
    return bytes(body)


async def _whole_message(msg: NatsMessage) -> NatsMessage:
    """Hand the handler the message itself (subject, delivery count, ack) rather than its body."""
    return msg


async def _remember_error(state: dict[str, object], seq: int, reason: str) -> None:
    kv: KeyValue | None = state.get("errors")  # type: ignore[assignment]
    if kv is None:
        return
    try:
        await kv.put(str(seq), reason[:2000].encode())
    except Exception:  # noqa: BLE001 - losing the error text must not lose the message
        log.exception("could not record the error of stream seq %s", seq)


app = create_app()
