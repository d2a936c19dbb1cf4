"""Webhook delivery to agencies' own systems: signed, retried with back-off, recorded, isolated.

Each agency has its own queue and worker task, so a slow or dead endpoint delays only its own
agency's notifications. Every attempt is counted in the ``delivery`` table; after the last one
the delivery is ``failed`` and stays listed for replay (the notification itself is never lost:
it is in the ``notification`` table and on ``lawlink.notify.<agency>``).

Signature: ``X-Lawlink-Signature: sha256=<hex HMAC-SHA256 of the exact body with the agency's
secret>``. Receivers verify it with :func:`verify_signature` (or the same three lines in their
own language) and de-duplicate by ``X-Lawlink-Notification-Id``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import anyio
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contracts.agencies import get_agency
from contracts.workflow_io import workflow_id
from services.discipline.crypto import ContentCipher, ContentDecryptError, cipher_from_env
from services.partition import Partition
from services.readmodel.notifications import Delivery, DeliveryStatus, NotificationRecord, Webhook

log = logging.getLogger("lawlink.notifier.webhooks")

SIGNATURE_HEADER = "X-Lawlink-Signature"
NOTIFICATION_HEADER = "X-Lawlink-Notification-Id"
DELIVERY_HEADER = "X-Lawlink-Delivery"
ATTEMPT_HEADER = "X-Lawlink-Attempt"
AGENCY_HEADER = "X-Lawlink-Agency"


# ----- signing ------------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body`` with ``secret`` (constant-time compare)."""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def new_secret() -> str:
    """A fresh per-agency secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


# ----- registration --------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """The URL if it can receive deliveries.

    Raises:
        ValueError: naming the field ``url`` when it is not an absolute http(s) URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"url: expected an absolute http:// or https:// URL, got {url!r}")
    if len(url) > 1000:
        raise ValueError("url: longer than 1000 characters")
    return url


def set_webhook(
    session: Session, *, agency: str, url: str, now: datetime | None = None
) -> tuple[Webhook, str]:
    """Register (or replace) an agency's webhook with a NEW secret; commits.

    A new secret on every set means re-registering is also how a leaked secret is rotated.

    Returns:
        The webhook row and the secret, to be shown once to the operator.

    Raises:
        ValueError: naming ``agency`` (not in the registry) or ``url``.
    """
    if get_agency(agency) is None:
        raise ValueError(f"agency: unknown agency {agency!r}")
    check_url(url)
    now = now or datetime.now(UTC)
    secret = new_secret()
    sealed = cipher_from_env().seal_text(secret, context=secret_context(agency))
    hook = session.get(Webhook, agency)
    if hook is None:
        hook = Webhook(agency=agency, url=url, secret=sealed, enabled=True, created_at=now, updated_at=now)
    else:
        hook.url, hook.secret, hook.enabled, hook.updated_at = url, sealed, True, now
    session.add(hook)
    session.commit()
    session.refresh(hook)
    return hook, secret


def _give_up(session: Session, delivery: Delivery, error: str) -> DeliveryStatus:
    """Mark a delivery failed without trying it (it stays listed for replay); commits."""
    delivery.status = DeliveryStatus.FAILED.value
    delivery.last_error = error
    delivery.updated_at = datetime.now(UTC)
    session.add(delivery)
    session.commit()
    return DeliveryStatus.FAILED


def secret_context(agency: str) -> str:
    """What a webhook secret is sealed for: a sealed secret copied onto another agency's row
    does not decrypt there."""
    return f"webhook:{agency}"


def webhook_secret(hook: Webhook, cipher: ContentCipher) -> str:
    """The signing secret of ``hook``, decrypted (stored sealed with ``LAWLINK_CONTENT_KEY``).

    Raises:
        ContentDecryptError: the row was written before secrets were sealed, or under another
            key: ``lawlink webhooks set`` gives the agency a new secret.
    """
    return cipher.open_text(hook.secret, context=secret_context(hook.agency))


def remove_webhook(session: Session, *, agency: str) -> bool:
    """Stop deliveries to an agency (its failed deliveries stay listed); commits. False if none."""
    hook = session.get(Webhook, agency)
    if hook is None:
        return False
    session.delete(hook)
    session.commit()
    return True


def list_webhooks(session: Session) -> list[dict[str, object]]:
    """Registered webhooks without their secrets."""
    return [
        {"agency": w.agency, "url": w.url, "enabled": w.enabled, "updated_at": w.updated_at}
        for w in session.exec(select(Webhook).order_by(col(Webhook.agency)))
    ]


def reset_for_replay(
    session: Session, *, delivery_ids: Sequence[int] = (), agency: str | None = None
) -> list[tuple[int, str]]:
    """Put failed deliveries back to pending (by id, or every failed one of ``agency``); commits.

    Returns:
        (delivery id, agency) of each delivery to send again.

    Raises:
        LookupError: naming ``id`` when a given delivery does not exist.
    """
    rows: list[Delivery] = []
    for delivery_id in delivery_ids:
        row = session.get(Delivery, delivery_id)
        if row is None:
            raise LookupError(f"id: no delivery {delivery_id}")
        rows.append(row)
    if agency is not None:
        rows.extend(
            session.exec(
                select(Delivery).where(
                    Delivery.agency == agency, Delivery.status == DeliveryStatus.FAILED.value
                )
            )
        )
    now = datetime.now(UTC)
    out: list[tuple[int, str]] = []
    for row in rows:
        if row.status == DeliveryStatus.DELIVERED.value:
            continue
        row.status = DeliveryStatus.PENDING.value
        row.replays += 1
        row.updated_at = now
        session.add(row)
        out.append((row.id, row.agency))  # type: ignore[arg-type]
    session.commit()
    return out


# ----- delivery ------------------------------------------------------------------------------------


class WebhookDispatcher:
    """Delivers notifications to webhooks: one queue and worker per agency, bounded retries.

    Args:
        engine: the shared database.
        timeout: seconds to wait for an answer per attempt.
        backoff: pause before each retry; ``len(backoff) + 1`` attempts in all.
        client: an httpx client to use (tests); one is made otherwise.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        timeout: float = 10.0,
        backoff: Sequence[float] = (2.0, 10.0, 60.0, 300.0),
        client: httpx.AsyncClient | None = None,
        cipher: ContentCipher | None = None,
        partition: Partition | None = None,
    ) -> None:
        self.engine = engine
        # With several notifiers each resumes only its own cases' deliveries, so none is sent twice.
        self._partition = partition or Partition()
        # Loaded at construction: a notifier without LAWLINK_CONTENT_KEY fails at start, naming it.
        self._cipher = cipher or cipher_from_env()
        self.timeout = timeout
        self.backoff = tuple(backoff)
        self._client = client
        self._own_client = client is None
        self._queues: dict[str, asyncio.Queue[int]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._queued: set[int] = set()

    @property
    def max_attempts(self) -> int:
        """Attempts per delivery run (a replay starts a new run)."""
        return len(self.backoff) + 1

    async def start(self, *, resume: bool = True) -> int:
        """Open the HTTP client and (``resume``) queue deliveries left pending by a previous run.

        The CLI's replay passes ``resume=False``: pending deliveries belong to the running notifier.

        Returns:
            How many pending deliveries were queued again.
        """
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)

        def pending() -> list[tuple[int, str]]:
            with Session(self.engine) as session:
                rows = session.exec(
                    select(
                        Delivery.id, Delivery.agency, NotificationRecord.process, NotificationRecord.case_id
                    )
                    .join(NotificationRecord, col(NotificationRecord.id) == col(Delivery.notification_id))
                    .where(Delivery.status == DeliveryStatus.PENDING.value)
                    .order_by(col(Delivery.id))
                )
                return [
                    (delivery_id, agency)
                    for delivery_id, agency, process, case_id in rows
                    if delivery_id is not None and self._partition.owns(workflow_id(process, case_id))
                ]

        if not resume:
            return 0
        resumed = await anyio.to_thread.run_sync(pending)
        for delivery_id, agency in resumed:
            self.submit(delivery_id, agency)
        return len(resumed)

    async def stop(self) -> None:
        """Stop the workers (pending deliveries stay pending and resume on the next start)."""
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
        self._workers.clear()
        self._queues.clear()
        self._queued.clear()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def submit(self, delivery_id: int, agency: str) -> None:
        """Queue a delivery on its agency's worker (started on first use); duplicates are ignored."""
        if delivery_id in self._queued:
            return
        self._queued.add(delivery_id)
        queue = self._queues.get(agency)
        if queue is None:
            queue = self._queues[agency] = asyncio.Queue()
        queue.put_nowait(delivery_id)
        worker = self._workers.get(agency)
        if worker is None or worker.done():
            self._workers[agency] = asyncio.create_task(self._work(agency, queue), name=f"webhook:{agency}")

    async def idle(self) -> None:
        """Wait until every queued delivery has been tried to the end (tests, shutdown)."""
        for queue in list(self._queues.values()):
            await queue.join()

    async def _work(self, agency: str, queue: asyncio.Queue[int]) -> None:
        while True:
            delivery_id = await queue.get()
            try:
                await self.deliver(delivery_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad delivery must not stop the agency's queue
                log.exception("delivery %s to %s crashed; it stays pending", delivery_id, agency)
            finally:
                self._queued.discard(delivery_id)
                queue.task_done()

    async def deliver(self, delivery_id: int) -> DeliveryStatus:
        """Try one delivery up to ``max_attempts`` times with back-off, recording every attempt."""
        if self._client is None:
            raise RuntimeError("WebhookDispatcher.start() was not called")
        for attempt in range(self.max_attempts):
            job = await anyio.to_thread.run_sync(self._load, delivery_id)
            if isinstance(job, DeliveryStatus):
                return job
            url, secret, body, notification_id, agency, number = job
            code: int | None = None
            error: str | None = None
            try:
                resp = await self._client.post(
                    url,
                    content=body,
                    timeout=self.timeout,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        SIGNATURE_HEADER: sign(secret, body),
                        NOTIFICATION_HEADER: notification_id,
                        DELIVERY_HEADER: str(delivery_id),
                        ATTEMPT_HEADER: str(number),
                        AGENCY_HEADER: agency,
                        "User-Agent": "lawlink-notifier",
                    },
                )
                code = resp.status_code
                if not 200 <= code < 300:
                    error = f"HTTP {code}: {resp.text[:200]}"
            except httpx.TimeoutException:
                error = f"no answer within {self.timeout:g}s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:1000]
            last = attempt == self.max_attempts - 1
            status = await anyio.to_thread.run_sync(self._record, delivery_id, code, error, last)
            if status is not DeliveryStatus.PENDING:
                if status is DeliveryStatus.FAILED:
                    log.warning(
                        "webhook delivery %s to %s failed after %d attempts: %s",
                        delivery_id,
                        agency,
                        number,
                        error,
                    )
                return status
            await asyncio.sleep(self.backoff[attempt])
        return DeliveryStatus.FAILED  # unreachable: the last attempt records delivered or failed

    def _load(self, delivery_id: int) -> tuple[str, str, bytes, str, str, int] | DeliveryStatus:
        """Everything one attempt needs, read fresh (the webhook may have changed meanwhile)."""
        with Session(self.engine) as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None:
                return DeliveryStatus.FAILED
            if delivery.status == DeliveryStatus.DELIVERED.value:
                return DeliveryStatus.DELIVERED
            hook = session.get(Webhook, delivery.agency)
            note = session.get(NotificationRecord, delivery.notification_id)
            if hook is None or not hook.enabled or note is None:
                return _give_up(
                    session, delivery, "no webhook registered" if note is not None else "notification missing"
                )
            if delivery.url != hook.url:
                delivery.url = hook.url
                session.add(delivery)
                session.commit()
            body = json.dumps(note.body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
            try:
                secret = webhook_secret(hook, self._cipher)
            except ContentDecryptError as exc:
                return _give_up(
                    session, delivery, f"{exc}; `lawlink webhooks set {hook.agency} URL` issues a new secret"
                )
            return hook.url, secret, body, note.id, delivery.agency, delivery.attempts + 1

    def _record(self, delivery_id: int, code: int | None, error: str | None, last: bool) -> DeliveryStatus:
        with Session(self.engine) as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None:
                return DeliveryStatus.FAILED
            now = datetime.now(UTC)
            delivery.attempts += 1
            delivery.last_status_code = code
            delivery.updated_at = now
            if error is None:
                delivery.status = DeliveryStatus.DELIVERED.value
                delivery.delivered_at = now
                delivery.last_error = None
            else:
                delivery.last_error = error[:1000]
                delivery.status = DeliveryStatus.FAILED.value if last else DeliveryStatus.PENDING.value
            session.add(delivery)
            session.commit()
            return DeliveryStatus(delivery.status)
