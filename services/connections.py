"""Connections every service makes the same way: NATS with the streams in place, Temporal with
the pydantic data converter (the contracts are pydantic models with datetimes)."""

from __future__ import annotations

import asyncio
import logging
import time

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import INBOX_PREFIX, DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError
from temporalio.client import Client
from temporalio.converter import DataConverter

from contracts import subjects
from contracts.agencies import agencies
from services.resilience import ConnectionKeeper, reconnect_handler
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
        except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError):
            # FastStream's pull loop retries at once on these and fetch fails without yielding:
            # on a closed connection that loop held the event loop at 100% CPU, starving the
            # reopen, /healthz and SIGTERM. A pause gives them the loop.
            await asyncio.sleep(0.2)
            raise

    fetch._lawlink_timeout_fix = True  # type: ignore[attr-defined]
    pull.fetch = fetch  # type: ignore[method-assign]


_fetch_raises_nats_timeout()


def _pull_inboxes_follow_the_connection() -> None:
    """FastStream 0.7 hands every pull subscription nats-py's default ``_INBOX.`` explicitly, so
    its fetch replies (the consumer's messages) would ignore the connection's ``inbox_prefix``.
    Read that default as "not chosen": the deliveries then go to the client's own prefix."""
    bind = JetStreamContext.pull_subscribe_bind
    if getattr(bind, "_lawlink_inbox_fix", False):
        return

    async def pull_subscribe_bind(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - same signature
        if kwargs.get("inbox_prefix") == INBOX_PREFIX:
            kwargs["inbox_prefix"] = None
        return await bind(self, *args, **kwargs)

    pull_subscribe_bind._lawlink_inbox_fix = True  # type: ignore[attr-defined]
    JetStreamContext.pull_subscribe_bind = pull_subscribe_bind  # type: ignore[method-assign]


_pull_inboxes_follow_the_connection()


def inbox_prefix_for(settings: StackSettings, name: str) -> str:
    """The reply-inbox prefix a client uses: its agency's when it logs in as an agency (that is
    the only ``_INBOX`` its NATS user may subscribe to), otherwise the service's own."""
    if settings.nats_user and settings.nats_user in agencies():
        return subjects.inbox_prefix(settings.nats_user)
    return subjects.inbox_prefix(name)


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
            duplicate_window=subjects.OUT_DUPLICATE_WINDOW_SECONDS,
        ),
        # Sealed copies of confidential inbound events: LAWLINK_IN erases the plaintext once
        # intake has taken it, so this is where referral content waits for the registry.
        StreamConfig(
            name=subjects.STREAM_SEALED,
            subjects=[subjects.SEALED_ALL],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=90 * _DAY,
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


async def connect_nats(
    settings: StackSettings,
    name: str,
    *,
    persistent: bool = True,
    inbox_prefix: str | None = None,
    keeper: ConnectionKeeper | None = None,
) -> NatsClient:
    """Connect to NATS with the service's credentials, if the stack uses them.

    Services reconnect forever (``persistent``); a command-line tool gives up at once with the
    server's answer, instead of retrying a wrong password in a loop. Replies come to
    ``inbox_prefix`` (default :func:`inbox_prefix_for`). With a ``keeper``, a connection the
    library closed (a server-side error) is reopened; call ``keeper.stop()`` before closing it
    on purpose.
    """
    kwargs: dict[str, object] = {"name": f"lawlink-{name}", "max_reconnect_attempts": -1 if persistent else 0}
    if persistent:
        kwargs.update(reconnect_kwargs(settings))
    if not persistent:
        kwargs["allow_reconnect"] = False
        kwargs["connect_timeout"] = 5
    if settings.nats_user:
        kwargs["user"] = settings.nats_user
        kwargs["password"] = settings.nats_password
    kwargs["inbox_prefix"] = inbox_prefix or inbox_prefix_for(settings, name)
    if keeper is not None:
        kwargs["closed_cb"] = keeper.on_closed
    nc = await nats.connect(settings.nats_url, **kwargs)
    if keeper is not None:
        keeper.attach(nc, {"servers": settings.nats_url, **kwargs})
    return nc


def reconnect_kwargs(settings: StackSettings) -> dict[str, object]:
    """Reconnect forever, waiting with exponential back-off and jitter between attempts.

    A long NATS outage must not exhaust the client's attempts (the library default is 60,
    about two minutes), after which the client closes for good and a service sits idle.
    """
    return {
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": settings.nats_reconnect_wait_seconds,
        "reconnect_to_server_handler": reconnect_handler(
            settings.nats_reconnect_wait_seconds, settings.nats_reconnect_max_wait_seconds
        ),
    }


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


def nats_connect_kwargs(settings: StackSettings, name: str) -> dict[str, object]:
    """Credentials and inbox prefix for FastStream's broker, matching :func:`connect_nats`."""
    prefix = {"inbox_prefix": inbox_prefix_for(settings, name), **reconnect_kwargs(settings)}
    if settings.nats_user:
        from faststream.nats import NatsUserPassword

        return {
            "security": NatsUserPassword(username=settings.nats_user, password=settings.nats_password or ""),
            **prefix,
        }
    return prefix
