"""Staying up through outages: back-off with jitter, reopening closed NATS connections, bounded
shutdown, honest health checks, and telling an unreachable engine from a bad event.

The NATS client reconnects by itself after a dropped connection, but it *closes* the connection
for good after a server-side error (``-ERR``, e.g. a maximum payload violation) or after its
reconnect attempts run out; FastStream's pull loop then spins on ``ConnectionClosedError``. So
every long-lived connection gets a ``closed_cb`` that reopens the same client object (every
JetStream context and KV handle made from it stays valid) and restarts the broker's consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from types import FrameType
from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client as NatsClient
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client as TemporalClient
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger("lawlink.resilience")

_T = TypeVar("_T")


def backoff_delay(
    attempt: int, *, base: float, cap: float, rng: Callable[[], float] = random.random
) -> float:
    """The wait before retry number ``attempt`` (0-based): ``base * 2**attempt`` capped at
    ``cap``, then scaled by a random factor in [0.5, 1) so clients that lost the same server at
    the same moment do not come back in lockstep."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    raw = min(cap, base * (2 ** min(attempt, 32)))
    return raw * (0.5 + rng() / 2)


def reconnect_handler(base: float, cap: float) -> Callable[[list[Any], dict[str, Any]], tuple[Any, float]]:
    """A nats-py ``reconnect_to_server_handler``: the least-tried server of the pool, after a
    jittered exponential wait on that server's failed attempts (nats-py's own wait is fixed)."""

    def choose(servers: list[Any], _info: dict[str, Any]) -> tuple[Any, float]:
        if not servers:
            return None, base
        fewest = min(s.reconnects for s in servers)
        server = random.choice([s for s in servers if s.reconnects == fewest])
        return server, backoff_delay(server.reconnects, base=base, cap=cap)

    return choose


class ConnectionKeeper:
    """Reopens a NATS client that the library closed, until :meth:`stop` is called.

    ``after_reopen`` runs once the client is connected again (a FastStream broker restarts its
    subscribers there: the closed connection dropped their subscriptions).
    """

    def __init__(self, *, name: str, base: float, cap: float) -> None:
        self.name = name
        self._base = base
        self._cap = cap
        self._client: NatsClient | None = None
        self._connect_kwargs: dict[str, Any] = {}
        self._after_reopen: Callable[[], Awaitable[None]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.stopping = False
        self.reopened = 0

    def attach(
        self,
        client: NatsClient,
        connect_kwargs: dict[str, Any],
        after_reopen: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Watch ``client``, reconnecting it with ``connect_kwargs`` (those it was opened with)."""
        self._client = client
        self._connect_kwargs = dict(connect_kwargs)
        self._after_reopen = after_reopen

    async def on_closed(self) -> None:
        """The ``closed_cb``: schedule a reopen unless the service is shutting down."""
        if self.stopping or self._client is None:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._reopen())

    async def _reopen(self) -> None:
        client = self._client
        assert client is not None
        attempt = 0
        while not self.stopping:
            delay = backoff_delay(attempt, base=self._base, cap=self._cap)
            log.warning(
                "%s: NATS connection closed (%s); reopening in %.1f s", self.name, client.last_error, delay
            )
            await asyncio.sleep(delay)
            if self.stopping:
                return
            try:
                await client.connect(**self._connect_kwargs)
                if self._after_reopen is not None:
                    await self._after_reopen()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - any failure: try again later
                log.warning("%s: reopening NATS failed", self.name, exc_info=True)
                attempt += 1
                continue
            self.reopened += 1
            log.warning("%s: NATS connection reopened", self.name)
            return

    async def stop(self) -> None:
        """No more reopening (call before closing the connection on purpose)."""
        self.stopping = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def broker_keeper(broker: Any, keeper: ConnectionKeeper) -> None:
    """Attach ``keeper`` to a started FastStream ``NatsBroker``: after a reopen, every subscriber
    is stopped and started again, so its pull subscription exists on the live connection."""

    async def restart_subscribers() -> None:
        for sub in broker.subscribers:
            with contextlib.suppress(Exception):
                await sub.stop()
            # The old subscription died with the closed connection; a stale one would make
            # start() skip creating the new one.
            sub.subscription = None
            if getattr(sub, "_fetch_sub", None) is not None:
                sub._fetch_sub = None
            await sub.start()

    keeper.attach(broker._connection, broker._connection_kwargs, restart_subscribers)


async def stop_broker(broker: Any, keeper: ConnectionKeeper | None, timeout: float) -> None:
    """Stop a FastStream broker within ``timeout`` seconds whatever NATS is doing.

    Draining waits for the server; during an outage it would wait for the reconnect that may
    never come. Past the bound the connection is closed without draining: unacked messages are
    redelivered to the next consumer, nothing is lost.
    """
    if keeper is not None:
        await keeper.stop()
    try:
        await asyncio.wait_for(broker.stop(), timeout)
    except Exception as exc:  # noqa: BLE001 - TimeoutError, a closed connection: close it anyway
        log.warning("broker did not stop cleanly within %.1f s: %r", timeout, exc)
        connection: NatsClient | None = getattr(broker, "_connection", None)
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), max(timeout / 4, 0.5))
            broker._connection = None


async def temporal_ok(client: TemporalClient | None, timeout: float) -> bool:
    """Whether Temporal's frontend answers a health check within ``timeout`` seconds."""
    if client is None:
        return False
    try:
        return await asyncio.wait_for(
            client.service_client.check_health(timeout=timedelta(seconds=timeout)), timeout + 0.5
        )
    except Exception:  # noqa: BLE001 - any failure to answer is "down"
        return False


async def workers_absent(
    client: TemporalClient | None, namespace: str, task_queue: str, *, silence: float, timeout: float
) -> bool:
    """Whether workflow tasks wait on ``task_queue`` while no worker has polled it for
    ``silence`` seconds: the engine answers, but nothing runs the workflows.

    The poll's age alone says nothing (an idle worker's long poll starts about once a minute);
    a live worker takes a waiting task at once and polls again, so a backlog beside a silent
    queue means the workers are gone or frozen. A task for a cached workflow waits on the dead
    worker's sticky queue first and reaches this queue only after its schedule-to-start timeout,
    so this answers "absent" some seconds after a worker dies, not at once. Any failure to
    answer is "not absent": reachability is :func:`temporal_ok`'s question.
    """
    if client is None:
        return False
    request = DescribeTaskQueueRequest(
        namespace=namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        report_stats=True,
    )
    try:
        answer = await client.workflow_service.describe_task_queue(
            request, timeout=timedelta(seconds=timeout)
        )
    except Exception:  # noqa: BLE001 - see the docstring
        return False
    if answer.stats.approximate_backlog_count <= 0:
        return False
    now = time.time()
    newest = max((p.last_access_time.ToSeconds() for p in answer.pollers), default=None)
    return newest is None or now - newest > silence


def nats_ok(client: NatsClient | None) -> bool:
    """Whether the NATS client holds a live connection right now."""
    return client is not None and client.is_connected


def health_body(checks: dict[str, bool]) -> tuple[int, dict[str, object]]:
    """The status code and body of a ``/healthz`` answer: 503 naming what is down."""
    down = sorted(name for name, ok in checks.items() if not ok)
    body: dict[str, object] = {
        "status": "ok" if not down else "unavailable",
        "checks": {name: "ok" if ok else "down" for name, ok in checks.items()},
    }
    if down:
        body["down"] = down
    return (200 if not down else 503), body


# Errors that may mean "the engine or the bus is unreachable" rather than "this event is bad".
_MAYBE_UNREACHABLE = (
    RPCTimeoutOrCancelledError,
    TimeoutError,
    ConnectionError,
    OSError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.TimeoutError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
)
_UNREACHABLE_STATUSES = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.UNKNOWN,
}


def may_be_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is of a kind an outage produces.

    Only a candidate: the caller then asks the dependencies themselves (:func:`temporal_ok`,
    :func:`nats_ok`), since a timeout is also what a wedged workflow or a missing worker gives.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _MAYBE_UNREACHABLE):
            return True
        if isinstance(current, RPCError) and current.status in _UNREACHABLE_STATUSES:
            return True
        current = current.__cause__ or current.__context__
    return False


@contextlib.asynccontextmanager
async def kept_in_progress(
    in_progress: Callable[[], Awaitable[None]], interval: float
) -> AsyncIterator[None]:
    """Tell JetStream every ``interval`` seconds that the message is still being worked on, so
    its ``ack_wait`` never runs out while it is held: a held message costs no delivery."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await in_progress()
            except Exception:  # noqa: BLE001 - a dropped connection: the next beat retries
                log.debug("in_progress failed", exc_info=True)

    task = asyncio.get_running_loop().create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def retry_while_unreachable(
    attempt: Callable[[], Awaitable[Exception | None]],
    down: Callable[[Exception], Awaitable[list[str]]],
    *,
    stopped: asyncio.Event,
    base: float,
    cap: float,
    on_hold: Callable[[Exception, list[str], float], None] | None = None,
) -> Exception | None:
    """Run ``attempt`` until it succeeds (None), or fails while nothing is ``down`` (that
    failure is returned: the caller's own error path), or ``stopped`` is set (the last failure).

    ``down(exc)`` names the unreachable dependencies after a failure; while it names any, the
    next attempt waits a jittered, doubling delay capped at ``cap``: no hot loop, and no limit
    on how long an outage may last.
    """
    tries = 0
    while True:
        exc = await attempt()
        if exc is None:
            return None
        unreachable = await down(exc)
        if not unreachable or stopped.is_set():
            return exc
        delay = backoff_delay(tries, base=base, cap=cap)
        tries += 1
        if on_hold is not None:
            on_hold(exc, unreachable, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), delay)
        if stopped.is_set():
            return exc


class StartupInterrupted(RuntimeError):
    """SIGTERM or SIGINT arrived while a service was still connecting at start-up."""


async def until_connected(step: Awaitable[_T], what: str) -> _T:
    """Await a start-up connection that may wait forever for its server, interruptibly.

    A connection that retries forever (NATS) blocks the ASGI lifespan's start-up, and uvicorn
    only notes a signal that arrives then, to act on once start-up is over: the service ignored
    SIGTERM while its server was unreachable. Here the signal also cancels the wait, so the
    start-up fails at once (:class:`StartupInterrupted`) and the process exits. The handlers in
    place (uvicorn's) are still called, and put back afterwards.
    """
    task: asyncio.Future[_T] = asyncio.ensure_future(step)
    if threading.current_thread() is not threading.main_thread():
        return await task
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    received: list[int] = []

    def interrupt(sig: int, frame: FrameType | None) -> None:
        received.append(sig)
        loop.call_soon_threadsafe(task.cancel)
        handler = previous[sig]
        if callable(handler) and handler is not signal.default_int_handler:
            handler(sig, frame)

    for sig in previous:
        signal.signal(sig, interrupt)
    try:
        return await task
    except asyncio.CancelledError:
        if received:
            raise StartupInterrupted(f"stopped by {signal.Signals(received[0]).name} while {what}") from None
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
