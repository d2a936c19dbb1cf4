"""Intake service: the front door for agency events, over NATS and HTTP.

NATS: a durable pull consumer on ``lawlink.in.*.*.*`` (agency, process, event) with explicit ack policy, ``ack_wait``,
``max_deliver`` and ``max_ack_pending`` sized to the handler's concurrency (DESIGN.md pitfalls).
A message is acked only after Temporal took it or after its rejection was published; while
Temporal or NATS is unreachable the message is held and retried (no delivery is spent, see
``take_held``); a failure of the event's own naks with back-off, and after ``max_deliver``
JetStream's advisory turns it into a dead letter (the registry records it, with the last error kept here in a KV bucket).

HTTP: ``POST /v1/events`` first authenticates the sending agency system by its signed request
(services/intake/credentials.py; 401 naming the problem, audited, nothing published), then
validates the same way with that agency as the sender, answers 4xx with the same error body,
or publishes the event on its agency's subject and answers 202.

Run: ``uvicorn services.intake.app:app`` (``lawlink dev`` does it for you).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from contracts import subjects
from contracts.envelope import Envelope
from contracts.http_signing import KEY_ID_HEADER, SCHEME, SIGNATURE_HEADER, TIMESTAMP_HEADER
from contracts.validation import EventRejected, Rejection, peek_ids, size_reason
from services import tracing
from services.connections import (
    INTAKE_DURABLE,
    INTAKE_ERRORS_BUCKET,
    connect_temporal,
    ensure_streams,
)
from services.discipline.crypto import ContentCipher
from services.intake.core import (
    CachedSchedules,
    CaseNotReady,
    Intake,
    Outcome,
    Patience,
    TransientError,
    WaitsForEarlier,
    case_of,
)
from services.intake.credentials import AuthFailure, Identity, Verifier, credential_cipher, open_buckets
from services.intake.metrics import IntakeMetrics
from services.observability import observe
from services.partition import Partition, ensure_consumer
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
    until_connected,
    workers_absent,
)
from services.service_auth import ServiceAuth, app_on_access
from services.service_broker import service_broker
from services.settings import IntakeSettings, rule_settings_from_env
from services.tracing import TRACEPARENT
from workflows.deadlines import load_rules

log = logging.getLogger("lawlink.intake")


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
    auth = ServiceAuth(settings, server="intake")  # for /metrics; refuses to start without the token
    kept = service_broker(settings, "intake", apply_types=False, log_level=logging.DEBUG)
    broker, keeper, metrics = kept.broker, kept.keeper, kept.metrics
    counted = IntakeMetrics(metrics)
    partition = Partition.from_settings(settings)
    runtime = _Runtime(
        settings=settings,
        broker=broker,
        keeper=keeper,
        counted=counted,
        partition=partition,
        durable=partition.durable(INTAKE_DURABLE),
        consumer=ConsumerConfig(
            ack_wait=settings.intake_ack_wait_seconds,
            max_deliver=settings.intake_max_deliver,
            max_ack_pending=settings.intake_concurrency * 2,
        ),
        rule_settings=rule_settings,
    )
    _subscribe(runtime)

    app = FastAPI(title="Lawlink intake", lifespan=runtime.lifespan)
    observe(app, metrics, auth)
    app.state.broker = broker
    app.state.keeper = keeper
    _add_event_route(app, runtime)
    app.add_api_route("/healthz", _healthz(runtime), methods=["GET"])
    app.openapi = _openapi(app, settings)  # type: ignore[method-assign]
    return app


@dataclasses.dataclass
class _Runtime:
    """What intake's handlers share: its settings and broker, and in ``state`` the clients the
    lifespan opens (``intake``, ``verifier``, ``errors``, ``temporal``), which exist only once
    NATS and Temporal answer."""

    settings: IntakeSettings
    broker: NatsBroker
    keeper: ConnectionKeeper
    counted: IntakeMetrics
    partition: Partition
    durable: str
    consumer: ConsumerConfig
    rule_settings: dict[str, str]
    state: dict[str, object] = dataclasses.field(default_factory=dict)
    # Set at shut-down: held messages stop waiting for the engines and are nak'ed.
    stopped: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    @asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        """Open the clients, make sure the consumer exists, then start taking messages; on the
        way out stop holding messages and drain the broker."""
        settings, broker = self.settings, self.broker
        # Without the key-encryption key no HTTP request could be verified: stop at start-up.
        cipher = credential_cipher(settings)
        await until_connected(broker.connect(), f"connecting to NATS at {settings.nats_url}")
        js = broker.config.connection_state.stream  # the JetStream context FastStream made
        await ensure_streams(js)
        await self._open_clients(js, cipher)
        await ensure_consumer(
            js,
            subjects.STREAM_IN,
            self.partition,
            INTAKE_DURABLE,
            dataclasses.replace(self.consumer, filter_subject=subjects.IN_ALL),
        )
        await broker.start()
        broker_keeper(broker, self.keeper)
        log.info("intake consuming %s as durable %r (%s)", subjects.IN_ALL, self.durable, self.partition)
        try:
            yield
        finally:
            # Held messages stop waiting and are nak'ed; the drain is bounded (an outage would
            # make it wait for a reconnect that may never come).
            self.stopped.set()
            await stop_broker(broker, self.keeper, settings.shutdown_timeout_seconds)

    async def _open_clients(self, js: JetStreamContext, cipher: ContentCipher) -> None:
        """The key verifier, the bucket of last errors, the Temporal client and the
        :class:`Intake` built on them, into ``state``."""
        settings = self.settings
        keys, seen = await open_buckets(js, settings.stream_replicas)
        self.state["verifier"] = Verifier(
            keys,
            seen,
            cipher,
            skew_seconds=settings.http_signature_skew_seconds,
            cache_seconds=settings.credential_cache_seconds,
        )
        self.state["errors"] = await js.create_key_value(
            KeyValueConfig(
                bucket=INTAKE_ERRORS_BUCKET, history=1, ttl=7 * 24 * 3600, replicas=settings.stream_replicas
            )
        )
        client = await connect_temporal(settings)
        self.state["temporal"] = client
        self.state["intake"] = Intake(
            client,
            js,
            settings.task_queue,
            self.rule_settings,
            update_timeout=settings.intake_update_timeout_seconds,
            calendar=CachedSchedules(),
            max_future=timedelta(seconds=settings.intake_max_future_seconds),
            max_envelope_bytes=settings.max_envelope_bytes,
        )

    async def take_once(self, msg: NatsMessage) -> Exception | None:
        """One attempt at the message: None once it is taken or refused, else the failure."""
        intake: Intake = self.state["intake"]  # type: ignore[assignment]
        raw = msg.raw_message
        try:
            final = raw.metadata.num_delivered >= self.settings.intake_max_deliver
            headers = raw.headers or {}
            fallback = None if TRACEPARENT in headers else peek_ids(msg.body).get("trace")
            with tracing.continued("lawlink intake take", headers, fallback):
                seq = raw.metadata.sequence.stream
                patience = Patience(final=final, earlier_pending=functools.partial(self.earlier_pending, seq))
                result = await intake.take(msg.body, raw.subject, seq, patience=patience)
        except Exception as exc:  # noqa: BLE001 - classified by take_held
            return exc
        self.counted.taken(result)
        return None

    async def earlier_pending(self, seq: int) -> bool:
        """Whether a message before stream sequence ``seq`` may still be unhandled by this
        replica's consumer (:func:`earlier_unhandled`)."""
        js = self.broker.config.connection_state.stream
        return await earlier_unhandled(
            js, subjects.STREAM_IN, self.durable, seq, self.settings.health_timeout_seconds
        )

    async def engine_down(self, *, worker: bool = True) -> list[str]:
        """Which engines intake needs do not work right now (empty: all do): NATS, Temporal, and
        (unless ``worker`` is False) Temporal answering with no worker taking its tasks."""
        settings = self.settings
        client = self.state.get("temporal")
        down = [] if nats_ok(self.broker._connection) else ["nats"]
        if not await temporal_ok(client, settings.health_timeout_seconds):  # type: ignore[arg-type]
            down.append("temporal")
        elif worker and await workers_absent(
            client,  # type: ignore[arg-type]
            settings.temporal_namespace,
            settings.task_queue,
            silence=settings.intake_worker_silence_seconds,
            timeout=settings.health_timeout_seconds,
        ):
            down.append("the Temporal worker")
        return down

    async def _down(self, exc: Exception) -> list[str]:
        """The unreachable engines, asked only after a failure that an outage could explain."""
        return await self.engine_down() if may_be_unreachable(exc) else []

    async def take_held(self, msg: NatsMessage) -> None:
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
        if not self.partition.owns(case_of(msg.body)):
            await msg.ack()  # another replica's case: it has its own consumer of the stream
            return
        attempt = functools.partial(
            retry_while_unreachable,
            lambda: self.take_once(msg),
            self._down,
            stopped=self.stopped,
            base=0.5,
            cap=self.settings.intake_engine_retry_max_seconds,
            on_hold=functools.partial(_log_held, seq),
        )
        # In-progress beats start before the wait for the case's turn: a message queued behind
        # its case's held event must not run out its ack_wait and be redelivered meanwhile.
        async with kept_in_progress(raw.in_progress, max(self.settings.intake_ack_wait_seconds / 3, 0.2)):
            exc = await self._take_in_case_order(msg, seq, attempt)
        if exc is None:
            await msg.ack()
            return
        await self._nack(msg, exc)

    async def _take_in_case_order(
        self, msg: NatsMessage, seq: int, attempt: Callable[[], Awaitable[Exception | None]]
    ) -> Exception | None:
        """``attempt`` the message in its case's turn; the last failure, or None once taken.

        A nak'ed event loses its place: the case's next event (already fetched) would overtake
        it and be refused for good ("no open case", "form the team first"). So the first
        delivery's failures are retried here, with the case held, on the back-off schedule;
        only then is it nak'ed. An event that may wait for an earlier one (no open case yet, or
        refused while an earlier message is pending) waits so on every delivery: that earlier
        step may come back later than it (an intake that died holding both returns each after
        its own ``ack_wait``), and a nak alone would spend its deliveries meanwhile. So does
        one whose case's workflow task is failing (a worker died holding it): Temporal takes
        no Update until a worker runs the task again.
        """
        intake: Intake = self.state["intake"]  # type: ignore[assignment]
        gave_way = True
        while gave_way:
            gave_way = False
            async with intake.case_order(msg.body, seq):
                exc = await attempt()
                if exc is not None and (
                    isinstance(exc, (WaitsForEarlier, CaseNotReady))
                    or msg.raw_message.metadata.num_delivered == 1
                ):
                    exc, gave_way = await self._retry_holding_case(intake, msg, seq, exc, attempt)
        return exc

    async def _retry_holding_case(
        self,
        intake: Intake,
        msg: NatsMessage,
        seq: int,
        failure: Exception,
        attempt: Callable[[], Awaitable[Exception | None]],
    ) -> tuple[Exception | None, bool]:
        """Retry a first delivery's failure on the back-off schedule while its case is held:
        the last failure (None once taken) and whether the message gave way to an earlier event
        of its case, in which case it queues for the case's turn again."""
        exc: Exception | None = failure
        for pause in self.settings.intake_backoff_seconds:
            if exc is None or self.stopped.is_set():
                break
            log.warning("stream seq %s failed (%s); retrying in %.1f s, case held", seq, exc, pause)
            if await intake.pause_unless_overtaken(msg.body, seq, pause, self.stopped):
                # An earlier event of the case came back (its intake died holding it): it goes
                # first, and this one queues behind it again, keeping its delivery (a nak would
                # spend one on someone else's wait).
                log.info("stream seq %s gives way to an earlier event of its case", seq)
                return exc, True
            exc = await attempt()
        return exc, False

    async def _nack(self, msg: NatsMessage, exc: Exception) -> None:
        """Nak a failure of the event's own with the configured back-off for its delivery,
        keeping the reason for the dead letter it may become."""
        raw = msg.raw_message
        delivered = raw.metadata.num_delivered
        backoff = self.settings.intake_backoff_seconds
        delay = backoff[min(delivered - 1, len(backoff) - 1)]
        reason = str(exc) if isinstance(exc, TransientError) else f"{type(exc).__name__}: {exc}"
        log.warning(
            "delivery %s of stream seq %s failed: %s", delivered, raw.metadata.sequence.stream, reason
        )
        await _remember_error(self.state, raw.metadata.sequence.stream, reason)
        await msg.nack(delay=delay)


async def earlier_unhandled(
    js: JetStreamContext, stream: str, durable: str, seq: int, timeout: float
) -> bool:
    """Whether a message before stream sequence ``seq`` (itself in hand) may still be unhandled
    by the consumer ``durable`` of ``stream``; True when NATS cannot tell.

    The consumer must take the whole stream (intake's filter is the inbound stream's subjects),
    and every message passes each replica's consumer (another replica's cases are acked unread),
    so an ack floor at ``seq - 1`` means no earlier step of any case can still come. The floor
    also stays behind a message that ran out of deliveries (a dead letter) until the next ack;
    so a floor behind counts only while some message besides this one awaits its ack.
    """
    try:
        info = await js.consumer_info(stream, durable, timeout=timeout)
    except Exception:  # noqa: BLE001 - unknown: the caller waits, as if one were pending
        log.debug("consumer info for the ack floor failed", exc_info=True)
        return True
    floor = info.ack_floor.stream_seq if info.ack_floor and info.ack_floor.stream_seq else 0
    return floor < seq - 1 and (info.num_ack_pending or 0) > 1


def _log_held(seq: int, exc: Exception, unreachable: list[str], delay: float) -> None:
    """The warning while a message waits for an engine: once per retry, naming what is down."""
    log.warning(
        "stream seq %s held: %s unreachable (%s); retrying in %.1f s",
        seq,
        " and ".join(unreachable),
        exc,
        delay,
    )


def _subscribe(runtime: _Runtime) -> None:
    """The consumer of agency events, and the rejections' subject for the AsyncAPI document."""
    settings, broker = runtime.settings, runtime.broker

    @broker.subscriber(
        subjects.IN_ALL,
        stream=JStream(subjects.STREAM_IN, declare=False),
        durable=runtime.durable,
        config=dataclasses.replace(runtime.consumer),
        pull_sub=PullSub(batch_size=settings.intake_concurrency, timeout=1.0),
        max_workers=settings.intake_concurrency,
        ack_policy=AckPolicy.MANUAL,
        decoder=_whole_message,
        title="lawlink.in.<agency>.<process>.<step>",
        description="Agency events (the Envelope). Publish with header Nats-Msg-Id = event_id.",
    )
    async def on_event(msg: NatsMessage) -> None:
        await runtime.take_held(msg)

    # For the AsyncAPI document only: refusals go out through JetStream directly (publish_rejection).
    broker.publisher(
        "lawlink.rejected.*",
        schema=Rejection,
        title="lawlink.rejected.<agency>",
        description="Why an event of this agency was refused: the field and the reason (zh-CN and English).",
    )


def _add_event_route(app: FastAPI, runtime: _Runtime) -> None:
    """``POST /v1/events``: the HTTP door, onto the same bus subject an agency would publish to."""
    settings, counted = runtime.settings, runtime.counted

    @app.post(
        "/v1/events",
        status_code=202,
        responses=_EVENT_RESPONSES,
        openapi_extra={"security": [{name: [] for name in SECURITY_SCHEMES}]},
    )
    async def post_event(request: Request) -> JSONResponse:
        """Take one envelope over HTTP, signed by the sending agency's key: 202 once it is on the
        bus; 401 for missing, wrong, expired, revoked or replayed credentials; 4xx naming the
        field otherwise.

        The body is read only up to the envelope limit: a bigger one is answered 413 (naming its
        size) without being held in memory, so no body can exhaust intake or reach the bus.
        The sender is the agency the verified key was issued to, never a header or the envelope.
        """
        intake: Intake = runtime.state["intake"]  # type: ignore[assignment]
        verifier: Verifier = runtime.state["verifier"]  # type: ignore[assignment]
        try:
            raw = await _read_bounded(request, settings.max_envelope_bytes)
        except _BodyTooLarge as exc:
            rejection = Rejection.single({}, "$", size_reason(exc.size, settings.max_envelope_bytes))
            counted.refused("http", rejection)
            return JSONResponse(rejection.model_dump(mode="json"), status_code=413)
        identity = await _identify(verifier, request, raw)
        if isinstance(identity, JSONResponse):
            return identity
        sender = identity.agency
        try:
            event = intake.check(raw, sender)
        except EventRejected as exc:
            await intake.publish_rejection(raw, sender, exc.rejection)
            counted.refused("http", exc.rejection)
            status = 403 if exc.rejection.field == "source_agency" else 422
            return JSONResponse(exc.rejection.model_dump(mode="json"), status_code=status)
        return await _queue(runtime, event.envelope, raw)


async def _identify(verifier: Verifier, request: Request, raw: bytes) -> Identity | JSONResponse:
    """The agency that signed the request, or the answer refusing it: 401 for its credentials,
    503 (retry later) when the key store cannot be read, since the sender did nothing wrong."""
    try:
        return await verifier.verify(request.method, request.url.path, request.headers, raw)
    except AuthFailure as exc:
        return _unauthenticated(request, raw, exc)
    except Exception as exc:  # noqa: BLE001 - the key store (NATS) did not answer
        log.warning("could not verify an HTTP event: the agency keys are unreadable: %s", exc)
        rejection = Rejection.single(
            peek_ids(raw), KEY_ID_HEADER, "intake cannot read the agency keys right now; send again later"
        )
        return JSONResponse(rejection.model_dump(mode="json"), status_code=503, headers={"Retry-After": "5"})


async def _queue(runtime: _Runtime, env: Envelope, raw: bytes) -> JSONResponse:
    """Publish a checked envelope, as sent, on its agency's subject and answer 202; the
    event id as message id makes a repeated POST a duplicate, not a second event."""
    js = runtime.broker.config.connection_state.stream
    ack = await js.publish(
        subjects.inbound(env.source_agency, env.type),
        raw,
        stream=subjects.STREAM_IN,
        headers=tracing.inject({"Nats-Msg-Id": str(env.event_id)}),
    )
    runtime.counted.queued(ack.duplicate)
    return JSONResponse(
        {
            "event_id": str(env.event_id),
            "status": Outcome.DUPLICATE if ack.duplicate else "queued",
            "subject": subjects.inbound(env.source_agency, env.type),
            "stream_seq": ack.seq,
        },
        status_code=202,
    )


def _healthz(runtime: _Runtime) -> Callable[[], Awaitable[JSONResponse]]:
    """The health check of the two engines HTTP intake needs."""

    async def healthz() -> JSONResponse:
        """200 while NATS and Temporal both answer; 503 naming the one that does not."""
        # Not the worker: HTTP intake still queues events onto the bus while no worker runs.
        down = await runtime.engine_down(worker=False)
        status, body = health_body({"nats": "nats" not in down, "temporal": "temporal" not in down})
        return JSONResponse(body, status_code=status)

    return healthz


def _openapi(app: FastAPI, settings: IntakeSettings) -> Callable[[], dict[str, object]]:
    """``app``'s schema builder, made once and kept."""

    def openapi() -> dict[str, object]:
        """FastAPI's schema plus the security schemes of the signed-request headers and the
        envelope as the request body (the handler reads the raw body to bound and sign it, so
        FastAPI cannot see the model)."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
            envelope = Envelope.model_json_schema(ref_template="#/components/schemas/{model}")
            components.setdefault("schemas", {}).update({**envelope.pop("$defs", {}), "Envelope": envelope})
            schema["paths"]["/v1/events"]["post"]["requestBody"] = {
                "required": True,
                "description": "One envelope, as signed. Each type's payload has its own JSON Schema "
                "(contracts/schemas/<type>.schema.json); at most LAWLINK_MAX_ENVELOPE_BYTES "
                f"({settings.max_envelope_bytes} bytes here).",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
            }
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


_SIGNING_RULE = (
    f"Each request is signed by its agency system ({SCHEME}): {SIGNATURE_HEADER} is the hex "
    f"HMAC-SHA256, under the key's secret, of '{SCHEME}\\n<METHOD>\\n<path>\\n<{TIMESTAMP_HEADER}>\\n"
    "<hex SHA-256 of the body>'. All three headers are required together (one security "
    "requirement); keys come from `lawlink agencies issue-key AGENCY`."
)
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "LawlinkKeyId": {
        "type": "apiKey",
        "in": "header",
        "name": KEY_ID_HEADER,
        "description": f"The id of a key Lawlink issued to the sending agency. {_SIGNING_RULE}",
    },
    "LawlinkTimestamp": {
        "type": "apiKey",
        "in": "header",
        "name": TIMESTAMP_HEADER,
        "description": "Unix time in whole seconds when the request was signed; refused when further "
        "from intake's clock than LAWLINK_HTTP_SIGNATURE_SKEW (default 300 s).",
    },
    "LawlinkSignature": {
        "type": "apiKey",
        "in": "header",
        "name": SIGNATURE_HEADER,
        "description": f"{_SIGNING_RULE} A signature is accepted once: a repeated one is refused.",
    },
}
_REFUSAL = {"model": Rejection}
_EVENT_RESPONSES: dict[int | str, dict[str, object]] = {
    202: {"description": "On the bus: `{event_id, status: queued|duplicate, subject, stream_seq}`."},
    401: {
        **_REFUSAL,
        "description": "Credentials missing, malformed, unknown, revoked, outside the allowed clock "
        "skew, not matching the request, or already used; `field` names the header. Nothing is published.",
        "headers": {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": f"{SCHEME} realm and error"}
        },
    },
    403: {
        **_REFUSAL,
        "description": "`source_agency` is not the authenticated agency, or that agency may not send this type.",
    },
    413: {**_REFUSAL, "description": "The body is over the envelope limit."},
    422: {**_REFUSAL, "description": "A field is invalid; `field` names it."},
    503: {**_REFUSAL, "description": "The agency keys cannot be read right now; send again later."},
}


def _unauthenticated(request: Request, raw: bytes, failure: AuthFailure) -> JSONResponse:
    """The 401 of an unauthenticated request, with its audit line (nothing is published)."""
    hints = peek_ids(raw)
    claimed = failure.agency or hints.get("source_agency")
    client = request.client.host if request.client else "?"
    log.warning(
        "audit: refused HTTP event: key id %r, agency claimed %r, client %s, reason %s: %s",
        failure.key_id[:80] if failure.key_id else None,
        claimed,
        client,
        failure.problem.value,
        failure.reason,
    )
    rejection = Rejection.single(hints, failure.field, failure.reason)
    challenge = f'{SCHEME} realm="lawlink-intake", error="{failure.problem.value}"'
    return JSONResponse(
        rejection.model_dump(mode="json"), status_code=401, headers={"WWW-Authenticate": challenge}
    )


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


__getattr__ = app_on_access(globals(), create_app)
