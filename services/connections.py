"""Connections every service makes the same way: NATS with the streams in place, Temporal with
the pydantic data converter (the contracts are pydantic models with datetimes)."""

from __future__ import annotations

import asyncio
import logging
import time

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError
from temporalio.client import Client
from temporalio.converter import DataConverter

from contracts import subjects
from services.settings import StackSettings
from services.temporal_codec import lawlink_data_converter

DEAD_LETTER_STREAM = "LAWLINK_DEAD"
INTAKE_DURABLE = "intake"
MAX_DELIVERIES_ADVISORY = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{subjects.STREAM_IN}.{INTAKE_DURABLE}"
INTAKE_ERRORS_BUCKET = "lawlink_intake_errors"

_DAY = 24 * 3600.0


def _fetch_raises_nats_timeout() -> None:
    """nats-py 2.16's pull ``fetch`` raises the builtin ``asyncio.TimeoutError`` where FastStream
    0.7 catches ``nats.errors.TimeoutError``: the escaped error restarts FastStream's consume task
    and drops a partly filled batch, whose messages then wait a whole ``ack_wait`` for redelivery
    (seen by ``make bench`` as 60 s registry latencies). Re-raise as the subclass both expect."""
    pull = JetStreamContext.PullSubscription
    original = pull.fetch
    if getattr(original, "_lawlink_timeout_fix", False):
        return

    async def fetch(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - same signature
        try:
            return await original(self, *args, **kwargs)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as exc:
            raise nats.errors.TimeoutError from exc

    fetch._lawlink_timeout_fix = True  # type: ignore[attr-defined]
    pull.fetch = fetch  # type: ignore[method-assign]


_fetch_raises_nats_timeout()


def stream_configs() -> list[StreamConfig]:
    """The streams Lawlink needs; every service ensures them so start order does not matter."""
    return [
        StreamConfig(
            name=subjects.STREAM_IN,
            subjects=[subjects.IN_ALL],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=90 * _DAY,
            duplicate_window=subjects.DUPLICATE_WINDOW_SECONDS,
        ),
        StreamConfig(
            name=subjects.STREAM_OUT,
            subjects=[subjects.OUT_ALL],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            duplicate_window=subjects.DUPLICATE_WINDOW_SECONDS,
        ),
        StreamConfig(
            name="LAWLINK_REJECTED",
            subjects=[subjects.REJECTED_ALL],
            storage=StorageType.FILE,
            max_age=30 * _DAY,
            duplicate_window=subjects.DUPLICATE_WINDOW_SECONDS,
        ),
        StreamConfig(
            name=subjects.STREAM_NOTIFY,
            subjects=[subjects.NOTIFY_ALL],
            storage=StorageType.FILE,
            max_age=90 * _DAY,
            duplicate_window=subjects.DUPLICATE_WINDOW_SECONDS,
        ),
        # Max-deliveries advisories are kept in a stream so no dead letter is lost while the
        # registry is down (DESIGN.md pitfalls: dead letters come from that advisory).
        StreamConfig(
            name=DEAD_LETTER_STREAM,
            subjects=[MAX_DELIVERIES_ADVISORY],
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
        ),
    ]


async def ensure_streams(js: JetStreamContext) -> None:
    """Create or update the streams (idempotent)."""
    for config in stream_configs():
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)


async def connect_nats(settings: StackSettings, name: str, *, persistent: bool = True) -> NatsClient:
    """Connect to NATS with the service's credentials, if the stack uses them.

    Services reconnect forever (``persistent``); a command-line tool gives up at once with the
    server's answer, instead of retrying a wrong password in a loop.
    """
    kwargs: dict[str, object] = {"name": f"lawlink-{name}", "max_reconnect_attempts": -1 if persistent else 0}
    if not persistent:
        kwargs["allow_reconnect"] = False
        kwargs["connect_timeout"] = 5
    if settings.nats_user:
        kwargs["user"] = settings.nats_user
        kwargs["password"] = settings.nats_password
    return await nats.connect(settings.nats_url, **kwargs)


async def connect_temporal(settings: StackSettings) -> Client:
    """Connect a Temporal client that (de)serialises the pydantic contracts."""
    return await connect_temporal_at(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=lawlink_data_converter(),
    )


TEMPORAL_STARTUP_SECONDS = 60.0


async def connect_temporal_at(
    address: str,
    *,
    namespace: str = "default",
    data_converter: DataConverter | None = None,
    timeout: float = TEMPORAL_STARTUP_SECONDS,
) -> Client:
    """Connect, waiting while a just-started server is still coming up.

    ``temporal server start-dev`` opens its port a moment before its frontend serves: a client
    connecting then is refused with "Frontend is not healthy yet", and a service started beside
    the server (``make run``, the bench stack) would die on it. Retry until ``timeout``, then
    raise the server's last answer.
    """
    log = logging.getLogger("lawlink.connections")
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            return await Client.connect(
                address, namespace=namespace, data_converter=data_converter or DataConverter.default
            )
        except RuntimeError as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.info("Temporal at %s not ready yet (%s); retrying", address, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def nats_connect_kwargs(settings: StackSettings) -> dict[str, object]:
    """Credentials for FastStream's broker, matching :func:`connect_nats`."""
    if settings.nats_user:
        from faststream.nats import NatsUserPassword

        return {
            "security": NatsUserPassword(username=settings.nats_user, password=settings.nats_password or "")
        }
    return {}
