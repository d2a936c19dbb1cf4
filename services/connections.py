"""Connections every service makes the same way: NATS with the streams in place, Temporal with
the pydantic data converter (the contracts are pydantic models with datetimes)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Sequence
from pathlib import Path

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import INBOX_PREFIX, DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError
from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from contracts import subjects
from contracts.agencies import agencies
from services.resilience import ConnectionKeeper, reconnect_handler
from services.settings import StackSettings
from services.temporal_codec import lawlink_data_converter
from services.tracing import temporal_interceptors

DEAD_LETTER_STREAM = "LAWLINK_DEAD"
INTAKE_DURABLE = "intake"
MAX_DELIVERIES_ADVISORY = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{subjects.STREAM_IN}.{INTAKE_DURABLE}"
# Every intake consumer's: one per replica when intake runs several (services/partition.py).
INTAKE_MAX_DELIVERIES = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{subjects.STREAM_IN}.*"
INTAKE_ERRORS_BUCKET = "lawlink_intake_errors"

_DAY = 24 * 3600.0


def _fetch_raises_nats_timeout() -> None:
    """nats-py 2.16's pull ``fetch`` raises the builtin ``asyncio.TimeoutError`` where FastStream
    0.7 catches ``nats.errors.TimeoutError``: the escaped error restarts FastStream's consume task
    and drops a partly filled batch, whose messages then wait a whole ``ack_wait`` for
    redelivery. Re-raise as the subclass both expect."""
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


def stream_configs(replicas: int = 1) -> list[StreamConfig]:
    """The streams Lawlink needs, each kept on ``replicas`` servers; every service ensures them
    so start order does not matter."""
    configs = [
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
            subjects=[INTAKE_MAX_DELIVERIES],
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
        ),
    ]
    for config in configs:
        config.num_replicas = replicas
    return configs


async def ensure_streams(js: JetStreamContext, replicas: int | None = None) -> None:
    """Create or update the streams (idempotent), with ``LAWLINK_STREAM_REPLICAS`` copies unless
    ``replicas`` says otherwise: every service reads the same setting, so whichever starts first
    creates the streams as the others would, and a raised setting scales existing streams up."""
    if replicas is None:
        replicas = StackSettings().stream_replicas
    for config in stream_configs(replicas):
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
    kwargs.update(nats_tls_kwargs(settings))
    kwargs["inbox_prefix"] = inbox_prefix or inbox_prefix_for(settings, name)
    if keeper is not None:
        kwargs["closed_cb"] = keeper.on_closed
    nc = await nats.connect(settings.nats_servers, **kwargs)
    if keeper is not None:
        keeper.attach(nc, {"servers": settings.nats_servers, **kwargs})
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


def nats_tls_kwargs(settings: StackSettings) -> dict[str, object]:
    """``tls=`` for nats-py when ``NATS_URL`` is ``tls://`` and ``NATS_TLS_CA`` names the CA of a
    private PKI (the servers' certificates are verified against it, host names included)."""
    if not settings.nats_tls_ca:
        return {}
    path = Path(settings.nats_tls_ca)
    if not path.is_file():
        raise ValueError(f"NATS_TLS_CA: {path} is not a readable file")
    return {"tls": ssl.create_default_context(cafile=str(path))}


def _read_pem(path: str | None, variable: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{variable}: cannot read {path}: {exc.strerror}") from None


def temporal_tls_config(settings: StackSettings) -> TLSConfig | bool:
    """The client's TLS to a real Temporal cluster, from ``TEMPORAL_TLS*`` (``False``: plain,
    as the dev server speaks).

    Any of the CA, the client certificate or an API key turns TLS on (Temporal Cloud takes an API
    key only over TLS); a certificate needs its key and the other way round. A missing or
    unreadable file is an error naming its variable, at start-up rather than at the first call.
    """
    cert = _read_pem(settings.temporal_tls_cert, "TEMPORAL_TLS_CERT")
    key = _read_pem(settings.temporal_tls_key, "TEMPORAL_TLS_KEY")
    if (cert is None) != (key is None):
        missing = "TEMPORAL_TLS_KEY" if key is None else "TEMPORAL_TLS_CERT"
        raise ValueError(f"{missing}: a client certificate and its key go together; set both or neither")
    ca = _read_pem(settings.temporal_tls_ca, "TEMPORAL_TLS_CA")
    wanted = settings.temporal_tls or cert is not None or ca is not None or bool(settings.temporal_api_key)
    if not wanted:
        return False
    if cert is None and ca is None and settings.temporal_tls_server_name is None:
        return True  # the system's roots, the address's host name
    return TLSConfig(
        server_root_ca_cert=ca,
        domain=settings.temporal_tls_server_name,
        client_cert=cert,
        client_private_key=key,
    )


async def connect_temporal(settings: StackSettings) -> Client:
    """Connect a Temporal client that (de)serialises the pydantic contracts, with the cluster's
    TLS and API key when the settings name them (self-hosted with mutual TLS, Temporal Cloud)."""
    return await connect_temporal_at(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=lawlink_data_converter(),
        tls=temporal_tls_config(settings),
        api_key=settings.temporal_api_key,
        runtime=temporal_runtime(settings.temporal_metrics_address),
        # Tracing through Temporal's headers; a worker built on this client uses it too.
        interceptors=temporal_interceptors(),
    )


_RUNTIMES: dict[str, Runtime] = {}


def temporal_runtime(metrics_address: str | None) -> Runtime | None:
    """The SDK runtime serving its own metrics (workflow task latencies, poller counts, failed
    activities...) in Prometheus' format at ``metrics_address``; None: the default runtime.

    One per address and process: a runtime binds its port once, and every client of the process
    shares it.
    """
    if not metrics_address:
        return None
    if metrics_address not in _RUNTIMES:
        _RUNTIMES[metrics_address] = Runtime(
            telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=metrics_address))
        )
    return _RUNTIMES[metrics_address]


TEMPORAL_STARTUP_SECONDS = 60.0


async def connect_temporal_at(
    address: str,
    *,
    namespace: str = "default",
    data_converter: DataConverter | None = None,
    timeout: float = TEMPORAL_STARTUP_SECONDS,
    tls: TLSConfig | bool = False,
    api_key: str | None = None,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
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
                address,
                namespace=namespace,
                data_converter=data_converter or DataConverter.default,
                tls=tls,
                api_key=api_key,
                runtime=runtime,
                interceptors=interceptors,
            )
        except RuntimeError as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.info("Temporal at %s not ready yet (%s); retrying", address, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def nats_connect_kwargs(settings: StackSettings, name: str) -> dict[str, object]:
    """Credentials, TLS and inbox prefix for FastStream's broker, matching :func:`connect_nats`
    (FastStream takes the TLS context inside its ``security`` object, not as ``tls=``)."""
    prefix = {"inbox_prefix": inbox_prefix_for(settings, name), **reconnect_kwargs(settings)}
    ssl_context = nats_tls_kwargs(settings).get("tls")
    if settings.nats_user:
        from faststream.nats import NatsUserPassword

        security = NatsUserPassword(
            username=settings.nats_user, password=settings.nats_password or "", ssl_context=ssl_context
        )
        return {"security": security, **prefix}
    if ssl_context is not None:
        from faststream.nats.security import NatsSecurity

        return {"security": NatsSecurity(ssl_context=ssl_context), **prefix}
    return prefix
