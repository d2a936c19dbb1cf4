"""Intake service: the front door for agency events, over NATS and HTTP.

NATS: a durable pull consumer on ``lawlink.in.>`` with explicit ack policy, ``ack_wait``,
``max_deliver`` and ``max_ack_pending`` sized to the handler's concurrency (DESIGN.md pitfalls).
A message is acked only after Temporal took it or after its rejection was published; a transient
failure naks with back-off; after ``max_deliver`` JetStream's advisory turns it into a dead
letter (the registry records it, with the last error kept here in a KV bucket).

HTTP: ``POST /v1/events`` validates the same way, answers 4xx with the same error body, or
publishes the event on its agency's subject and answers 202.

Run: ``uvicorn services.intake.app:app`` (``lawlink dev`` does it for you).
"""

from __future__ import annotations

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
from contracts.validation import EventRejected
from services.connections import (
    INTAKE_DURABLE,
    INTAKE_ERRORS_BUCKET,
    connect_temporal,
    ensure_streams,
    nats_connect_kwargs,
)
from services.intake.core import CachedSchedules, Intake, Outcome, TransientError
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
    broker = NatsBroker(
        settings.nats_url,
        apply_types=False,
        log_level=logging.DEBUG,
        **nats_connect_kwargs(settings),  # type: ignore[arg-type]
    )
    state: dict[str, object] = {}

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
        intake: Intake = state["intake"]  # type: ignore[assignment]
        raw = msg.raw_message
        try:
            agency, subject_type = subjects.parse_inbound(raw.subject)
        except ValueError:
            agency, subject_type = None, None
        try:
            await intake.submit(msg.body, agency, subject_type)
        except Exception as exc:  # transient or unforeseen: retry with back-off, then dead-letter
            delivered = raw.metadata.num_delivered
            backoff = settings.intake_backoff_seconds
            delay = backoff[min(delivered - 1, len(backoff) - 1)]
            reason = str(exc) if isinstance(exc, TransientError) else f"{type(exc).__name__}: {exc}"
            log.warning(
                "delivery %s of stream seq %s failed: %s", delivered, raw.metadata.sequence.stream, reason
            )
            await _remember_error(state, raw.metadata.sequence.stream, reason)
            await msg.nack(delay=delay)
            return
        await msg.ack()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await broker.connect()
        js = broker.config.connection_state.stream  # the JetStream context FastStream made
        await ensure_streams(js)
        state["errors"] = await js.create_key_value(
            KeyValueConfig(bucket=INTAKE_ERRORS_BUCKET, history=1, ttl=7 * 24 * 3600)
        )
        client = await connect_temporal(settings)
        state["intake"] = Intake(
            client,
            js,
            settings.task_queue,
            rule_settings,
            update_timeout=settings.intake_update_timeout_seconds,
            calendar=CachedSchedules(),
            max_future=timedelta(seconds=settings.intake_max_future_seconds),
        )
        await broker.start()
        log.info("intake consuming %s as durable %r", subjects.IN_ALL, INTAKE_DURABLE)
        try:
            yield
        finally:
            await broker.stop()

    app = FastAPI(title="Lawlink intake", lifespan=lifespan)
    app.state.broker = broker

    @app.post("/v1/events", status_code=202)
    async def post_event(request: Request) -> JSONResponse:
        """Take one envelope over HTTP: 202 once it is on the bus, 4xx naming the field."""
        intake: Intake = state["intake"]  # type: ignore[assignment]
        raw = await request.body()
        sender = request.headers.get("x-lawlink-agency")
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
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


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
