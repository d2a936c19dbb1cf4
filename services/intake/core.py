"""What intake does with one inbound message, whichever door it came through (NATS or HTTP)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import subjects
from contracts.envelope import AGENCY_ID_PATTERN, Envelope
from contracts.validation import (
    DEFAULT_MAX_ENVELOPE_BYTES,
    EventRejected,
    Rejection,
    ValidatedEvent,
    peek_ids,
    validate_event,
)
from contracts.workflow_io import CaseStart, ReceiveResult, YearScheduleIn, workflow_id
from services import tracing
from services.calendar_store import calendar_dir, load_schedules
from services.discipline.crypto import ContentCipher, cipher_from_env
from services.discipline.sealed_inbound import erase_inbound, is_confidential_subject, publish_sealed
from services.intake.case_turns import UNORDERED, CaseTurns
from services.intake.routing import ROUTES, Mode, Route
from services.update_refusals import validator_refusal
from workflows.case_base import REFUSED_ERROR_TYPE, CaseWorkflow

log = logging.getLogger("lawlink.intake")

_AGENCY_RE = re.compile(AGENCY_ID_PATTERN)
# The cases the running task holds (Intake._case_lock is entered again by submit inside case_order).
_HELD_CASES: ContextVar[frozenset[str]] = ContextVar("lawlink_intake_held_cases", default=frozenset())


class Outcome(StrEnum):
    """How an inbound message ended."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


def traced(env: Envelope) -> Envelope:
    """``env`` carrying the trace it arrived in (the NATS or HTTP header's), when the agency did
    not put one in ``trace``: the workflow copies it into every domain event the event causes."""
    if env.trace is not None:
        return env
    headers: dict[str, str] = {}
    tracing.inject(headers)
    parent = headers.get(tracing.TRACEPARENT)
    return env.model_copy(update={"trace": parent}) if parent else env


@dataclass(frozen=True)
class IntakeResult:
    """The outcome, the refusal if any, and the case's state after the event."""

    outcome: Outcome
    rejection: Rejection | None = None
    state: str | None = None


class TransientError(Exception):
    """Temporal did not take the event now; the message is redelivered with back-off."""


class WaitsForEarlier(TransientError):
    """The event found no case, or its workflow refused it, while an earlier message of the
    stream is still unhandled: that may be the step it depends on (the case's opening held by
    an intake that died, its previous step waiting out a back-off). It waits, holding its
    case; refused only once nothing earlier is pending, or on its last delivery."""


class CaseNotReady(TransientError):
    """Temporal turned the Update away because the case's workflow task keeps failing or timing
    out (a worker that died holding it, a bug): the case is open and will take the event once a
    worker runs its task again, so the event waits for it, holding its case."""


EarlierPending = Callable[[], Awaitable[bool]]
"""Whether a message before this one in the stream is still unhandled (its consumer's ack
floor is behind it)."""


@dataclass(frozen=True)
class Patience:
    """Whether a refusal an earlier event could undo may wait rather than be answered now.

    Never on the message's ``final`` delivery (the default: a caller without a stream behind it
    answers at once); otherwise while ``earlier_pending`` says an earlier message may still
    change the answer, or, where nobody can tell (no ``earlier_pending``), only for a refusal
    that no case can be found."""

    final: bool = True
    earlier_pending: EarlierPending | None = None

    async def may_wait(self, *, unknown: bool) -> bool:
        """``unknown``: what to answer when nobody can tell whether anything earlier is pending."""
        if self.final:
            return False
        if self.earlier_pending is None:
            return unknown
        return await self.earlier_pending()


ANSWER_NOW = Patience()


class _CaseClosed(Exception):
    """The case's workflow id belongs to a closed run."""


class CachedSchedules:
    """The operator's holiday schedules, re-read only when the calendar directory changed.

    Every opening event hands the loaded schedules to its new workflow; reading and validating
    the files for each event would cost intake a noticeable share of its CPU under load.
    A stat of the directory's files is the cache key, so ``lawlink calendar load`` takes
    effect on the next event without a restart; a bad file still raises on every call.
    """

    def __init__(
        self,
        load: Callable[[Path], tuple[YearScheduleIn, ...]] = load_schedules,
        directory: Callable[[], Path] = calendar_dir,
    ) -> None:
        self._load = load
        self._directory = directory
        self._key: object = object()
        self._value: tuple[YearScheduleIn, ...] = ()

    def __call__(self) -> tuple[YearScheduleIn, ...]:
        directory = self._directory()
        key = (str(directory), _stat_key(directory))
        if key != self._key:
            self._value = self._load(directory)
            self._key = key
        return self._value


def _stat_key(directory: Path) -> tuple[tuple[str, int, int], ...] | None:
    """Name, mtime and size of every ``*.json`` file in the directory, None when it is missing.

    ``os.scandir`` rather than ``Path.glob``: this runs for every opening event, and the glob's
    pattern matching and Path objects cost more than the stat calls themselves.
    """
    try:
        with os.scandir(directory) as entries:
            files = [(e.name, e.stat()) for e in entries if e.name.endswith(".json")]
    except (FileNotFoundError, NotADirectoryError):
        return None
    return tuple(sorted((name, st.st_mtime_ns, st.st_size) for name, st in files))


def case_of(raw: bytes) -> str | None:
    """The workflow id of the case a message is for, by a bounded peek; None when unreadable."""
    ids = peek_ids(raw)
    route = ROUTES.get(ids.get("type", ""))
    case_id = ids.get("case_id")
    return None if route is None or case_id is None else workflow_id(route.process, case_id)


class Intake:
    """Validates, authorises, routes and answers; shared by the NATS consumer and HTTP."""

    def __init__(
        self,
        client: Client,
        js: JetStreamContext,
        task_queue: str,
        rule_settings: Mapping[str, str],
        update_timeout: float = 20.0,
        calendar: Callable[[], tuple[YearScheduleIn, ...]] = tuple,
        max_future: timedelta = timedelta(minutes=5),
        max_envelope_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cipher: ContentCipher | None = None,
    ) -> None:
        self._client = client
        self._cipher = cipher or cipher_from_env()
        self._js = js
        self._task_queue = task_queue
        self._rule_settings = dict(rule_settings)
        self._update_timeout = update_timeout
        self._calendar = calendar
        self._max_future = max_future
        self.max_envelope_bytes = max_envelope_bytes
        self._clock = clock
        self._turns = CaseTurns()
        # Stream sequences of the messages waiting for their case, by case (case_order).
        self._queued: dict[str, set[int]] = {}
        self._arrived = asyncio.Condition()

    def check(self, raw: bytes, sender: str | None, subject_type: str | None = None) -> ValidatedEvent:
        """Validate statically (envelope, payload, sender); raises :class:`EventRejected`."""
        event = validate_event(raw, sender, self.max_envelope_bytes)
        env = event.envelope
        hints = {
            "event_id": str(env.event_id),
            "type": env.type,
            "source_agency": env.source_agency,
            "case_id": env.case_id,
        }
        if subject_type is not None and subject_type != env.type:
            raise EventRejected(
                Rejection.single(
                    hints, "type", f"{env.type!r} does not match the subject's type {subject_type!r}"
                )
            )
        now = self._clock()
        if env.occurred_at > now + self._max_future:
            raise EventRejected(
                Rejection.single(
                    hints,
                    "occurred_at",
                    f"{env.occurred_at.isoformat()} is in the future (now {now.astimezone(env.occurred_at.tzinfo).isoformat(timespec='seconds')}, "
                    f"allowed clock skew {int(self._max_future.total_seconds())} s); a step is reported after it happened",
                )
            )
        return event

    async def take(
        self,
        raw: bytes,
        subject: str,
        stream_seq: int,
        *,
        patience: Patience = ANSWER_NOW,
    ) -> IntakeResult:
        """Handle one message from the ``LAWLINK_IN`` stream, whose subject names the sender.

        A message of a confidential process leaves the stream here: a valid one is sealed onto
        ``LAWLINK_SEALED`` first (the registry keeps its content from there), then, taken or
        refused, it is securely erased from ``LAWLINK_IN`` (services/discipline/sealed_inbound).
        """
        try:
            agency, subject_type = subjects.parse_inbound(subject)
        except subjects.InvalidSubject as bad:
            # Refused for its subject alone: the subject's agency is the sender the envelope is
            # checked against, and falling back to the envelope's would let anyone act in
            # another agency's name.
            rejection = Rejection.single({}, "subject", str(bad))
            await self.publish_rejection(raw, bad.agency, rejection)
            return IntakeResult(Outcome.REJECTED, rejection=rejection)
        if not is_confidential_subject(subject):
            return await self.submit(raw, agency, subject_type, patience=patience)
        try:
            event = self.check(raw, agency, subject_type)
        except EventRejected:
            pass  # nothing to keep; submit answers the sender
        else:
            await publish_sealed(self._js, self._cipher, raw, subject, str(event.envelope.event_id))
        result = await self.submit(raw, agency, subject_type, patience=patience)
        await erase_inbound(self._js, stream_seq)
        return result

    async def submit(
        self,
        raw: bytes,
        sender: str | None,
        subject_type: str | None = None,
        *,
        patience: Patience = ANSWER_NOW,
    ) -> IntakeResult:
        """Handle one message end to end.

        Bad input is answered on ``lawlink.rejected.<sender>`` and returned as REJECTED (the
        caller acks it: redelivering cannot make it valid). A failure to reach Temporal raises
        :class:`TransientError` (the caller naks with back-off). An event for a case with no
        workflow yet, or one its workflow refuses, raises :class:`WaitsForEarlier` instead of
        being refused while its ``patience`` lets it wait for an earlier message.
        """
        try:
            event = self.check(raw, sender, subject_type)
        except EventRejected as exc:
            await self.publish_rejection(raw, sender, exc.rejection)
            return IntakeResult(Outcome.REJECTED, rejection=exc.rejection)
        route = ROUTES[event.envelope.type]
        try:
            async with self._case_lock(workflow_id(route.process, event.envelope.case_id)):
                result = await self._dispatch(route, event, patience)
        except EventRejected as exc:
            await self.publish_rejection(raw, sender or event.envelope.source_agency, exc.rejection)
            return IntakeResult(Outcome.REJECTED, rejection=exc.rejection)
        outcome = Outcome.DUPLICATE if result.duplicate else Outcome.ACCEPTED
        return IntakeResult(outcome, state=result.state)

    @asynccontextmanager
    async def case_order(self, raw: bytes, stream_seq: int) -> AsyncIterator[None]:
        """Hold the message's case for as long as the caller works on it, retries included.

        The consumer's held retries (an engine outage) run outside :meth:`submit`; were the case
        released between them, a later event of the case could reach Temporal before the
        opening it depends on and be refused for good. The case is found by a bounded peek
        (an unreadable message has no case to order and is not held). While it waits for the
        case, the message's stream sequence is queued, so a holder can see an earlier event of
        its case come back (:meth:`pause_unless_overtaken`).
        """
        key = case_of(raw)
        if key is None:
            yield
            return
        queued = self._queued.setdefault(key, set())
        queued.add(stream_seq)
        async with self._arrived:
            self._arrived.notify_all()
        try:
            async with self._case_lock(key, stream_seq):
                queued.discard(stream_seq)
                yield
        finally:
            queued.discard(stream_seq)
            if not queued and self._queued.get(key) is queued:
                del self._queued[key]

    async def pause_unless_overtaken(
        self, raw: bytes, stream_seq: int, seconds: float, stop: asyncio.Event
    ) -> bool:
        """Wait ``seconds`` (or until ``stop``) before retrying the message; True (at once)
        when an earlier event of its case is waiting for it.

        An event delivered before this one that comes back later (its intake died holding it,
        so it returns after ``ack_wait``, behind the newer ones) must go first: the newer one,
        failing as "no open case" or out of state, only waits for it. The caller lets the case go
        and queues behind the earlier event again, keeping its delivery (a nak would spend one of
        its ``max_deliver`` on another event's wait).
        """
        key = case_of(raw)

        def overtaken() -> bool:
            return key is not None and any(seq < stream_seq for seq in self._queued.get(key, ()))

        async def earlier() -> None:
            async with self._arrived:
                await self._arrived.wait_for(overtaken)

        waits = [asyncio.ensure_future(earlier()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return overtaken()

    @asynccontextmanager
    async def _case_lock(self, key: str, seq: float = UNORDERED) -> AsyncIterator[None]:
        """Hand one case's events to Temporal one at a time, lowest stream sequence first.

        The consumer works on many messages at once; without this, a case's second event could
        reach Temporal before the start of its first and be refused as "no open case"
        (services/intake/case_turns.py). A message from outside the stream waits behind those
        from it.
        """
        if key in _HELD_CASES.get():
            yield  # this task holds the case already (case_order around submit)
            return
        async with self._turns.turn(key, seq):
            token = _HELD_CASES.set(_HELD_CASES.get() | {key})
            try:
                yield
            finally:
                _HELD_CASES.reset(token)

    async def _dispatch(
        self,
        route: Route,
        event: ValidatedEvent,
        patience: Patience = ANSWER_NOW,
    ) -> ReceiveResult:
        env = traced(event.envelope)
        wid = workflow_id(route.process, env.case_id)
        hints = {
            "event_id": str(env.event_id),
            "type": env.type,
            "source_agency": env.source_agency,
            "case_id": env.case_id,
        }
        try:
            if route.mode is Mode.START:
                await self._start_or_signal(route, wid, env)
                return ReceiveResult(accepted=True, duplicate=False, state="submitted")
            return await self._receive(wid, env)
        except WorkflowUpdateFailedError as exc:
            refused = validator_refusal(exc, REFUSED_ERROR_TYPE)
            if refused is not None:
                field, reason, _ = refused
                if await patience.may_wait(unknown=False):
                    raise WaitsForEarlier(
                        f"refused for now, an earlier event is still pending ({field}: {reason})"
                    ) from None
                raise EventRejected(Rejection.single(hints, field, reason)) from None
            raise TransientError(f"workflow {wid} failed the update: {exc.cause or exc}") from exc
        except _CaseClosed:
            raise EventRejected(
                Rejection.single(
                    hints, "case_id", f"case {env.case_id!r} of {route.process} is already closed"
                )
            ) from None
        except RPCError as exc:
            if "already completed" in str(exc):
                raise EventRejected(
                    Rejection.single(hints, "case_id", f"case {env.case_id!r} of {route.process} is closed")
                ) from None
            if exc.status == RPCStatusCode.NOT_FOUND:
                if await patience.may_wait(unknown=True):
                    # The opening may be on its way still: refusing now would be for good.
                    raise WaitsForEarlier(f"no open {route.process} case {env.case_id!r} yet") from exc
                raise EventRejected(
                    Rejection.single(hints, "case_id", f"no open {route.process} case {env.case_id!r}")
                ) from None
            if exc.status == RPCStatusCode.FAILED_PRECONDITION:
                raise CaseNotReady(
                    f"workflow {wid} takes no Update now, its workflow task failing: {exc}"
                ) from exc
            raise TransientError(f"Temporal refused the call ({exc.status}): {exc}") from exc
        except (TimeoutError, ConnectionError) as exc:
            raise TransientError(f"Temporal did not answer: {exc}") from exc

    async def _receive(self, wid: str, env: Envelope) -> ReceiveResult:
        """Send the event to its case's workflow under its event id (a retry after a lost answer
        gets the first call's outcome), and a refusal once more under a new id.

        A workflow that takes an Update in the same task as its opening event accepts it and
        checks it in the handler, and Temporal keeps that outcome under the Update's id: sent
        again under the same id once the step before it has come, the event would get that old
        refusal forever, and so would a repeat of one taken since under another id. Under a new
        id the workflow judges it now; its own record of the event ids it took keeps it from
        being taken twice.
        """
        handle = self._client.get_workflow_handle(wid)
        try:
            return await self._update(handle, env, str(env.event_id))
        except WorkflowUpdateFailedError as exc:
            if validator_refusal(exc, REFUSED_ERROR_TYPE) is None:
                raise
        return await self._update(handle, env, f"{env.event_id}#{uuid.uuid4().hex[:12]}")

    async def _update(self, handle: WorkflowHandle[Any, Any], env: Envelope, update_id: str) -> ReceiveResult:
        # rpc_timeout bounds each call; the client's wait for the outcome repeats its poll
        # without end, and an update the server admitted and then lost (a frozen Temporal)
        # held the message and its case forever. The whole call is bounded; a retry with the
        # same update id gets the outcome of the first one.
        return await asyncio.wait_for(
            handle.execute_update(
                CaseWorkflow.receive,
                env,
                id=update_id,
                rpc_timeout=timedelta(seconds=self._update_timeout),
            ),
            timeout=self._update_timeout,
        )

    async def _start_or_signal(self, route: Route, wid: str, env: Envelope) -> None:
        """Start the case's workflow with the event in its input, or signal the run that has it.

        A new case is the common path and costs one plain start. A run that exists already
        takes the event as a signal (it de-duplicates a redelivery and answers a refusal
        itself). The id of a closed case cannot be reused (REJECT_DUPLICATE) and has no run to
        signal: :class:`_CaseClosed`.
        """
        timeout = timedelta(seconds=self._update_timeout)
        try:
            await self._client.start_workflow(
                route.workflow.run,
                CaseStart(
                    process=route.process,
                    case_id=env.case_id,
                    rule_settings=self._rule_settings,
                    calendar=self._calendar(),
                    opening=env,
                ),
                id=wid,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                rpc_timeout=timeout,
            )
            return
        except WorkflowAlreadyStartedError:
            pass
        try:
            await self._client.get_workflow_handle(wid).signal(CaseWorkflow.submit, env, rpc_timeout=timeout)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise _CaseClosed from None
            raise

    async def publish_rejection(self, raw: bytes, sender: str | None, rejection: Rejection) -> None:
        """Tell the sender why; the message id makes a redelivered bad message answer once."""
        agency = sender or rejection.source_agency
        if not agency or not _AGENCY_RE.match(agency):
            log.warning("rejected input with no agency to answer: %s: %s", rejection.field, rejection.reason)
            return
        digest = hashlib.sha256(raw).hexdigest()[:32]
        await self._js.publish(
            subjects.rejected(agency),
            rejection.model_dump_json().encode(),
            stream="LAWLINK_REJECTED",
            headers={"Nats-Msg-Id": f"rejected:{agency}:{digest}"},
        )
        log.info("rejected %s from %s: %s: %s", rejection.event_id, agency, rejection.field, rejection.reason)
