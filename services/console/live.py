"""Live refresh: tell open pages that a case changed, so they re-fetch their fragment, and ring
the bell when a notification for the user's agency arrives.

The console listens to ``lawlink.out.>`` with a plain core-NATS subscription (no durable: a
missed message only means a page refreshes on the next one). The registry projects the same
event from JetStream on its own schedule, so before telling the browsers the hub waits until
the event's row is in the read model; otherwise a page would re-fetch too early and show the
old state. Pages then re-render from the read model, like every other reader.

Notifications are heard on ``lawlink.notify.>``: the notifier publishes one only after it has
stored it, so the bell re-counts from the notification table at once. A console whose NATS user
may not read that subject still works; its bells update on the next page load.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import anyio
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contracts.subjects import NOTIFY_ALL
from services.readmodel.models import TimelineEntry

log = logging.getLogger("lawlink.console.live")

HEARTBEAT_SECONDS = 15.0
PROJECTION_WAIT_SECONDS = 3.0


@dataclass(frozen=True)
class Change:
    """What the browsers are told: which case moved (never the event's content).

    ``kind="notify"``: a notification for ``agency`` with ``audience`` was stored; browsers are
    told only that their bell should re-count.
    """

    process: str
    case_id: str
    type: str
    parties: tuple[str, ...] = ()
    agency: str | None = None
    kind: str = "change"
    audience: str | None = None

    def sse(self) -> str:
        """One SSE message (``event: change`` or ``event: notify``)."""
        if self.kind == "notify":
            return f"event: notify\ndata: {json.dumps({'agency': self.agency})}\n\n"
        data = json.dumps({"process": self.process, "case_id": self.case_id, "type": self.type})
        return f"event: change\ndata: {data}\n\n"


@dataclass(eq=False)
class _Listener:
    queue: asyncio.Queue[Change]
    accept: Callable[[Change], bool]
    dropped: int = field(default=0)


class LiveHub:
    """Fan-out of changes to the SSE streams of signed-in browsers."""

    def __init__(self, engine_of: Callable[[], Engine]) -> None:
        self._engine_of = engine_of
        self._listeners: set[_Listener] = set()
        self._sub = None
        self._nc = None

    @property
    def listeners(self) -> int:
        """How many browsers listen (tests and health)."""
        return len(self._listeners)

    def publish(self, change: Change) -> None:
        """Hand ``change`` to every listener allowed to see it; a slow browser loses old ones."""
        for listener in list(self._listeners):
            if not listener.accept(change):
                continue
            if listener.queue.full():
                listener.queue.get_nowait()
                listener.dropped += 1
            listener.queue.put_nowait(change)

    async def stream(
        self,
        accept: Callable[[Change], bool],
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        is_disconnected: Callable[[], object] | None = None,
    ) -> AsyncIterator[str]:
        """SSE text for one browser until it goes away; comments keep proxies from timing out."""
        listener = _Listener(asyncio.Queue(maxsize=100), accept)
        self._listeners.add(listener)
        try:
            yield "retry: 2000\n: connected\n\n"
            while True:
                try:
                    change = await asyncio.wait_for(listener.queue.get(), timeout=heartbeat)
                except TimeoutError:
                    if is_disconnected is not None and await is_disconnected():  # type: ignore[misc]
                        return
                    yield ": keep-alive\n\n"
                    continue
                yield change.sse()
        finally:
            self._listeners.discard(listener)

    async def start(self, nats_url: str | list[str], **connect_kwargs: object) -> None:
        """Subscribe to domain events; the console still serves pages if NATS is down."""
        import nats

        try:
            self._nc = await nats.connect(
                nats_url,
                name="lawlink-console",
                max_reconnect_attempts=-1,
                connect_timeout=2,
                **connect_kwargs,
            )  # type: ignore[arg-type]
            self._sub = await self._nc.subscribe("lawlink.out.>", cb=self._on_message)
        except Exception as exc:  # noqa: BLE001 - live refresh is a convenience, not a dependency
            log.warning("live refresh disabled: cannot subscribe to lawlink.out.> at %s: %s", nats_url, exc)
            self._nc = None
            return
        try:
            await self._nc.subscribe(NOTIFY_ALL, cb=self._on_notification)
        except Exception as exc:  # noqa: BLE001 - the bell then updates on page loads only
            log.warning("live bell disabled: cannot subscribe to %s: %s", NOTIFY_ALL, exc)

    async def stop(self) -> None:
        """Unsubscribe and close the connection."""
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    async def _on_message(self, msg) -> None:  # noqa: ANN001 - nats.aio.msg.Msg
        try:
            data = json.loads(msg.data)
            change = Change(
                process=str(data["process"]),
                case_id=str(data["case_id"]),
                type=str(data["type"]),
                parties=tuple(data.get("parties") or ()),
                agency=data.get("actor"),
            )
            event_id = str(data["event_id"])
        except (ValueError, KeyError, TypeError):
            return
        asyncio.get_running_loop().create_task(self._after_projection(event_id, change))

    async def _on_notification(self, msg) -> None:  # noqa: ANN001 - nats.aio.msg.Msg
        """A stored notification: ring the bells of its agency (ids only, never the text)."""
        try:
            data = json.loads(msg.data)
            change = Change(
                process=str(data["process"]),
                case_id=str(data["case_id"]),
                type=str(data["event_type"]),
                agency=str(data["recipient"]),
                kind="notify",
                audience=str(data["audience"]),
            )
        except (ValueError, KeyError, TypeError):
            return
        self.publish(change)

    async def _after_projection(self, event_id: str, change: Change) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + PROJECTION_WAIT_SECONDS
        while loop.time() < end:
            if await anyio.to_thread.run_sync(self._projected, event_id):
                break
            await asyncio.sleep(0.1)
        self.publish(change)

    def _projected(self, event_id: str) -> bool:
        with Session(self._engine_of()) as session:
            return session.get(TimelineEntry, event_id) is not None
